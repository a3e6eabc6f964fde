"""Forget this process's copy of the active catalogue whenever a catalogue record changes."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from .models import Catalog, MajorClass, MinorClass, StageLimit
from .selectors import forget_active_catalogue


def _changed(sender, **kwargs):
    forget_active_catalogue()


def connect() -> None:
    for model in (Catalog, MajorClass, MinorClass, StageLimit):
        post_save.connect(_changed, sender=model, dispatch_uid=f"catalog-cache-save-{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"catalog-cache-del-{model.__name__}")
