"""The desk and the department inbox in a real browser: keys (j/k, x, Enter) move the selection,
the map follows it, a bulk action reports each case, screenshots of an operator queue and an
inbox. Every request stays on 127.0.0.1 (the `page` fixtures' network guard)."""

from __future__ import annotations

import pytest

from chengguan.cases.choices import CaseStatus
from chengguan.cases.models import Case

pytestmark = pytest.mark.browser


def selected(page) -> str | None:
    return page.locator("tr[data-row][aria-selected=true]").get_attribute("data-case-id")


def test_the_operator_works_the_queue_with_the_keyboard(new_page, login, committed, screenshot, live_server):
    cases = [committed.case(CaseStatus.REPORTED) for _ in range(3)]
    page = login(new_page(width=1600, height=1000), "operator_a")
    assert page.url == live_server.url + "/desk/reported/"
    page.wait_for_selector("#desk-map[data-ready='1']")
    ids = page.locator("tr[data-row]").evaluate_all("rows => rows.map(r => r.dataset.caseId)")
    assert {str(c.pk) for c in cases} <= set(ids)
    assert "j" in page.locator("details.keys").inner_text()
    assert selected(page) == ids[0]
    page.keyboard.press("j")
    assert selected(page) == ids[1]
    assert page.locator("#desk-map").get_attribute("data-selected") == ids[1]
    page.keyboard.press("x")
    page.keyboard.press("k")
    assert selected(page) == ids[0]
    page.keyboard.press("x")
    checked = page.locator("input[name=case]:checked").evaluate_all(
        "els => els.map(e => e.value.split(':')[0])"
    )
    assert sorted(checked) == sorted(ids[:2])
    screenshot(page, "operator-queue")
    with page.expect_navigation():
        page.locator(".bulk-bar button[type=submit]").click()
    text = page.locator(".messages").inner_text()
    assert "已受理 2 件" in text
    assert set(Case.objects.filter(pk__in=[int(i) for i in ids[:2]]).values_list("status", flat=True)) == {
        CaseStatus.TO_REGISTER
    }
    # Enter opens the selected case.
    page.keyboard.press("j")
    target = selected(page)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/cases/{target}/")


def test_a_stale_case_in_a_bulk_action_is_reported_and_the_others_are_done(new_page, login_as, committed):
    from chengguan.cases import services

    first, second = committed.case(CaseStatus.TO_REGISTER), committed.case(CaseStatus.TO_REGISTER)
    page = login_as(new_page(), "shiftlead_a")
    page.goto("/desk/to_register/")
    for case in (first, second):
        page.check(f"input[name=case][value='{case.pk}:{case.version}']")
    services.case_register(committed.person("shiftlead_a"), second.pk, version=second.version)  # another tab
    with page.expect_navigation():
        page.locator(".bulk-bar button[type=submit]").click()
    assert "已立案 1 件" in page.locator(".msg-success").inner_text()
    assert f"{second.number} 未能立案" in page.locator(".msg-error").inner_text()
    assert Case.objects.get(pk=first.pk).status == CaseStatus.TO_DISPATCH


def test_the_department_inbox_signs_from_its_row(new_page, login, committed, screenshot):
    case = committed.case(CaseStatus.DISPATCHED)
    page = login(new_page(), "handler_a")
    assert page.url.endswith("/department/to_sign/")
    row = page.locator(f"tr[data-case-id='{case.pk}']")
    assert row.locator(".remaining").inner_text().startswith(("剩余", "已超期"))
    screenshot(page, "department-inbox")
    with page.expect_navigation():
        row.locator("form[data-action=sign] button").click()
    assert page.url.endswith("/department/to_sign/")
    assert "已完成“签收”" in page.locator(".messages").inner_text()
    assert Case.objects.get(pk=case.pk).status == CaseStatus.HANDLING
