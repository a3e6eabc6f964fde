"""The permission chokepoint: roles grant actions, jurisdiction limits records; outside your
jurisdiction a record is "not found", never "forbidden"."""

import pytest
from django.core.exceptions import PermissionDenied

from chengguan.core.permissions import GRANTS, NotFound, access, can, registered_models, visible
from chengguan.grid.models import UnitGrid
from chengguan.org.choices import Role
from chengguan.org.models import Department, Person, Region

pytestmark = pytest.mark.django_db


def test_a_dispatcher_of_one_street_does_not_see_another_streets_grids(people, city):
    a, b = people["dispatcher_a"], people["dispatcher_b"]
    grids_a = visible(a, UnitGrid)
    assert grids_a.exists()
    assert set(grids_a.values_list("street_id", flat=True)) == {city.street_a.pk}
    assert set(visible(b, UnitGrid).values_list("street_id", flat=True)) == {city.street_b.pk}
    other = UnitGrid.objects.filter(street=city.street_b).first()
    with pytest.raises(NotFound):
        access(a, UnitGrid, other.pk)
    assert access(b, UnitGrid, other.pk) == other


def test_regions_cover_everything_below_them(people, city):
    seen = set(visible(people["dispatcher_a"], Region).values_list("pk", flat=True))
    expected = {city.street_a.pk, *city.street_a.children.values_list("pk", flat=True)}
    assert seen == expected
    with pytest.raises(NotFound):
        access(people["dispatcher_a"], Region, city.street_b.pk)


def test_a_handler_of_department_a_does_not_see_department_bs_people(people, city):
    ha, hb = people["handler_a"], people["handler_b"]
    assert set(visible(ha, Person)) == {ha}
    colleague = Person.objects.create_user("colleague_b", department=city.dept_b)
    assert colleague in visible(hb, Person)
    assert colleague not in visible(ha, Person)
    with pytest.raises(NotFound):
        access(ha, Person, colleague.pk)


def test_department_directory_is_read_by_all_staff_but_changed_only_city_wide(people, city):
    assert city.dept_b in visible(people["handler_a"], Department)
    with pytest.raises(PermissionDenied):
        access(people["handler_a"], Department, city.dept_b.pk, "change")
    assert access(people["sysadmin"], Department, city.dept_b.pk, "change") == city.dept_b


def test_no_role_sees_nothing(people, city):
    outsider = people["outsider"]
    for model in (UnitGrid, Region, Department, Person):
        assert not visible(outsider, model).exists()
    with pytest.raises(NotFound):
        access(outsider, Region, city.street_a.pk)


def test_inside_jurisdiction_but_action_not_granted_is_forbidden(people, city):
    grid = UnitGrid.objects.filter(street=city.street_a).first()
    assert access(people["dispatcher_a"], UnitGrid, grid.pk) == grid
    with pytest.raises(PermissionDenied):
        access(people["dispatcher_a"], UnitGrid, grid.pk, "change")


def test_missing_or_malformed_ids_are_not_found(people):
    for bad in (10**9, "abc", None):
        with pytest.raises(NotFound):
            access(people["sysadmin"], UnitGrid, bad)


def test_inactive_and_anonymous_people_see_nothing(people):
    from django.contrib.auth.models import AnonymousUser

    assert not visible(AnonymousUser(), UnitGrid).exists()
    leader = people["leader"]
    leader.is_active = False
    assert not visible(leader, UnitGrid).exists()


def test_role_table_and_policies_are_complete():
    assert set(GRANTS) == set(Role.values)
    # Every permission a role grants names a model that has a policy (or it could never be checked).
    models = {(m._meta.app_label, m._meta.model_name) for m in registered_models()}
    for role, perms in GRANTS.items():
        for perm in perms:
            app, _, codename = perm.partition(".")
            assert (app, codename.rsplit("_", 1)[1]) in models, (role, perm)


def test_three_role_separation_in_the_table(people):
    from chengguan.core.models import AuditLog

    assert can(people["auditor"], "view", AuditLog)
    assert not can(people["sysadmin"], "view", AuditLog)
    assert not can(people["secadmin"], "view", AuditLog)
    assert not can(people["auditor"], "view", UnitGrid)
    assert can(people["secadmin"], "change", Person) and not can(people["secadmin"], "change", UnitGrid)
    assert not can(people["sysadmin"], "change", Person)


def test_api_detail_outside_jurisdiction_is_404(client_for, people, city):
    a = client_for(people["dispatcher_a"])
    assert a.get(f"/api/v1/org/regions/{city.street_b.pk}").status_code == 404
    assert a.get(f"/api/v1/org/regions/{city.street_a.pk}").status_code == 200
    codes = {r["code"] for r in a.get("/api/v1/org/regions").json()}
    assert city.street_a.code in codes and city.street_b.code not in codes
    h = client_for(people["handler_a"])
    assert h.get(f"/api/v1/org/people/{people['handler_b'].pk}").status_code == 404
    assert h.get(f"/api/v1/org/people/{people['handler_a'].pk}").json()["roles"] == ["handler"]
    assert {d["code"] for d in h.get("/api/v1/org/departments").json()} >= {"T-A", "T-B"}
