"""Routing: which department handles a class of problem in a place.

The most specific routing rule wins (class × street, class × district, class anywhere, any class
in the street, any class in the district); without a rule, the catalogue's default kind of
department is looked for in the street, then the district, then the whole city.

`route_cases()` answers for any number of cases in two queries (a page of the dispatch queue);
`route()` is the one-case form the dispatch service uses. Both apply the same precedence, here.
"""

from __future__ import annotations

from django.db.models import Q

from chengguan.catalog.models import MinorClass
from chengguan.org.models import Department, Region

from .models import RoutingRule


def _routes(wanted: list[tuple[MinorClass, int, int]]) -> list[Department | None]:
    """The department for each (class, street id, district id), in order."""
    if not wanted:
        return []
    class_ids = {minor.pk for minor, _s, _d in wanted}
    region_ids = {s for _m, s, _d in wanted} | {d for _m, _s, d in wanted}
    rules = {
        (r.minor_class_id, r.region_id): r.department
        for r in RoutingRule.objects.filter(
            Q(minor_class_id__in=class_ids) | Q(minor_class__isnull=True),
            Q(region_id__in=region_ids) | Q(region__isnull=True),
            department__active=True,
        ).select_related("department")
    }
    by_kind: dict[str, list[Department]] = {}
    kinds = {minor.default_department_kind for minor, _s, _d in wanted}
    for dept in Department.objects.filter(kind__in=kinds, active=True).order_by("code"):
        by_kind.setdefault(dept.kind, []).append(dept)
    out = []
    for minor, street_id, district_id in wanted:
        found = next(
            (
                rules[key]
                for key in (
                    (minor.pk, street_id),
                    (minor.pk, district_id),
                    (minor.pk, None),
                    (None, street_id),
                    (None, district_id),
                    (None, None),
                )
                if key in rules
            ),
            None,
        )
        if found is None:
            candidates = by_kind.get(minor.default_department_kind, [])
            for place in (street_id, district_id, None):
                found = next((d for d in candidates if d.region_id == place), None)
                if found is not None:
                    break
            if found is None and candidates:
                found = candidates[0]
        out.append(found)
    return out


def route(minor_class: MinorClass, street: Region, district: Region) -> Department | None:
    return _routes([(minor_class, street.pk, district.pk)])[0]


def route_cases(cases) -> dict[int, Department | None]:
    """{case id: its routed department} for cases with `minor_class` loaded."""
    cases = list(cases)
    found = _routes([(c.minor_class, c.street_id, c.district_id) for c in cases])
    return {c.pk: dept for c, dept in zip(cases, found, strict=True)}
