"""Keep the in-memory locate index in step with the grids."""

from django.db.models.signals import post_delete, post_save

from chengguan.org.models import Region

from . import index
from .models import UnitGrid


def _invalidate(sender, **kwargs):
    index.invalidate()


for _model in (UnitGrid, Region):
    post_save.connect(_invalidate, sender=_model, dispatch_uid=f"grid-index-save-{_model.__name__}")
    post_delete.connect(_invalidate, sender=_model, dispatch_uid=f"grid-index-del-{_model.__name__}")
