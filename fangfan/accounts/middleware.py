"""Session idle timeout and the second-factor gate (settings.MIDDLEWARE, after django-otp's
OTPMiddleware, which gives request.user.is_verified())."""
from __future__ import annotations

import time
from urllib.parse import urlencode

from django.http import HttpResponse, HttpResponseRedirect

from fangfan.accounts.otp import has_confirmed_device, otp_required

_TOUCH_SECONDS = 60
# Pages an unverified user may still reach: logging in (and its OTP step), logging out, enrolling,
# static files, and the API (token authentication, no session, no second factor).
_OPEN_PREFIXES = ("/login/", "/logout/", "/account/otp/", "/static/", "/api/")
VERIFY_URL = "/login/otp/"
SETUP_URL = "/account/otp/"


class SessionIdleMiddleware:
    """Logged-in sessions expire SESSION_COOKIE_AGE seconds after the last request. Instead of
    saving the session on every request (SESSION_SAVE_EVERY_REQUEST, a database write per page),
    it is marked changed at most once a minute, which pushes its expiry forward."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.get("_auth_user_id"):
            now = int(time.time())
            if now - session.get("seen", 0) >= _TOUCH_SECONDS:
                session["seen"] = now
        return self.get_response(request)


class SecondFactorMiddleware:
    """A logged-in user who has a TOTP device must enter a code before any page; one whose role
    requires a second factor (FANGFAN_REQUIRE_OTP) and has none must first enrol one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and not request.path.startswith(_OPEN_PREFIXES)
                and not user.is_verified()):
            if has_confirmed_device(user):
                return _redirect(request, VERIFY_URL)
            if otp_required(user):
                return _redirect(request, SETUP_URL)
        return self.get_response(request)


def _redirect(request, url: str) -> HttpResponse:
    target = f"{url}?{urlencode({'next': request.get_full_path()})}" if request.method == "GET" else url
    if request.headers.get("HX-Request"):
        # An HTMX request would swap the verification page into a fragment: send the browser there.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return HttpResponseRedirect(target)

