"""Keep `Person.access_stamp` honest: any change to what a person may do gives them a new stamp, so
the per-process access caches (`org.selectors.person_access`) never serve an old answer.

A person's own roles, regions or departments changed: that person. A region, department or role
itself changed (a move changes the paths below it; a deletion drops memberships without m2m
signals): everyone, which is cheap because it is rare and the people table is small.
"""

from __future__ import annotations

import time

from django.db.models.signals import m2m_changed, post_delete, post_save

from .models import Department, Person, Region, RoleGrant
from .selectors import forget_access

_CHANGES = {"post_add", "post_remove", "post_clear"}


def _new_stamp() -> int:
    return time.time_ns()


def _memberships_changed(sender, instance, action, reverse, **kwargs):
    if action not in _CHANGES:
        return
    stamp = _new_stamp()
    if isinstance(instance, Person):
        Person.objects.filter(pk=instance.pk).update(access_stamp=stamp)
        instance.access_stamp = stamp
    else:  # changed from the region's, department's or role's side: its people, whoever they were
        Person.objects.update(access_stamp=stamp)
    forget_access()


def _tree_changed(sender, **kwargs):
    if kwargs.get("raw"):
        return
    Person.objects.update(access_stamp=_new_stamp())
    forget_access()


def connect() -> None:
    for through in (Person.roles.through, Person.regions.through, Person.departments.through):
        m2m_changed.connect(
            _memberships_changed, sender=through, dispatch_uid=f"org-access-{through.__name__}"
        )
    for model in (Region, Department, RoleGrant):
        post_save.connect(_tree_changed, sender=model, dispatch_uid=f"org-access-save-{model.__name__}")
        post_delete.connect(_tree_changed, sender=model, dispatch_uid=f"org-access-del-{model.__name__}")
