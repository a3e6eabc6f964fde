from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentConfig(AppConfig):
    name = "chengguan.assessment"
    label = "assessment"
    verbose_name = _("网格化检查考核")

    def ready(self) -> None:
        from chengguan.evaluation import scoring

        from . import policies, selectors  # noqa: F401  (policies registers the permission policies on import)

        scoring.register_extra_component(selectors.composite_component)
