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
            twofactor,
        )

        signals.connect()
        sessions.connect()
        twofactor.connect()

        from chengguan.notify.periodic import register_periodic

        from . import jobs

        register_periodic("org.clear_sessions", 300, jobs.clear_sessions)
