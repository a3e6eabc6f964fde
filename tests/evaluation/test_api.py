"""Evaluation over HTTP: who reads it, jurisdiction, the cases behind a figure, publishing."""

import pytest

from chengguan.evaluation import services

from .conftest import at
from .test_snapshots import STEPS

pytestmark = pytest.mark.django_db
URL = "/api/v1/evaluation"


@pytest.fixture
def two_cases(city, people, drive):
    services.load_scoring()
    on_time = drive.through(drive.report(at(2026, 3, 3, 9, 0)), STEPS)
    late = drive.through(
        drive.report(at(2026, 3, 3, 9, 0)),
        [("late" if w == "deadline" and a != "sign" else w, a, *r) for w, a, *r in STEPS],
    )
    drive.clock.move_to(at(2026, 4, 2, 9, 0))
    services.fold_events()
    return on_time, late


def test_leaders_and_shift_leaders_read_within_their_jurisdiction(city, people, client_for, two_cases):
    r = client_for(people["leader"]).get(f"{URL}/indicators", {"object_type": "street", "period": "2026-03"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["source"] == "live" and {i["object_id"] for i in body["items"]} == {
        city.street_a.pk,
        city.street_b.pk,
    }
    street_a = next(i for i in body["items"] if i["object_id"] == city.street_a.pk)
    close = next(f for f in street_a["figures"] if f["indicator"] == "close_on_time_rate")
    assert (close["numerator"], close["denominator"], float(close["value"])) == (1, 2, 0.5)
    assert close["label"] == "按期结案率" and street_a["grade"]
    mine = client_for(people["shiftlead_a"]).get(
        f"{URL}/indicators", {"object_type": "street", "period": "2026-03"}
    )
    assert [i["object_id"] for i in mine.json()["items"]] == [city.street_a.pk]
    for persona in ("inspector_a", "handler_a", "dispatcher_a"):
        denied = client_for(people[persona]).get(
            f"{URL}/indicators", {"object_type": "street", "period": "2026-03"}
        )
        assert denied.status_code == 403, persona
    leader = client_for(people["leader"])
    assert leader.get(f"{URL}/indicators", {"object_type": "street", "period": "2026-13"}).status_code == 422
    assert leader.get(f"{URL}/indicators", {"object_type": "moon", "period": "2026-03"}).status_code == 422
    ranked = leader.get(f"{URL}/rankings", {"object_type": "department", "period": "2026-03"}).json()["items"]
    assert ranked[0]["object_id"] == city.dept_a.pk and ranked[0]["rank"] == 1


def test_every_figure_links_to_its_cases(city, people, client_for, two_cases):
    on_time, late = two_cases
    leader = client_for(people["leader"])
    query = {"object_type": "department", "object_id": city.dept_a.pk, "period": "2026-03"}
    r = leader.get(f"{URL}/drilldown", {**query, "indicator": "handle_on_time_rate"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["numerator"], body["denominator"]) == (1, 2)
    [on_time_term] = body["terms"]["numerator"]
    assert [c["number"] for c in on_time_term["cases"]] == [on_time.number]
    handled = next(t for t in body["terms"]["denominator"] if t["counter"] == "handled")
    assert sorted(c["id"] for c in handled["cases"]) == sorted([on_time.pk, late.pk])
    # The figure the indicator endpoint shows is the one the drill-down adds up.
    items = leader.get(f"{URL}/indicators", {"object_type": "department", "period": "2026-03"}).json()[
        "items"
    ]
    shown = next(
        f
        for i in items
        if i["object_id"] == city.dept_a.pk
        for f in i["figures"]
        if f["indicator"] == "handle_on_time_rate"
    )
    assert (shown["numerator"], shown["denominator"]) == (body["numerator"], body["denominator"])
    # Someone who may not see street A's grid gets "not found".
    grid = {
        "object_type": "grid",
        "object_id": on_time.grid_id,
        "period": "2026-03",
        "indicator": "registered",
    }
    assert client_for(people["shiftlead_b"]).get(f"{URL}/drilldown", grid).status_code == 404
    assert client_for(people["shiftlead_a"]).get(f"{URL}/drilldown", grid).json()["numerator"] >= 1
    assert leader.get(f"{URL}/drilldown", {**query, "indicator": "nonsense"}).status_code == 422


def test_publish_and_recompute_over_http(city, people, client_for, two_cases):
    leader, shift = client_for(people["leader"]), client_for(people["shiftlead_a"])
    assert (
        shift.post(f"{URL}/snapshots", {"period": "2026-03"}, content_type="application/json").status_code
        == 403
    )
    r = leader.post(f"{URL}/snapshots", {"period": "2026-03"}, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["version"] == 1
    again = leader.post(f"{URL}/snapshots", {"period": "2026-03"}, content_type="application/json")
    assert again.status_code == 409
    figures = leader.get(f"{URL}/indicators", {"object_type": "district", "period": "2026-03"}).json()
    assert figures["source"] == "published" and figures["snapshot"]["version"] == 1
    r = leader.post(
        f"{URL}/snapshots/recompute", {"period": "2026-03", "reason": "复核"}, content_type="application/json"
    )
    assert r.status_code == 201 and r.json()["version"] == 2 and r.json()["published_by"]
    versions = leader.get(f"{URL}/snapshots", {"period": "2026-03"}).json()
    assert [(v["version"], v["current"]) for v in versions] == [(2, True), (1, False)]
    drill = leader.get(
        f"{URL}/drilldown",
        {
            "object_type": "district",
            "object_id": city.district.pk,
            "period": "2026-03",
            "indicator": "close_rate",
        },
    ).json()
    assert drill["published"]["numerator"] == drill["numerator"] == 2


def test_the_system_administrator_keeps_the_configuration_but_reads_no_figures(people, client_for):
    """三权分立 at the API as on the pages: figures and scores are for those granted them."""
    admin = client_for(people["sysadmin"])
    for url in (
        "/api/v1/evaluation/indicators?object_type=street&period=2026-03",
        "/api/v1/evaluation/rankings?object_type=street&period=2026-03",
    ):
        assert admin.get(url).status_code == 403
    assert admin.get("/api/v1/evaluation/snapshots?period=2026-03").status_code == 200
