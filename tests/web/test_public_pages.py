"""The public pages through Django's test client, without logging in: report a problem (done, bad
input next to its field, a fake photo, a double submit making one case, the rate limit's 429), look a
case up by number + last 4 phone digits (a wrong pair answers exactly like an unknown number; rate
limited), and the public map data (only publicly reported cases, only allow-listed fields: no
personal data anywhere). Query counts for the map data and the lookup."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from django.core.cache import cache
from PIL import Image

from chengguan.cases import selectors, services
from chengguan.cases.choices import CaseSource, CaseStatus
from chengguan.cases.models import Case
from tests.cases.factories import make_case, minor, point_in

pytestmark = pytest.mark.django_db

NAME, PHONE = "王小明", "13912345678"


@pytest.fixture(autouse=True)
def _fresh_limits():
    """Rate-limit counters and one-time keys live in the cache, which outlives a test."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def jpeg(name="scene.jpg") -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 60)).save(out, "JPEG")
    out.seek(0)
    out.name = name
    return out


def html(response) -> str:
    return response.content.decode()


def field_errors(response, name: str) -> list[str]:
    form = html(response).split('<main id="main"')[1].split("</form>")[0]
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
        "description": "小区门口垃圾很多",
        "reporter_name": NAME,
        "reporter_phone": PHONE,
        "submit_key": uuid.uuid4().hex,
    }
    data.update(overrides)
    return data


def public_case(city, *, phone=PHONE, source=CaseSource.PUBLIC, description="公园门口有暴露垃圾") -> Case:
    lon, lat = point_in(city.street_a)
    case, _ = services.case_report(
        None,
        services.CaseInput(
            source=source,
            minor_class_id=minor().pk,
            description=description,
            lon=lon,
            lat=lat,
            address="清源路 8 号",
            reporter_name=NAME,
            reporter_phone=phone,
        ),
    )
    return case


def reported():
    return Case.objects.filter(description="小区门口垃圾很多")


PERSONAL = [NAME, PHONE, "5678", "清源路", "公园门口", "operator_a", "shiftlead_a", "甲中队"]


# --- report ---------------------------------------------------------------------------------------------


def test_the_public_report_page_needs_no_login(client, city):
    page = client.get("/public/report/")
    assert page.status_code == 200
    text = html(page)
    assert 'name="reporter_phone"' in text and 'name="submit_key"' in text and 'capture="environment"' in text
    assert "暴露垃圾" in text


def test_a_citizen_reports_a_problem_with_a_photo(city, client, media):
    response = client.post("/public/report/", {**report_data(city), "photos": [jpeg()]})
    assert response.status_code == 302 and response["Location"] == "/public/report/done/"
    case = reported().get()
    assert case.source == CaseSource.PUBLIC and case.reporter is None
    assert (case.reporter_name, case.reporter_phone) == (NAME, PHONE)
    assert case.photos.count() == 1
    done = html(client.get("/public/report/done/"))
    assert case.number in done and f"/public/lookup/?number={case.number}" in done


def test_a_double_submit_makes_one_public_case(city, client):
    data = report_data(city)
    first = client.post("/public/report/", data)
    second = client.post("/public/report/", data)
    assert first.status_code == second.status_code == 302
    assert reported().count() == 1
    assert reported().get().number in html(client.get("/public/report/done/"))


def test_bad_public_input_is_named_next_to_each_field(city, client):
    data = report_data(city, reporter_name="", reporter_phone="12ab", minor_class="99999999", lon="", lat="")
    response = client.post("/public/report/", data)
    assert response.status_code == 422
    assert field_errors(response, "reporter_name") == ["这个字段是必填项。"]
    assert field_errors(response, "reporter_phone") == ["请填写正确的电话号码（7–20 位数字）"]
    assert field_errors(response, "minor_class")
    assert field_errors(response, "lon") == ["请在地图上点选问题位置，或点“使用我的位置”"]
    assert not reported().exists()
    # A corrected form with the same key goes through (the failed attempt made nothing).
    fixed = client.post("/public/report/", {**report_data(city), "submit_key": data["submit_key"]})
    assert fixed.status_code == 302 and reported().count() == 1


def test_a_fake_photo_is_refused_on_the_public_form(city, client, media):
    fake = io.BytesIO(b"GIF89a-not-really")
    fake.name = "photo.jpg"
    response = client.post("/public/report/", {**report_data(city), "photos": [fake]})
    assert response.status_code == 422
    errors = field_errors(response, "photos")
    assert errors and errors[0].startswith("photo.jpg: ")
    assert not reported().exists()


def test_public_reports_are_rate_limited_per_address(city, client, settings):
    settings.PUBLIC_RATE_LIMITS = {"public_report": (2, 3600)}
    for _ in range(2):
        assert client.post("/public/report/", report_data(city)).status_code == 302
    limited = client.post("/public/report/", report_data(city))
    assert limited.status_code == 429
    assert "操作过于频繁" in html(limited) and int(limited["Retry-After"]) > 0
    assert reported().count() == 2
    other = client.post("/public/report/", report_data(city), REMOTE_ADDR="10.1.2.3")
    assert other.status_code == 302 and reported().count() == 3
    assert client.get("/public/report/").status_code == 200  # reading the form is not limited


def test_the_done_page_without_a_report_goes_back_to_the_form(client):
    response = client.get("/public/report/done/")
    assert response.status_code == 302 and response["Location"] == "/public/report/"


# --- lookup -----------------------------------------------------------------------------------------------


def test_a_case_is_found_by_number_and_the_last_four_phone_digits(
    city, client, people, django_assert_max_num_queries
):
    case = public_case(city)
    services.case_accept(people["operator_a"], case.pk, version=case.version, note=f"已联系{NAME}")
    # the case, its events, and the rate-limit counter in the shared database cache (≤ 3 statements)
    with django_assert_max_num_queries(7):
        response = client.post("/public/lookup/", {"number": case.number, "phone_last4": PHONE[-4:]})
    assert response.status_code == 200
    page = html(response)
    result = page.split('id="lookup-result"')[1]
    assert case.number in result and "暴露垃圾" in result and "待核实" in result
    assert re.findall(r'<span class="what">(.*?)</span>', result) == ["上报", "受理"]
    for secret in PERSONAL:
        assert secret not in page.replace(case.number, ""), secret


def test_a_wrong_pair_answers_exactly_like_an_unknown_number(city, client):
    case = public_case(city)
    wrong = client.post("/public/lookup/", {"number": case.number, "phone_last4": "0000"})
    unknown = client.post("/public/lookup/", {"number": "209901999999", "phone_last4": PHONE[-4:]})
    assert wrong.status_code == unknown.status_code == 404

    def answer(response):
        main = html(response).split('<main id="main"')[1]
        return main[main.index("</form>") :].split("</main>")[0]

    assert answer(wrong) == answer(unknown)
    assert "没有找到这个案件" in answer(wrong) and case.number not in answer(wrong)


def test_staff_cases_cannot_be_looked_up(city, client, people):
    inspector_case = make_case(city, people, CaseStatus.REPORTED)
    response = client.post("/public/lookup/", {"number": inspector_case.number, "phone_last4": "0000"})
    assert response.status_code == 404
    assert selectors.public_case_lookup(inspector_case.number, "") is None


def test_a_duplicate_shows_the_progress_of_its_original(city, client, people):
    original = make_case(city, people, CaseStatus.TO_DISPATCH)
    case = public_case(city)
    services.case_mark_duplicate(people["operator_a"], case.pk, version=case.version, original_id=original.pk)
    page = html(client.post("/public/lookup/", {"number": case.number, "phone_last4": PHONE[-4:]}))
    assert 'data-status="to_dispatch"' in page and original.number in page


def test_bad_lookup_input_is_named_next_to_the_field(client):
    response = client.post("/public/lookup/", {"number": "abc", "phone_last4": "12"})
    assert response.status_code == 422
    assert field_errors(response, "number") == ["案件编号应为数字"]
    assert field_errors(response, "phone_last4")


def test_lookups_are_rate_limited(city, client, settings):
    settings.PUBLIC_RATE_LIMITS = {"public_lookup": (3, 600)}
    case = public_case(city)
    for _ in range(3):
        client.post("/public/lookup/", {"number": case.number, "phone_last4": "0000"})
    limited = client.post("/public/lookup/", {"number": case.number, "phone_last4": PHONE[-4:]})
    assert limited.status_code == 429 and case.number not in html(limited)


# --- the public map ------------------------------------------------------------------------------------------


def test_the_public_map_serves_only_public_cases_and_allowed_fields(
    city, client, people, django_assert_max_num_queries
):
    public = public_case(city)
    via_open311 = public_case(city, source=CaseSource.OPEN311, phone="")
    staff = make_case(city, people, CaseStatus.REPORTED)
    hotline = make_case(city, people, CaseStatus.REPORTED, source="hotline")
    with django_assert_max_num_queries(2):
        response = client.get("/public/cases.geojson")
    assert response.status_code == 200
    features = response.json()["features"]
    numbers = {f["properties"]["number"] for f in features}
    assert {public.number, via_open311.number} <= numbers
    assert staff.number not in numbers and hotline.number not in numbers
    for feature in features:
        assert set(feature["properties"]) == {"number", "class", "status", "created"}
        lon, lat = feature["geometry"]["coordinates"]
        assert round(lon, 4) == lon and round(lat, 4) == lat
    mine = next(f for f in features if f["properties"]["number"] == public.number)
    assert mine["properties"]["class"] == "暴露垃圾" and mine["properties"]["status"] == "reported"
    for secret in PERSONAL:
        assert secret not in response.content.decode(), secret


def test_the_public_map_filters_by_status(city, client, people):
    case = public_case(city)
    open_numbers = {
        f["properties"]["number"] for f in client.get("/public/cases.geojson?status=open").json()["features"]
    }
    closed = {
        f["properties"]["number"]
        for f in client.get("/public/cases.geojson?status=closed").json()["features"]
    }
    assert case.number in open_numbers and case.number not in closed
    services.case_reject(people["operator_a"], case.pk, version=case.version, reason=f"{NAME}重复来电")
    closed = client.get("/public/cases.geojson?status=rejected").json()["features"]
    assert case.number in {f["properties"]["number"] for f in closed}
    bad = client.get("/public/cases.geojson?status=nonsense")
    assert bad.status_code == 400


def test_the_public_map_page_and_boundaries_need_no_login(client, city):
    page = client.get("/public/map/")
    assert page.status_code == 200 and "web/public.js" in html(page)
    config = re.search(
        r'<script id="cg-map-config" type="application/json">(.*?)</script>', html(page)
    ).group(1)
    assert (
        "/public/boundaries.geojson" in config and "/public/cases.geojson" in config and "/map/" not in config
    )
    streets = client.get("/public/boundaries.geojson?level=street").json()["features"]
    assert {f["properties"]["name"] for f in streets} == {city.street_a.name, city.street_b.name}
    assert client.get("/public/boundaries.geojson?level=grid").status_code == 400


@pytest.mark.parametrize("q", ["垃圾", "bllj", "laji"])
def test_public_class_search_in_chinese_and_pinyin(client, q):
    names = [r["name"] for r in client.get(f"/public/classes.json?q={q}").json()["results"]]
    assert "暴露垃圾" in names


def test_rate_limits_count_in_the_database_so_every_worker_sees_them(client):
    """The counters and one-time keys are rows of the shared cache table, not one process's memory:
    several server workers count one allowance and see one claimed key."""
    from django.db import connection

    client.get("/public/lookup/")
    client.post("/public/lookup/", {"number": "202601000001", "phone_last4": "0000"})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM chengguan_cache WHERE cache_key LIKE %s", ["%cg:rl:public_lookup:%"]
        )
        assert cursor.fetchone()[0] == 1
