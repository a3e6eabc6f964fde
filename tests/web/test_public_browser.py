"""The public pages in a real browser, without logging in (Debian's chromium, Playwright): a citizen
reports a problem with a photo on a 360 px phone and gets its number; the lookup by number + the last
4 digits of the phone shows the status and the public timeline, and a wrong pair says "not found";
the public map draws the cases by status. Every request stays on 127.0.0.1."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from PIL import Image

from chengguan.cases.choices import CaseSource
from chengguan.cases.models import Case
from tests.cases.factories import point_in

pytestmark = pytest.mark.browser

PHONE = "13800001234"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()  # the rate-limit counters of 127.0.0.1 from earlier tests
    yield
    cache.clear()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "street.png"
    Image.new("RGB", (300, 200), (180, 60, 40)).save(path, "PNG")
    return path


def test_a_citizen_reports_and_looks_the_case_up(new_page, city, committed, media, photo, screenshot):
    lon, lat = point_in(city.street_a)
    page = new_page(width=360, height=780, mobile=True)
    page.goto("/public/report/")
    page.wait_for_selector("#report-map[data-ready='1']")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.fill("#class-q", "垃圾")
    page.locator(".class-option", has_text="暴露垃圾").first.click()
    # A tap on the map sets the pin; the exact place is then typed in.
    page.locator("#report-map").click()
    assert page.input_value("input[name=lon]") != ""
    page.locator("details.coords summary").click()
    page.fill("input[name=lon]", f"{lon:.7f}")
    page.fill("input[name=lat]", f"{lat:.7f}")
    page.locator("input[name=lat]").dispatch_event("change")
    page.set_input_files("input[name=photos]", str(photo))
    page.fill("textarea[name=description]", "公众浏览器举报：路边垃圾")
    page.fill("input[name=reporter_name]", "李四")
    page.fill("input[name=reporter_phone]", PHONE)
    screenshot(page, "public-report-360")
    with page.expect_navigation():
        page.click("#report-submit")
    number = page.locator("#case-number").inner_text().strip()
    case = Case.objects.get(number=number)
    assert case.source == CaseSource.PUBLIC and case.reporter_phone == PHONE and case.photos.count() == 1
    screenshot(page, "public-report-done-360")

    # Look it up: a wrong pair first, then the right one.
    with page.expect_navigation():
        page.click(".done a.button")
    assert page.input_value("input[name=number]") == number
    page.fill("input[name=phone_last4]", "9999")
    with page.expect_navigation():
        page.click("#lookup-form button[type=submit]")
    assert page.locator("#lookup-not-found").is_visible() and page.locator("#lookup-result").count() == 0
    page.fill("input[name=phone_last4]", PHONE[-4:])
    with page.expect_navigation():
        page.click("#lookup-form button[type=submit]")
    result = page.locator("#lookup-result").inner_text()
    assert number in result and "待受理" in result and "上报" in result
    assert "李四" not in page.content() and PHONE not in page.content()
    screenshot(page, "public-lookup-360")


def test_the_public_map_shows_public_cases_by_status(new_page, committed, screenshot):
    from chengguan.cases import services
    from tests.cases.factories import minor

    lon, lat = point_in(committed.city.street_a)
    case, _ = services.case_report(
        None,
        services.CaseInput(
            source=CaseSource.PUBLIC,
            minor_class_id=minor().pk,
            description="地图上的公众案件",
            lon=lon,
            lat=lat,
            reporter_name="赵六",
            reporter_phone="13700007777",
        ),
    )
    page = new_page()
    page.goto("/public/map/")
    page.wait_for_selector("#public-map[data-ready='1']")
    total = int(page.locator("#public-map").get_attribute("data-count"))
    assert total >= 1
    assert page.locator(
        "#public-map .leaflet-overlay-pane canvas, #public-map .leaflet-overlay-pane svg"
    ).count()
    screenshot(page, "public-map")
    page.select_option("#map-status", "closed")
    page.wait_for_function("document.querySelector('#public-map').dataset.ready === '1'")
    page.wait_for_function(f"document.querySelector('#public-map').dataset.count !== '{total}'")
    assert int(page.locator("#public-map").get_attribute("data-count")) < total
    assert "赵六" not in page.content() and case.number not in page.content()
