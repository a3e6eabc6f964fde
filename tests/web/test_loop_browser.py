"""THE loop, done through the pages by the personas in a real browser: a report → the operator
accepts it on the desk → the shift leader registers it → the dispatcher opens it from the queue
(keyboard) and dispatches it → the department (handler_a) signs it in its inbox and feeds back the
handling with a photo → the inspector checks it on the case page → the shift leader closes it on
the desk. Then a person of another street sees it in no queue, has no action on it and gets 404.
Every request stays on 127.0.0.1."""

from __future__ import annotations

import pytest
from PIL import Image

from chengguan.cases.choices import CaseStatus
from chengguan.cases.models import Case, CasePhoto

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
    # TODO(test_the_whole_loop_through_the_pages): report through the inspector's mobile report
    # page with a photo (web/views/inspector.py, built by another engineer and not committed yet);
    # until then the report is made through the service, as the inspector's page would.
    case = committed.case(CaseStatus.REPORTED, description="人行道暴露垃圾一堆")

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

    inspector = login(new_page(), "inspector_a")
    inspector.goto(f"/cases/{case.pk}/")
    assert inspector.locator(".photos-compare figure").nth(1).locator("img").count() == 1  # the after photo
    check = inspector.locator("details[data-action=check_pass]")
    if check.get_attribute("open") is None:
        check.locator("summary").click()
    check.locator("textarea").fill("现场已清理干净")
    check.locator("button[type=submit]").click()
    inspector.wait_for_selector(".case-head .badge.st-to_close")

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
