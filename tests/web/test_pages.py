"""The pages through Django's test client (fast): login and landing by role, navigation, the case
detail (fields, actions by person, jurisdiction), actions posted as plain forms (done, bad input,
stale form, wrong role), photos through the chokepoint, map data, and query counts."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.db import connection
from django.http import HttpRequest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from PIL import Image

from chengguan.cases import selectors, services
from chengguan.cases.choices import CaseStatus
from chengguan.cases.models import Case, CaseEvent
from chengguan.cases.photos import ingest_photo
from chengguan.org import twofactor
from chengguan.org.choices import Role
from chengguan.org.models import Person, RoleGrant
from chengguan.web.nav import landing_url, nav_items
from tests.cases.factories import make_case, minor, point_in
from tests.conftest import PASSWORD, verified_device

pytestmark = pytest.mark.django_db

LANDINGS = {
    "inspector_a": "/inspector/",
    "operator_a": "/desk/",
    "shiftlead_a": "/desk/",
    "dispatcher_a": "/desk/",
    "handler_a": "/department/",
    "leader": "/command/",
    "sysadmin": "/admin/",
    "secadmin": "/admin/",
    "auditor": "/admin/",
}


def html(response) -> str:
    return response.content.decode()


def actions_on_page(response) -> list[str]:
    return re.findall(r'<details class="action" data-action="([a-z_]+)"', html(response))


# --- login, landing, navigation ------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    response = client.get("/cases/1/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=/cases/1/")


def test_login_page_in_chinese_and_in_english(client):
    page = client.get("/login/")
    assert page.status_code == 200 and '<html lang="zh-hans"' in html(page)
    assert "登录" in html(page) and "用户名" in html(page)
    english = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="en"' in html(english)
    assert "Log in" in html(english) and "登录" not in html(english)


@pytest.mark.parametrize("username", sorted(LANDINGS))
def test_each_role_lands_on_its_own_workbench(client, people, username):
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    if twofactor.is_required(people[username]):  # administrators give a one-time code first
        assert response["Location"].startswith("/account/two-factor/")  # (no device yet: enrol)
        device = verified_device(people[username])
        response = client.post("/login/otp/", {"token": twofactor.current_code(device), "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    landing = client.get("/")
    assert landing.status_code == 302 and landing["Location"] == LANDINGS[username]
    assert client.get(LANDINGS[username], follow=True).status_code == 200


def test_a_person_without_a_role_is_told_so(client_for, people):
    page = client_for(people["outsider"]).get("/")
    assert page.status_code == 200 and "没有可用的工作台" in html(page)


def test_wrong_password_says_so_next_to_the_form(client, people):
    page = client.post("/login/", {"username": "operator_a", "password": "wrong"})
    assert page.status_code == 200 and "请输入一个正确的" in html(page)


def test_logout_is_a_post_and_ends_the_session(client_for, people):
    client = client_for(people["operator_a"])
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/workbench/operator/").status_code == 302


def test_navigation_offers_only_the_pages_of_the_persons_roles(client_for, people):
    operator = html(client_for(people["operator_a"]).get("/workbench/operator/"))
    assert 'href="/desk/"' in operator
    assert 'href="/department/"' not in operator and 'href="/admin/"' not in operator
    assert (
        "operator_a" in operator and 'action="/logout/"' in operator and 'action="/i18n/setlang/"' in operator
    )
    admin = [item.url() for item in nav_items(people["sysadmin"])]
    assert admin == ["/admin/"]
    both = people["operator_a"]
    both.roles.add(RoleGrant.objects.get(role=Role.DISPATCHER))
    both = Person.objects.get(pk=both.pk)
    # One link per page: both roles' workbenches are the desk.
    assert [item.url() for item in nav_items(both)] == ["/desk/", "/command/", "/ledger/", "/grids/"]
    assert landing_url(both) == "/desk/"


def test_a_workbench_of_another_role_is_not_found(client_for, people):
    assert client_for(people["operator_a"]).get("/workbench/dispatcher/").status_code == 404
    assert client_for(people["operator_a"]).get("/workbench/nonsense/").status_code == 404


def test_the_workbench_lists_the_roles_open_cases(city, client_for, people):
    case = make_case(city, people, CaseStatus.REPORTED)
    page = client_for(people["operator_a"]).get("/workbench/operator/")
    assert case.number in html(page) and f'href="/cases/{case.pk}/"' in html(page)
    assert case.number not in html(client_for(people["operator_b"]).get("/workbench/operator/"))
    assert case.number not in html(client_for(people["dispatcher_a"]).get("/workbench/dispatcher/"))


# --- case detail -------------------------------------------------------------------------------------


def test_the_case_detail_shows_fields_deadline_timeline_and_map(city, client_for, people):
    case = make_case(city, people, CaseStatus.TO_DISPATCH, description="井盖缺失，路人易跌落")
    page = client_for(people["dispatcher_a"]).get(f"/cases/{case.pk}/")
    text = html(page)
    assert page.status_code == 200
    for expected in (case.number, "井盖缺失，路人易跌落", "待派遣", city.street_a.name, case.grid.code):
        assert expected in text
    assert "剩余" in text or "已超期" in text  # remaining working time of the current stage
    timeline = re.findall(r'<li data-action="([a-z_]+)">', text)
    assert timeline == ["report", "accept", "register"]
    assert 'id="case-map" data-map' in text and "/static/leaflet/leaflet.js" in text
    assert "cg-map-config" in text


@pytest.mark.parametrize(
    ("status", "username"),
    [
        (CaseStatus.REPORTED, "operator_a"),
        (CaseStatus.TO_REGISTER, "shiftlead_a"),
        (CaseStatus.TO_DISPATCH, "dispatcher_a"),
        (CaseStatus.DISPATCHED, "handler_a"),
        (CaseStatus.HANDLING, "handler_a"),
        (CaseStatus.HANDLING, "shiftlead_a"),
        (CaseStatus.TO_CHECK, "inspector_a"),
        (CaseStatus.TO_CLOSE, "shiftlead_a"),
        (CaseStatus.CLOSED, "shiftlead_a"),
        (CaseStatus.TO_CHECK, "dispatcher_a"),
        (CaseStatus.REPORTED, "leader"),
    ],
)
def test_the_page_offers_exactly_the_actions_the_workflow_allows(city, client_for, people, status, username):
    case = make_case(city, people, status)
    page = client_for(people[username]).get(f"/cases/{case.pk}/")
    expected = selectors.allowed_actions(people[username], selectors.access_case(people[username], case.pk))
    assert actions_on_page(page) == expected
    if not expected:
        assert "您现在没有可对本案执行的操作" in html(page)


def test_the_page_offers_the_operator_accept_reject_duplicate(city, client_for, people):
    case = make_case(city, people, CaseStatus.REPORTED)
    page = client_for(people["operator_a"]).get(f"/cases/{case.pk}/")
    assert actions_on_page(page) == ["accept", "reject", "duplicate"]


@pytest.mark.parametrize("username", ["inspector_b", "dispatcher_b", "operator_b", "handler_b", "outsider"])
def test_a_case_outside_the_persons_jurisdiction_is_not_found(city, client_for, people, username):
    case = make_case(city, people, CaseStatus.TO_DISPATCH)
    client = client_for(people[username])
    assert client.get(f"/cases/{case.pk}/").status_code == 404
    response = client.post(f"/cases/{case.pk}/act/dispatch/", {"dispatch-version": case.version})
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.status == CaseStatus.TO_DISPATCH


def test_an_unknown_case_or_action_is_not_found(city, client_for, people):
    client = client_for(people["operator_a"])
    assert client.get("/cases/999999/").status_code == 404
    case = make_case(city, people, CaseStatus.REPORTED)
    assert client.post(f"/cases/{case.pk}/act/explode/", {}).status_code == 404


# --- actions as plain forms -----------------------------------------------------------------------


def test_the_operator_accepts_through_the_form(city, client_for, people):
    case = make_case(city, people, CaseStatus.REPORTED)
    client = client_for(people["operator_a"])
    response = client.post(
        f"/cases/{case.pk}/act/accept/", {"accept-version": case.version, "accept-note": "已受理"}
    )
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    case.refresh_from_db()
    assert case.status == CaseStatus.TO_REGISTER
    event = CaseEvent.objects.filter(case=case).latest("id")
    assert (event.action, event.actor_id, event.note) == ("accept", people["operator_a"].pk, "已受理")
    page = client.get(response["Location"])
    assert "已完成“受理”" in html(page) and "已受理" in html(page)
    assert actions_on_page(page) == ["reject", "duplicate"]


def test_the_dispatcher_dispatches_to_a_chosen_department(city, client_for, people):
    case = make_case(city, people, CaseStatus.TO_DISPATCH)
    response = client_for(people["dispatcher_a"]).post(
        f"/cases/{case.pk}/act/dispatch/",
        {"dispatch-version": case.version, "dispatch-department": city.dept_a.pk},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.DISPATCHED and case.lead_department_id == city.dept_a.pk


def test_a_missing_reason_is_shown_next_to_the_field_and_nothing_changes(city, client_for, people):
    case = make_case(city, people, CaseStatus.REPORTED)
    events = CaseEvent.objects.filter(case=case).count()
    page = client_for(people["operator_a"]).post(
        f"/cases/{case.pk}/act/reject/", {"reject-version": case.version, "reject-reason": "  "}
    )
    assert page.status_code == 422
    text = html(page)
    field = text[text.index('id="id_reject-reason"') :]
    assert field.index('class="error"') < field.index("</div>")  # the message sits in the field's block
    assert "这个字段是必填项" in text or "请填写" in text
    case.refresh_from_db()
    assert case.status == CaseStatus.REPORTED and CaseEvent.objects.filter(case=case).count() == events


def test_a_service_refusal_is_shown_on_its_field(city, client_for, people):
    case = make_case(city, people, CaseStatus.REPORTED)
    page = client_for(people["operator_a"]).post(
        f"/cases/{case.pk}/act/duplicate/", {"duplicate-version": case.version, "duplicate-original": "nope"}
    )
    assert page.status_code == 422 and "找不到编号为 nope 的案件" in html(page)


def test_a_stale_form_says_someone_acted_first_and_shows_the_current_state(city, client_for, people):
    case = make_case(city, people, CaseStatus.REPORTED)
    read_version = case.version
    services.case_accept(people["operator_a"], case.pk, version=read_version)  # another tab, first
    page = client_for(people["operator_a"]).post(
        f"/cases/{case.pk}/act/reject/", {"reject-version": read_version, "reject-reason": "不属于城管"}
    )
    assert page.status_code == 409
    text = html(page)
    assert "其他人已先处理了这个案件" in text and "待立案" in text
    assert actions_on_page(page) == ["reject", "duplicate"]
    assert f'name="reject-version" value="{read_version + 1}"' in text  # the forms carry the new version
    case.refresh_from_db()
    assert case.status == CaseStatus.TO_REGISTER


def test_an_action_the_role_does_not_have_is_forbidden(city, client_for, people):
    case = make_case(city, people, CaseStatus.REPORTED)
    response = client_for(people["inspector_a"]).post(
        f"/cases/{case.pk}/act/accept/", {"accept-version": case.version}
    )
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.status == CaseStatus.REPORTED


def test_a_form_with_a_broken_version_is_refused_on_the_form(city, client_for, people):
    case = make_case(city, people, CaseStatus.REPORTED)
    page = client_for(people["operator_a"]).post(f"/cases/{case.pk}/act/accept/", {"accept-version": "x"})
    assert page.status_code == 422
    case.refresh_from_db()
    assert case.status == CaseStatus.REPORTED


def test_actions_answer_htmx_with_the_page_to_swap(city, client_for, people):
    case = make_case(city, people, CaseStatus.REPORTED)
    client = client_for(people["operator_a"])
    page = client.get(f"/cases/{case.pk}/")
    assert f'hx-post="/cases/{case.pk}/act/accept/"' in html(page) and 'hx-select="#case-main"' in html(page)
    response = client.post(
        f"/cases/{case.pk}/act/accept/", {"accept-version": case.version}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 302  # htmx follows it and swaps #case-main of the fresh page


def test_the_case_detail_in_english(city, client_for, people):
    case = make_case(city, people, CaseStatus.REPORTED)
    text = html(client_for(people["operator_a"]).get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en"))
    with translation.override("en"):
        status = str(CaseStatus.REPORTED.label)
    assert "Timeline" in text and ">Accept</button>" in text and status in text and "left" in text
    assert "办理过程" not in text and "可执行的操作" not in text and "受理" not in text


# --- photos -------------------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def png(width=64, height=48) -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(out, "PNG")
    out.seek(0)
    out.name = "photo.png"
    return out


def test_photos_are_served_only_to_people_who_see_the_case(city, people, client_for, media):
    lon, lat = point_in(city.street_a)
    case, _ = services.case_report(
        people["inspector_a"],
        services.CaseInput(
            source="inspector",
            minor_class_id=minor().pk,
            description="有照片",
            lon=lon,
            lat=lat,
            photos=[ingest_photo(png(), filename="photo.png")],
        ),
    )
    photo = case.photos.get()
    page = html(client_for(people["operator_a"]).get(f"/cases/{case.pk}/"))
    thumb = f"/cases/{case.pk}/photos/{photo.pk}/thumb/"
    assert thumb in page
    response = client_for(people["operator_a"]).get(thumb)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    assert client_for(people["inspector_b"]).get(thumb).status_code == 404
    assert (
        client_for(people["operator_a"]).get(f"/cases/{case.pk + 1}/photos/{photo.pk}/thumb/").status_code
        == 404
    )


def test_a_fake_photo_is_refused_next_to_the_photo_field(city, people, client_for, media):
    case = make_case(city, people, CaseStatus.HANDLING)
    fake = io.BytesIO(b"not an image at all")
    fake.name = "fake.jpg"
    page = client_for(people["handler_a"]).post(
        f"/cases/{case.pk}/act/handle/",
        {"handle-version": case.version, "handle-result": "已清理", "handle-photos": fake},
    )
    assert page.status_code == 422 and "fake.jpg" in html(page)
    case.refresh_from_db()
    assert case.status == CaseStatus.HANDLING


# --- map data ----------------------------------------------------------------------------------------


def test_boundaries_follow_the_jurisdiction(city, client_for, people):
    streets = client_for(people["operator_a"]).get("/map/boundaries.geojson?level=street").json()
    assert [f["properties"]["code"] for f in streets["features"]] == [city.street_a.code]
    assert streets["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    citywide = client_for(people["leader"]).get("/map/boundaries.geojson?level=street").json()
    assert len(citywide["features"]) == 2
    community = city.street_a.children.order_by("code").first()
    grids = client_for(people["operator_a"]).get(
        f"/map/boundaries.geojson?level=grid&community={community.pk}"
    )
    assert grids.json()["features"] and all(
        f["properties"]["level"] == "grid" for f in grids.json()["features"]
    )
    assert (
        client_for(people["operator_b"])
        .get(f"/map/boundaries.geojson?level=grid&community={community.pk}")
        .json()["features"]
        == []
    )
    assert client_for(people["operator_a"]).get("/map/boundaries.geojson?level=planet").status_code == 400


def test_case_points_for_the_map(city, client_for, people):
    case = make_case(city, people, CaseStatus.REPORTED)
    points = client_for(people["operator_a"]).get("/map/cases.geojson?status=open").json()
    mine = [f for f in points["features"] if f["properties"]["id"] == case.pk]
    assert mine and mine[0]["properties"]["status"] == "reported"
    assert mine[0]["geometry"]["coordinates"] == [case.lon, case.lat]
    other = client_for(people["operator_b"]).get("/map/cases.geojson").json()
    assert case.pk not in [f["properties"]["id"] for f in other["features"]]
    assert client_for(people["operator_a"]).get("/map/cases.geojson?status=bogus").status_code == 400


# --- query counts ------------------------------------------------------------------------------------


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_case_detail_queries_do_not_grow_with_its_history(
    city, people, client_for, django_assert_max_num_queries
):
    short = make_case(city, people, CaseStatus.TO_DISPATCH)
    long = make_case(city, people, CaseStatus.DISPATCHED, cohandler=city.dept_b)
    long = services.case_return(people["handler_a"], long.pk, version=long.version, reason="不归我们")
    long = services.case_dispatch(
        people["dispatcher_a"], long.pk, version=long.version, department_id=city.dept_a.pk
    )
    long = services.case_return(people["handler_a"], long.pk, version=long.version, reason="仍不归我们")
    assert long.status == short.status == CaseStatus.TO_DISPATCH
    client = client_for(people["dispatcher_a"])
    client.get(f"/cases/{short.pk}/")  # warm the session and caches
    assert count_queries(client, f"/cases/{short.pk}/") == count_queries(client, f"/cases/{long.pk}/")
    with django_assert_max_num_queries(20):
        client.get(f"/cases/{long.pk}/")


def test_the_workbench_queries_do_not_grow_with_the_number_of_cases(
    city, people, client_for, django_assert_max_num_queries
):
    make_case(city, people, CaseStatus.REPORTED)
    client = client_for(people["operator_a"])
    client.get("/workbench/operator/")  # warm: the person's access is cached per process after this
    one = count_queries(client, "/workbench/operator/")
    for _ in range(3):
        make_case(city, people, CaseStatus.REPORTED)
    assert count_queries(client, "/workbench/operator/") == one
    with django_assert_max_num_queries(15):
        client.get("/workbench/operator/")


def test_logged_in_client_is_a_plain_client(people):
    client = Client()
    # django-axes counts failures per username + address, so authenticate() needs the request
    assert client.login(request=HttpRequest(), username="operator_a", password=PASSWORD)
    assert Case.objects.count() >= 0


def test_pages_reference_no_external_asset():
    """Every script, style and image of the pages comes from this server (no CDN)."""
    import chengguan.web

    root = Path(chengguan.web.__file__).parent
    external = re.compile(
        r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//|import\s+["']https?:"""
    )
    offenders = [
        str(path.relative_to(root))
        for path in sorted(root.rglob("*"))
        if path.suffix in {".html", ".js", ".css"} and external.search(path.read_text(encoding="utf-8"))
    ]
    assert not offenders
    assert (root / "static" / "web" / "map.js").is_file()


def test_not_found_and_forbidden_pages_are_the_sites_own(city, client_for, people):
    client = client_for(people["inspector_b"])
    case = make_case(city, people, CaseStatus.REPORTED)
    page = client.get(f"/cases/{case.pk}/")
    assert page.status_code == 404 and "未找到" in html(page) and case.number not in html(page)
    forbidden = client_for(people["inspector_a"]).post(f"/cases/{case.pk}/act/accept/", {"accept-version": 1})
    assert forbidden.status_code == 403 and "无权操作" in html(forbidden)
