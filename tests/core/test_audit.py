"""The audit log: every create/update/delete of a registry record, append-only, read by the
auditor alone."""

import pytest

from chengguan.core import context
from chengguan.core.models import AuditLog
from chengguan.core.permissions import visible
from chengguan.org.choices import DepartmentKind
from chengguan.org.models import Department

pytestmark = pytest.mark.django_db


def test_create_update_delete_are_logged_with_actor_and_diff(people):
    admin = people["sysadmin"]
    with context.acting(
        context.ActorContext(
            user_id=admin.pk, username="sysadmin", ip="10.1.2.3", request_id="req-1", via="web"
        )
    ):
        d = Department.objects.create(code="AUD-1", name="测试部门", kind=DepartmentKind.WATER)
        d.name = "改名部门"
        d.save()
        pk = d.pk
        d.delete()
    logs = list(AuditLog.objects.filter(model="org.Department", object_id=str(pk)).order_by("id"))
    assert [x.action for x in logs] == ["create", "update", "delete"]
    assert logs[0].changes["after"]["name"] == "测试部门"
    assert logs[1].changes["changed"] == {"name": ["测试部门", "改名部门"]}
    assert logs[2].changes["before"]["code"] == "AUD-1"
    assert all(x.actor_id == admin.pk and x.ip == "10.1.2.3" and x.request_id == "req-1" for x in logs)


def test_m2m_and_passwords(people, city):
    person = people["dispatcher_a"]
    person.regions.add(city.street_b)
    entry = AuditLog.objects.filter(model="org.Person", object_id=str(person.pk)).latest("id")
    assert entry.changes["m2m"]["regions"]["add"] == [city.street_b.pk]
    person.set_password("Another#pass-2026")
    person.save()
    entry = AuditLog.objects.filter(model="org.Person", object_id=str(person.pk)).latest("id")
    old, new = entry.changes["changed"]["password"]
    assert "Another" not in str(entry.changes) and old != new and len(new) == 12


def test_append_only():
    entry = AuditLog.objects.create(action="create", model="x.Y")
    entry.object_repr = "changed"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditLog.objects.filter(pk=entry.pk).update(model="z")
    with pytest.raises(PermissionError):
        AuditLog.objects.all().delete()


def test_only_the_auditor_reads_it(people):
    AuditLog.objects.create(action="create", model="x.Y")
    assert visible(people["auditor"], AuditLog).exists()
    for name in ("sysadmin", "secadmin", "leader", "dispatcher_a"):
        assert not visible(people[name], AuditLog).exists()


def test_request_id_and_ip_through_the_web(client, people):
    client.force_login(people["sysadmin"])
    r = client.get("/api/v1/org/departments", HTTP_X_REQUEST_ID="abc-123", REMOTE_ADDR="192.0.2.9")
    assert r["X-Request-ID"] == "abc-123"
    r = client.get("/api/v1/org/departments", HTTP_X_REQUEST_ID="bad id with spaces")
    assert r["X-Request-ID"] != "bad id with spaces" and len(r["X-Request-ID"]) == 32


def test_admin_change_is_audited_with_the_request(client, people, city):
    client.force_login(people["sysadmin"])
    url = f"/admin/org/department/{city.dept_a.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    data = {
        "code": "T-A",
        "name": "甲中队（改）",
        "kind": "chengguan_squad",
        "region": city.street_a.pk,
        "phone": "",
        "active": "on",
    }
    r = client.post(url, data, REMOTE_ADDR="192.0.2.7", HTTP_X_REQUEST_ID="admin-edit-1")
    assert r.status_code == 302, r.content[:2000]
    entry = AuditLog.objects.filter(model="org.Department", object_id=str(city.dept_a.pk)).latest("id")
    assert entry.changes["changed"]["name"] == ["甲中队", "甲中队（改）"]
    assert entry.actor_name == "sysadmin" and entry.ip == "192.0.2.7" and entry.request_id == "admin-edit-1"
