"""The permission chokepoint: which records of a model may this person see or change.

Two questions, answered in one place for every list, detail, export, API and admin page:

* **Role grants actions.** `GRANTS` maps each role to the permissions it carries
  (`"app.action_model"`, Django's own naming, so the admin asks the same table through
  `RoleBackend`).
* **Jurisdiction limits records.** Each model registers a `Policy` saying which of its fields
  place a record in a region or a department. A person sees a record when one of those fields
  falls inside the regions or departments they act for (a region covers everything below it),
  or when they act for the whole city.

Fetch one object with `access(user, Model, pk)` (or an app's `access_<model>` wrapper): a
record outside the person's jurisdiction raises `NotFound`, never "forbidden".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q
from django.http import Http404

from chengguan.org.choices import Role

ACTIONS = ("view", "add", "change", "delete")

# Role → permissions. Registry records (regions, grids, departments, people, catalogue, calendar)
# are maintained by the system administrator; the security administrator manages people and their
# roles; the auditor reads the audit log and nothing else (三权分立).
_STAFF_READ = {
    "org.view_region",
    "org.view_department",
    "grid.view_unitgrid",
    "catalog.view_catalog",
    "catalog.view_majorclass",
    "catalog.view_minorclass",
    "catalog.view_stagelimit",
}
_REGISTRY_ADMIN = {
    f"{app}.{action}_{model}"
    for app, model in [
        ("org", "region"),
        ("org", "department"),
        ("grid", "unitgrid"),
        ("grid", "gridresponsibility"),
        ("catalog", "catalog"),
        ("catalog", "majorclass"),
        ("catalog", "minorclass"),
        ("catalog", "stagelimit"),
        ("core", "calendaroverride"),
        ("core", "workperiod"),
    ]
    for action in ACTIONS
}
GRANTS: dict[str, frozenset[str]] = {
    Role.INSPECTOR: frozenset(_STAFF_READ),
    Role.OPERATOR: frozenset(_STAFF_READ),
    Role.SHIFT_LEADER: frozenset(_STAFF_READ | {"org.view_person"}),
    Role.DISPATCHER: frozenset(_STAFF_READ | {"org.view_person"}),
    Role.HANDLER: frozenset(_STAFF_READ | {"org.view_person"}),
    Role.LEADER: frozenset(
        _STAFF_READ | {"org.view_person", "core.view_calendaroverride", "core.view_workperiod"}
    ),
    Role.SYSTEM_ADMIN: frozenset(
        _STAFF_READ
        | _REGISTRY_ADMIN
        | {"org.view_person", "org.view_rolegrant", "grid.view_gridlattice"}
        # Operations: delivery state of notifications and the schedule of periodic jobs.
        | {"notify.view_notification", "notify.view_periodicschedule"}
    ),
    Role.SECURITY_ADMIN: frozenset(
        {"org.view_region", "org.view_department", "org.view_rolegrant"}
        | {f"org.{a}_person" for a in ACTIONS}
        | {"org.view_apitoken", "org.change_apitoken"}
    ),
    Role.AUDITOR: frozenset({"core.view_auditlog", "core.view_auditseal"}),
}


def grant(role: str, perms: Iterable[str]) -> None:
    """Add permissions to a role: apps call this from their policies module for their own actions."""
    GRANTS[role] = frozenset(GRANTS.get(role, frozenset()) | set(perms))


class NotFound(Http404):
    """The record does not exist for this person: absent, or outside their jurisdiction."""


def permissions_of(user) -> frozenset[str]:
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_chengguan_perms", None)
    if cached is None:
        cached = frozenset().union(*(GRANTS.get(role, frozenset()) for role in user.role_codes()))
        user._chengguan_perms = cached
    return cached


def perm_name(model: type[models.Model], action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def can(user, action: str, model: type[models.Model]) -> bool:
    """Does any of the person's roles grant `action` on `model` (before jurisdiction)?"""
    return perm_name(model, action) in permissions_of(user)


# --- jurisdiction -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """How records of one model are placed in the organisation.

    region_fields: FKs to org.Region (or "self" for Region itself); department_fields: FKs to
    org.Department (or "self"); citywide_only: records nobody sees through a region or department
    (the audit log): only people acting for the whole city; global_read: records every person with
    the view permission sees (the catalogue, the department directory); extra: a callable adding a
    Q for the person (e.g. "their own record").
    """

    region_fields: tuple[str, ...] = ()
    department_fields: tuple[str, ...] = ()
    global_read: bool = False
    citywide_only: bool = False
    extra: Callable[[Any], Q] | None = None
    m2m_region_fields: tuple[str, ...] = field(default=())
    related_department_fields: tuple[str, ...] = field(default=())


_POLICIES: dict[type[models.Model], Policy] = {}


def register(model: type[models.Model], policy: Policy) -> None:
    _POLICIES[model] = policy


def policy_for(model: type[models.Model]) -> Policy:
    try:
        return _POLICIES[model]
    except KeyError:
        raise LookupError(f"{model._meta.label} has no permission policy; register one in its app") from None


def registered_models() -> Iterable[type[models.Model]]:
    return tuple(_POLICIES)


def _below(model, paths):
    """Records of a tree model (`path`) at or below any of `paths`, as an id subquery; None if none."""
    if not paths:
        return None
    cond = Q()
    for path in paths:
        cond |= Q(path__startswith=path)
    return model.objects.filter(cond).values("pk")


def _region_ids(user):
    from chengguan.org.models import Region
    from chengguan.org.selectors import person_access

    return _below(Region, list(person_access(user).region_paths))


def _department_ids(user):
    from chengguan.org.models import Department
    from chengguan.org.selectors import person_access

    return _below(Department, list(person_access(user).department_paths))


def covers_place(user, region_ids: Iterable[int]) -> bool:
    """Whether the person's jurisdiction covers a place given as the ids of its region and every
    region above it (e.g. a located point's community, street and district): the in-memory twin
    of `visible(user, Region).filter(pk__in=…).exists()` for a chain of ancestors, no query."""
    from chengguan.org.selectors import person_access

    if user.citywide:
        return True
    chain = {str(pk) for pk in region_ids if pk}
    # A path ends with its own region's id: the person covers the place when one of their own
    # regions is the place or above it.
    return any(path.strip("/").rsplit("/", 1)[-1] in chain for path in person_access(user).region_paths)


def acting_department_ids(user) -> list[int]:
    """The departments a person acts for, each with everything below it."""
    ids = _department_ids(user)
    return [] if ids is None else [row["pk"] for row in ids]


def jurisdiction_q(user, model: type[models.Model]) -> Q | None:
    """The records of `model` inside the person's jurisdiction; None means every record."""
    policy = policy_for(model)
    if policy.global_read or user.citywide:
        return None
    if policy.citywide_only:
        return Q(pk__in=[])
    q = Q(pk__in=[])
    regions = _region_ids(user) if (policy.region_fields or policy.m2m_region_fields) else None
    if regions is not None:
        for name in policy.region_fields:
            q |= Q(pk__in=regions) if name == "self" else Q(**{f"{name}__in": regions})
        for name in policy.m2m_region_fields:
            q |= Q(pk__in=model.objects.filter(**{f"{name}__in": regions}).values("pk"))
    departments = (
        _department_ids(user) if (policy.department_fields or policy.related_department_fields) else None
    )
    if departments is not None:
        for name in policy.department_fields:
            q |= Q(pk__in=departments) if name == "self" else Q(**{f"{name}__in": departments})
        for name in policy.related_department_fields:
            q |= Q(pk__in=model.objects.filter(**{f"{name}__in": departments}).values("pk"))
    if policy.extra is not None:
        q |= policy.extra(user)
    return q


def scope_allows(user, action: str, model: type[models.Model]) -> bool:
    """The scope part of `may`: reading a shared registry (global_read) is open to all staff,
    changing it (adding to it, importing a file of it) needs a person acting for the whole city."""
    return action == "view" or not policy_for(model).global_read or bool(user.citywide)


def may(user, action: str, model: type[models.Model]) -> bool:
    """Whether the person may `action` records of `model` at all, before any record's
    jurisdiction: a role grants it, and the scope allows it (`scope_allows`)."""
    return can(user, action, model) and scope_allows(user, action, model)


def visible(user, model: type[models.Model], action: str = "view", queryset=None) -> models.QuerySet:
    """Every record of `model` this person may `action`; empty when no role grants it."""
    qs = queryset if queryset is not None else model._default_manager.all()
    if not may(user, action, model):
        return qs.none()
    cond = jurisdiction_q(user, model)
    return qs if cond is None else qs.filter(cond)


def access(user, model: type[models.Model], pk: Any, action: str = "view", queryset=None):
    """One record for this person: NotFound outside their jurisdiction, PermissionDenied when
    they may see it but their roles do not grant `action`."""
    try:
        obj = visible(user, model, "view", queryset).get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"{model._meta.verbose_name} {pk} not found") from None
    if action != "view" and not visible(user, model, action, queryset).filter(pk=obj.pk).exists():
        from .audit import denied

        denied(model._meta.label, obj.pk, action)
        raise PermissionDenied(f"not allowed to {action} this {model._meta.verbose_name}")
    return obj


class RoleBackend(ModelBackend):
    """The one auth backend: passwords as Django's ModelBackend, but `user.has_perm()` answered
    from GRANTS only (never from ad-hoc user or group permissions), so the admin and the views ask
    the same role table as the chokepoint."""

    def get_user_permissions(self, user_obj, obj=None) -> set[str]:
        return set()

    def get_group_permissions(self, user_obj, obj=None) -> set[str]:
        return set()

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        return perm in permissions_of(user_obj)

    def has_module_perms(self, user_obj, app_label: str) -> bool:
        return any(p.startswith(app_label + ".") for p in permissions_of(user_obj))

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        return set(permissions_of(user_obj))
