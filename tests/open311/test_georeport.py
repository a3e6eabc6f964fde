"""Open311 GeoReport v2 through HTTP, as an integrating system sees it: discovery, the service list,
posting a request and following it to closure, in JSON and in XML; the api_key; every refused input
(the spec's error list, nothing written); the GET filters; and no personal data in any body."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from chengguan.cases import services
from chengguan.cases.models import Case
from chengguan.core import geo
from chengguan.open311.keys import key_create, key_revoke
from chengguan.open311.models import Open311Key, Open311Submission

from ..cases.factories import minor, point_in
from .client import (
    BASE,
    FORMATS,
    as_text,
    error_list,
    get,
    parse,
    post_request,
    root_tag,
)

pytestmark = pytest.mark.django_db
CST = ZoneInfo("Asia/Shanghai")
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "lat",
    "long",
}


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CST)


def local(value: dt.datetime) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds")


@pytest.fixture
def api_key(city):
    _key, plaintext = key_create("12345 热线平台")
    return plaintext


@pytest.fixture
def spot(city):
    lon, lat = point_in(city.street_a)
    return {"lat": f"{lat:.7f}", "long": f"{lon:.7f}"}


@pytest.fixture
def client():
    return Client()


def report(client, api_key, spot, fmt="json", **extra):
    data = {"api_key": api_key, "service_code": "E0102", "description": "路边堆放生活垃圾", **spot, **extra}
    response = post_request(client, fmt, **data)
    assert response.status_code == 200, response.content.decode()
    created = parse(response, fmt)
    assert len(created) == 1 and set(created[0]) == {"service_request_id", "service_notice", "account_id"}
    return created[0]


def read(client, number, fmt="json") -> dict:
    response = get(client, f"requests/{number}", fmt)
    assert response.status_code == 200, response.content.decode()
    if fmt == "xml":
        assert root_tag(response) == "service_requests"
    (request,) = parse(response, fmt)
    return request


# --- discovery and services -------------------------------------------------------------------------


def test_discovery_in_xml_and_json(client, city):
    bodies = {}
    for fmt in FORMATS:
        response = get(client, "discovery", fmt)
        assert response.status_code == 200
        bodies[fmt] = parse(response, fmt)
    assert root_tag(get(client, "discovery", "xml")) == "discovery"
    found = bodies["json"]
    assert set(found) == {"changeset", "contact", "key_service", "endpoints"}
    (endpoint,) = found["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == f"http://testserver{BASE}"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert endpoint["type"] in ("production", "test")
    assert as_text(found) == bodies["xml"]


def test_service_list_from_the_active_catalogue(client, city):
    bodies = {fmt: parse(get(client, "services", fmt), fmt) for fmt in FORMATS}
    assert root_tag(get(client, "services", "xml")) == "services"
    services_ = {s["service_code"]: s for s in bodies["json"]}
    garbage = services_["E0102"]
    assert garbage == {
        "service_code": "E0102",
        "service_name": "暴露垃圾",
        "description": minor("暴露垃圾").registration_condition,
        "metadata": False,
        "type": "realtime",
        "keywords": garbage["keywords"],
        "group": "市容环境",
    }
    assert "事件" in garbage["keywords"] and "bllj" in garbage["keywords"]
    # Components are offered too (a missing manhole cover is the public's most urgent report).
    assert services_["C0101"]["service_name"] == "上水井盖"
    assert services_["C0101"]["group"] == "公用设施"
    # Events first; every code unique across the two kinds.
    assert bodies["json"][0]["service_code"].startswith("E")
    assert len(services_) == len(bodies["json"])
    assert as_text(bodies["json"]) == bodies["xml"]


def test_a_class_requiring_a_photo_is_not_offered(client, city, api_key, spot):
    garbage = minor("暴露垃圾")
    garbage.photo_required = True
    garbage.save()
    codes = {s["service_code"] for s in parse(get(client, "services"), "json")}
    assert "E0102" not in codes
    error_list(post_request(client, api_key=api_key, service_code="E0102", **spot), "json", 404)


def test_service_definition_has_no_attributes(client, city):
    for fmt in FORMATS:
        response = get(client, "services/E0102", fmt)
        assert response.status_code == 200
        assert parse(response, fmt) == {"service_code": "E0102", "attributes": []}
    assert root_tag(get(client, "services/E0102", "xml")) == "service_definition"
    for code in ("E9999", "X0102", "0102", "E01020"):
        for fmt in FORMATS:
            error_list(get(client, f"services/{code}", fmt), fmt, 404)


# --- the conversation of a spec-only client ---------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_list_services_post_a_request_and_follow_it(client, city, api_key, spot, fmt):
    listed = parse(get(client, "services", fmt), fmt)
    code = next(s["service_code"] for s in listed if s["service_name"] == "暴露垃圾")
    with time_machine.travel(at(2026, 9, 29, 10, 0), tick=False):
        before = Case.objects.count()
        created = report(client, api_key, spot, fmt, service_code=code, address_string="甲街道某路 12 号")
        assert Case.objects.count() == before + 1
        number = created["service_request_id"]
        assert created["account_id"] is None
        assert "监督员现场核实" in created["service_notice"]
        request = read(client, number, fmt)
    assert set(request) == REQUEST_FIELDS
    assert request["service_request_id"] == number
    assert request["status"] == "open"
    assert request["status_notes"] == "待受理"
    assert request["service_code"] == code and request["service_name"] == "暴露垃圾"
    assert request["description"] == "路边堆放生活垃圾"
    assert request["address"] == "甲街道某路 12 号"
    assert request["requested_datetime"] == "2026-09-29T10:00:00+08:00"
    # Intake within 10 minutes: the current stage's deadline.
    assert request["expected_datetime"] == "2026-09-29T10:10:00+08:00"
    assert request["agency_responsible"] in (None, "")
    assert abs(float(request["lat"]) - float(spot["lat"])) < 1e-6
    assert abs(float(request["long"]) - float(spot["long"])) < 1e-6

    case = Case.objects.get(number=number)
    assert case.source == "open311" and case.status == "reported" and case.reporter is None
    assert Open311Submission.objects.get(case=case).key.name == "12345 热线平台"


def test_post_answers_in_xml_with_the_spec_elements(client, city, api_key, spot):
    response = post_request(client, "xml", api_key=api_key, service_code="E0102", **spot)
    assert response.status_code == 200
    text = response.content.decode("utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert "<service_requests><request><service_request_id>" in text and "<account_id />" in text
    (created,) = parse(response, "xml")
    # No description given (optional in the spec): the case is described by its class.
    assert Case.objects.get(number=created["service_request_id"]).description == "暴露垃圾"


def test_gcj02_coordinates_are_stored_as_wgs84(client, city, api_key, spot):
    lon, lat = float(spot["long"]), float(spot["lat"])
    glon, glat = geo.wgs84_to_gcj02(lon, lat)
    created = report(client, api_key, {"lat": str(float(glat)), "long": str(float(glon))}, crs="gcj02")
    case = Case.objects.get(number=created["service_request_id"])
    assert case.original_crs == "gcj02"
    assert abs(case.lon - lon) < 1e-6 and abs(case.lat - lat) < 1e-6
    request = read(client, case.number)
    assert abs(request["long"] - lon) < 1e-6 and abs(request["lat"] - lat) < 1e-6


# --- the api_key --------------------------------------------------------------------------------------


def test_key_missing_invalid_or_revoked_is_403_and_writes_nothing(client, city, spot):
    key, plaintext = key_create("市民 App")
    before = Case.objects.count()
    for fmt in FORMATS:
        errors = error_list(post_request(client, fmt, service_code="E0102", **spot), fmt, 403)
        assert "api_key" in errors[0]["description"]
        error_list(post_request(client, fmt, api_key="", service_code="E0102", **spot), fmt, 403)
        error_list(post_request(client, fmt, api_key="o311_wrong", service_code="E0102", **spot), fmt, 403)
        error_list(post_request(client, fmt, api_key=plaintext[:-1], service_code="E0102", **spot), fmt, 403)
    # The key is checked before anything else: an unknown service with a bad key is still 403.
    error_list(post_request(client, api_key="nope", service_code="E9999"), "json", 403)
    assert report(client, plaintext, spot)["service_request_id"]
    key.refresh_from_db()
    assert key.last_used_at is not None
    key_revoke(key)
    for fmt in FORMATS:
        errors = error_list(
            post_request(client, fmt, api_key=plaintext, service_code="E0102", **spot), fmt, 403
        )
        assert "撤销" in errors[0]["description"]
    assert Case.objects.count() == before + 1
    assert Open311Key.objects.get(pk=key.pk).revoked_at is not None


def test_post_needs_no_csrf_token(city, api_key, spot):
    strict = Client(enforce_csrf_checks=True)
    assert report(strict, api_key, spot)["service_request_id"]


# --- refused input ------------------------------------------------------------------------------------

LONG = "很" * 4001


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"service_code": ""}, 400, "service_code"),
        ({"service_code": "E9999"}, 404, "service_code"),
        ({"service_code": "garbage"}, 404, "service_code"),
        ({"lat": "", "long": ""}, 400, "lat"),
        ({"lat": "", "long": "", "address_string": "甲街道某路 12 号"}, 400, "address_string"),
        ({"long": ""}, 400, "lat"),
        ({"lat": "abc"}, 400, "lat"),
        ({"lat": "nan"}, 400, "lat"),
        ({"lat": "95"}, 400, "-90"),
        ({"lat": "10", "long": "10"}, 400, "不在本市范围内"),
        ({"crs": "mars"}, 400, "坐标系"),
        ({"description": LONG}, 400, "4000"),
        ({"description": "垃圾\x00"}, 400, "控制字符"),
        ({"first_name": "名" * 51}, 400, "first_name"),
        ({"phone": "call me"}, 400, "phone"),
        ({"address_string": "路" * 256}, 400, "address_string"),
        ({"media_url": "ftp://example.com/a.jpg"}, 400, "media_url"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"description": "很" * 3990, "media_url": "https://example.com/a.jpg"}, 400, "media_url"),
    ],
)
def test_bad_input_is_refused_with_the_error_list_and_nothing_written(
    client, city, api_key, spot, change, status, words
):
    data = {"api_key": api_key, "service_code": "E0102", "description": "垃圾", **spot, **change}
    before = (Case.objects.count(), Open311Submission.objects.count())
    for fmt in FORMATS:
        errors = error_list(post_request(client, fmt, **data), fmt, status)
        assert any(words in e["description"] for e in errors), errors
    assert (Case.objects.count(), Open311Submission.objects.count()) == before


def test_several_problems_are_reported_together(client, city, api_key, spot):
    data = {
        "api_key": api_key,
        "service_code": "E0102",
        "lat": "x",
        "long": "y",
        "phone": "?",
        "description": LONG,
    }
    errors = error_list(post_request(client, **data), "json", 400)
    assert len(errors) == 3


def test_a_post_that_is_not_form_encoded_is_refused(client, city, api_key, spot):
    before = Case.objects.count()
    data = {"api_key": api_key, "service_code": "E0102", **spot}
    for content_type in ("application/json", "multipart/form-data; boundary=x"):
        body = "{}" if content_type == "application/json" else "--x--"
        response = client.post(f"{BASE}/requests.json", body, content_type=content_type)
        assert "x-www-form-urlencoded" in error_list(response, "json", 400)[0]["description"]
    response = client.post(f"{BASE}/requests.json", data)  # the test client's default: multipart
    error_list(response, "json", 400)
    assert Case.objects.count() == before


@pytest.mark.parametrize(
    "path",
    [
        "services.csv",
        "services",
        "services.",
        "discovery.html",
        "requests",
        "nothing.json",
        "requests/99999999.json",
        "requests/abc.xml",
        "requests/2026%27%20OR%201=1.json",
        "tokens/12345.json",
        "tokens/12345.xml",
        "",
    ],
)
def test_unknown_resources_and_formats_are_404_with_the_error_list(client, city, path):
    response = client.get(f"{BASE}/{path}")
    error_list(response, "json" if path.endswith(".json") else "xml", 404)


def test_other_methods_are_refused(client, city):
    response = client.put(f"{BASE}/services.json")
    assert error_list(response, "json", 405) and response["Allow"] == "GET, HEAD"
    response = client.post(f"{BASE}/services.xml")
    assert error_list(response, "xml", 405) and response["Allow"] == "GET, HEAD"


# --- GET requests -------------------------------------------------------------------------------------


def _case_at(city, when, cls="暴露垃圾", source="open311", people=None):
    lon, lat = point_in(city.street_a)
    actor = people["operator_a"] if people else None
    with time_machine.travel(when, tick=False):
        case, _ = services.case_report(
            actor,
            services.CaseInput(
                source=source, minor_class_id=minor(cls).pk, description="问题", lon=lon, lat=lat
            ),
        )
    return case


@pytest.fixture
def history(city, people):
    return {
        "june": _case_at(city, at(2026, 6, 1, 9)),
        "august": _case_at(city, at(2026, 8, 20, 9), cls="积存垃圾渣土"),
        "september": _case_at(city, at(2026, 9, 20, 9)),
        "last": _case_at(city, at(2026, 9, 28, 9)),
        "hotline": _case_at(city, at(2026, 9, 28, 10), source="hotline", people=people),
    }


def numbers(client, fmt="json", **params) -> list[str]:
    response = get(client, "requests", fmt, **params)
    assert response.status_code == 200, response.content.decode()
    return [r["service_request_id"] for r in parse(response, fmt)]


def test_get_requests_defaults_to_the_last_90_days_newest_first(client, history):
    h = history
    with time_machine.travel(at(2026, 9, 29, 12), tick=False):
        for fmt in FORMATS:
            # Only cases filed through this interface are published (not the hotline's).
            assert numbers(client, fmt) == [h["last"].number, h["september"].number, h["august"].number]
    with time_machine.travel(at(2026, 9, 29, 12), tick=False):
        error_list(get(client, f"requests/{h['hotline'].number}"), "json", 404)


def test_get_requests_date_range(client, history):
    h = history
    june = numbers(client, start_date="2026-05-25T00:00:00+08:00", end_date="2026-06-10T00:00:00+08:00")
    assert june == [h["june"].number]
    # UTC, and a '+' that arrived as a space (an unencoded query string) are understood.
    assert numbers(client, start_date="2026-05-31T16:00:00Z", end_date="2026-06-01T02:00:00Z") == [
        h["june"].number
    ]
    response = client.get(f"{BASE}/requests.json?start_date=2026-06-01T08:00:00+08:00&end_date=2026-06-02")
    assert [r["service_request_id"] for r in response.json()] == [h["june"].number]
    # Only a start: the 90 days from it.
    assert numbers(client, start_date="2026-06-01") == [h["august"].number, h["june"].number]
    # Only an end: the 90 days up to it.
    assert numbers(client, end_date="2026-09-21") == [h["september"].number, h["august"].number]
    for params, words in [
        ({"start_date": "2026-01-01", "end_date": "2026-06-01"}, "90"),
        ({"start_date": "2026-06-10", "end_date": "2026-06-01"}, "end_date"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2026-13-01"}, "end_date"),
    ]:
        for fmt in FORMATS:
            errors = error_list(get(client, "requests", fmt, **params), fmt, 400)
            assert words in errors[0]["description"]


def test_get_requests_by_id_overrides_the_other_arguments(client, history):
    h = history
    ids = f"{h['september'].number}, {h['june'].number},{h['hotline'].number},{h['june'].number}"
    for fmt in FORMATS:
        assert numbers(client, fmt, service_request_id=ids, status="closed", start_date="2020-01-01") == [
            h["september"].number,
            h["june"].number,
        ]
    error_list(get(client, "requests", service_request_id="1,abc"), "json", 400)


def test_get_requests_by_service_code_status_and_page(client, history, people):
    h = history
    at_end = at(2026, 9, 29, 12)
    with time_machine.travel(at_end, tick=False):
        assert numbers(client, service_code="E0103") == [h["august"].number]
        assert numbers(client, service_code="E0102,E0103") == [
            h["last"].number,
            h["september"].number,
            h["august"].number,
        ]
        assert numbers(client, service_code="C0101") == []
        # Declared several times, or comma delimited, in any case.
        assert (
            client.get(f"{BASE}/requests.json?service_code=e0103&service_code=C0101").json()[0][
                "service_request_id"
            ]
            == h["august"].number
        )
        assert numbers(client, status="closed") == []
        case = h["september"]
        services.case_reject(people["operator_a"], case.pk, version=case.version, reason="不属于城管职责")
        assert numbers(client, status="closed") == [case.number]
        assert numbers(client, status="open") == [h["last"].number, h["august"].number]
        assert len(numbers(client, status="open,closed")) == 3
        assert numbers(client, page_size=1, page=2) == [h["september"].number]
        assert numbers(client, page_size=2, page=2) == [h["august"].number]
        assert numbers(client, page=9) == []
        for params in (
            {"status": "pending"},
            {"service_code": "0102"},
            {"page": "0"},
            {"page_size": "1001"},
            {"page_size": "x"},
        ):
            for fmt in FORMATS:
                error_list(get(client, "requests", fmt, **params), fmt, 400)


def test_xml_and_json_carry_the_same_requests(client, history):
    with time_machine.travel(at(2026, 9, 29, 12), tick=False):
        as_json = parse(get(client, "requests", "json"), "json")
        as_xml = parse(get(client, "requests", "xml"), "xml")
    assert len(as_json) == 3 and as_text(as_json) == as_xml
    assert all(set(r) == REQUEST_FIELDS for r in as_json)


# --- through the loop ---------------------------------------------------------------------------------


def test_a_request_moved_to_closed_shows_closed_and_no_expected_time(client, city, people, api_key, spot):
    p = people
    with time_machine.travel(at(2026, 9, 29, 10, 0), tick=True):
        number = report(client, api_key, spot)["service_request_id"]
        case = Case.objects.get(number=number)
        case = services.case_accept(p["operator_a"], case.pk, version=case.version)
        assert read(client, number)["status_notes"] == "待核实"
        case = services.case_verify(p["inspector_a"], case.pk, version=case.version)
        case = services.case_register(p["shiftlead_a"], case.pk, version=case.version)
        case = services.case_dispatch(
            p["dispatcher_a"], case.pk, version=case.version, department_id=city.dept_a.pk
        )
        case = services.case_sign(p["handler_a"], case.pk, version=case.version)
        handling = read(client, number)
        assert handling["status"] == "open" and handling["status_notes"] == "处置中"
        assert handling["agency_responsible"] == "甲中队"
        assert handling["expected_datetime"] == local(case.stage_deadline)
        assert case.stage_deadline == case.tasks.get(role="lead").deadline  # the handling deadline
        case = services.case_handle(p["handler_a"], case.pk, version=case.version, result="已清运")
        case = services.case_check(p["inspector_a"], case.pk, version=case.version, passed=True)
        case = services.case_close(p["shiftlead_a"], case.pk, version=case.version)
    case.refresh_from_db()
    for fmt in FORMATS:
        closed = read(client, number, fmt)
        assert closed["status"] == "closed" and closed["status_notes"] == "已结案"
        assert closed["expected_datetime"] is None
        assert closed["updated_datetime"] == local(case.closed_at)
        assert closed["agency_responsible"] == "甲中队"
    assert "<expected_datetime />" in get(client, f"requests/{number}", "xml").content.decode()


def test_a_rejected_request_is_closed_with_its_reason(client, city, people, api_key, spot):
    number = report(client, api_key, spot)["service_request_id"]
    case = Case.objects.get(number=number)
    services.case_reject(people["operator_a"], case.pk, version=case.version, reason="属于物业管理范围")
    request = read(client, number)
    assert request["status"] == "closed"
    assert request["status_notes"] == "不予立案：属于物业管理范围"
    assert request["expected_datetime"] is None


def test_a_voided_request_is_closed_with_its_reason(client, city, people, api_key, spot):
    number = report(client, api_key, spot)["service_request_id"]
    case = Case.objects.get(number=number)
    p = people
    services.case_accept(p["operator_a"], case.pk, version=case.version)
    case.refresh_from_db()
    services.case_verify(p["inspector_a"], case.pk, version=case.version)
    case.refresh_from_db()
    services.case_register(p["shiftlead_a"], case.pk, version=case.version)
    case.refresh_from_db()
    services.case_void(p["shiftlead_a"], case.pk, version=case.version, reason="经核实为私人庭院")
    request = read(client, number)
    assert request["status"] == "closed" and request["expected_datetime"] is None
    assert request["status_notes"] == "已作废：经核实为私人庭院"


def test_a_duplicate_follows_its_original(client, city, people, api_key, spot):
    p = people
    first = Case.objects.get(number=report(client, api_key, spot)["service_request_id"])
    second = Case.objects.get(number=report(client, api_key, spot)["service_request_id"])
    services.case_mark_duplicate(p["operator_a"], second.pk, version=second.version, original_id=first.pk)
    request = read(client, second.number)
    assert request["status"] == "open"  # the problem is still being handled
    assert request["status_notes"] == f"与案件 {first.number} 重复，随该案件办理：待受理"
    assert request["expected_datetime"] == read(client, first.number)["expected_datetime"]
    # The status filter sees what the client sees.
    assert second.number in numbers(client, status="open")
    assert second.number not in numbers(client, status="closed")
    first.refresh_from_db()
    services.case_reject(p["operator_a"], first.pk, version=first.version, reason="现场无此问题")
    request = read(client, second.number)
    assert request["status"] == "closed" and "现场无此问题" in request["status_notes"]
    assert second.number in numbers(client, status="closed")


# --- no personal data out -----------------------------------------------------------------------------


def test_no_personal_data_in_any_response(client, city, api_key, spot):
    secrets_ = ["张三丰", "13912345678", "zhang.sanfeng@example.com", "13812345678", "110101199003077777"]
    created = report(
        client,
        api_key,
        spot,
        first_name="三丰",
        last_name="张",
        phone="13912345678",
        email="zhang.sanfeng@example.com",
        device_id="device-1",
        account_id="acct-1",
        description="我是张三丰，电话 13812345678，身份证 110101199003077777，邮箱 zhang.sanfeng@example.com",
        media_url="https://img.example.com/p/1.jpg",
    )
    number = created["service_request_id"]
    case = Case.objects.get(number=number)
    # Kept for the staff who call the reporter back; the e-mail has no place in the case.
    assert case.reporter_name == "张三丰" and case.reporter_phone == "13912345678"
    assert "zhang.sanfeng@example.com" in case.description and "img.example.com" in case.description
    bodies = []
    for fmt in FORMATS:
        for path, params in [
            (f"requests/{number}", {}),
            ("requests", {}),
            ("requests", {"service_request_id": number}),
        ]:
            response = get(client, path, fmt, **params)
            assert response.status_code == 200
            bodies.append(response.content.decode("utf-8"))
    for body in bodies:
        for secret in [*secrets_, "img.example.com", "media_url", "device-1", "acct-1"]:
            assert secret not in body, (secret, body)
    request = read(client, number)
    assert set(request) == REQUEST_FIELDS
    assert (
        request["description"] == "我是***，电话 138****5678，身份证 1***************77，邮箱 ***@example.com"
    )
    # An English reporter's name is removed from the text too.
    other = report(
        client, api_key, spot, first_name="John", last_name="Smith", description="John Smith saw it"
    )
    assert read(client, other["service_request_id"])["description"] == "*** saw it"
    assert Case.objects.get(number=other["service_request_id"]).reporter_name == "John Smith"


def test_listing_takes_a_fixed_number_of_queries(client, history, people, django_assert_max_num_queries):
    h = history
    services.case_reject(people["operator_a"], h["june"].pk, version=h["june"].version, reason="重复上报")
    services.case_mark_duplicate(
        people["operator_a"], h["last"].pk, version=h["last"].version, original_id=h["august"].pk
    )
    # 4 for the listing, up to 5 for the per-address rate limit's counter in the shared cache table
    with time_machine.travel(at(2026, 9, 29, 12), tick=False):
        with django_assert_max_num_queries(9):
            assert len(numbers(client)) == 3
    with django_assert_max_num_queries(9):
        assert len(numbers(client, start_date="2026-05-01", end_date="2026-07-30")) == 1


def test_an_oversized_body_is_refused_with_the_error_list(client, city, api_key, spot, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    before = Case.objects.count()
    response = post_request(client, api_key=api_key, service_code="E0102", description="很" * 1000, **spot)
    assert "too large" in error_list(response, "json", 400)[0]["description"]
    assert Case.objects.count() == before


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_database_out_of_reach_is_the_specs_error_list_with_503(city, monkeypatch, fmt):
    from django.db import OperationalError

    from chengguan.open311 import selectors as open311_selectors
    from chengguan.web import ratelimit

    def down(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    client = Client()
    monkeypatch.setattr(open311_selectors, "service_list", down)
    response = get(client, "services", fmt)
    errors = error_list(response, fmt, 503)
    assert int(response["Retry-After"]) > 0 and "数据库暂时不可用" in errors[0]["description"]
    monkeypatch.setattr(ratelimit, "allow", down)  # the rate limit's cache table is in the database too
    error_list(get(client, "requests", fmt), fmt, 503)
