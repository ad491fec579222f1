"""Security headers, the Content Security Policy and CSRF: every page carries them, no template
needs an inline script, style or event handler, no view is exempt from CSRF, and the production
settings pass `fangfan check --deploy` with no warning."""
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from fangfan.accounts.models import Role
from fangfan.common import pii
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "fangfan").rglob("templates/**/*.html"))


def csp_of(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/declare/", "/"])
def test_it_sends_a_strict_csp_and_security_headers_on_every_page(client, path):
    client.force_login(UserFactory(role=Role.VILLAGE))
    response = client.get(path, follow=True)
    policy = csp_of(response)
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert not any("unsafe" in value for values in policy.values() for value in values)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "fangfan")))
def test_it_has_no_inline_script_style_or_handler_in_any_template(template):
    text = template.read_text()
    for attrs in re.findall(r"<script\b([^>]*)>", text):
        assert "src=" in attrs or 'type="application/json"' in attrs, f"inline <script{attrs}>"
    assert not re.search(r"<style\b", text), "inline <style> element"
    assert not re.search(r"\sstyle\s*=", text), "inline style attribute"
    assert not re.search(r"\son[a-z]+\s*=", text), "inline event handler (onclick=...)"
    assert "javascript:" not in text and "hx-on" not in text


def test_it_exempts_no_view_from_csrf():
    sources = [p for p in (ROOT / "fangfan").rglob("*.py")]
    exempt = [str(p.relative_to(ROOT)) for p in sources if "csrf_exempt" in p.read_text()]
    assert exempt == []


@pytest.mark.django_db
def test_it_refuses_a_form_post_without_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    user = UserFactory(role=Role.VILLAGE)
    response = client.post("/login/", {"username": user.username, "password": "pw-fangfan-test"})
    assert response.status_code == 403
    client.force_login(user)
    assert client.post("/logout/").status_code == 403


def production_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FANGFAN_", "DJANGO_", "DATABASE_URL"))}
    env.update({
        "FANGFAN_SECRET_KEY": secrets.token_urlsafe(60),
        "FANGFAN_HTTPS": "1",
        "FANGFAN_ALLOWED_HOSTS": "fangfan.example.gov.cn",
        "FANGFAN_DATA_DIR": str(tmp_path),
        # The personal-data key apart from the database's folder, mode 0600 (fangfan.ops.checks).
        "FANGFAN_PII_KEY_FILE": str(tmp_path.with_name(tmp_path.name + "-keys") / "pii_keys.json"),
        **extra,
    })
    if not Path(env["FANGFAN_PII_KEY_FILE"]).exists():
        pii.write_key_file(Path(env["FANGFAN_PII_KEY_FILE"]), pii.KeyRing.generate())
    return env


def run_check(env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fangfan.cli", "check", "--deploy", "--fail-level", "WARNING"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_it_passes_check_deploy_with_no_warning_in_production(tmp_path):
    done = run_check(production_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues (0 silenced)" in done.stdout + done.stderr


def test_it_warns_check_deploy_when_served_without_https(tmp_path):
    # The check is real: without FANGFAN_HTTPS the cookies are not secure and it says so.
    env = production_env(tmp_path)
    del env["FANGFAN_HTTPS"]
    done = run_check(env)
    assert done.returncode != 0
    assert "SESSION_COOKIE_SECURE" in done.stderr + done.stdout


def test_it_expires_sessions_when_idle_and_at_browser_close():
    from django.conf import settings

    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_MINUTES * 60 <= 60 * 60


@pytest.mark.django_db
def test_it_logs_out_a_session_idle_longer_than_the_timeout(client, settings):
    import time
    from unittest import mock

    user = UserFactory(role=Role.VILLAGE)
    client.force_login(user)
    assert client.get("/").status_code == 200
    later = time.time() + settings.SESSION_COOKIE_AGE + 5
    with mock.patch("django.utils.timezone.now",
                    return_value=__import__("datetime").datetime.fromtimestamp(later, tz=__import__("datetime").timezone.utc)):
        response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
