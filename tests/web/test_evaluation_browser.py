"""Evaluation in a real browser: a leader opens the rankings (bar chart, live badge), clicks down
district → street → community → grid → the cases behind a figure → a case; screenshots."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from chengguan.cases.choices import CaseStatus
from chengguan.evaluation import services
from chengguan.evaluation.models import DailyCounter, DailyGauge, FoldCursor

pytestmark = pytest.mark.browser


@pytest.fixture
def folded(committed):
    """The minute job run over the test's cases; its counter rows and cursor are put back after
    (the cases themselves are removed by `committed`)."""
    floors = {
        m: m.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        for m in (DailyCounter, DailyGauge)
    }
    cursor = list(FoldCursor.objects.values())
    services.load_scoring()

    def fold():
        # Past the fold's lag (events a minute old), as the job will be a minute from now.
        services.fold_events(now=timezone.now() + dt.timedelta(minutes=5))

    yield fold
    for model, floor in floors.items():
        model.objects.filter(pk__gt=floor).delete()
    FoldCursor.objects.all().delete()
    for row in cursor:
        FoldCursor.objects.create(**row)


def test_rankings_drill_down_to_the_cases(new_page, login, committed, folded, screenshot, city):
    closed = [committed.case(CaseStatus.CLOSED) for _ in range(2)]
    committed.case(CaseStatus.HANDLING)
    folded()
    case = closed[0]
    page = login(new_page(width=1366, height=900), "leader")

    page.click("nav.nav a[href='/evaluation/']")
    page.wait_for_selector("table.ranking")
    assert page.locator(".eval-source [data-source=live]").is_visible()
    page.click("nav.tabs a[href*='type=district']")
    page.wait_for_selector("table.ranking[data-object-type=district]")
    assert page.locator(".bar-chart svg rect.bar").count() == 1
    row = page.locator(f"table.ranking tr[data-object='{city.district.pk}']")
    assert int(row.locator("td[data-ind=registered]").get_attribute("data-num")) >= 2
    screenshot(page, "evaluation-rankings-district")

    row.locator("td[data-col=name] a").click()
    page.wait_for_selector("table.ranking[data-object-type=street]")
    assert page.locator(".trend-chart svg polyline").count() >= 1
    screenshot(page, "evaluation-district-streets-trend")
    page.click(
        f"table.ranking[data-object-type=street] tr[data-object='{city.street_a.pk}'] td[data-col=name] a"
    )
    page.wait_for_selector(f"table.ranking[data-object-type=community] tr[data-object='{case.community_id}']")
    page.click(
        f"table.ranking[data-object-type=community] tr[data-object='{case.community_id}'] td[data-col=name] a"
    )
    page.wait_for_selector(f"table.ranking[data-object-type=grid] tr[data-object='{case.grid_id}']")
    screenshot(page, "evaluation-community-grids")
    page.click(f"table.ranking[data-object-type=grid] tr[data-object='{case.grid_id}'] td[data-col=name] a")
    grid_row = page.locator(f"table.ranking[data-object-type=grid] tr[data-object='{case.grid_id}']").first
    grid_row.wait_for()
    closed_here = int(grid_row.locator("td[data-ind=close_rate]").get_attribute("data-num"))
    assert closed_here >= 1

    grid_row.locator("td[data-ind=close_rate] a").click()
    page.wait_for_selector("section.term[data-counter=closed]")
    term = page.locator("section.term[data-part=numerator][data-counter=closed]")
    assert int(term.locator(".count").get_attribute("data-total")) == closed_here
    assert term.locator(f"a[data-case-id='{case.pk}']").is_visible()
    screenshot(page, "evaluation-figure-cases")

    term.locator(f"a[data-case-id='{case.pk}']").click()
    page.wait_for_url(f"**/cases/{case.pk}/")
    assert case.number in page.content()
    screenshot(page, "evaluation-case-behind-the-figure")
