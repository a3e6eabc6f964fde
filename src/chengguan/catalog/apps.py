from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "chengguan.catalog"
    label = "catalog"
    verbose_name = _("部件事件分类")

    def ready(self) -> None:
        from . import (
            policies,  # noqa: F401
            signals,
        )

        signals.connect()
