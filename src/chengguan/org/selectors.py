"""Reads of the organisation, always through the permission chokepoint."""

from __future__ import annotations

from chengguan.core.permissions import access, visible

from .models import Department, Person, Region


def region_list(user, *, level: str | None = None, parent_id: int | None = None):
    qs = visible(user, Region).select_related("parent")
    if level:
        qs = qs.filter(level=level)
    if parent_id is not None:
        qs = qs.filter(parent_id=parent_id)
    return qs.order_by("code")


def access_region(user, pk, action: str = "view") -> Region:
    return access(user, Region, pk, action)


def department_list(user, *, kind: str | None = None):
    qs = visible(user, Department).filter(active=True)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("code")


def access_department(user, pk, action: str = "view") -> Department:
    return access(user, Department, pk, action)


def person_list(user, *, department_id: int | None = None):
    qs = visible(user, Person).filter(is_active=True).prefetch_related("roles")
    if department_id is not None:
        qs = qs.filter(department_id=department_id)
    return qs.order_by("username")


def access_person(user, pk, action: str = "view") -> Person:
    return access(user, Person, pk, action)
