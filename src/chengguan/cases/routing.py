"""Routing: which department handles a class of problem in a place.

The most specific routing rule wins (class × street, class × district, class anywhere, any class
in the street, any class in the district); without a rule, the catalogue's default kind of
department is looked for in the street, then the district, then the whole city.
"""

from __future__ import annotations

from django.db.models import Q

from chengguan.catalog.models import MinorClass
from chengguan.org.models import Department, Region

from .models import RoutingRule


def route(minor_class: MinorClass, street: Region, district: Region) -> Department | None:
    rules = {
        (r.minor_class_id, r.region_id): r.department
        for r in RoutingRule.objects.filter(
            Q(minor_class=minor_class) | Q(minor_class__isnull=True),
            Q(region__in=[street, district]) | Q(region__isnull=True),
            department__active=True,
        ).select_related("department")
    }
    for key in (
        (minor_class.pk, street.pk),
        (minor_class.pk, district.pk),
        (minor_class.pk, None),
        (None, street.pk),
        (None, district.pk),
        (None, None),
    ):
        if key in rules:
            return rules[key]
    by_kind = Department.objects.filter(kind=minor_class.default_department_kind, active=True)
    for place in (street, district):
        found = by_kind.filter(region=place).order_by("code").first()
        if found is not None:
            return found
    return by_kind.filter(region__isnull=True).order_by("code").first() or by_kind.order_by("code").first()
