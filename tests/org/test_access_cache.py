"""What a person may do is cached per process under their `access_stamp`; every change that could
alter it gives a new stamp, so the very next request (a fresh read of the person) sees it."""

from __future__ import annotations

import pytest

from chengguan.core.permissions import covers_place, jurisdiction_q
from chengguan.org.choices import RegionLevel, Role
from chengguan.org.models import Person, Region, RoleGrant
from chengguan.org.selectors import person_access

pytestmark = pytest.mark.django_db


def fresh(person) -> Person:
    """The person as the next request reads them (session or token: a new row from the database)."""
    return Person.objects.get(pk=person.pk)


def test_cached_after_the_first_read(people, django_assert_num_queries):
    person = fresh(people["dispatcher_a"])
    person_access(person)
    again = fresh(person)
    with django_assert_num_queries(0):
        assert again.role_codes() == {Role.DISPATCHER}
        assert person_access(again).region_paths


def test_a_revoked_role_counts_on_the_next_request(people):
    person = fresh(people["dispatcher_a"])
    assert person.has_role(Role.DISPATCHER)
    fresh(person).roles.remove(RoleGrant.objects.get(role=Role.DISPATCHER))
    assert not fresh(person).has_role(Role.DISPATCHER)


def test_changes_from_the_other_side_count_too(city, people):
    person = fresh(people["inspector_a"])
    assert person_access(person).region_paths == (city.street_a.path,)
    city.street_a.people.remove(person)  # from the region's side
    assert person_access(fresh(person)).region_paths == ()
    RoleGrant.objects.get(role=Role.INSPECTOR).people.clear()  # from the role's side
    assert fresh(person).role_codes() == frozenset()


def test_the_instance_that_was_changed_is_current_at_once(people):
    person = fresh(people["operator_a"])
    assert person.has_role(Role.OPERATOR)
    person.roles.add(RoleGrant.objects.get(role=Role.SHIFT_LEADER))
    assert person.has_role(Role.SHIFT_LEADER)


def test_a_region_change_renews_every_stamp(city, people):
    before = {p.pk: p.access_stamp for p in Person.objects.all()}
    city.street_b.save()
    after = {p.pk: p.access_stamp for p in Person.objects.all()}
    assert all(after[pk] != stamp for pk, stamp in before.items())


def test_covers_place_agrees_with_the_chokepoint_everywhere(city, people):
    """The in-memory check equals the chokepoint's jurisdiction over regions (what `visible()` uses
    besides the role) for every community's chain and every persona."""
    communities = Region.objects.filter(level=RegionLevel.COMMUNITY).select_related("parent__parent")
    checked = 0
    for person in people.values():
        person = fresh(person)
        q = jurisdiction_q(person, Region)
        inside = Region.objects.all() if q is None else Region.objects.filter(q)
        visible_ids = set(inside.values_list("pk", flat=True))
        for community in communities:
            street, district = community.parent, community.parent.parent
            chain = [community.pk, street.pk, district.pk]
            expected = bool({community.pk, street.pk} & visible_ids)
            assert covers_place(person, chain) == expected, (person.username, community.name)
            checked += 1
    assert checked >= 6 * len(people)
