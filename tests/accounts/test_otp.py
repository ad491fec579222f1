"""The TOTP second factor: enrolment with a QR code and the key, the code after the password,
required for the county roles and the administrator when FANGFAN_REQUIRE_OTP is on, reset by the
administrator from the shell."""
import io
import re
import time
from base64 import b32decode

import pytest
from django.core.management import call_command
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from fangfan.accounts.models import Role
from fangfan.audit.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "pw-fangfan-test"


def code_for(key_hex: str, offset_steps: int = 0) -> str:
    totp = TOTP(bytes.fromhex(key_hex), step=30, digits=6)
    totp.time = time.time() + offset_steps * 30
    return f"{totp.token():06d}"


def password_login(client, user):
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def enrol(client, user) -> TOTPDevice:
    page = client.get("/account/otp/").content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post("/account/otp/", {"token": code_for(device.key)})
    assert response.status_code == 302
    assert "<svg" in page
    return TOTPDevice.objects.get(user=user)


@pytest.fixture
def county_user():
    return UserFactory(username="county-rr", role=Role.COUNTY_RR, region_code="341225000000")


def test_it_shows_a_qr_code_the_otpauth_uri_and_the_key_to_type_in(client, county_user):
    client.force_login(county_user)
    page = client.get("/account/otp/").content.decode()
    device = TOTPDevice.objects.get(user=county_user, confirmed=False)
    uri = re.search(r'otpauth://totp/[^<"]+', page).group(0).replace("&amp;", "&")
    secret = re.search(r"secret=([A-Z2-7]+)", uri).group(1)
    assert b32decode(secret + "=" * (-len(secret) % 8)) == bytes.fromhex(device.key)
    shown = re.search(r'class="otp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert shown == secret
    assert "<svg" in page and 'class="otp-qr"' in page and "style=" not in page.split("<svg", 1)[1].split("</svg>")[0]
    assert "%E9%98%B2%E8%BF%94" in uri  # issuer 防返


def test_it_refuses_a_wrong_enrolment_code_and_confirms_nothing(client, county_user):
    client.force_login(county_user)
    client.get("/account/otp/")
    device = TOTPDevice.objects.get(user=county_user)
    wrong = f"{(int(code_for(device.key)) + 1) % 1_000_000:06d}"
    page = client.post("/account/otp/", {"token": wrong}).content.decode()
    assert "验证码不正确" in page
    assert not TOTPDevice.objects.filter(user=county_user, confirmed=True).exists()


def test_it_asks_for_the_code_after_the_password_once_enrolled(client, county_user):
    client.force_login(county_user)
    device = enrol(client, county_user)
    assert device.confirmed
    assert AuditEvent.objects.filter(action="user.otp_enable", object_key=county_user.username).exists()
    client.logout()

    response = password_login(client, county_user)
    response = client.get("/households/")
    assert response.status_code == 302 and response["Location"].startswith("/login/otp/")
    assert client.get("/login/otp/").status_code == 200

    page = client.post("/login/otp/", {"token": "000000" if code_for(device.key) != "000000" else "111111",
                                       "next": "/households/"}).content.decode()
    assert "验证码不正确" in page
    assert client.get("/households/").status_code == 302

    time.sleep(1.1)  # django-otp waits 1 s after one wrong code (doubling after each further one)
    device.refresh_from_db()
    response = client.post("/login/otp/", {"token": code_for(device.key, 1), "next": "/households/"})
    assert response.status_code == 302 and response["Location"] == "/households/"
    assert client.get("/households/").status_code == 200


def test_it_throttles_repeated_wrong_codes(client, county_user):
    client.force_login(county_user)
    device = enrol(client, county_user)
    client.logout()
    password_login(client, county_user)
    wrong = f"{(int(code_for(device.key)) + 500_000) % 1_000_000:06d}"
    client.post("/login/otp/", {"token": wrong})
    page = client.post("/login/otp/", {"token": code_for(device.key, 1)}).content.decode()
    assert "错误次数过多" in page  # even the right code waits until the throttle ends
    assert client.get("/households/").status_code == 302


@pytest.mark.parametrize("role,region", [(Role.COUNTY_RR, "341225000000"), (Role.COUNTY_CA, "341225000000"),
                                         (Role.ADMIN, "")])
def test_it_sends_a_county_or_admin_user_to_enrolment_when_required(client, settings, role, region):
    settings.FANGFAN_REQUIRE_OTP = True
    user = UserFactory(role=role, region_code=region)
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/account/otp/")
    page = client.get("/account/otp/").content.decode()
    assert "必须启用两步验证" in page
    enrol(client, user)
    assert client.get("/").status_code == 200


def test_it_lets_a_village_user_work_without_a_second_factor_even_when_required(client, settings):
    settings.FANGFAN_REQUIRE_OTP = True
    user = UserFactory(role=Role.VILLAGE)
    client.force_login(user)
    assert client.get("/").status_code == 200
    assert "必须启用" not in client.get("/account/otp/").content.decode()


def test_it_sends_htmx_requests_to_the_code_page_by_hx_redirect(client, settings, county_user):
    settings.FANGFAN_REQUIRE_OTP = True
    client.force_login(county_user)
    response = client.get("/households/", headers={"HX-Request": "true"})
    assert response.status_code == 204 and response["HX-Redirect"].startswith("/account/otp/")


def test_it_leaves_the_api_token_login_alone(client, settings, county_user):
    from fangfan.accounts.services import api_token_create

    settings.FANGFAN_REQUIRE_OTP = True
    token = api_token_create(actor=None, user=county_user)
    response = client.get("/api/v1/households/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_it_resets_a_lost_phone_from_the_shell(client, settings, county_user):
    settings.FANGFAN_REQUIRE_OTP = True
    client.force_login(county_user)
    enrol(client, county_user)
    out = io.StringIO()
    call_command("user", "otp-reset", county_user.username, "--reason", "手机丢失", stdout=out)
    assert "已解除" in out.getvalue()
    assert not TOTPDevice.objects.filter(user=county_user).exists()
    event = AuditEvent.objects.get(action="user.otp_reset")
    assert event.object_key == county_user.username and event.comment == "手机丢失"
    # The next login asks to enrol again (the role requires it).
    client.logout()
    password_login(client, county_user)
    assert client.get("/")["Location"].startswith("/account/otp/")
