"""The project's API: one Ninja instance mounting each app's router under /api/v1/."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import django_auth

from chengguan.catalog.api import router as catalog_router
from chengguan.grid.api import router as grid_router
from chengguan.org.api import router as org_router

api = NinjaAPI(
    title="Chengguan API",
    version="1",
    description="数字城管平台接口 · Digital city management API",
    auth=django_auth,
    urls_namespace="api",
)
api.add_router("/org/", org_router)
api.add_router("/grid/", grid_router)
api.add_router("/catalog/", catalog_router)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"detail": "未找到 · not found"}, status=404)


@api.exception_handler(PermissionDenied)
def forbidden(request, exc):
    return api.create_response(request, {"detail": "无权操作 · permission denied"}, status=403)


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    return api.create_response(request, {"detail": "请先登录 · authentication required"}, status=401)


@api.exception_handler(ValidationError)
def invalid(request, exc):
    return api.create_response(
        request, {"detail": "请求参数有误 · invalid request", "errors": exc.errors}, status=422
    )
