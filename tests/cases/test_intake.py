"""Intake: validation at the edge (a 4xx naming the problem, nothing half-written), duplicates
offered, idempotent creation, stale versions and wrong states refused."""

import copy
import datetime as dt
import io

import pytest
from django.utils import timezone
from PIL import Image

from chengguan.cases import services
from chengguan.cases.choices import CaseStatus
from chengguan.cases.models import Case, CaseEvent, CaseStage

from .factories import make_case, minor, point_in

pytestmark = pytest.mark.django_db


def jpeg(size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (120, 160, 90)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def inspector(people, client_for):
    return client_for(people["inspector_a"])


def body(city, **extra):
    lon, lat = point_in(city.street_a)
    return {
        "source": "inspector",
        "minor_class_id": minor().pk,
        "description": "垃圾",
        "lon": lon,
        "lat": lat,
        **extra,
    }


def counts():
    return Case.objects.count(), CaseEvent.objects.count(), CaseStage.objects.count()


@pytest.mark.parametrize(
    "change,code,status",
    [
        ({"minor_class_id": 999999}, "unknown_class", 422),
        ({"lon": 100.0, "lat": 20.0}, "outside_city", 422),
        ({"description": "长" * 4001}, "invalid", 422),
        ({"description": "   "}, "description_required", 422),
        ({"crs": "mars"}, "bad_location", 422),
        ({"lon": 500}, "bad_location", 422),
        ({"urgency": "panic"}, "bad_urgency", 422),
        ({"source": "hotline"}, "forbidden", 403),
    ],
)
def test_bad_intake_is_refused_and_nothing_is_written(city, inspector, change, code, status):
    before = counts()
    r = inspector.post("/api/v1/cases/", body(city, **change), content_type="application/json")
    assert r.status_code == status, r.content
    assert r.json()["code"] == code and r.json()["message"]
    assert counts() == before


def test_inspector_outside_their_street(city, inspector):
    lon, lat = point_in(city.street_b)
    r = inspector.post("/api/v1/cases/", body(city, lon=lon, lat=lat), content_type="application/json")
    assert r.status_code == 422 and r.json()["code"] == "outside_jurisdiction"


def test_photo_required_and_fake_or_oversized_photo(city, inspector, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    cls = minor()
    cls.photo_required = True
    cls.save(update_fields=["photo_required", "updated_at"])  # as the admin does: every process sees it
    before = counts()
    r = inspector.post("/api/v1/cases/", body(city), content_type="application/json")
    assert r.status_code == 422 and r.json()["code"] == "photo_required"
    fake = io.BytesIO(b"<html>not an image</html>")
    fake.name = "photo.jpg"
    r = inspector.post("/api/v1/cases/with-photos", {**body(city), "photos": fake})
    assert r.status_code == 422 and r.json()["code"] == "photo_bad_type"
    settings.PHOTO_MAX_BYTES = 1000
    big = io.BytesIO(jpeg((400, 400)))
    big.name = "big.jpg"
    r = inspector.post("/api/v1/cases/with-photos", {**body(city), "photos": big})
    assert r.status_code == 413 and r.json()["code"] == "photo_too_large"
    assert counts() == before
    settings.PHOTO_MAX_BYTES = 10 * 1024 * 1024
    good = io.BytesIO(jpeg())
    good.name = "IMG_0001.jpg"
    r = inspector.post("/api/v1/cases/with-photos", {**body(city), "photos": good})
    assert r.status_code == 201, r.content
    detail = inspector.get(f"/api/v1/cases/{r.json()['id']}").json()
    assert len(detail["photos"]) == 1 and detail["photos"][0]["kind"] == "before"
    assert "IMG_0001" not in detail["photos"][0]["image"]


def test_duplicates_are_offered_at_intake(city, people, inspector):
    first = make_case(city, people)
    r = inspector.post(
        "/api/v1/cases/",
        body(city, lon=first.lon + 0.0001, lat=first.lat),  # ~10 m east
        content_type="application/json",
    )
    assert r.status_code == 201
    offered = r.json()["possible_duplicates"]
    assert [d["number"] for d in offered] == [first.number] and 5 < offered[0]["distance_m"] < 15
    far = inspector.post(
        "/api/v1/cases/",
        body(city, lon=first.lon + 0.002, lat=first.lat),  # ~200 m
        content_type="application/json",
    )
    assert first.number not in [d["number"] for d in far.json()["possible_duplicates"]]


def test_the_nearest_ten_within_the_radius_are_offered_nearest_first(city, people):
    """A hot spot: more open reports of the class around the point than are offered. The ten
    nearest inside the circle come back nearest first; one in the corner of the square around
    the circle (inside the box, outside the radius) and one beyond the box do not."""
    import math

    from shapely import union_all
    from shapely.geometry import shape

    from chengguan.cases.selectors import duplicate_candidates
    from chengguan.core import geo
    from chengguan.grid.models import UnitGrid

    street = union_all(
        [shape(g) for g in UnitGrid.objects.filter(street=city.street_a).values_list("geometry", flat=True)]
    )
    centre = max(
        (
            shape(g).centroid
            for g in UnitGrid.objects.filter(street=city.street_a).values_list("geometry", flat=True)
        ),
        key=lambda p: street.boundary.distance(p),
    )
    x, y = centre.x, centre.y
    cls = minor()
    assert cls.duplicate_radius_m == 50
    east, north = geo.metres_to_degrees(1.0, y)
    placed = {}
    for i, metres in enumerate([36, 3, 33, 6, 30, 9, 27, 12, 24, 15, 21, 18]):
        angle = i * 2 * math.pi / 12
        at = (x + metres * math.cos(angle) * east, y + metres * math.sin(angle) * north)
        placed[metres] = services.case_report(
            people["inspector_a"],
            services.CaseInput(
                source="inspector", minor_class_id=cls.pk, description="垃圾", lon=at[0], lat=at[1]
            ),
        )[0]
    for dx, dy in [(40, 40), (0, 60)]:  # 56.6 m in the box's corner; 60 m, outside the box
        services.case_report(
            people["inspector_a"],
            services.CaseInput(
                source="inspector",
                minor_class_id=cls.pk,
                description="垃圾",
                lon=x + dx * east,
                lat=y + dy * north,
            ),
        )
    offered = duplicate_candidates(cls, x, y)
    assert [c.pk for c, _ in offered] == [placed[m].pk for m in [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]]
    assert [round(d) for _, d in offered] == [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
    assert len(duplicate_candidates(cls, x, y, limit=20)) == 12

    # Six hundred newer reports in the square's corner, outside the circle, do not hide them.
    corner = Case.objects.filter(description="垃圾").order_by("-pk").first()  # the (0, 60) one
    corner.lon, corner.lat = x + 40 * east, y + 40 * north
    clones = []
    for _ in range(600):
        corner.pk, corner.number = None, None
        corner.created_at += dt.timedelta(seconds=1)
        clones.append(copy.copy(corner))
    Case.objects.bulk_create(clones)
    assert [c.pk for c, _ in duplicate_candidates(cls, x, y)][:3] == [placed[m].pk for m in (3, 6, 9)]


def test_a_class_with_a_radius_of_0_offers_no_duplicates(city, people, inspector):
    first = make_case(city, people)
    cls = minor()
    cls.duplicate_radius_m = 0
    cls.save()
    r = inspector.post(
        "/api/v1/cases/", body(city, lon=first.lon, lat=first.lat), content_type="application/json"
    )
    assert r.status_code == 201, r.content
    assert r.json()["possible_duplicates"] == []


def test_marking_a_duplicate_links_it_and_the_reporter_follows_the_original(city, people, client_for):
    from chengguan.cases.selectors import public_view

    original = make_case(city, people, CaseStatus.TO_DISPATCH)
    again = make_case(city, people)
    leader = client_for(people["shiftlead_a"])
    r = leader.post(
        f"/api/v1/cases/{again.pk}/duplicate",
        {"version": again.version, "original_id": original.pk},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["status"] == "duplicate"
    again.refresh_from_db()
    assert again.duplicate_of == original and public_view(again) == original


def test_idempotent_create(city, inspector):
    payload = body(city)
    first = inspector.post(
        "/api/v1/cases/", payload, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    again = inspector.post(
        "/api/v1/cases/", payload, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    other = inspector.post(
        "/api/v1/cases/",
        {**payload, "description": "别的"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_mismatch"
    assert Case.objects.filter(description="垃圾").count() == 1


def test_numbers_are_gapless_and_taken_last(city, people, inspector, monkeypatch):
    """The number is the intake's last write before its notification (so the year's counter row is
    locked briefly); a report that rolls back after taking one gives it back, and the notification
    names the case by its number."""
    from chengguan.cases import notifications
    from chengguan.notify.models import Notification

    def sequence(response):
        number = response.json()["number"]
        assert len(number) == 12 and number.isdigit()
        return int(number[-6:])

    first = inspector.post("/api/v1/cases/", body(city), content_type="application/json")
    written = []

    def fail(self):  # after the number was taken
        written.append(Case.objects.get(pk=self.case.pk).number)
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(notifications.CaseMessage, "queue", fail)
    with pytest.raises(RuntimeError):
        services.case_report(people["inspector_a"], services.CaseInput(**body(city)))
    assert written and written[0].endswith(f"{sequence(first) + 1:06d}")
    monkeypatch.undo()
    second = inspector.post("/api/v1/cases/", body(city), content_type="application/json")
    assert sequence(second) == sequence(first) + 1  # the rolled-back report's number came back
    case = Case.objects.get(pk=second.json()["id"])
    assert case.number == second.json()["number"] and case.year == timezone.localtime(case.created_at).year
    titles = set(Notification.objects.filter(subject_id=case.pk).values_list("title", flat=True))
    assert titles and all(case.number in t for t in titles)


def test_stale_version_and_wrong_state(city, people, client_for):
    case = make_case(city, people, CaseStatus.TO_REGISTER)
    leader = client_for(people["shiftlead_a"])
    r = leader.post(
        f"/api/v1/cases/{case.pk}/register", {"version": case.version - 1}, content_type="application/json"
    )
    assert r.status_code == 409 and r.json()["code"] == "stale_version"
    assert r.json()["detail"] == {"version": case.version, "status": "to_register"}
    r = leader.post(
        f"/api/v1/cases/{case.pk}/close", {"version": case.version}, content_type="application/json"
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    r = leader.post(f"/api/v1/cases/{case.pk}/register", {}, content_type="application/json")
    assert r.status_code == 422 and r.json()["code"] == "version_required"
    r = leader.post(
        f"/api/v1/cases/{case.pk}/register",
        {},
        content_type="application/json",
        HTTP_IF_MATCH=f'"{case.version}"',
    )
    assert r.status_code == 200 and r.json()["status"] == "to_dispatch"
    r = leader.post(
        f"/api/v1/cases/{case.pk}/fly", {"version": case.version + 1}, content_type="application/json"
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown_action"


def test_extension_and_suspension_and_write_off(city, people, client_for):
    case = make_case(city, people, CaseStatus.HANDLING)
    handler, leader = client_for(people["handler_a"]), client_for(people["shiftlead_a"])
    old = case.stage_deadline
    r = handler.post(
        f"/api/v1/cases/{case.pk}/extend_request",
        {"version": case.version, "amount": "2", "unit": "work_day", "reason": "需采购井盖"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    r = leader.post(
        f"/api/v1/cases/{case.pk}/extend_approve",
        {"version": r.json()["version"]},
        content_type="application/json",
    )
    assert r.status_code == 200
    case.refresh_from_db()
    from chengguan.core.calendar import add_working_time

    assert case.stage_deadline == add_working_time(old, 2, "work_day")
    assert case.tasks.get(role="lead").deadline == case.stage_deadline
    r = handler.post(
        f"/api/v1/cases/{case.pk}/suspend_request",
        {"version": case.version, "planned_fix_date": "2099-06-30", "reason": "需纳入改造计划"},
        content_type="application/json",
    )
    assert r.status_code == 200
    r = leader.post(
        f"/api/v1/cases/{case.pk}/suspend_approve",
        {"version": r.json()["version"]},
        content_type="application/json",
    )
    assert r.json()["status"] == "suspended" and r.json()["planned_fix_date"] == "2099-06-30"
    handle_stage = CaseStage.objects.filter(case=case, stage="handle").latest("started_at")
    assert handle_stage.on_time is None  # an approved suspension is left out of on-time figures
    r = leader.post(
        f"/api/v1/cases/{case.pk}/write_off",
        {"version": r.json()["version"], "note": "已修复"},
        content_type="application/json",
    )
    assert r.json()["status"] == "closed"
    case.refresh_from_db()
    assert case.written_off_at is not None


def test_return_to_dispatcher_and_service_level_errors(city, people):
    case = make_case(city, people, CaseStatus.DISPATCHED)
    with pytest.raises(services.Invalid):
        services.case_return(people["handler_a"], case.pk, version=case.version, reason=" ")
    case = services.case_return(people["handler_a"], case.pk, version=case.version, reason="非本部门职责")
    assert case.status == CaseStatus.TO_DISPATCH and case.lead_department is None
    assert not case.tasks.filter(current=True).exists()


def test_ledger_endpoints(city, people, client_for):
    import openpyxl

    open_case = make_case(city, people, CaseStatus.HANDLING)
    suspended = make_case(city, people, CaseStatus.SUSPENDED)
    leader = client_for(people["leader"])
    page = leader.get("/api/v1/cases/ledger", {"scope": "suspended"}).json()
    assert [r["number"] for r in page["items"]] == [suspended.number]
    assert page["items"][0]["planned_fix_date"] == suspended.planned_fix_date.isoformat()
    numbers = [r["number"] for r in leader.get("/api/v1/cases/ledger", {"limit": 500}).json()["items"]]
    assert open_case.number in numbers and suspended.number not in numbers
    r = leader.get("/api/v1/cases/ledger.xlsx", {"scope": "all"})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content))).worksheets[0]
    cells = {c for row in sheet.iter_rows(values_only=True) for c in row}
    assert {open_case.number, suspended.number} <= cells
    assert leader.get("/api/v1/cases/ledger", {"scope": "nonsense"}).status_code == 422
    other = (
        client_for(people["dispatcher_b"]).get("/api/v1/cases/ledger", {"scope": "all", "limit": 500}).json()
    )
    assert open_case.number not in [r["number"] for r in other["items"]]


def test_intake_takes_a_bounded_number_of_statements(
    city, inspector, monkeypatch, django_assert_max_num_queries
):
    """Once the per-process copies (the catalogue, the person's access, the grid index) are warm,
    a report takes the session's two reads, the idempotency check, a savepoint, the number, the
    case, its stage and event, the notification recipients, the outbox (a check and one INSERT),
    the idempotency record, the savepoint's release and the duplicate candidates (the delivery
    task is queued on commit). A new query per recipient or per region shows up here."""
    from chengguan.catalog import selectors as catalog_selectors

    monkeypatch.setattr(catalog_selectors, "CHECK_SECONDS", 3600.0)  # as in production: no stamp check
    headers = {"Idempotency-Key": "warm-up"}
    assert (
        inspector.post(
            "/api/v1/cases/", body(city), content_type="application/json", headers=headers
        ).status_code
        == 201
    )
    payload = body(city, description="又一处垃圾")
    with django_assert_max_num_queries(14):
        r = inspector.post(
            "/api/v1/cases/", payload, content_type="application/json", headers={"Idempotency-Key": "bounded"}
        )
    assert r.status_code == 201
    assert r.json()["street"]["id"] == city.street_a.pk and r.json()["grid"]["code"]
