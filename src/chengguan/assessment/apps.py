from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentConfig(AppConfig):
    name = "chengguan.assessment"
    label = "assessment"
    verbose_name = _("网格化检查考核")

    def ready(self) -> None:
        from chengguan.cases.photos import register_photo_model
        from chengguan.evaluation import scoring

        from . import policies, selectors  # noqa: F401  (policies registers the permission policies on import)
        from .models import FindingPhoto
        from .services import PHOTO_FOLDER

        scoring.register_extra_component(selectors.composite_component)
        register_photo_model(PHOTO_FOLDER, FindingPhoto)
