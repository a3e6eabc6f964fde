from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "chengguan.cases"
    label = "cases"
    verbose_name = _("案件")

    def ready(self) -> None:
        from chengguan.notify.periodic import register_periodic

        from . import jobs, policies  # noqa: F401
        from .models import CasePhoto
        from .photos import register_photo_model

        register_photo_model("cases", CasePhoto)
        register_periodic("cases.overdue_scan", 300, jobs.overdue_scan)
        register_periodic("cases.ledger_review", 6 * 3600, jobs.ledger_review)
        register_periodic("cases.photo_sweep", 24 * 3600, jobs.photo_sweep)
