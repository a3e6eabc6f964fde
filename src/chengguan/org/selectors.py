"""Reads of the organisation, always through the permission chokepoint."""

from __future__ import annotations

import threading
from dataclasses import dataclass

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


# --- what a person may do, cached per process ------------------------------------------------------


@dataclass(frozen=True)
class PersonAccess:
    """A person's role codes and the tree paths of the regions and departments they act for."""

    roles: frozenset[str]
    region_paths: tuple[str, ...]
    department_paths: tuple[str, ...]


_ACCESS_CACHE_SIZE = 10_000
_access_cache: dict[tuple[int, int], PersonAccess] = {}
_access_lock = threading.Lock()


def person_access(person: Person) -> PersonAccess:
    """Roles, region paths and department paths of `person` (three small queries the first time).

    Kept per process under (person id, `access_stamp`): the stamp is read with the person on
    every request (session or token), and changes whenever any of this may have changed (see
    org/signals.py), so a revoked role or a narrowed jurisdiction counts at once in every process.
    Also kept on the instance for the rest of its life (one request)."""
    cached = getattr(person, "_access", None)
    if cached is not None and cached[0] == person.access_stamp:
        return cached[1]
    key = (person.pk, person.access_stamp)
    access_ = _access_cache.get(key)
    if access_ is None:
        access_ = PersonAccess(
            roles=frozenset(person.roles.values_list("role", flat=True)),
            region_paths=tuple(person.regions.values_list("path", flat=True)),
            department_paths=tuple(person.departments.values_list("path", flat=True)),
        )
        with _access_lock:
            if len(_access_cache) >= _ACCESS_CACHE_SIZE:
                _access_cache.clear()
            _access_cache[key] = access_
    person._access = (person.access_stamp, access_)
    return access_


def forget_access() -> None:
    """Drop this process's cached access (the signals call it on every change)."""
    with _access_lock:
        _access_cache.clear()
