"""Settings, driven by environment variables with safe defaults for the demo.

Every setting a deployment changes is read from the environment; see README.md
("Configuration") for the list.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import xstatic.pkg.leaflet as xstatic_leaflet
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


BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(env("CHENGGUAN_VAR_DIR", str(Path.cwd() / "var"))).resolve()

DEBUG = env_bool("DEBUG", False)
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
    "chengguan.core.middleware.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(env("CONN_MAX_AGE", "60")))}
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
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

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
GRID_CODE_LENGTH = int(env("GRID_CODE_LENGTH", "15"))
# Generated unit grids: cell side in metres, and pieces smaller than this are merged into a neighbour.
GRID_CELL_METRES = float(env("GRID_CELL_METRES", "100"))
GRID_SLIVER_M2 = float(env("GRID_SLIVER_M2", "2000"))
# Overlaps and gaps between sibling regions larger than this are reported at import.
GRID_TOPOLOGY_TOLERANCE_M2 = float(env("GRID_TOPOLOGY_TOLERANCE_M2", "1"))

# --- working-time calendar ----------------------------------------------------------------------
# Default work periods, local time; WorkPeriod records entered by an administrator replace them.
WORK_PERIODS = env("WORK_PERIODS", "08:30-12:00,14:00-17:30")

# --- background work and notifications -------------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
NOTIFY_CHANNELS = env_list("NOTIFY_CHANNELS", "inbox,log")
NOTIFY_SMS_BACKEND = env("NOTIFY_SMS_BACKEND", "chengguan.notify.channels.ConsoleSmsBackend")
NOTIFY_BASE_URL = env("NOTIFY_BASE_URL", "")
# A missed deadline is escalated to the leaders this many (natural) hours later.
CASE_ESCALATE_AFTER_HOURS = float(env("CASE_ESCALATE_AFTER_HOURS", "24"))

# --- logging ------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

AUTHENTICATION_BACKENDS = ["chengguan.core.permissions.RoleBackend"]
