"""Rate limits and one-time submission keys for the public pages, on Django's cache framework.

A fixed window per client address: `allow(request, "public_report")` counts one attempt and says
whether it is within the limit set for that scope (settings `PUBLIC_RATE_LIMITS`, a dict of
scope → (attempts, seconds), over the defaults below). The client address is `REMOTE_ADDR`, or
the header named by `CLIENT_IP_HEADER` (e.g. "HTTP_X_REAL_IP") when the site runs behind a
reverse proxy that sets it; without it every visitor behind the proxy shares one allowance.

The counters and keys live in the default cache, which the project's settings make a table in
its own database, shared by every server process (a per-process cache would multiply the limit
by the number of workers and let a double submit landing on two workers make two cases).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "public_report": (5, 3600),  # five reports an hour from one address
    "public_lookup": (20, 600),  # twenty lookups in ten minutes
    "open311_read": (120, 60),  # Open311 GeoReport reads: 120 a minute from one address
    "open311_write": (120, 3600),  # Open311 POST requests: 120 an hour from one address
}
ONCE_SECONDS = 24 * 3600


def limit_for(scope: str) -> tuple[int, int]:
    limits = {**DEFAULT_LIMITS, **getattr(settings, "PUBLIC_RATE_LIMITS", {})}
    return limits[scope]


def client_ip(request) -> str:
    header = getattr(settings, "CLIENT_IP_HEADER", "")
    value = request.META.get(header, "") if header else ""
    value = value.split(",")[0].strip() or request.META.get("REMOTE_ADDR", "")
    return value[:64]


def allow(request, scope: str) -> bool:
    """Count one attempt of this client in `scope`; False once it is over the limit."""
    attempts, seconds = limit_for(scope)
    window = int(time.time() // seconds)
    key = f"cg:rl:{scope}:{client_ip(request)}:{window}"
    if cache.add(key, 1, timeout=seconds + 5):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=seconds + 5)
            count = 1
    return count <= attempts


def retry_after(scope: str) -> int:
    """Seconds until the current window of `scope` ends."""
    _attempts, seconds = limit_for(scope)
    return seconds - int(time.time()) % seconds


# --- one-time submission keys ------------------------------------------------------------------------


def claim(scope: str, key: str) -> bool:
    """Claim a form's one-time key; False when it was claimed before (a double submit)."""
    return cache.add(f"cg:once:{scope}:{key}", "", timeout=ONCE_SECONDS)


def remember(scope: str, key: str, value: str) -> None:
    """What the first submission with this key produced (e.g. the case number)."""
    cache.set(f"cg:once:{scope}:{key}", value, timeout=ONCE_SECONDS)


def recall(scope: str, key: str) -> str:
    """What the first submission produced; "" while it is still running."""
    return cache.get(f"cg:once:{scope}:{key}") or ""


def release(scope: str, key: str) -> None:
    """Give a key back (its submission failed and may be corrected and sent again)."""
    cache.delete(f"cg:once:{scope}:{key}")
