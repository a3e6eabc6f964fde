"""The project's API: one Ninja instance mounting each app's router under /api/v1/.

Errors are JSON `{"code": …, "message": …, "detail": …}`, with messages in Chinese and English.
"""

import functools
import logging

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.utils import translation
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from chengguan.assessment.api import router as assessment_router
from chengguan.cases.api import router as cases_router
from chengguan.cases.photos import PhotoError
from chengguan.catalog.api import router as catalog_router
from chengguan.core.errors import ServiceError, unavailable_response
from chengguan.evaluation.api import router as evaluation_router
from chengguan.grid.api import router as grid_router
from chengguan.notify.api import router as notify_router
from chengguan.org.api import router as org_router
from chengguan.org.tokens import API_AUTH


class ChengguanAPI(NinjaAPI):
    """The OpenAPI schema is built once per path prefix and language, not on every request to
    /api/v1/openapi.json (building it takes the better part of a second); the routes do not change
    while the process runs."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        key = (path_prefix, translation.get_language())
        if key not in self._schemas:
            self._schemas[key] = super().get_openapi_schema(path_prefix=path_prefix)
        return self._schemas[key]

    @functools.cached_property
    def _schemas(self) -> dict:
        return {}


api = ChengguanAPI(
    title="Chengguan API",
    version="1",
    description="数字城管平台接口 · Digital city management API",
    auth=API_AUTH,  # a bearer token (scripts, integrations) or the session (pages)
    urls_namespace="api",
)
api.add_router("/org/", org_router)
api.add_router("/grid/", grid_router)
api.add_router("/catalog/", catalog_router)
api.add_router("/cases/", cases_router)
api.add_router("/notify/", notify_router)
api.add_router("/evaluation/", evaluation_router)
api.add_router("/assessment/", assessment_router)


def _error(request, status: int, code: str, message: str, detail=None):
    return api.create_response(
        request, {"code": code, "message": message, "detail": detail or {}}, status=status
    )


@api.exception_handler(ServiceError)
def service_error(request, exc: ServiceError):
    return _error(request, exc.status, exc.code, exc.message, exc.detail)


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def database_unavailable(request, exc):
    """The database restarted, is down or dropped the connection: 503 with Retry-After (what the
    request was writing was rolled back; the same request, with its Idempotency-Key, is safe to send
    again). Django closes the broken connection when the request ends and opens a new one."""
    logging.getLogger("chengguan.api").warning("database unavailable: %s: %s", type(exc).__name__, exc)
    return unavailable_response(request)


@api.exception_handler(PhotoError)
def photo_error(request, exc: PhotoError):
    status = 413 if exc.code == "photo_too_large" else 422
    return _error(request, status, exc.code, exc.message)


@api.exception_handler(MultiPartParserError)
def unreadable_body(request, exc):
    """A multipart body that cannot be read (no boundary, cut short): Django's 400 page, as JSON."""
    return _error(request, 400, "bad_body", "无法解析请求体 · the request body cannot be parsed")


@api.exception_handler(RequestDataTooBig)
def body_too_large(request, exc):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE, which Django raises while the body is read."""
    return _error(request, 413, "body_too_large", "请求体过大 · the request body is too large")


@api.exception_handler(TooManyFieldsSent)
@api.exception_handler(TooManyFilesSent)
def too_many_parts(request, exc):
    """A form with more fields or files than DATA_UPLOAD_MAX_NUMBER_FIELDS/FILES: Django's HTML
    400, as JSON."""
    return _error(
        request,
        400,
        "too_many_parts",
        "请求中的字段或文件过多 · too many fields or files in the request",
        {
            "max_fields": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
            "max_files": settings.DATA_UPLOAD_MAX_NUMBER_FILES,
        },
    )


@api.exception_handler(DataError)
@api.exception_handler(OverflowError)
def out_of_range(request, exc):
    """A number the database cannot hold (an id, a limit or an offset past 2**63: SQLite's driver
    raises OverflowError, PostgreSQL a DataError) or a value too long for its column: bad input,
    not a server error. What the request was writing was rolled back with its transaction."""
    return _error(
        request, 422, "out_of_range", "数值超出范围或内容过长 · a value is out of range or too long"
    )


@api.exception_handler(Http404)
def not_found(request, exc):
    return _error(request, 404, "not_found", "未找到 · not found")


@api.exception_handler(PermissionDenied)
def forbidden(request, exc):
    message = str(exc) or "无权操作 · permission denied"
    return _error(request, 403, "forbidden", message)


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    return _error(request, 401, "unauthenticated", "请先登录 · authentication required")


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    return _error(request, exc.status_code, "bad_request", str(exc))


@api.exception_handler(ValidationError)
def invalid(request, exc):
    return _error(request, 422, "invalid", "请求参数有误 · invalid request", {"errors": exc.errors})
