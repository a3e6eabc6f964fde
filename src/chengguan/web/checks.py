"""System checks of the web app (registered on import, from WebConfig.ready())."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from .ratelimit import DEFAULT_LIMITS


@checks.register("chengguan")
def check_rate_limits(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """chengguan.E003: PUBLIC_RATE_LIMITS names a scope that does not exist (a typo would otherwise
    leave the default limit in force without a word)."""
    unknown = sorted(set(getattr(settings, "PUBLIC_RATE_LIMITS", {})) - set(DEFAULT_LIMITS))
    return [
        checks.Error(
            f"PUBLIC_RATE_LIMITS: 未知的范围 · unknown scope {scope!r}",
            hint=", ".join(sorted(DEFAULT_LIMITS)),
            id="chengguan.E003",
        )
        for scope in unknown
    ]
