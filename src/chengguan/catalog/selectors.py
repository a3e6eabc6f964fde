"""Reads of the catalogue, always through the permission chokepoint."""

from __future__ import annotations

import re
import threading
import time

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from chengguan.core.permissions import NotFound, access, visible

from .models import Catalog, MajorClass, MinorClass, StageLimit

_DIGITS = re.compile(r"^[0-9]+$")
_LETTERS = re.compile(r"^[a-z]+$")


def active_catalog() -> Catalog | None:
    """The catalogue new cases use (at most one is active)."""
    return Catalog.objects.filter(active=True).first()


def access_active_catalog(user) -> Catalog:
    """The active catalogue, for this person (NotFound when none is active or it is not visible)."""
    catalog = active_catalog()
    if catalog is None:
        raise NotFound("no active catalogue")
    return access(user, Catalog, catalog.pk)


def minor_class_q(q: str) -> Q:
    """Minor classes matching `q`: a Chinese name substring, a code prefix (major + minor code,
    "01" → major 01, "0101" → 上水井盖), pinyin initials anywhere in the initials ("jg", "ssjg"), or
    full pinyin from the start of a syllable ("jinggai", "shui", "jing gai")."""
    q = (q or "").strip()
    if not q:
        return Q()
    cond = Q(name__icontains=q)
    compact = re.sub(r"\s+", "", q).lower()
    if _DIGITS.match(compact):
        if len(compact) <= 2:
            cond |= Q(major__code__startswith=compact)
        else:
            cond |= Q(major__code=compact[:2], code__startswith=compact[2:])
    elif _LETTERS.match(compact):
        # The key is "initials syllable syllable …" (services.pinyin_of); `compact` holds only
        # a-z, so it is safe inside a regular expression.
        cond |= Q(pinyin__regex=rf"^[a-z0-9]*{compact}")
        cond |= Q(pinyin__regex=r" " + " ?".join(compact))
    return cond


def minor_class_search(
    user, q: str = "", kind: str | None = None, *, catalog: Catalog | None = None
) -> QuerySet:
    """Active minor classes of the active catalogue (or `catalog`) matching `q`, for this person.

    No active catalogue: nothing (a catalogue is activated with `chengguan catalog load --activate`)."""
    catalog = catalog or active_catalog()
    if catalog is None:
        return MinorClass.objects.none()
    qs = visible(user, MinorClass).filter(active=True, major__catalog=catalog).select_related("major")
    if kind:
        qs = qs.filter(major__kind=kind)
    return qs.filter(minor_class_q(q)).order_by("major__kind", "major__code", "code")


def access_minor_class(user, pk, action: str = "view") -> MinorClass:
    """One minor class with its major, catalogue and stage limits (NotFound if not visible)."""
    queryset = MinorClass.objects.select_related("major__catalog").prefetch_related(
        Prefetch("limits", queryset=StageLimit.objects.order_by("urgency", "id"))
    )
    return access(user, MinorClass, pk, action, queryset=queryset)


# --- the active catalogue, cached per process ------------------------------------------------------

# Other processes' catalogue edits are noticed within this many seconds (a stamp of counts and
# last-change times, one query); the editing process itself forgets at once (catalog/signals.py).
# So change catalogue records with save() (the admin and catalog.services do), which stamps
# `updated_at`; a bare queryset.update() that leaves `updated_at` alone goes unnoticed.
CHECK_SECONDS = 2.0
_cache_lock = threading.Lock()
_cache: dict = {"classes": None, "stamp": None, "checked": 0.0}


def _stamp() -> tuple:
    qn = connection.ops.quote_name
    parts = [
        f"SELECT count(*), max({qn('updated_at')}), max(CASE WHEN {qn('active')} THEN {qn('id')} END) "
        f"FROM {qn(Catalog._meta.db_table)}"
    ]
    for model in (MajorClass, MinorClass, StageLimit):
        parts.append(f"SELECT count(*), max({qn('updated_at')}), 0 FROM {qn(model._meta.db_table)}")
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        return tuple(tuple(str(v) for v in row) for row in cursor.fetchall())


def _load_active_classes() -> dict[int, MinorClass]:
    return {
        minor.pk: minor
        for minor in MinorClass.objects.select_related("major__catalog")
        .filter(active=True, major__catalog__active=True)
        .prefetch_related("limits")
    }


def active_minor_class(pk) -> MinorClass | None:
    """An active class of the active catalogue, with its major class, catalogue and time limits
    loaded (no query for `.limit()`); None when there is no such class. Served from a per-process
    copy of the active catalogue: read-only, do not change the instance."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    now = time.monotonic()
    with _cache_lock:
        if _cache["classes"] is None or now - _cache["checked"] >= CHECK_SECONDS:
            stamp = _stamp()
            if _cache["classes"] is None or stamp != _cache["stamp"]:
                _cache["classes"], _cache["stamp"] = _load_active_classes(), stamp
            _cache["checked"] = now
        return _cache["classes"].get(pk)


def forget_active_catalogue() -> None:
    with _cache_lock:
        _cache["classes"] = _cache["stamp"] = None
