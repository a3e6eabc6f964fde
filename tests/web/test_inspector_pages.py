"""The inspector's pages through Django's test client: who may use them, the report form (done,
bad input next to its field, a fake or oversized photo, outside the inspector's area, a double
submit making one case, the JSON answers report.js reads), the class search in Chinese and pinyin,
my reports, the verify/check queue, before/after photos on the case detail, and query counts."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from PIL import Image

from chengguan.cases import services
from chengguan.cases.choices import CaseSource, CaseStatus, PhotoKind
from chengguan.cases.models import Case, IdempotencyRecord
from chengguan.cases.photos import ingest_photo
from tests.cases.factories import make_case, minor, point_in

pytestmark = pytest.mark.django_db

PAGES = ["/inspector/", "/inspector/report/", "/inspector/reports/", "/inspector/classes.json?q=lj"]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def jpeg(name="scene.jpg", size=(64, 48)) -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 60)).save(out, "JPEG")
    out.seek(0)
    out.name = name
    return out


def html(response) -> str:
    return response.content.decode()


def field_errors(response, name: str) -> list[str]:
    """The error messages shown inside the field that holds input `name`."""
    form = html(response).split('id="report-form"')[1].split("</form>")[0]
    for block in form.split('<div class="field')[1:]:
        if f'name="{name}"' in block:
            return re.findall(r'<p class="error" role="alert">(.*?)</p>', block, re.S)
    return []


def report_data(city, **overrides) -> dict:
    lon, lat = point_in(city.street_a)
    data = {
        "minor_class": minor().pk,
        "lon": f"{lon:.7f}",
        "lat": f"{lat:.7f}",
        "crs": "wgs84",
        "description": "人行道上有暴露垃圾",
        "address": "甲街道 1 号门前",
        "idempotency_key": uuid.uuid4().hex,
    }
    data.update(overrides)
    return data


def new_cases():
    return Case.objects.filter(description__startswith="人行道")


# --- who may use the pages ---------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


@pytest.mark.parametrize("username", ["operator_a", "handler_a", "leader", "outsider"])
def test_only_inspectors_may_use_the_inspector_pages(client_for, people, username):
    client = client_for(people[username])
    for url in PAGES:
        assert client.get(url).status_code == 403, url
    assert client.post("/inspector/report/", {}).status_code == 403
    assert not new_cases().exists()


def test_an_inspector_lands_on_the_task_queue_and_sees_the_inspector_links(client_for, people):
    client = client_for(people["inspector_a"])
    landing = client.get("/")
    assert landing["Location"] == "/inspector/"
    page = html(client.get("/inspector/"))
    nav = re.search(r'<nav class="nav".*?</nav>', page, re.S).group(0)
    assert 'href="/inspector/report/"' in nav and 'href="/inspector/reports/"' in nav
    assert 'href="/inspector/"' in nav


# --- the report form -----------------------------------------------------------------------------


def test_the_report_page_is_a_mobile_form_with_camera_photos_and_a_fresh_key(client_for, people):
    client = client_for(people["inspector_a"])
    first, second = html(client.get("/inspector/report/")), html(client.get("/inspector/report/"))
    assert 'name="viewport" content="width=device-width' in first
    photos = re.search(r'<input type="file"[^>]*name="photos"[^>]*>', first).group(0)
    assert 'accept="image/*"' in photos and 'capture="environment"' in photos and "multiple" in photos
    keys = [re.search(r'name="idempotency_key" value="([0-9a-f]+)"', p).group(1) for p in (first, second)]
    assert keys[0] != keys[1]
    assert "暴露垃圾" in first and "<optgroup" in first
    assert "web/report.js" in first and 'id="cg-report-config"' in first


def test_an_inspector_reports_a_problem_with_a_photo(city, client_for, people, media):
    client = client_for(people["inspector_a"])
    response = client.post("/inspector/report/", {**report_data(city), "photos": [jpeg()]})
    assert response.status_code == 302 and response["Location"] == "/inspector/reports/"
    case = new_cases().get()
    assert case.source == CaseSource.INSPECTOR and case.reporter == people["inspector_a"]
    assert case.status == CaseStatus.REPORTED and case.street_id == city.street_a.pk
    assert case.address == "甲街道 1 号门前"
    photo = case.photos.get()
    assert photo.kind == PhotoKind.BEFORE
    listing = html(client.get("/inspector/reports/"))
    assert case.number in listing and "已上报，案件编号" in listing


def test_a_double_submit_makes_one_case(city, client_for, people, media):
    client = client_for(people["inspector_a"])
    data = report_data(city)
    first = client.post("/inspector/report/", {**data, "photos": [jpeg()]}, HTTP_ACCEPT="application/json")
    second = client.post("/inspector/report/", {**data, "photos": [jpeg()]}, HTTP_ACCEPT="application/json")
    assert first.status_code == 201 and first.json()["created"] is True
    assert second.status_code == 200 and second.json()["created"] is False
    assert first.json()["number"] == second.json()["number"]
    assert new_cases().count() == 1 and new_cases().get().photos.count() == 1
    assert first.json()["url"] == f"/cases/{new_cases().get().pk}/"
    # A plain form sent twice (no JavaScript) also makes one.
    again = client.post("/inspector/report/", {**data, "photos": [jpeg()]})
    assert again.status_code == 302 and new_cases().count() == 1


def test_the_same_key_with_another_report_is_refused(city, client_for, people):
    client = client_for(people["inspector_a"])
    data = report_data(city)
    assert client.post("/inspector/report/", data).status_code == 302
    other = client.post("/inspector/report/", {**data, "description": "人行道上另一处垃圾"})
    assert other.status_code == 422 and "Idempotency-Key" in html(other)
    assert new_cases().count() == 1


def test_missing_fields_are_named_next_to_them_in_chinese(city, client_for, people):
    client = client_for(people["inspector_a"])
    data = report_data(city, minor_class="", lon="", lat="", description="")
    response = client.post("/inspector/report/", data)
    assert response.status_code == 422
    assert field_errors(response, "minor_class") == ["请选择问题类别"]
    assert field_errors(response, "lon") == ["请在地图上点选问题位置，或点“使用我的位置”"]
    assert field_errors(response, "description") == ["请填写问题描述"]
    assert Case.objects.filter(reporter=people["inspector_a"], description="").count() == 0


def test_a_place_outside_the_inspectors_area_is_refused_at_the_location(city, client_for, people):
    lon, lat = point_in(city.street_b)
    response = client_for(people["inspector_a"]).post(
        "/inspector/report/", report_data(city, lon=lon, lat=lat)
    )
    assert response.status_code == 422
    assert any("不在您的责任区域内" in e for e in field_errors(response, "lon"))
    outside = client_for(people["inspector_a"]).post("/inspector/report/", report_data(city, lon=10, lat=10))
    assert any("不在本市范围内" in e for e in field_errors(outside, "lon"))
    assert not new_cases().exists()


def test_a_fake_photo_is_refused_next_to_the_photo_field(city, client_for, people, media):
    fake = io.BytesIO(b"<html>not a photo</html>")
    fake.name = "fake.jpg"
    response = client_for(people["inspector_a"]).post(
        "/inspector/report/", {**report_data(city), "photos": [fake]}
    )
    assert response.status_code == 422
    errors = field_errors(response, "photos")
    assert errors and errors[0].startswith("fake.jpg: ")
    assert (
        not new_cases().exists()
        and not IdempotencyRecord.objects.filter(person=people["inspector_a"]).exists()
    )


def test_an_oversized_photo_is_refused_with_the_limit(city, client_for, people, media, settings):
    settings.PHOTO_MAX_BYTES = 300
    response = client_for(people["inspector_a"]).post(
        "/inspector/report/", {**report_data(city), "photos": [jpeg("big.jpg", (400, 300))]}
    )
    assert response.status_code == 422
    errors = field_errors(response, "photos")
    assert errors and errors[0].startswith("big.jpg: ")
    assert not new_cases().exists()


def test_report_js_gets_the_errors_as_json(city, client_for, people):
    response = client_for(people["inspector_a"]).post(
        "/inspector/report/", report_data(city, description=""), HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 422
    assert response.json() == {"errors": {"description": ["请填写问题描述"]}}


def test_a_gcj02_position_is_converted_to_wgs84(city, client_for, people):
    from chengguan.core import geo

    lon, lat = point_in(city.street_a)
    glon, glat = (float(v) for v in geo.wgs84_to_gcj02(lon, lat))
    client = client_for(people["inspector_a"])
    response = client.post("/inspector/report/", report_data(city, lon=glon, lat=glat, crs="gcj02"))
    assert response.status_code == 302
    case = new_cases().get()
    assert case.original_crs == "gcj02" and abs(case.lon - lon) < 1e-6 and abs(case.lat - lat) < 1e-6


# --- class search ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["垃圾", "bllj", "laji"])
def test_classes_are_found_in_chinese_and_pinyin(client_for, people, q):
    results = client_for(people["inspector_a"]).get(f"/inspector/classes.json?q={q}").json()["results"]
    names = [r["name"] for r in results]
    assert "暴露垃圾" in names
    assert set(results[0]) == {"id", "name", "major", "code", "photo_required"}


# --- my reports, the task queue, the case detail -----------------------------------------------------


def test_my_reports_lists_only_my_own_with_their_status(
    city, client_for, people, django_assert_max_num_queries
):
    mine = make_case(city, people, CaseStatus.TO_REGISTER)
    other = make_case(city, people, CaseStatus.REPORTED, source="hotline")
    for _ in range(3):
        make_case(city, people, CaseStatus.REPORTED)
    client = client_for(people["inspector_a"])
    with django_assert_max_num_queries(8):
        page = html(client.get("/inspector/reports/"))
    assert mine.number in page and other.number not in page
    assert '<span class="badge st-to_register">待立案</span>' in page
    assert client_for(people["inspector_b"]).get("/inspector/reports/").content.count(b"case-card") == 0


def test_the_task_queue_holds_verify_and_check_work_of_the_area(
    city, client_for, people, django_assert_max_num_queries
):
    verify = make_case(city, people, CaseStatus.VERIFYING, source="hotline")
    check = make_case(city, people, CaseStatus.TO_CHECK)
    handling = make_case(city, people, CaseStatus.HANDLING)
    for _ in range(2):
        make_case(city, people, CaseStatus.TO_CHECK)
    client = client_for(people["inspector_a"])
    with django_assert_max_num_queries(10):
        page = html(client.get("/inspector/"))
    verify_part = page.split('id="verify-tasks"')[1].split('id="check-tasks"')[0]
    check_part = page.split('id="check-tasks"')[1]
    assert verify.number in verify_part and check.number not in verify_part
    assert check.number in check_part and f'href="/cases/{check.pk}/"' in check_part
    assert handling.number not in page
    other = html(client_for(people["inspector_b"]).get("/inspector/"))
    assert verify.number not in other and check.number not in other


def test_check_shows_the_photos_before_and_after_side_by_side(city, client_for, people, media):
    lon, lat = point_in(city.street_a)
    p = people
    case, _ = services.case_report(
        p["inspector_a"],
        services.CaseInput(
            source="inspector",
            minor_class_id=minor().pk,
            description="人行道垃圾",
            lon=lon,
            lat=lat,
            photos=[ingest_photo(jpeg(), filename="before.jpg")],
        ),
    )
    case = services.case_accept(p["operator_a"], case.pk, version=case.version)
    case = services.case_register(p["shiftlead_a"], case.pk, version=case.version)
    case = services.case_dispatch(
        p["dispatcher_a"], case.pk, version=case.version, department_id=city.dept_a.pk
    )
    case = services.case_sign(p["handler_a"], case.pk, version=case.version)
    case = services.case_handle(
        p["handler_a"],
        case.pk,
        version=case.version,
        result="已清理",
        photos=[ingest_photo(jpeg("after.jpg", (80, 60)), filename="after.jpg")],
    )
    before = case.photos.get(kind=PhotoKind.BEFORE)
    after = case.photos.get(kind=PhotoKind.AFTER)
    page = html(client_for(p["inspector_a"]).get(f"/cases/{case.pk}/"))
    compare = page.split('class="photos-compare"')[1].split("</section>")[0]
    figures = compare.split("<figure>")[1:]
    assert f"/photos/{before.pk}/thumb/" in figures[0] and f"/photos/{after.pk}/thumb/" in figures[1]
    actions = re.findall(r'<details class="action" data-action="([a-z_]+)"', page)
    assert actions == ["check_pass", "check_fail"]
