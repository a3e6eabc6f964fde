"""THE loop, done through the pages by the personas in a real browser: the inspector reports with
a photo on a phone → the operator accepts it on the desk → the shift leader registers it → the
dispatcher opens it from the queue (keyboard) and dispatches it → the department (handler_a)
signs it in its inbox and feeds back the handling with a photo → the inspector finds the check in
their tasks and passes it → the shift leader closes it on the desk. Then a person of another
street sees it in no queue, has no action on it and gets 404. Every request stays on 127.0.0.1."""

from __future__ import annotations

import pytest
from PIL import Image

from chengguan.cases.choices import CaseStatus
from chengguan.cases.models import Case, CasePhoto
from tests.cases.factories import point_in

pytestmark = pytest.mark.browser


def png_file(tmp_path, name="after.png"):
    path = tmp_path / name
    Image.new("RGB", (320, 240), (60, 140, 90)).save(path, "PNG")
    return str(path)


def row(page, case):
    return page.locator(f"tr[data-row][data-case-id='{case.pk}']")


def bulk(page, case, label: str):
    """Tick the case in its queue and take the queue's bulk action; the page comes back with a message."""
    row(page, case).locator("input[name=case]").check()
    with page.expect_navigation():
        page.locator(".bulk-bar button[type=submit]").click()
    assert f"已{label} 1 件" in page.locator(".msg-success").inner_text()
    assert row(page, case).count() == 0


def test_the_whole_loop_through_the_pages(new_page, login, committed, screenshot, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    lon, lat = point_in(committed.city.street_a)

    # The inspector reports on a phone: class, place, a photo, a description.
    phone = login(new_page(width=360, height=780, mobile=True), "inspector_a")
    phone.goto("/inspector/report/")
    phone.wait_for_selector("#report-map[data-ready='1']")
    phone.select_option("select[name=minor_class]", label="暴露垃圾")
    phone.locator("details.coords summary").click()
    phone.fill("input[name=lon]", f"{lon:.7f}")
    phone.fill("input[name=lat]", f"{lat:.7f}")
    phone.set_input_files("input[name=photos]", png_file(tmp_path, "scene.png"))
    phone.wait_for_selector("#photo-preview img")
    phone.fill("textarea[name=description]", "闭环测试：人行道暴露垃圾一堆")
    phone.click("#report-submit")
    phone.wait_for_selector("#report-status.msg-success")
    case = Case.objects.get(description="闭环测试：人行道暴露垃圾一堆")
    assert case.status == CaseStatus.REPORTED and case.photos.get().kind == "before"

    operator = login(new_page(), "operator_a")  # lands on 待受理
    assert row(operator, case).count() == 1
    bulk(operator, case, "受理")

    shift = login(new_page(), "shiftlead_a")  # lands on 待立案
    assert row(shift, case).count() == 1
    bulk(shift, case, "立案")

    dispatcher = login(new_page(), "dispatcher_a")  # lands on 待派遣
    target = row(dispatcher, case)
    assert target.count() == 1
    target.click()  # select the row, then open it with Enter
    with dispatcher.expect_navigation():
        dispatcher.keyboard.press("Enter")
    assert dispatcher.url.endswith(f"/cases/{case.pk}/")
    dispatch = dispatcher.locator("details[data-action=dispatch]")
    dispatch.locator("select[name='dispatch-department']").select_option(label="甲中队")
    dispatch.locator("button[type=submit]").click()
    dispatcher.wait_for_selector(".case-head .badge.st-dispatched")

    handler = login(new_page(), "handler_a")  # lands on 待签收
    with handler.expect_navigation():
        row(handler, case).locator("form[data-action=sign] button").click()
    assert Case.objects.get(pk=case.pk).status == CaseStatus.HANDLING
    handler.goto("/department/handling/")
    handle = row(handler, case).locator("details[data-action=handle]")
    handle.locator("summary").click()
    handle.locator("textarea[name=result]").fill("已清运完毕")
    handle.locator("input[type=file][name=photos]").set_input_files(png_file(tmp_path))
    with handler.expect_navigation():
        handle.locator("button[type=submit]").click()
    assert "已完成“处置反馈”" in handler.locator(".messages").inner_text()
    assert CasePhoto.objects.filter(case=case, kind="after").count() == 1

    # The inspector finds the check in their tasks and passes it on the case page.
    phone.goto("/inspector/")
    with phone.expect_navigation():
        phone.locator("#check-tasks a.case-card", has_text=case.number).click()
    assert phone.locator(".photos-compare figure").nth(0).locator("img").count() == 1  # before
    assert phone.locator(".photos-compare figure").nth(1).locator("img").count() == 1  # after
    check = phone.locator("details[data-action=check_pass]")
    if check.get_attribute("open") is None:
        check.locator("summary").click()
    check.locator("textarea").fill("现场已清理干净")
    check.locator("button[type=submit]").click()
    phone.wait_for_selector(".case-head .badge.st-to_close")

    shift.goto("/desk/to_close/")
    bulk(shift, case, "结案")
    shift.goto(f"/cases/{case.pk}/")
    actions = shift.locator("ol.timeline li").evaluate_all("els => els.map(e => e.dataset.action)")
    assert actions == ["report", "accept", "register", "dispatch", "sign", "handle", "check_pass", "close"]
    screenshot(shift, "loop-closed-case")
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.lead_department.name == "甲中队"

    # Another street: in no queue, no action, not found.
    other = login(new_page(), "shiftlead_b")
    for queue in ("to_register", "to_close"):
        other.goto(f"/desk/{queue}/")
        assert row(other, case).count() == 0 and case.number not in other.content()
    response = other.goto(f"/cases/{case.pk}/")
    assert response.status == 404
    assert other.locator("details.action").count() == 0 and other.locator("form[hx-post]").count() == 0
    assert case.number not in other.content()
