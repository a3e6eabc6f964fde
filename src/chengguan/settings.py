"""Settings, driven by environment variables with safe defaults for the demo.

Every setting a deployment changes is read from the environment; see README.md
("Configuration") for the list.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import dj_database_url
import xstatic.pkg.leaflet as xstatic_leaflet
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


def env_number(name: str, default: str, kind: type = int):
    """A whole (or, with kind=float, decimal) number; a bad value stops the start with its name."""
    value = env(name, default)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"{name} 应为数字 · {name} must be a number, got {value!r}") from None
    if number < 0:
        raise ImproperlyConfigured(f"{name} 不能为负数 · {name} must not be negative, got {value!r}")
    return number


def env_rate_limits(name: str) -> dict[str, tuple[int, int]]:
    """`scope=attempts/seconds,…`, e.g. "public_report=10/3600,open311_read=600/60"."""
    limits = {}
    for item in env_list(name, ""):
        m = re.fullmatch(r"(\w+)\s*=\s*(\d+)\s*/\s*(\d+)", item)
        if not m or int(m[3]) == 0:
            raise ImproperlyConfigured(
                f"{name}: 应为“范围=次数/秒数” · expected scope=attempts/seconds, got {item!r}"
            )
        limits[m[1]] = (int(m[2]), int(m[3]))
    return limits


BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(env("CHENGGUAN_VAR_DIR", str(Path.cwd() / "var"))).resolve()

DEBUG = env_bool("DEBUG", False)
# CHENGGUAN_ENV=production: HTTPS only (redirect, HSTS, secure cookies) and a SECRET_KEY that must be
# set; `chengguan check --deploy` passes with no warning (tests/security/test_deploy.py).
PRODUCTION = (env("CHENGGUAN_ENV", "") or "").strip().lower() in {"production", "prod"}
# The demo key is only a default for a machine that serves 127.0.0.1; production must set SECRET_KEY.
SECRET_KEY = env("SECRET_KEY", "chengguan-demo-insecure-key-set-SECRET_KEY-in-production")
# The key personal data is encrypted with at rest (32 bytes, base64url; see core/crypto.py). Unset:
# derived from SECRET_KEY, which `chengguan check --deploy` reports (chengguan.W002).
DATA_KEY = env("DATA_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves Swagger UI from its own static files (no CDN)
    "axes",  # login failures: 5 per username + address lock that pair for 15 minutes
    "django_otp",  # two-factor authentication (TOTP devices below)
    "django_otp.plugins.otp_totp",
    "django_htmx",  # request.htmx; ships htmx.js itself ({% htmx_script %})
    "django_tasks",
    "django_tasks_db",  # the database is the task queue (claimed with SKIP LOCKED on PostgreSQL)
    "chengguan.core",
    "chengguan.org",
    "chengguan.grid",
    "chengguan.catalog",
    "chengguan.notify",
    "chengguan.cases",
    "chengguan.evaluation",  # indicators, composite scores, snapshots (考核)
    "chengguan.assessment",  # grid assessment (网格化检查考核): teams, plans, checklists, records
    "chengguan.open311",
    "chengguan.web",  # the pages: login, workbenches, case detail, maps
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the session passed a code
    "chengguan.core.middleware.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "chengguan.org.sessions.SessionLifetimeMiddleware",  # idle timeout and absolute lifetime
    "chengguan.org.middleware.AccountStepsMiddleware",  # second factor, expired password
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy (CONTENT_SECURITY_POLICY below)
    "chengguan.core.middleware.RequestSizeLimitMiddleware",  # 413 above REQUEST_MAX_BYTES
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into the lockout page
]

ROOT_URLCONF = "chengguan.urls"
WSGI_APPLICATION = "chengguan.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------------------------
DEFAULT_SQLITE = VAR_DIR / "chengguan.sqlite3"
DATABASE_URL = env("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE}"
if not env("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # a fresh clone has no ./var/ yet
# CONN_HEALTH_CHECKS: a persistent connection is checked before a request reuses it, so after the
# database restarts the next request reconnects instead of failing on the dead connection.
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_number("CONN_MAX_AGE", "60"),
        conn_health_checks=env_bool("CONN_HEALTH_CHECKS", True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers and one writer work at once; IMMEDIATE avoids upgrade deadlocks.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One cache that every server process shares: the public pages' rate limits and one-time form
# keys must count across workers. A table in the project's own database (created by migration
# core 0003), so neither the demo nor a single-machine bureau needs another service.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "chengguan_cache",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}

AUTH_USER_MODEL = "org.Person"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:landing"  # each role's own workbench (chengguan.web.nav.LANDING)
LOGOUT_REDIRECT_URL = "web:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "chengguan.org.passwords.CharacterClassesValidator"},  # 3 of 4 classes (PASSWORD_MIN_CLASSES)
    {"NAME": "chengguan.org.passwords.ChineseBlocklistValidator"},  # pinyin names, 5201314, years…
]

# --- accounts and sessions (等保 2.0 level 3: 身份鉴别) --------------------------------------------------
# argon2id (argon2-cffi's default variant) for new and changed passwords; the others verify
# older hashes, which are re-hashed with argon2id at the next successful login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
PASSWORD_MIN_CLASSES = env_number("PASSWORD_MIN_CLASSES", "3")
# A password older than this must be changed after login (0: never expires).
PASSWORD_MAX_AGE_DAYS = env_number("PASSWORD_MAX_AGE_DAYS", "90")
# Lockout (django-axes): the 5th failure of one username from one address locks that pair for
# 15 minutes. Locking on the pair, not on either alone: an attacker cannot lock every account
# from one address, and a locked person can still log in from their own machine.
AXES_FAILURE_LIMIT = env_number("LOGIN_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_number("LOGIN_LOCKOUT_MINUTES", "15"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "chengguan.web.ratelimit.client_ip"  # honours CLIENT_IP_HEADER behind a proxy
AXES_LOCKOUT_CALLABLE = "chengguan.web.views.auth.lockout_response"
AXES_VERBOSE = False
# Sessions end after 30 minutes without a request and 12 hours after login (org/sessions.py).
SESSION_IDLE_SECONDS = env_number("SESSION_IDLE_MINUTES", "30") * 60
SESSION_ABSOLUTE_SECONDS = env_number("SESSION_MAX_HOURS", "12") * 3600
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_COOKIE_HTTPONLY = True
# Two-factor (django-otp TOTP): required for these roles (and superusers), optional for others.
OTP_REQUIRED_ROLES = env_list("OTP_REQUIRED_ROLES", "system_admin,security_admin,auditor")
# An administrator without a device enrols one at their first login (else: `chengguan otp enrol`).
OTP_ENROL_AT_FIRST_LOGIN = env_bool("OTP_ENROL_AT_FIRST_LOGIN", True)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "城管 Chengguan")

# --- web security (等保 2.0 level 3: 通信传输, 入侵防范) ------------------------------------------------
# Every script, style, font and image comes from this server; no inline script or style.
_TILE_ORIGIN = ""
if env("TILE_URL"):
    from urllib.parse import urlsplit

    _tile = urlsplit(env("TILE_URL", ""))
    _labels = _tile.netloc.split(".")
    if "{" in _labels[0]:  # a subdomain template ({s}, t{s}): any subdomain of the rest
        _labels[0] = "*"
    _TILE_ORIGIN = f"{_tile.scheme}://{'.'.join(_labels)}" if _tile.netloc else ""
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:", *([_TILE_ORIGIN] if _TILE_ORIGIN else [])],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Request bodies: fields 2.5 MB, 1000 fields, 20 files; a file above 2.5 MB streams to a temporary
# file; the whole request at most REQUEST_MAX_BYTES (6 photos of 10 MB and the form: 64 MB).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
DATA_UPLOAD_MAX_NUMBER_FILES = 20
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
REQUEST_MAX_BYTES = env_number("REQUEST_MAX_MB", "64") * 1024 * 1024
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured(
            "CHENGGUAN_ENV=production 不能同时开启 DEBUG · DEBUG must be off in production"
        )
    if not env("SECRET_KEY") or SECRET_KEY.startswith("chengguan-demo-"):
        raise ImproperlyConfigured("生产环境必须设置 SECRET_KEY · set SECRET_KEY in production")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_number("SECURE_HSTS_SECONDS", str(365 * 24 * 3600))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
    if env_bool("TRUST_X_FORWARDED_PROTO", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- language and time --------------------------------------------------------------------------
LANGUAGE_CODE = env("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_TZ = True

# --- files --------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")))
# Leaflet ships as package data (xstatic-leaflet) and is served as static/leaflet/: no CDN.
STATICFILES_DIRS = [("leaflet", xstatic_leaflet.BASE_DIR)]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))

# --- maps and grids -----------------------------------------------------------------------------
# Tile URL template for the map (天地图, an internal tile server…); empty: boundaries on a plain background.
TILE_URL = env("TILE_URL", "")
# The attribution the tile provider requires (shown on the map when TILE_URL is set), e.g. "© 天地图".
TILE_ATTRIBUTION = env("TILE_ATTRIBUTION", "")
# The coordinate system of those tiles: "wgs84" (also CGCS2000: 天地图, most internal servers) or
# "gcj02" (Amap, Tencent); the pages shift WGS-84 data onto GCJ-02 tiles (static/web/map.js).
TILE_CRS = env("TILE_CRS", "wgs84")
# Unit grid code: 6 county + 3 street + 3 community + 2 (CJ/T 213, 14 digits) or 3 (DB11 / GB/T 47678, 15).
GRID_CODE_LENGTH = env_number("GRID_CODE_LENGTH", "15")
# Generated unit grids: cell side in metres, and pieces smaller than this are merged into a neighbour.
GRID_CELL_METRES = env_number("GRID_CELL_METRES", "100", float)
GRID_SLIVER_M2 = env_number("GRID_SLIVER_M2", "2000", float)
# Overlaps and gaps between sibling regions larger than this are reported at import.
GRID_TOPOLOGY_TOLERANCE_M2 = env_number("GRID_TOPOLOGY_TOLERANCE_M2", "1", float)

# --- working-time calendar ----------------------------------------------------------------------
# Default work periods, local time; WorkPeriod records entered by an administrator replace them.
WORK_PERIODS = env("WORK_PERIODS", "08:30-12:00,14:00-17:30")

# --- background work and notifications -------------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
NOTIFY_CHANNELS = env_list("NOTIFY_CHANNELS", "inbox,log")
NOTIFY_SMS_BACKEND = env("NOTIFY_SMS_BACKEND", "chengguan.notify.channels.ConsoleSmsBackend")
NOTIFY_BASE_URL = env("NOTIFY_BASE_URL", "")
# A missed deadline is escalated to the leaders this many (natural) hours later.
CASE_ESCALATE_AFTER_HOURS = env_number("CASE_ESCALATE_AFTER_HOURS", "24", float)
# A task whose worker died is queued again (core/jobs.py), at most this many times; on SQLite (no
# session locks) a task running this long is taken to be abandoned.
TASKS_MAX_WORKER_LOSSES = env_number("TASKS_MAX_WORKER_LOSSES", "3")
TASKS_ABANDONED_AFTER_SECONDS = env_number("TASKS_ABANDONED_AFTER_SECONDS", "3600", float)
# Evaluation: the fold waits this long for an event's transaction; a day is settled this long after
# its midnight; the month close's sorts get this much memory on PostgreSQL.
EVALUATION_FOLD_LAG_SECONDS = env_number("EVALUATION_FOLD_LAG_SECONDS", "60", float)
EVALUATION_SETTLE_GRACE_MINUTES = env_number("EVALUATION_SETTLE_GRACE_MINUTES", "10", float)
EVALUATION_REBUILD_WORK_MEM = env("EVALUATION_REBUILD_WORK_MEM", "256MB")

# --- public pages and Open311 -------------------------------------------------------------------
# Attempts per client address over the defaults in web/ratelimit.py (public_report 5/3600,
# public_lookup 20/600, open311_read 120/60, open311_write 120/3600).
PUBLIC_RATE_LIMITS = env_rate_limits("PUBLIC_RATE_LIMITS")
# Behind a reverse proxy: the META key of the header carrying the client address (HTTP_X_REAL_IP).
CLIENT_IP_HEADER = env("CLIENT_IP_HEADER", "")

# --- photos and the audit log -------------------------------------------------------------------
PHOTO_MAX_BYTES = env_number("PHOTO_MAX_MB", "10", float) * 1024 * 1024
PHOTO_MAX_PIXELS = env_number("PHOTO_MAX_PIXELS", "40000000")
PHOTO_MAX_SIDE = env_number("PHOTO_MAX_SIDE", "2560")
# 等保 2.0 keeps audit records at least 180 days (a smaller value is raised to 180).
AUDIT_RETENTION_DAYS = env_number("AUDIT_RETENTION_DAYS", "365")
AUDIT_SEAL_LAG_SECONDS = env_number("AUDIT_SEAL_LAG_SECONDS", "300", float)
# Seconds after a password or OTP check during which a sensitive change needs no new check.
REAUTH_SECONDS = env_number("REAUTH_SECONDS", "300", float)

# --- logging ------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username + address
    "chengguan.core.permissions.RoleBackend",
]
