"""The back office: the catalogue's admin pages go through the chokepoint."""

from __future__ import annotations

import pytest
from django.contrib import admin

from chengguan.catalog.admin import MinorClassAdmin
from chengguan.catalog.models import Catalog, MinorClass, StageLimit
from chengguan.core.admin import ChokepointAdmin

from .conftest import make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_sysadmin(client, sysadmin):
    client.force_login(sysadmin)
    return client


def test_every_catalogue_admin_uses_the_chokepoint():
    for model in (Catalog, MinorClass, StageLimit):
        assert isinstance(admin.site._registry[model], ChokepointAdmin)


@pytest.mark.parametrize(
    ("q", "expected"),
    [("jg", "上水井盖"), ("0101", "上水井盖"), ("jinggai", "污水井盖"), ("暴露", "暴露垃圾")],
)
def test_minor_class_search(loaded, as_sysadmin, q, expected):
    response = as_sysadmin.get("/admin/catalog/minorclass/", {"q": q})
    assert response.status_code == 200
    assert expected in response.content.decode()


def test_minor_class_filters(loaded, as_sysadmin):
    response = as_sysadmin.get(
        "/admin/catalog/minorclass/", {"major__kind__exact": "event", "local_extension__exact": "1"}
    )
    assert response.status_code == 200
    assert "飞线充电" in response.content.decode() and "上水井盖" not in response.content.decode()


def test_pages_open(loaded, as_sysadmin):
    cover = MinorClass.objects.get(name="上水井盖")
    for url in (
        "/admin/catalog/catalog/",
        "/admin/catalog/majorclass/",
        "/admin/catalog/stagelimit/",
        f"/admin/catalog/minorclass/{cover.pk}/change/",
        f"/admin/catalog/majorclass/{cover.major_id}/change/",
    ):
        assert as_sysadmin.get(url).status_code == 200, url


def test_save_model_keeps_pinyin_filled(loaded, rf, sysadmin):
    minor = MinorClass.objects.get(name="路灯")
    minor.name = "道路照明"
    request = rf.post("/")
    request.user = sysadmin
    MinorClassAdmin(MinorClass, admin.site).save_model(request, minor, None, True)
    minor.refresh_from_db()
    assert minor.pinyin == "dlzm dao lu zhao ming"


def test_activate_action(loaded, as_sysadmin, data):
    from chengguan.catalog import services

    data["catalog"]["code"] = "LOCAL-2025"
    local = services.catalog_load(data, activate=False).catalog
    response = as_sysadmin.post(
        "/admin/catalog/catalog/", {"action": "activate", "_selected_action": [local.pk]}, follow=True
    )
    assert response.status_code == 200
    assert list(Catalog.objects.filter(active=True)) == [local]


def test_inspector_reads_but_cannot_change(loaded, client):
    inspector = make_person("inspector_staff", "inspector", is_staff=True)
    client.force_login(inspector)
    cover = MinorClass.objects.get(name="上水井盖")
    assert client.get("/admin/catalog/minorclass/", {"q": "jg"}).status_code == 200
    assert client.get("/admin/catalog/minorclass/add/").status_code == 403
    response = client.post(f"/admin/catalog/minorclass/{cover.pk}/change/", {"name": "x"})
    assert response.status_code == 403
    cover.refresh_from_db()
    assert cover.name == "上水井盖"


def test_edit_through_the_change_form(loaded, as_sysadmin):
    cover = MinorClass.objects.get(name="上水井盖")
    limits = list(cover.limits.order_by("id"))
    form = {
        "major": cover.major_id,
        "code": cover.code,
        "name": "供水井盖",
        "registration_condition": cover.registration_condition,
        "closure_condition": cover.closure_condition,
        "default_department_kind": "water",
        "active": "on",
        "limits-TOTAL_FORMS": len(limits),
        "limits-INITIAL_FORMS": len(limits),
        "limits-MIN_NUM_FORMS": 0,
        "limits-MAX_NUM_FORMS": 1000,
    }
    for i, limit in enumerate(limits):
        form |= {
            f"limits-{i}-id": limit.pk,
            f"limits-{i}-minor": cover.pk,
            f"limits-{i}-stage": limit.stage,
            f"limits-{i}-urgency": limit.urgency,
            f"limits-{i}-amount": limit.amount,
            f"limits-{i}-unit": limit.unit,
            f"limits-{i}-basis": limit.basis,
            f"limits-{i}-note": limit.note,
        }
    handle = next(i for i, x in enumerate(limits) if (x.stage, x.urgency) == ("handle", "normal"))
    form[f"limits-{handle}-amount"] = "0"
    response = as_sysadmin.post(f"/admin/catalog/minorclass/{cover.pk}/change/", form)
    assert response.status_code == 200  # refused: the amount must be positive
    cover.refresh_from_db()
    assert cover.name == "上水井盖"

    form[f"limits-{handle}-amount"] = "4"
    response = as_sysadmin.post(f"/admin/catalog/minorclass/{cover.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    cover.refresh_from_db()
    assert cover.name == "供水井盖" and cover.pinyin == "gsjg gong shui jing gai"
    assert cover.limit("handle").amount == 4
