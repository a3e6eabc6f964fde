"""The admin: in Chinese, every registry listed for the people who maintain it, through the chokepoint."""

import pytest

pytestmark = pytest.mark.django_db

REGISTRIES = [
    "org/region",
    "org/department",
    "org/person",
    "org/rolegrant",
    "grid/unitgrid",
    "grid/gridresponsibility",
    "grid/gridlattice",
    "catalog/catalog",
    "catalog/majorclass",
    "catalog/minorclass",
    "catalog/stagelimit",
    "core/calendaroverride",
    "core/workperiod",
]


def test_system_admin_sees_every_registry_in_chinese(client, people, city):
    client.force_login(people["sysadmin"])
    index = client.get("/admin/")
    assert index.status_code == 200
    text = index.content.decode()
    for label in ("行政区域", "部门", "单元网格", "小类", "日历调整", "网格责任人"):
        assert label in text
    for path in REGISTRIES:
        page = client.get(f"/admin/{path}/")
        assert page.status_code == 200, path
    assert client.get("/admin/core/auditlog/").status_code == 403  # 三权分立


def test_auditor_reads_only_the_audit_log(client, people, city):
    client.force_login(people["auditor"])
    assert client.get("/admin/core/auditlog/").status_code == 200
    assert client.get("/admin/org/region/").status_code == 403


def test_street_scoped_admin_lists_only_its_grids(client, people, city):
    from chengguan.grid.models import UnitGrid
    from chengguan.org.models import RoleGrant

    person = people["dispatcher_a"]
    person.roles.add(RoleGrant.objects.get(role="system_admin"))
    person.is_staff = True
    person.save()
    client.force_login(person)
    page = client.get("/admin/grid/unitgrid/?all=")
    assert page.status_code == 200
    other = UnitGrid.objects.filter(street=city.street_b).first()
    mine = UnitGrid.objects.filter(street=city.street_a).first()
    assert mine.code in page.content.decode() and other.code not in page.content.decode()
    assert client.get(f"/admin/grid/unitgrid/{other.pk}/change/").status_code in (302, 404)


def test_calendar_warning_is_shown_to_administrators(client, people, city, monkeypatch):
    from chengguan.core import calendar

    monkeypatch.setattr(calendar, "calendar_warnings", lambda *a, **k: ["2099 年的法定节假日数据缺失"])
    client.force_login(people["sysadmin"])
    assert "2099 年的法定节假日数据缺失" in client.get("/admin/").content.decode()
    client.force_login(people["auditor"])
    assert "2099 年的法定节假日数据缺失" not in client.get("/admin/").content.decode()


def test_pages_load_no_asset_from_another_host(client, people, city):
    """Bureaus run on intranets: every page asset comes from this server."""
    import re

    client.force_login(people["sysadmin"])
    for url in ("/admin/", "/admin/grid/unitgrid/", "/api/v1/docs", "/admin/login/"):
        html = client.get(url).content.decode()
        external = re.findall(r'(?:src|href)="((?:https?:)?//[^"]+)"', html)
        assert not external, (url, external)
