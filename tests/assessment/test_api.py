"""Grid assessment over HTTP: roles and jurisdiction, errors by field, a double submit of
"turn into a case" makes one case, scores for the rectification office."""

from __future__ import annotations

import io

import pytest

from chengguan.assessment.models import AssessmentRecord, Finding
from chengguan.cases.models import Case

from .conftest import jpeg

pytestmark = pytest.mark.django_db
URL = "/api/v1/assessment"


def photo(name="scene.jpg"):
    f = io.BytesIO(jpeg())
    f.name = name
    return f


def test_a_whole_assessment_over_the_api(assess, client_for):
    me = client_for(assess.people["assessor_1"])
    grid = assess.grids[0]
    r = me.post(
        f"{URL}/records", {"plan_id": assess.plan.pk, "grid_id": grid.pk}, content_type="application/json"
    )
    assert r.status_code == 201, r.content
    record = r.json()
    again = me.post(
        f"{URL}/records", {"plan_id": assess.plan.pk, "grid_id": grid.pk}, content_type="application/json"
    )
    assert again.status_code == 200 and again.json()["id"] == record["id"]
    r = me.post(
        f"{URL}/records/{record['id']}/findings",
        {"item_id": assess.item("A02").pk, "note": "墙角堆放", "photos": [photo()]},
    )
    assert r.status_code == 201, r.content
    finding = r.json()["findings"][0]
    assert (finding["item_code"], finding["deduction"], finding["photos"]) == ("A02", "3.0", 1)
    r = me.post(f"{URL}/records/{record['id']}/submit", {}, content_type="application/json")
    assert r.status_code == 200 and (r.json()["status"], r.json()["score"]) == ("submitted", "97.0")
    first = me.post(f"{URL}/findings/{finding['id']}/case", {}, content_type="application/json")
    second = me.post(f"{URL}/findings/{finding['id']}/case", {}, content_type="application/json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["case_id"] == second.json()["case_id"] and Case.objects.count() == 1
    shown = me.get(f"{URL}/records/{record['id']}").json()["findings"][0]
    assert shown["case_number"] == first.json()["case_number"]


def test_roles_and_jurisdiction(assess, client_for):
    start = {"plan_id": assess.plan.pk, "grid_id": assess.grids[0].pk}
    for name, status in [("inspector_a", 403), ("office_a", 403), ("assessor_x", 403), ("outsider", 403)]:
        r = client_for(assess.people[name]).post(f"{URL}/records", start, content_type="application/json")
        assert r.status_code == status, (name, r.content)
        assert r.json()["code"] in ("forbidden", "not_found")
    made = client_for(assess.people["assessor_1"]).post(
        f"{URL}/records", start, content_type="application/json"
    )
    rid = made.json()["id"]
    assert client_for(assess.people["office_a"]).get(f"{URL}/records/{rid}").status_code == 200
    assert client_for(assess.people["office_b"]).get(f"{URL}/records/{rid}").status_code == 404
    assert client_for(assess.people["dispatcher_a"]).get(f"{URL}/records/{rid}").status_code == 404
    assert client_for(assess.people["office_b"]).get(f"{URL}/plans").json() == []
    assert [p["id"] for p in client_for(assess.people["assessor_2"]).get(f"{URL}/plans").json()] == [
        assess.plan.pk
    ]
    assert (
        client_for(assess.people["assessor_1"]).get(f"{URL}/scores?level=street&period=2026-03").status_code
        == 403
    )
    from django.test import Client

    assert Client().get(f"{URL}/plans").status_code == 401


def test_bad_input_is_a_clear_4xx_and_writes_nothing(assess, client_for):
    me = client_for(assess.people["assessor_1"])
    rid = me.post(
        f"{URL}/records",
        {"plan_id": assess.plan.pk, "grid_id": assess.grids[0].pk},
        content_type="application/json",
    ).json()["id"]
    bad_photo = io.BytesIO(b"GIF89a not really")
    bad_photo.name = "x.gif"
    cases = [
        ({"item_id": 999_999}, 422, "unknown_item"),
        ({"item_id": assess.item("A01").pk, "note": "长" * 501}, 422, "note_too_long"),
        ({"item_id": assess.item("A01").pk, "photos": [bad_photo]}, 422, "photo_bad_type"),
        ({"note": "no item"}, 422, "invalid"),
    ]
    for body, status, code in cases:
        r = me.post(f"{URL}/records/{rid}/findings", body)
        assert (r.status_code, r.json()["code"]) == (status, code), r.content
        assert "·" in r.json()["message"]  # Chinese · English
    r = me.post(
        f"{URL}/records", {"plan_id": assess.plan.pk, "grid_id": "x"}, content_type="application/json"
    )
    assert r.status_code == 422
    r = client_for(assess.people["office_a"]).get(f"{URL}/scores?level=planet&period=2026-03")
    assert (r.status_code, r.json()["code"]) == (422, "bad_level")
    assert not Finding.objects.exists()


def test_plans_and_scores_for_the_rectification_office(assess, client_for, city):
    office = client_for(assess.people["office_a"])
    body = {
        "name": "四月考核",
        "team_id": assess.team.pk,
        "checklist_id": assess.checklist.pk,
        "first_day": "2026-04-01",
        "last_day": "2026-04-30",
        "region_ids": [city.street_a.pk],
    }
    r = office.post(f"{URL}/plans", body, content_type="application/json")
    assert r.status_code == 201 and r.json()["region_ids"] == [city.street_a.pk]
    r = office.post(
        f"{URL}/plans", {**body, "region_ids": [city.street_b.pk]}, content_type="application/json"
    )
    assert (r.status_code, r.json()["code"]) == (422, "unknown_place")
    me = client_for(assess.people["assessor_1"])
    rid = me.post(
        f"{URL}/records",
        {"plan_id": assess.plan.pk, "grid_id": assess.grids[0].pk},
        content_type="application/json",
    ).json()["id"]
    me.post(f"{URL}/records/{rid}/findings", {"item_id": assess.item("C01").pk})
    me.post(f"{URL}/records/{rid}/submit", {}, content_type="application/json")
    day = AssessmentRecord.objects.get(pk=rid).day.isoformat()
    r = office.get(f"{URL}/scores", {"level": "street", "period": day})
    assert r.status_code == 200
    assert [(i["object_id"], i["score"], i["records"]) for i in r.json()["items"]] == [
        (city.street_a.pk, "97.00", 1)
    ]
    grids = client_for(assess.people["leader"]).get(f"{URL}/scores", {"level": "grid", "period": day}).json()
    assert [(i["object_id"], i["score"]) for i in grids["items"]] == [(assess.grids[0].pk, "97.00")]
