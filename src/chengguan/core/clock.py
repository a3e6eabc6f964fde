"""The time services act at: the real clock, or a clock set for a simulation (the demo's
history of 30 days) — never for tests, which freeze time with time-machine."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt

from django.utils import timezone

_override: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar(
    "chengguan_clock", default=None
)


def now() -> dt.datetime:
    return _override.get() or timezone.now()


@contextlib.contextmanager
def simulated(at: dt.datetime):
    """Within the block, `now()` is `at` (move it with `advance()` / `set_to()`)."""
    token = _override.set(at)
    try:
        yield
    finally:
        _override.reset(token)


def set_to(at: dt.datetime) -> None:
    if _override.get() is None:
        raise RuntimeError("set_to() only inside clock.simulated()")
    _override.set(at)
