from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "chengguan.web"
    label = "web"
    verbose_name = _("页面")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
