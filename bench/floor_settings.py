"""Settings for bench/intake.py's server: the project's own settings plus the floor endpoint's URLs.

    DJANGO_SETTINGS_MODULE=bench.floor_settings PYTHONPATH=<repo root> chengguan serve …

Nothing but ROOT_URLCONF differs, so the intake endpoint and the floor are served by the same
settings, middleware, server and database (see bench/floor_urls.py).
"""

from chengguan.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
