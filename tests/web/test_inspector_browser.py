"""The inspector's mobile pages in a real browser at 360 px (Debian's chromium, Playwright): a report
with a photo from the "camera", the class found by pinyin and the position from the phone's location;
a double tap making one case; a report made offline kept as a draft, listed as pending and sent
exactly once when the phone is back online; the task queue. Every request stays on 127.0.0.1."""

from __future__ import annotations

import pytest
from PIL import Image

from chengguan.cases.choices import CaseSource, CaseStatus, PhotoKind
from chengguan.cases.models import Case
from tests.cases.factories import point_in

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "scene.jpg"
    Image.new("RGB", (640, 480), (40, 130, 70)).save(path, "JPEG")
    return path


@pytest.fixture
def phone(new_page, login_as, live_server):
    """inspector_a's phone: 360 px wide, touch, location allowed."""

    def make(lon=None, lat=None):
        page = new_page(width=PHONE_WIDTH, height=780, mobile=True)
        if lon is not None:
            page.context.grant_permissions(["geolocation"], origin=live_server.url)
            page.context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 10})
        return login_as(page, "inspector_a")

    return make


def open_report(page):
    page.goto("/inspector/report/")
    page.wait_for_selector("#report-map[data-ready='1']")
    return page


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


def draft_count(page) -> int:
    return page.locator("#drafts-list li.draft").count()


def test_an_inspector_reports_with_a_photo_on_a_360px_phone(phone, city, committed, media, photo, screenshot):
    lon, lat = point_in(city.street_a)
    page = open_report(phone(lon, lat))
    assert fits_the_screen(page)
    # The class by pinyin initials, through the search endpoint.
    page.fill("#class-q", "bllj")
    page.locator(".class-option", has_text="暴露垃圾").first.click()
    assert page.locator("select[name=minor_class] option:checked").inner_text() == "暴露垃圾"
    # The position from the phone (WGS-84), shown as a pin.
    page.click("#locate-me")
    page.wait_for_function("document.querySelector('input[name=lon]').value !== ''")
    assert page.input_value("input[name=crs]") == "wgs84"
    assert abs(float(page.input_value("input[name=lon]")) - lon) < 1e-6
    page.set_input_files("input[name=photos]", str(photo))
    page.wait_for_selector("#photo-preview img")
    page.fill("textarea[name=description]", "浏览器上报：人行道暴露垃圾")
    assert fits_the_screen(page)
    screenshot(page, "inspector-report-360")

    posts = []
    page.on("response", lambda r: posts.append(r.status) if r.request.method == "POST" else None)
    page.locator("#report-submit").dblclick()  # a double tap
    page.wait_for_selector("#report-status.msg-success")
    case = Case.objects.get(description="浏览器上报：人行道暴露垃圾")
    assert case.number in page.locator("#report-status").inner_text()
    assert posts == [201]
    assert case.source == CaseSource.INSPECTOR and case.reporter.username == "inspector_a"
    assert case.status == CaseStatus.REPORTED and case.photos.get().kind == PhotoKind.BEFORE
    # The form is ready for the next report, with a new key; no draft is left.
    assert page.input_value("textarea[name=description]") == "" and draft_count(page) == 0
    screenshot(page, "inspector-report-sent-360")
    page.goto("/inspector/reports/")
    assert case.number in page.locator(".case-cards").inner_text()
    assert fits_the_screen(page)
    screenshot(page, "inspector-my-reports-360")


def test_an_offline_report_is_kept_as_a_draft_and_sent_once_back_online(
    phone, city, committed, media, photo, screenshot
):
    lon, lat = point_in(city.street_a)
    page = open_report(phone())
    page.select_option("select[name=minor_class]", label="暴露垃圾")
    page.locator("details.coords summary").click()
    page.fill("input[name=lon]", f"{lon:.7f}")
    page.fill("input[name=lat]", f"{lat:.7f}")
    page.locator("input[name=lat]").dispatch_event("change")
    page.set_input_files("input[name=photos]", str(photo))
    page.fill("textarea[name=description]", "离线草稿：井盖缺失")
    answered = []
    page.on("response", lambda r: answered.append(r.status) if r.request.method == "POST" else None)

    page.context.set_offline(True)
    page.click("#report-submit")
    page.wait_for_selector("#drafts-list li.draft[data-status=pending]")
    assert "网络不可用" in page.locator("#report-status").inner_text()
    assert page.locator("#drafts-count").inner_text() == "1" and draft_count(page) == 1
    assert not Case.objects.filter(description="离线草稿：井盖缺失").exists()
    screenshot(page, "inspector-offline-draft-360")

    page.context.set_offline(False)  # the browser fires `online`: the draft is sent
    page.wait_for_selector("#drafts", state="hidden")
    page.wait_for_selector("#report-status.msg-success")
    cases = Case.objects.filter(description="离线草稿：井盖缺失")
    assert cases.count() == 1 and cases.get().photos.count() == 1
    assert answered == [201]
    # Coming back (another page load, another `online`) sends nothing more.
    page.reload()
    page.wait_for_selector("#report-map[data-ready='1']")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    assert draft_count(page) == 0 and answered == [201] and cases.count() == 1


def test_the_task_queue_opens_the_case_to_check(phone, committed, screenshot):
    case = committed.case(CaseStatus.TO_CHECK)
    page = phone()
    page.goto("/")
    assert page.url.endswith("/inspector/")
    assert fits_the_screen(page)
    screenshot(page, "inspector-tasks-360")
    with page.expect_navigation():
        page.locator("#check-tasks a.case-card", has_text=case.number).click()
    assert page.url.endswith(f"/cases/{case.pk}/")
    assert page.locator("details.action").evaluate_all("els => els.map(e => e.dataset.action)") == [
        "check_pass",
        "check_fail",
    ]
    assert page.locator(".photos-compare figure").count() == 2
