from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "chengguan.core"
    label = "core"
    verbose_name = _("系统核心")

    def ready(self) -> None:
        from . import audit, checks, policies  # noqa: F401  (checks and policies register on import)

        audit.connect()

        from chengguan.notify.periodic import register_periodic

        from . import jobs

        register_periodic("core.seal_audit_log", 60, jobs.seal_audit_log)
        register_periodic("core.requeue_abandoned", 60, jobs.requeue_abandoned)
