"""Django settings, all from the environment.

DATABASE_URL           default sqlite:///<FANGFAN_DATA_DIR>/fangfan.sqlite3
FANGFAN_SECRET_KEY     or FANGFAN_SECRET_KEY_FILE; otherwise a key generated once under FANGFAN_DATA_DIR
FANGFAN_DEBUG          1 to enable debug (only `make demo` sets it)
FANGFAN_ALLOWED_HOSTS  comma-separated
"""
import os
import secrets
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
    "fangfan.web",
    "django_htmx",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "fangfan.web.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
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
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

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

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG and _truthy(os.environ.get("FANGFAN_HTTPS"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("FANGFAN_LOG_LEVEL", "WARNING")},
}
