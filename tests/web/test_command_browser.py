"""The command centre's wall at 1920×1080 in a real browser: the map draws the boundaries and
the open cases from this server only, the figures and panels are there, a screenshot."""

from __future__ import annotations

import pytest

from chengguan.cases.choices import CaseStatus

pytestmark = pytest.mark.browser


def test_the_wall_at_1920_by_1080(new_page, login, committed, screenshot, live_server):
    for status in (CaseStatus.REPORTED, CaseStatus.DISPATCHED, CaseStatus.HANDLING, CaseStatus.TO_CLOSE):
        committed.case(status)
    page = login(new_page(width=1920, height=1080), "leader")
    assert page.url == live_server.url + "/command/"
    page.wait_for_selector("#wall-map[data-ready='1']")
    assert int(page.locator("#wall-map").get_attribute("data-cases")) >= 4
    assert page.locator("#wall-map.no-tiles").count() == 1
    assert page.locator("#wall-map .leaflet-overlay-pane canvas, #wall-map .leaflet-overlay-pane svg").count()
    assert int(page.locator("#wall-figures tr[data-period=today] td[data-figure=reported]").inner_text()) >= 4
    assert page.locator("#wall-events ol.stream li[data-action]").count() >= 4
    map_box = page.locator("#wall-map").bounding_box()
    assert map_box["width"] >= 1100 and map_box["height"] >= 800
    # One screen: the wall does not scroll.
    assert page.evaluate("document.documentElement.scrollHeight") <= 1080
    screenshot(page, "command-centre-1920x1080")


def test_a_panel_refreshes_in_place(new_page, login_as, committed):
    page = login_as(new_page(width=1920, height=1080), "leader")
    page.goto("/command/")
    before = page.locator("#wall-figures td[data-figure=reported]").first.inner_text()
    committed.case(CaseStatus.REPORTED)
    # What the 30-second poll does, now: htmx fetches the fragment and swaps it in.
    with page.expect_response(lambda r: "/command/panels/figures/" in r.url):
        page.evaluate(
            "htmx.ajax('GET', '/command/panels/figures/', {target: '#wall-figures', swap: 'outerHTML'})"
        )
    page.wait_for_function(
        "b => document.querySelector('#wall-figures td[data-figure=reported]').textContent.trim() !== b",
        arg=before.strip(),
    )
    assert int(page.locator("#wall-figures td[data-figure=reported]").first.inner_text()) == int(before) + 1
