from __future__ import annotations

import re
import uuid

from . import context

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    """Gives every request an id and records the acting user and address for the audit log; at its
    end, the denials and exports the audit log must not miss (core.audit.request_scope)."""

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
        from . import audit

        # Denials rolled back with their transaction are written again when the request ends;
        # a 403 nobody recorded is a denial, a download an export (core/audit.py).
        with context.acting(ctx), audit.request_scope() as scope:
            response = self.get_response(request)
            audit.record_response(request, response, scope)
        response["X-Request-ID"] = request_id
        return response


class RequestSizeLimitMiddleware:
    """Refuses a request whose declared body exceeds REQUEST_MAX_BYTES (413) before anything reads
    it. Django limits the form fields (DATA_UPLOAD_MAX_MEMORY_SIZE) and the number of files, not
    the size of uploaded files; each photo is checked for 10 MB when read, and this bounds the whole."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.http import HttpResponse

        limit = int(getattr(settings, "REQUEST_MAX_BYTES", 0) or 0)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit and length > limit:
            return HttpResponse(
                "请求内容过大 · request too large", status=413, content_type="text/plain; charset=utf-8"
            )
        return self.get_response(request)
