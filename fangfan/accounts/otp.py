"""Reads about the TOTP second factor (django-otp): who must have one, who has one, and what the
enrolment page shows (the otpauth URI, its secret in Base32 and a QR code as SVG)."""
from __future__ import annotations

from base64 import b32encode
from io import BytesIO

from django.conf import settings

from fangfan.accounts.models import Role

# roles.md: the county roles decide (认定, 审批, 参数) and the administrator makes accounts: their
# passwords alone must not open the system.
OTP_ROLES = frozenset({Role.COUNTY_RR, Role.COUNTY_CA, Role.COUNTY_DEPT, Role.ADMIN})


def otp_required(user) -> bool:
    return bool(getattr(settings, "FANGFAN_REQUIRE_OTP", False)) and getattr(user, "role", None) in OTP_ROLES


def confirmed_device(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def has_confirmed_device(user) -> bool:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def secret_base32(device) -> str:
    """The key as authenticator apps ask for it when typed in, in groups of four."""
    text = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code (no image library; no inline style, CSP-safe)."""
    import segno

    out = BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True,
                                    title="两步验证二维码", svgclass="otp-qr", lineclass=None)
    return out.getvalue().decode()
