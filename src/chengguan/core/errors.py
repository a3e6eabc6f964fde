"""Errors a person can act on: a stable code, a message in Chinese and English, an HTTP status.

Services raise `ServiceError` (or a subclass); the API turns it into
`{"code": …, "message": …, "detail": …}` with the status, and pages show the message.
"""

from __future__ import annotations


class InvalidFile(Exception):
    """A file (a catalogue, a holiday schedule) that cannot be loaded: `messages` lists every
    problem found (Chinese · English), so a person fixes them all in one go."""

    def __init__(self, messages):
        self.messages = [str(m) for m in messages]
        super().__init__("\n".join(self.messages))


class ServiceError(Exception):
    status = 400

    def __init__(self, code: str, message: str, *, status: int | None = None, detail: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail or {}
        if status is not None:
            self.status = status


class Invalid(ServiceError):
    """Bad input (422): names the field or problem."""

    status = 422


class Conflict(ServiceError):
    """The record changed or is in a state that does not allow this (409)."""

    status = 409


# --- the database is unavailable ---------------------------------------------------------------------

#: Seconds a client is asked to wait (Retry-After) when the database cannot be reached.
RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE = "database_unavailable"
DATABASE_UNAVAILABLE_MESSAGE = "数据库暂时不可用，请稍后重试 · the database is unavailable, try again shortly"


def database_unavailable(exc: BaseException | None) -> bool:
    """Is `exc` the database being out of reach or failing for the moment (restarted, shutting
    down, connection lost, too many connections, a deadlock or serialization failure)? Django
    raises `OperationalError` or `InterfaceError` for these; whatever the request was writing was
    rolled back with its transaction, so the client can safely send it again."""
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, (OperationalError, InterfaceError))


def unavailable_response(request):
    """503 with Retry-After: JSON `{"code", "message", "detail"}` for the API and the integrations,
    a short page otherwise. Renders without the database (no template context, no session)."""
    import json

    from django.http import HttpResponse

    path = getattr(request, "path", "") or ""
    if path.startswith(("/api/", "/open311/")) or "json" in (request.headers.get("Accept") or ""):
        body = json.dumps(
            {"code": DATABASE_UNAVAILABLE, "message": DATABASE_UNAVAILABLE_MESSAGE, "detail": {}},
            ensure_ascii=False,
        )
        response = HttpResponse(body, status=503, content_type="application/json; charset=utf-8")
    else:
        page = (
            '<!doctype html><html lang="zh-hans"><head><meta charset="utf-8">'
            "<title>503 服务暂时不可用 · Service unavailable</title></head>"
            f"<body><h1>服务暂时不可用 · Service unavailable</h1><p>{DATABASE_UNAVAILABLE_MESSAGE}</p></body></html>"
        )
        response = HttpResponse(page, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request, *args, **kwargs):
    """The project's handler500: a 503 when the error was the database being unavailable (Django
    calls this while handling the exception, so it is in sys.exc_info()), else Django's 500 page."""
    import sys

    from django.views.defaults import server_error as default_server_error

    if database_unavailable(sys.exc_info()[1]):
        return unavailable_response(request)
    return default_server_error(request, *args, **kwargs)
