from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "chengguan.org"
    label = "org"
    verbose_name = _("组织机构")

    def ready(self) -> None:
        from . import (
            policies,  # noqa: F401  (registers the chokepoint policies)
            sessions,
            signals,
        )

        signals.connect()
        sessions.connect()
