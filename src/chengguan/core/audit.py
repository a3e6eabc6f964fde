"""The audit log: every create, update and delete of a registry record, written by signals.

Bulk operations that bypass signals (grid generation, imports) call `record_bulk()` themselves.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from . import context
from .models import AuditAction, AuditedModel, AuditLog

# Fields never written to the log, and fields logged only as a digest (large geometry).
SECRET_FIELDS = {"password", "digest"}
DIGEST_FIELDS = {"geometry"}
SKIPPED_FIELDS = {"updated_at", "created_at", "last_login", "path"}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def snapshot(instance: models.Model) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        name = field.attname
        if field.name in SKIPPED_FIELDS:
            continue
        value = getattr(instance, name)
        if field.name in SECRET_FIELDS:
            value = hashlib.sha256(str(value).encode()).hexdigest()[:12] if value else ""
        elif field.name in DIGEST_FIELDS and value is not None:
            canonical = json.dumps(value, sort_keys=True, separators=(",", ":"))
            value = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]
        data[name] = _jsonable(value)
    return data


def is_audited(model: type[models.Model]) -> bool:
    return issubclass(model, AuditedModel) or model._meta.label == "org.Person"


def write(action: str, model_label: str, object_id: Any, object_repr: str, changes: dict) -> AuditLog:
    ctx = context.current()
    return AuditLog.objects.create(
        actor_id=ctx.user_id,
        actor_name=ctx.username,
        action=action,
        model=model_label,
        object_id="" if object_id is None else str(object_id),
        object_repr=object_repr[:200],
        changes=changes,
        request_id=ctx.request_id,
        ip=ctx.ip,
        via=ctx.via,
    )


def record_bulk(model: type[models.Model], description: str, details: dict | None = None) -> AuditLog:
    return write(AuditAction.BULK, model._meta.label, None, description, details or {})


def _pre_save(sender, instance, raw=False, **kwargs):
    if raw or not is_audited(sender):
        return
    before = None
    if instance.pk is not None:
        old = sender._default_manager.filter(pk=instance.pk).first()
        before = snapshot(old) if old is not None else None
    instance._audit_before = before


def _post_save(sender, instance, created, raw=False, **kwargs):
    if raw or not is_audited(sender):
        return
    after = snapshot(instance)
    before = getattr(instance, "_audit_before", None)
    if created or before is None:
        write(AuditAction.CREATE, sender._meta.label, instance.pk, str(instance), {"after": after})
        return
    changed = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if changed:
        write(AuditAction.UPDATE, sender._meta.label, instance.pk, str(instance), {"changed": changed})


def _post_delete(sender, instance, **kwargs):
    if not is_audited(sender):
        return
    write(AuditAction.DELETE, sender._meta.label, instance.pk, str(instance), {"before": snapshot(instance)})


def _m2m_changed(sender, instance, action, model, pk_set, reverse, **kwargs):
    if action not in {"post_add", "post_remove", "post_clear"} or reverse or not is_audited(type(instance)):
        return
    field = next(
        (f.name for f in type(instance)._meta.many_to_many if f.remote_field.through is sender),
        sender.__name__,
    )
    write(
        AuditAction.UPDATE,
        type(instance)._meta.label,
        instance.pk,
        str(instance),
        {"m2m": {field: {action.removeprefix("post_"): sorted(_jsonable(list(pk_set or [])))}}},
    )


def connect() -> None:
    for model in apps.get_models():
        if is_audited(model):
            pre_save.connect(_pre_save, sender=model, dispatch_uid=f"audit-pre-{model._meta.label}")
            post_save.connect(_post_save, sender=model, dispatch_uid=f"audit-post-{model._meta.label}")
            post_delete.connect(_post_delete, sender=model, dispatch_uid=f"audit-del-{model._meta.label}")
    m2m_changed.connect(_m2m_changed, dispatch_uid="audit-m2m")
