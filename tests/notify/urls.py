"""Used only while the project's API does not mount the notify router yet: the same router under
the same path, with the project's error handlers."""

from django.urls import path
from ninja import NinjaAPI
from ninja.security import django_auth

from chengguan.notify.api import router

api = NinjaAPI(auth=django_auth, urls_namespace="notify-test")
api.add_router("/notify/", router)

urlpatterns = [path("api/v1/", api.urls)]
