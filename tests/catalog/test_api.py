"""The catalogue API, as a logged-in inspector and as nobody."""

from __future__ import annotations

import pytest

from chengguan.catalog.models import MinorClass

pytestmark = pytest.mark.django_db

URL = "/api/v1/catalog"


@pytest.fixture
def as_inspector(client, inspector):
    client.force_login(inspector)
    return client


def test_search_returns_classes(loaded, as_inspector):
    response = as_inspector.get(f"{URL}/classes", {"q": "jg", "kind": "component"})
    assert response.status_code == 200
    rows = response.json()
    cover = next(r for r in rows if r["name"] == "上水井盖")
    assert cover == {
        "id": cover["id"],
        "code": "01",
        "full_code": "0101",
        "name": "上水井盖",
        "kind": "component",
        "major_code": "01",
        "major_name": "公用设施",
        "default_department_kind": "water",
        "default_department_label": "水务",
        "registration_condition": "上水（供水）井盖丢失、破损、移位或松动，影响通行安全",
        "closure_condition": "井盖已补齐或更换，安装平稳，无安全隐患",
        "local_extension": False,
    }
    assert all(r["kind"] == "component" for r in rows)


def test_search_by_chinese_and_code(loaded, as_inspector):
    assert [r["name"] for r in as_inspector.get(f"{URL}/classes", {"q": "店外"}).json()] == ["店外经营"]
    assert [
        r["full_code"] for r in as_inspector.get(f"{URL}/classes", {"q": "0503", "kind": "event"}).json()
    ] == ["0503"]


def test_detail_has_limits(loaded, as_inspector):
    pk = MinorClass.objects.get(name="雨水箅子").pk
    response = as_inspector.get(f"{URL}/classes/{pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "雨水箅子" and body["catalog_code"] == "CJT214-2007"
    normal = [x for x in body["limits"] if x["urgency"] == "normal"]
    assert [x["stage"] for x in normal] == ["accept", "register", "dispatch", "handle", "check", "close"]
    handle = normal[3]
    assert handle["amount"] == 6 and handle["unit"] == "hour" and handle["basis"] == "reference"
    assert handle["unit_label"] == "自然小时" and handle["stage_label"] == "处置"
    assert {x["stage"] for x in body["limits"] if x["urgency"] == "urgent"} == {
        "accept",
        "register",
        "dispatch",
        "handle",
        "check",
    }


def test_active_catalogue(loaded, as_inspector):
    body = as_inspector.get(f"{URL}/active").json()
    assert body["code"] == "CJT214-2007" and body["active"] and body["effective_from"] == "2007-05-01"


def test_anonymous_gets_401(loaded, client):
    for path in ("/classes?q=jg", f"/classes/{MinorClass.objects.first().pk}", "/active"):
        response = client.get(URL + path)
        assert response.status_code == 401, path
        assert "请先登录" in response.json()["message"]


def test_unknown_class_is_404(loaded, as_inspector):
    assert as_inspector.get(f"{URL}/classes/999999").status_code == 404


def test_no_active_catalogue_is_404(db, as_inspector):
    from chengguan.catalog.models import Catalog

    Catalog.objects.update(active=False)  # another fixture may have activated one
    assert as_inspector.get(f"{URL}/active").status_code == 404
    assert as_inspector.get(f"{URL}/classes").json() == []


def test_bad_parameters_are_422(loaded, as_inspector):
    assert as_inspector.get(f"{URL}/classes", {"kind": "thing"}).status_code == 422
    assert as_inspector.get(f"{URL}/classes", {"q": "x" * 51}).status_code == 422


def test_person_without_role_sees_nothing(loaded, client, outsider):
    client.force_login(outsider)
    assert client.get(f"{URL}/classes", {"q": "井盖"}).json() == []
    assert client.get(f"{URL}/classes/{MinorClass.objects.first().pk}").status_code == 404
