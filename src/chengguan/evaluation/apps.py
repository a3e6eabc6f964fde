from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluationConfig(AppConfig):
    name = "chengguan.evaluation"
    label = "evaluation"
    verbose_name = _("综合评价")

    def ready(self) -> None:
        from chengguan.notify.periodic import register_periodic

        from . import jobs, policies  # noqa: F401  (registers the permission policies on import)

        register_periodic("evaluation.fold", 60, jobs.fold_events_task)
        register_periodic("evaluation.settle", 600, jobs.settle_days_task)
        register_periodic("evaluation.publish", 3600, jobs.publish_closed_periods_task)
