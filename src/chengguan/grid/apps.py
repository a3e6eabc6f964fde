from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridConfig(AppConfig):
    name = "chengguan.grid"
    label = "grid"
    verbose_name = _("单元网格")

    def ready(self) -> None:
        from . import policies, signals  # noqa: F401
