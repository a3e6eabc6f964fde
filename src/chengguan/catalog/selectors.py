"""Reads of the catalogue, always through the permission chokepoint."""

from __future__ import annotations

import re

from django.db.models import Prefetch, Q, QuerySet

from chengguan.core.permissions import NotFound, access, visible

from .models import Catalog, MinorClass, StageLimit

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
