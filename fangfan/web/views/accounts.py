"""The login's second step (TOTP code), enrolment of an authenticator app, and the lock-out page
of too many wrong passwords. Thin: writes in fangfan.accounts.services, reads in fangfan.accounts.otp."""
from __future__ import annotations

import django_otp
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme

from fangfan.accounts import services
from fangfan.accounts.otp import has_confirmed_device, otp_required, qr_svg, secret_base32


class TokenForm(forms.Form):
    token = forms.CharField(
        label="验证码", max_length=12, strip=True,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True,
                                      "pattern": "[0-9 ]*"}),
        help_text="手机验证器 (如 Microsoft Authenticator、Google 身份验证器、FreeOTP) 上显示的 6 位数字",
    )

    def add_service_errors(self, error: ValidationError) -> None:
        for field, errors in error.message_dict.items():
            self.add_error(field if field in self.fields else None, errors)


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


@login_required
def otp_verify(request):
    """After the password: the code of the user's authenticator."""
    if request.user.is_verified():
        return redirect(_next(request))
    if not has_confirmed_device(request.user):
        return redirect(f"/account/otp/?next={_next(request)}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.otp_check(user=request.user, token=form.cleaned_data["token"])
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            request.session.cycle_key()  # a new session key once fully logged in
            django_otp.login(request, device)
            return redirect(_next(request))
    return render(request, "web/accounts/otp_verify.html", {"form": form, "next": _next(request)})


@login_required
def otp_setup(request):
    """两步验证: status, and enrolment (QR code, or the key typed in) confirmed by a first code."""
    user = request.user
    if has_confirmed_device(user):
        if not user.is_verified():
            return redirect(f"/login/otp/?next={_next(request)}")
        return render(request, "web/accounts/otp_setup.html", {"enabled": True, "required": otp_required(user)})
    device = services.otp_device_start(actor=user, user=user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.otp_device_confirm(actor=user, user=user, token=form.cleaned_data["token"])
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            request.session.cycle_key()
            django_otp.login(request, device)
            messages.success(request, "已启用两步验证: 以后每次登录都需输入验证器上的验证码")
            return redirect(_next(request))
    uri = device.config_url
    return render(request, "web/accounts/otp_setup.html", {
        "enabled": False, "required": otp_required(user), "form": form, "next": _next(request),
        "uri": uri, "secret": secret_base32(device), "qr": qr_svg(uri),
    })


def locked_out(request, response=None, credentials=None):
    """django-axes' answer to a login of a locked user name (settings.AXES_LOCKOUT_CALLABLE)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "web/accounts/locked_out.html",
                  {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes}, status=429)


def login_view(request):
    from django.contrib.auth.views import LoginView

    return LoginView.as_view(template_name="web/login.html", extra_context={
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "lockout_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    })(request)


urlpatterns = [
    path("login/otp/", otp_verify, name="otp-verify"),
    path("account/otp/", otp_setup, name="otp-setup"),
]
