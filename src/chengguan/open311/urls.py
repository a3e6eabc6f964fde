"""Open311 GeoReport v2, mounted at /open311/v2/: every resource in `.xml` and `.json`."""

from django.urls import re_path

from . import views

app_name = "open311"

FMT = r"\.(?P<fmt>[^/.]+)$"

urlpatterns = [
    re_path(r"^discovery" + FMT, views.discovery, name="discovery"),
    re_path(r"^services" + FMT, views.service_list, name="services"),
    re_path(r"^services/(?P<code>[^/]+?)" + FMT, views.service_definition, name="service"),
    re_path(r"^requests" + FMT, views.requests, name="requests"),
    re_path(r"^requests/(?P<number>[^/]+?)" + FMT, views.request_detail, name="request"),
    re_path(r"^tokens/(?P<token>[^/]+?)" + FMT, views.token, name="token"),
    # Anything else under /open311/v2/ (a missing suffix, an unknown resource): the spec's 404.
    re_path(r"^(?P<path>.*)$", views.not_found),
]
