"""Django settings, all from the environment.

DATABASE_URL           default sqlite:///<FANGFAN_DATA_DIR>/fangfan.sqlite3
FANGFAN_SECRET_KEY     or FANGFAN_SECRET_KEY_FILE; otherwise a key generated once under FANGFAN_DATA_DIR
FANGFAN_DEBUG          1 to enable debug (only `make demo` sets it)
FANGFAN_ALLOWED_HOSTS  comma-separated
FANGFAN_HTTPS          1 when served over HTTPS behind a reverse proxy that sets X-Forwarded-Proto
                       (secure cookies, HTTPS redirect, HSTS): production (docs/deploy.md)
FANGFAN_CSRF_TRUSTED_ORIGINS  comma-separated origins (https://host) when the proxy changes the host
FANGFAN_SESSION_IDLE_MINUTES  log out after this many idle minutes (default 30); the session
                       cookie also ends when the browser closes
FANGFAN_LOGIN_FAILURE_LIMIT   failed logins of one user name before it is locked (default 5)
FANGFAN_LOGIN_LOCKOUT_MINUTES how long the lock lasts (default 30)
FANGFAN_PROXY_COUNT    reverse proxies in front (default 1 with FANGFAN_HTTPS, else 0): the client IP
                       recorded for failed logins is read from X-Forwarded-For only through them
FANGFAN_REQUIRE_OTP    1/0: the county roles (县乡村振兴局/县民政局/县行业部门) and 系统管理员 must use
                       a TOTP second factor (default on, off with FANGFAN_DEBUG)
FANGFAN_CHILD_READ_HOUSEHOLDS  on SQLite, a region of at least this many households (default
                       20000) is read into Arrow by child processes (registry.bulk.fetch_frames);
                       0: always, a huge number: never
"""
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("FANGFAN_DATA_DIR", Path.cwd() / "var"))


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    if os.environ.get("FANGFAN_SECRET_KEY"):
        return os.environ["FANGFAN_SECRET_KEY"]
    key_file = Path(os.environ.get("FANGFAN_SECRET_KEY_FILE", DATA_DIR / "secret_key"))
    if key_file.exists():
        return key_file.read_text().strip()
    # First run on this machine: make a key and keep it outside the repo.
    key = secrets.token_urlsafe(50)
    try:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(key)
        key_file.chmod(0o600)
    except OSError:
        pass
    return key


SECRET_KEY = _secret_key()
DEBUG = _truthy(os.environ.get("FANGFAN_DEBUG"))
ALLOWED_HOSTS = [h for h in os.environ.get("FANGFAN_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "fangfan.common",
    "fangfan.accounts",
    "fangfan.regions",
    "fangfan.audit",
    "fangfan.registry",
    "fangfan.screening",
    "fangfan.workflows",
    "fangfan.declarations",
    "fangfan.departments",
    "fangfan.reports",
    "fangfan.lowincome",
    "fangfan.web",
    "fangfan.ops",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "fangfan.web.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "fangfan.accounts.middleware.SessionIdleMiddleware",
    "fangfan.accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Answers a locked-out login (django-axes) with the Chinese lock-out page.
    "axes.middleware.AxesMiddleware",
    # Last, so its process_exception sees a view's database error first: the 503 page.
    "fangfan.web.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "fangfan.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fangfan.web.context.navigation",
            ]
        },
    }
]
WSGI_APPLICATION = "fangfan.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'fangfan.sqlite3'}"),
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout so a running server and an import can share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )

# One cache shared by every server process (gunicorn workers): worklist results kept until the
# data changes, and the throttling counters of the public pages, must not be per process.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ.get("FANGFAN_CACHE_DIR", str(DATA_DIR / "cache")),
        "TIMEOUT": 600,
        "OPTIONS": {"MAX_ENTRIES": 5000},
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# Argon2id for new and changed passwords; older PBKDF2 hashes still verify and are rehashed
# with Argon2 at the user's next login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# The lock-out check (django-axes) comes before the password check. Logins without a request
# (code and tests calling authenticate() directly) are not web login attempts and are let through
# to the password check; the API authenticates by token and never comes here.
AUTHENTICATION_BACKENDS = [
    "fangfan.accounts.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# Login throttling (django-axes): after FANGFAN_LOGIN_FAILURE_LIMIT wrong passwords for one user
# name, that user name cannot log in for FANGFAN_LOGIN_LOCKOUT_MINUTES (from any address: a
# password guessed from many addresses is still one account attacked); and one address with one
# browser that fails as often (trying many user names) is locked too. Not the address alone:
# a township's cadres often share one address behind NAT, and one of them mistyping must not
# lock out the others. A successful login clears the count; `fangfan axes_reset_username NAME`
# (or axes_reset_ip ADDRESS) lifts a lock at once.
AXES_FAILURE_LIMIT = int(os.environ.get("FANGFAN_LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("FANGFAN_LOGIN_LOCKOUT_MINUTES", 30)))
AXES_LOCKOUT_PARAMETERS = ["username", ["ip_address", "user_agent"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "fangfan.web.views.accounts.locked_out"
AXES_VERBOSE = False
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("FANGFAN_PROXY_COUNT", 1 if _truthy(os.environ.get("FANGFAN_HTTPS")) else 0)) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")

# Second factor (django-otp, TOTP): optional for everyone, required for the county roles and the
# system administrator when FANGFAN_REQUIRE_OTP is on (fangfan.accounts.middleware).
FANGFAN_REQUIRE_OTP = _truthy(os.environ.get("FANGFAN_REQUIRE_OTP", "0" if DEBUG else "1"))
OTP_TOTP_ISSUER = "防返"

# Sessions end when the browser closes, and after FANGFAN_SESSION_IDLE_MINUTES without a request
# (the expiry is pushed forward at most once a minute: fangfan.accounts.middleware).
SESSION_IDLE_MINUTES = int(os.environ.get("FANGFAN_SESSION_IDLE_MINUTES", 30))
# From this many households on, a region's tables are read in child processes on SQLite
# (registry.dbframes): their start-up (≈ 0.15 s) is then a tenth of what they save (≈ 18 µs a household).
CHILD_READ_HOUSEHOLDS = int(os.environ.get("FANGFAN_CHILD_READ_HOUSEHOLDS", 20_000))
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# Attachments (photos and scans of signed forms): outside the repo, served only through a
# scoped view, never as public media.
MEDIA_ROOT = DATA_DIR / "media"
ATTACHMENT_MAX_BYTES = int(os.environ.get("FANGFAN_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
ATTACHMENT_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
NINJA_PAGINATION_PER_PAGE = 50
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Security headers. HTTPS is terminated by the reverse proxy (docs/deploy.md), which must set
# X-Forwarded-Proto itself (overwriting what a client sent).
HTTPS = not DEBUG and _truthy(os.environ.get("FANGFAN_HTTPS"))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("FANGFAN_CSRF_TRUSTED_ORIGINS", "").split(",") if o]
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content Security Policy (django-csp): scripts and styles only from our own static files (HTMX,
# ECharts and the dashboard code are static files, chart data travels as JSON in
# <script type="application/json">), no inline script or style, no plug-ins, no framing.
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("FANGFAN_LOG_LEVEL", "WARNING")},
}
