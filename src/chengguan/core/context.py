"""Who is acting and from where, for the audit log: set by the middleware or by a command."""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class ActorContext:
    user_id: int | None = None
    username: str = ""
    ip: str | None = None
    request_id: str = ""
    via: str = ""


NOBODY = ActorContext()
_current: contextvars.ContextVar[ActorContext] = contextvars.ContextVar("chengguan_actor", default=NOBODY)


def current() -> ActorContext:
    return _current.get()


@contextlib.contextmanager
def acting(ctx: ActorContext):
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def set_actor(ctx: ActorContext) -> None:
    """Replace the current actor for the rest of this request (the middleware's reset restores
    the previous one when the request ends): for authentication that happens after the
    middleware, such as an API token."""
    _current.set(ctx)
