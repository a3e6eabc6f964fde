from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from .api import api

admin.site.site_header = admin.site.site_title = _("城管 · 数字城市管理平台")
admin.site.index_title = _("基础数据管理")

# A database that is down answers 503 with Retry-After (JSON under /api/ and /open311/), not a 500.
handler500 = "chengguan.core.errors.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("api/docs", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
    path("api/openapi.json", RedirectView.as_view(url="/api/v1/openapi.json", permanent=False)),
    path("open311/v2/", include("chengguan.open311.urls")),  # GeoReport v2 for integrating systems
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the zh-hans / English switch
    path("", include("chengguan.web.urls")),  # the pages (last: "/" is the role's landing page)
]
