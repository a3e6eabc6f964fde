"""The pages in a real browser (Debian's chromium through Playwright) against a live server:
login and landing by role, the case detail's actions for the right people only, an action done
through the page with its event in the timeline (with htmx, and as a plain form without
JavaScript), a stale form, the offline map, screenshots. Every request must stay on 127.0.0.1."""

from __future__ import annotations

import pytest

from chengguan.cases import services
from chengguan.cases.choices import CaseStatus
from chengguan.cases.models import Case

from .conftest import NetworkGuard, is_local

pytestmark = pytest.mark.browser

LANDINGS = {
    "inspector_a": "/inspector/",
    "operator_a": "/desk/reported/",
    "shiftlead_a": "/desk/to_register/",
    "dispatcher_a": "/desk/to_dispatch/",
    "handler_a": "/department/to_sign/",
    "leader": "/command/",
    "sysadmin": "/admin/",
}


def path_of(page, live_server) -> str:
    return page.url.removeprefix(live_server.url)


def open_case(page, case):
    """The case detail, once its map has drawn (boundaries and the point, all from this server)."""
    response = page.goto(f"/cases/{case.pk}/")
    if response.status == 200:
        page.wait_for_selector("#case-map[data-ready='1']")
    return response


def open_action(page, action: str):
    """The action's form, unfolded (the first action is open already)."""
    details = page.locator(f"details[data-action={action}]")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    return details


def actions(page) -> list[str]:
    return page.locator("details.action").evaluate_all("els => els.map(e => e.dataset.action)")


def timeline(page) -> list[str]:
    return page.locator("ol.timeline li").evaluate_all("els => els.map(e => e.dataset.action)")


# --- the guard itself (no browser) ---------------------------------------------------------------


def test_only_loopback_addresses_count_as_local():
    for url in (
        "http://127.0.0.1:8000/x",
        "http://localhost/x",
        "http://[::1]:81/",
        "http://127.5.0.1/",
        "data:,x",
    ):
        assert is_local(url), url
    for url in (
        "https://tile.openstreetmap.org/1/1/1.png",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://cdn.example/",
    ):
        assert not is_local(url), url


def test_the_guard_aborts_and_records_requests_that_leave_the_machine():
    class Route:
        def __init__(self, url):
            self.request = type("R", (), {"url": url})()
            self.done = None

        def continue_(self):
            self.done = "continued"

        def abort(self, reason):
            self.done = reason

    guard, inside, outside = NetworkGuard(), Route("http://127.0.0.1:1/a"), Route("https://unpkg.com/htmx.js")
    guard.route(inside)
    guard.route(outside)
    assert (inside.done, outside.done) == ("continued", "blockedbyclient")
    assert guard.blocked == ["https://unpkg.com/htmx.js"]


# --- login and landing ------------------------------------------------------------------------------


@pytest.mark.parametrize("username", sorted(LANDINGS))
def test_each_role_lands_on_its_workbench_after_login(page, live_server, login, username):
    login(page, username)
    assert path_of(page, live_server) == LANDINGS[username]
    if LANDINGS[username].startswith("/workbench/"):
        assert page.locator(".who").inner_text() == username
        assert page.locator("nav.nav a[aria-current=page]").get_attribute("href") == LANDINGS[username]


def test_logout_and_language_switch(page, live_server, login):
    login(page, "operator_a")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    with page.expect_navigation():
        page.click("form.lang button[value=en]")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Log out" in page.locator("header.topbar").inner_text()
    with page.expect_navigation():
        page.click("header.topbar form[action='/logout/'] button")
    assert path_of(page, live_server) == "/login/"
    page.goto("/workbench/operator/")
    assert path_of(page, live_server).startswith("/login/?next=")


# --- the case detail ---------------------------------------------------------------------------------


def test_the_right_person_sees_the_actions_and_another_streets_person_gets_404(
    new_page, login_as, committed, screenshot
):
    case = committed.case(CaseStatus.TO_DISPATCH)
    dispatcher = login_as(new_page(), "dispatcher_a")
    assert open_case(dispatcher, case).status == 200
    assert actions(dispatcher) == ["dispatch"]
    assert dispatcher.locator(".case-head .number").inner_text() == case.number
    assert dispatcher.locator(".photos-compare figure").count() == 2  # before | after side by side
    assert dispatcher.locator(".deadline .remaining").inner_text().startswith(("剩余", "已超期"))
    # The map drew the point and the boundaries without any tile server.
    assert dispatcher.locator("#case-map.no-tiles").count() == 1
    assert dispatcher.locator(
        "#case-map .leaflet-overlay-pane canvas, #case-map .leaflet-overlay-pane svg"
    ).count()
    screenshot(dispatcher, "case-detail-dispatcher")

    same_street_no_action = login_as(new_page(), "inspector_a")
    assert open_case(same_street_no_action, case).status == 200
    assert actions(same_street_no_action) == []
    assert same_street_no_action.locator(".no-actions").is_visible()

    for username in ("inspector_b", "dispatcher_b"):
        other = login_as(new_page(), username)
        response = other.goto(f"/cases/{case.pk}/")
        assert response.status == 404
        assert other.locator("details.action").count() == 0
        assert case.number not in other.content()


def test_the_operator_accepts_and_the_shift_leader_registers_through_the_page(
    new_page, login, committed, screenshot
):
    case = committed.case(CaseStatus.REPORTED)
    operator = login(new_page(), "operator_a")
    open_case(operator, case)
    assert actions(operator) == ["accept", "reject", "duplicate"]
    open_action(operator, "accept").locator("textarea").fill("信息完整，予以受理")
    operator.locator("details[data-action=accept] button[type=submit]").click()
    # htmx swapped #case-main: the new state, the message, the event in the timeline.
    operator.wait_for_selector(".case-head .badge.st-to_register")
    assert "已完成“受理”" in operator.locator("#case-main .messages").inner_text()
    assert timeline(operator) == ["report", "accept"]
    assert "信息完整，予以受理" in operator.locator("ol.timeline li[data-action=accept]").inner_text()
    assert actions(operator) == ["reject", "duplicate"]

    leader = login(new_page(), "shiftlead_a")
    open_case(leader, case)
    assert actions(leader) == ["register", "reject", "duplicate"]
    open_action(leader, "register")
    leader.locator("details[data-action=register] button[type=submit]").click()
    leader.wait_for_selector(".case-head .badge.st-to_dispatch")
    assert timeline(leader) == ["report", "accept", "register"]
    assert "shiftlead_a" in leader.locator("ol.timeline li[data-action=register]").inner_text()
    screenshot(leader, "case-detail-registered")
    case.refresh_from_db()
    assert case.status == CaseStatus.TO_DISPATCH and case.events.count() == 3


def test_the_page_works_as_a_plain_form_without_javascript(browser, live_server, login, committed):
    case = committed.case(CaseStatus.REPORTED)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    guard = NetworkGuard()
    context.route("**/*", guard.route)
    try:
        page = login(context.new_page(), "operator_a")
        page.goto(f"/cases/{case.pk}/")
        open_action(page, "reject")
        with page.expect_navigation():
            page.locator("details[data-action=reject] button[type=submit]").click()
        # No reason: the message is next to the field, in Chinese, and nothing changed.
        assert page.locator("details[data-action=reject] .field.invalid .error").count() == 1
        page.locator("details[data-action=reject] textarea").fill("不属于城市管理范围")
        with page.expect_navigation():
            page.locator("details[data-action=reject] button[type=submit]").click()
        assert page.url.endswith(f"/cases/{case.pk}/")
        assert page.locator(".case-head .badge.st-rejected").count() == 1
        assert "不属于城市管理范围" in page.locator("ol.timeline").inner_text()
    finally:
        context.close()
    assert not guard.blocked


def test_a_stale_form_says_someone_acted_first_and_shows_the_current_state(new_page, login_as, committed):
    case = committed.case(CaseStatus.REPORTED)
    page = login_as(new_page(), "operator_a")
    open_case(page, case)
    services.case_accept(committed.person("operator_a"), case.pk, version=case.version)  # in another tab
    open_action(page, "reject")
    page.locator("details[data-action=reject] textarea").fill("重复上报")
    page.locator("details[data-action=reject] button[type=submit]").click()
    page.wait_for_selector(".conflict")
    assert "其他人已先处理了这个案件" in page.locator(".conflict").inner_text()
    assert page.locator(".case-head .badge.st-to_register").count() == 1
    assert actions(page) == ["reject", "duplicate"]
    assert Case.objects.get(pk=case.pk).status == CaseStatus.TO_REGISTER


def test_the_case_detail_on_a_phone_and_on_the_wall(new_page, login_as, committed, screenshot):
    case = committed.case(CaseStatus.HANDLING)
    phone = login_as(new_page(width=360, height=780, mobile=True), "handler_a")
    open_case(phone, case)
    assert actions(phone)[:1] == ["handle"]
    overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a 360px phone"
    screenshot(phone, "case-detail-phone-360")
    wall = login_as(new_page(width=1920, height=1080), "shiftlead_a")
    open_case(wall, case)
    assert wall.locator("#case-map").bounding_box()["height"] >= 600
    screenshot(wall, "case-detail-wall-1920")


def test_tiles_come_from_tile_url_when_one_is_set(
    new_page, login_as, committed, live_server, settings, network_guard
):
    settings.TILE_URL = live_server.url + "/tiles/{z}/{x}/{y}.png"
    case = committed.case(CaseStatus.REPORTED)
    page = login_as(new_page(), "operator_a")
    open_case(page, case)
    page.wait_for_load_state("networkidle")
    assert page.locator("#case-map.no-tiles").count() == 0
    assert any(url.startswith(live_server.url + "/tiles/") for url in network_guard.requests)
