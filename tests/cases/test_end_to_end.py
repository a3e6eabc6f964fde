"""The whole loop through the HTTP API on a frozen clock, across National Day 2026:
an inspector reports, the operator accepts, the shift leader registers, the dispatcher
dispatches to a lead and a co-handler, both handle, the inspector fails the first check
(rework), passes the second, and the shift leader closes."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from shapely.geometry import shape

from chengguan.cases.models import Case, CaseStage
from chengguan.catalog.models import MinorClass
from chengguan.core.calendar import add_working_time
from chengguan.grid.models import UnitGrid

pytestmark = pytest.mark.django_db
CST = ZoneInfo("Asia/Shanghai")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CST)


@pytest.fixture
def exposed_garbage(city):
    return MinorClass.objects.get(name="暴露垃圾", major__catalog__active=True)


def post(client, url, data, **headers):
    return client.post(url, data, content_type="application/json", **headers)


def test_the_whole_loop(city, people, client_for, exposed_garbage):
    inspector, operator = client_for(people["inspector_a"]), client_for(people["operator_a"])
    leader, dispatcher = client_for(people["shiftlead_a"]), client_for(people["dispatcher_a"])
    lead, co = client_for(people["handler_a"]), client_for(people["handler_b"])
    grid = UnitGrid.objects.filter(street=city.street_a, area_m2__gt=9900).first()
    point = shape(grid.geometry).centroid

    with time_machine.travel(at(2026, 9, 30, 9, 0), tick=False) as clock:
        r = post(
            inspector,
            "/api/v1/cases/",
            {
                "source": "inspector",
                "minor_class_id": exposed_garbage.pk,
                "description": "路边堆放生活垃圾约 2 立方米",
                "lon": point.x,
                "lat": point.y,
                "address": "甲街道某路 12 号",
            },
        )
        assert r.status_code == 201, r.content
        case = r.json()
        assert case["status"] == "reported" and case["grid"]["code"] == grid.code
        assert case["number"].startswith("202609") and len(case["number"]) == 12
        assert dt.datetime.fromisoformat(case["stage_deadline"]) == at(
            2026, 9, 30, 9, 10
        )  # 10 natural minutes
        cid, version = case["id"], case["version"]

        clock.move_to(at(2026, 9, 30, 9, 5))
        r = post(operator, f"/api/v1/cases/{cid}/accept", {"version": version})
        assert r.status_code == 200, r.content
        assert r.json()["status"] == "to_register"  # an inspector's report needs no verification
        version = r.json()["version"]

        clock.move_to(at(2026, 9, 30, 9, 50))  # 45 minutes: the 30-minute register limit is missed
        r = post(leader, f"/api/v1/cases/{cid}/register", {"version": version})
        assert r.status_code == 200 and r.json()["status"] == "to_dispatch"
        version = r.json()["version"]

        clock.move_to(at(2026, 9, 30, 10, 0))
        r = post(
            dispatcher,
            f"/api/v1/cases/{cid}/dispatch",
            {"version": version, "department_id": city.dept_a.pk, "cohandler_ids": [city.dept_b.pk]},
        )
        assert r.status_code == 200, r.content
        body = r.json()
        assert body["status"] == "dispatched" and body["lead_department_id"] == city.dept_a.pk
        # 1 working day = 7 working hours: 5.5 h on 30 Sep, then National Day (1–7 Oct), 1.5 h on 8 Oct.
        deadline = dt.datetime.fromisoformat(body["stage_deadline"])
        assert deadline == at(2026, 10, 8, 10, 0)
        assert {t["role"]: t["deadline"] for t in body["tasks"]} == {
            "lead": body["stage_deadline"],
            "co": body["stage_deadline"],
        }
        version = body["version"]

        clock.move_to(at(2026, 9, 30, 10, 20))
        r = post(lead, f"/api/v1/cases/{cid}/sign", {"version": version})
        assert r.status_code == 200 and r.json()["status"] == "handling"
        version = r.json()["version"]
        r = post(co, f"/api/v1/cases/{cid}/cohandler_sign", {"version": version})
        assert r.status_code == 200, r.content
        version = r.json()["version"]

        clock.move_to(at(2026, 10, 8, 9, 0))
        r = post(lead, f"/api/v1/cases/{cid}/handle", {"version": version, "result": "已清运"})
        assert r.status_code == 409 and r.json()["code"] == "cohandlers_pending"
        r = post(co, f"/api/v1/cases/{cid}/cohandler_feedback", {"version": version, "result": "已配合劝离"})
        assert r.status_code == 200
        version = r.json()["version"]
        clock.move_to(at(2026, 10, 8, 9, 30))
        r = post(lead, f"/api/v1/cases/{cid}/handle", {"version": version, "result": "已清运"})
        assert r.status_code == 200 and r.json()["status"] == "to_check"
        version = r.json()["version"]

        clock.move_to(at(2026, 10, 8, 10, 15))  # within the 1-working-hour check limit
        r = post(inspector, f"/api/v1/cases/{cid}/check_fail", {"version": version, "note": "仍有残留垃圾"})
        assert r.status_code == 200, r.content
        body = r.json()
        assert body["status"] == "handling" and body["rework_count"] == 1
        # Rework: a new handling stage of 1 working day from 10:15 on 8 Oct → 10:15 on 9 Oct.
        assert dt.datetime.fromisoformat(body["stage_deadline"]) == at(2026, 10, 9, 10, 15)
        version = body["version"]

        clock.move_to(at(2026, 10, 9, 15, 0))  # past the rework deadline: handled late
        r = post(lead, f"/api/v1/cases/{cid}/handle", {"version": version, "result": "已彻底清理"})
        assert r.status_code == 200
        version = r.json()["version"]

        clock.move_to(at(2026, 10, 9, 15, 30))
        r = post(inspector, f"/api/v1/cases/{cid}/check_pass", {"version": version})
        assert r.status_code == 200 and r.json()["status"] == "to_close"
        version = r.json()["version"]

        clock.move_to(at(2026, 10, 9, 16, 0))
        r = post(leader, f"/api/v1/cases/{cid}/close", {"version": version})
        assert r.status_code == 200
        final = r.json()

    assert final["status"] == "closed" and final["closed_at"] is not None
    assert [e["action"] for e in final["events"]] == [
        "report",
        "accept",
        "register",
        "dispatch",
        "sign",
        "cohandler_sign",
        "cohandler_feedback",
        "handle",
        "check_fail",
        "handle",
        "check_pass",
        "close",
    ]
    assert [(e["from_status"], e["to_status"]) for e in final["events"]][:4] == [
        ("", "reported"),
        ("reported", "to_register"),
        ("to_register", "to_dispatch"),
        ("to_dispatch", "dispatched"),
    ]
    stages = [(s["stage"], s["on_time"]) for s in final["stages"]]
    assert stages == [
        ("accept", True),
        ("register", False),
        ("dispatch", True),
        ("handle", True),
        ("check", True),
        ("handle", False),
        ("check", True),
        ("close", True),
    ]
    # Each stage's deadline was computed on the working-time calendar from its start, and frozen.
    for s in CaseStage.objects.filter(case_id=cid):
        assert s.deadline == add_working_time(s.started_at, s.limit_amount, s.limit_unit)
    tasks = {t["role"]: t for t in final["tasks"]}
    assert tasks["co"]["status"] == "done" and tasks["co"]["on_time"] is True
    assert tasks["lead"]["status"] == "done" and tasks["lead"]["on_time"] is False  # the rework ran late
    assert final["actions"] == ["reopen"]  # all the shift leader may still do
    assert Case.objects.get(pk=cid).version == final["version"]


def test_public_report_goes_through_verification(city, people, client_for, exposed_garbage):
    grid = UnitGrid.objects.filter(street=city.street_a, area_m2__gt=9900).first()
    point = shape(grid.geometry).centroid
    operator = client_for(people["operator_a"])
    r = post(
        operator,
        "/api/v1/cases/",
        {
            "source": "hotline",
            "minor_class_id": exposed_garbage.pk,
            "description": "市民来电：垃圾堆放",
            "lon": point.x,
            "lat": point.y,
            "reporter_name": "张三",
            "reporter_phone": "13800001234",
        },
    )
    assert r.status_code == 201, r.content
    cid, version = r.json()["id"], r.json()["version"]
    r = post(operator, f"/api/v1/cases/{cid}/accept", {"version": version})
    assert r.json()["status"] == "verifying"
    r = post(
        client_for(people["inspector_a"]), f"/api/v1/cases/{cid}/verify", {"version": r.json()["version"]}
    )
    assert r.status_code == 200 and r.json()["status"] == "to_register"


def test_the_shift_leader_voids_a_registered_case_with_a_reason(city, people, client_for):
    """作废 through the API: only from 待派遣, only with a reason, by the shift leader of the place."""
    from chengguan.cases.choices import CaseStatus

    from .factories import make_case

    case = make_case(city, people, CaseStatus.TO_DISPATCH)
    leader = client_for(people["shiftlead_a"])
    url = f"/api/v1/cases/{case.pk}/void"
    r = post(leader, url, {"version": case.version})
    assert r.status_code == 422 and r.json()["code"] == "reason_required"
    assert (
        post(client_for(people["dispatcher_a"]), url, {"version": case.version, "reason": "x"}).status_code
        == 403
    )
    assert (
        post(client_for(people["shiftlead_b"]), url, {"version": case.version, "reason": "x"}).status_code
        == 404
    )
    r = post(leader, url, {"version": case.version, "reason": "经核实不属于城市管理问题"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "voided" and body["stage_deadline"] is None
    assert body["events"][-1]["action"] == "void" and body["events"][-1]["note"] == "经核实不属于城市管理问题"
    again = post(leader, url, {"version": body["version"], "reason": "再次"})
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"
    handling = make_case(city, people, CaseStatus.HANDLING)
    r = post(leader, f"/api/v1/cases/{handling.pk}/void", {"version": handling.version, "reason": "x"})
    assert r.status_code == 409
