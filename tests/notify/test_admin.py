"""The outbox admin: read-only, behind the chokepoint."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import RequestFactory

from chengguan.core.admin import ChokepointAdmin
from chengguan.core.permissions import jurisdiction_q
from chengguan.notify.models import Notification, PeriodicSchedule
from chengguan.notify.services import notify

pytestmark = pytest.mark.django_db


def test_admins_are_read_only_chokepoint_admins(people):
    request = RequestFactory().get("/")
    request.user = people["sysadmin"]
    for model in (Notification, PeriodicSchedule):
        model_admin = admin.site._registry[model]
        assert isinstance(model_admin, ChokepointAdmin)
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)


def test_the_policy_shows_a_person_their_own_notifications(people):
    alice, bob = people["inspector_a"], people["handler_b"]
    with transaction.atomic():
        notify(alice, kind="a", title="给甲", channels=["inbox"])
        notify(bob, kind="a", title="给乙", channels=["inbox"])
    own = Notification.objects.filter(jurisdiction_q(alice, Notification))
    assert [n.title for n in own] == ["给甲"]
    assert jurisdiction_q(people["leader"], Notification) is None  # city-wide: every notification


def test_state_filter(people):
    from chengguan.notify.admin import DeliveryStateFilter, NotificationAdmin

    alice = people["inspector_a"]
    with transaction.atomic():
        notify(alice, kind="a", title="x", channels=["inbox", "log"])
    Notification.objects.filter(channel="log").update(failed_at=Notification.objects.first().created_at)
    model_admin = NotificationAdmin(Notification, admin.site)
    for state, expected in (("pending", ["inbox"]), ("failed", ["log"]), ("sent", [])):
        f = DeliveryStateFilter(None, {"state": [state]}, Notification, model_admin)
        assert [n.channel for n in f.queryset(None, Notification.objects.all())] == expected


def test_changelist_and_detail_render(people, client_for, monkeypatch):
    from chengguan.core import permissions
    from chengguan.org.choices import Role

    perms = {"notify.view_notification", "notify.view_periodicschedule"}
    monkeypatch.setitem(permissions.GRANTS, Role.SYSTEM_ADMIN, permissions.GRANTS[Role.SYSTEM_ADMIN] | perms)
    sysadmin = people["sysadmin"]
    with transaction.atomic():
        (row,) = notify(people["inspector_a"], kind="case_dispatched", title="案件已派遣", channels=["inbox"])
    client = client_for(sysadmin)
    page = client.get("/admin/notify/notification/?state=pending&channel=inbox")
    assert page.status_code == 200 and "案件已派遣" in page.content.decode()
    detail = client.get(f"/admin/notify/notification/{row.pk}/change/")
    assert detail.status_code == 200 and b'name="_save"' not in detail.content  # read-only
    assert client.get("/admin/notify/periodicschedule/").status_code == 200
