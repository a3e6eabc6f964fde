from __future__ import annotations

import re
import uuid

from . import context

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    """Gives every request an id and records the acting user and address for the audit log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        supplied = request.headers.get("X-Request-ID", "")
        request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        user = getattr(request, "user", None)
        authenticated = bool(user is not None and user.is_authenticated)
        ctx = context.ActorContext(
            user_id=user.pk if authenticated else None,
            username=user.get_username() if authenticated else "",
            ip=request.META.get("REMOTE_ADDR") or None,
            request_id=request_id,
            via="web",
        )
        with context.acting(ctx):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
