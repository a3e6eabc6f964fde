"""Evaluation pages through the Django client: who sees them, jurisdiction (another street's shift
leader), the period picker and bad periods, published vs live, the drill-down from the district to
the cases behind a figure, trends, and the rankings page's queries."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chengguan.evaluation import services
from chengguan.evaluation.periods import parse_period
from chengguan.grid.models import UnitGrid
from tests.evaluation.conftest import Driver, at
from tests.evaluation.test_snapshots import STEPS

pytestmark = pytest.mark.django_db
MARCH = parse_period("2026-03")
PAGE = "/evaluation/"


@pytest.fixture
def drive(city, people):
    with time_machine.travel(at(2026, 3, 2, 8, 0), tick=False) as traveller:
        yield Driver(city, people, traveller)


def late_steps():
    return [("late" if w == "deadline" and a != "sign" else w, a, *r) for w, a, *r in STEPS]


@pytest.fixture
def march(city, people, drive):
    """Two cases closed in March in street A (one on time, one late); April 2 now."""
    services.load_scoring()
    on_time = drive.through(drive.report(at(2026, 3, 3, 9, 0)), STEPS)
    late = drive.through(drive.report(at(2026, 3, 3, 9, 0)), late_steps())
    drive.clock.move_to(at(2026, 4, 2, 9, 0))
    services.fold_events()
    return on_time, late


def html(response) -> str:
    return response.content.decode()


def object_rows(body: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-object="(\d+)"', body)]


# --- who sees the pages --------------------------------------------------------------------------------


def test_leaders_and_shift_leaders_have_the_link_and_the_page(people, client_for, march):
    for persona in ("leader", "shiftlead_a", "shiftlead_b"):
        client = client_for(people[persona])
        r = client.get(PAGE, {"period": MARCH.key})
        assert r.status_code == 200, persona
        assert f'href="{PAGE}" aria-current="page"' in html(r), persona
    for persona in ("inspector_a", "operator_a", "dispatcher_a", "handler_a", "outsider", "sysadmin"):
        client = client_for(people[persona])
        assert client.get(PAGE).status_code == 404, persona
        assert client.get("/evaluation/report.xlsx").status_code == 404, persona


def test_the_nav_link_follows_the_chokepoint(people, client_for, march):
    inspector = client_for(people["inspector_a"]).get("/inspector/")
    assert inspector.status_code == 200 and 'href="/evaluation/"' not in html(inspector)


def test_another_streets_shift_leader_sees_only_their_street(city, people, client_for, march):
    on_time, _late = march
    mine = client_for(people["shiftlead_a"])
    other = client_for(people["shiftlead_b"])
    assert object_rows(html(mine.get(PAGE, {"period": MARCH.key, "type": "street"}))) == [city.street_a.pk]
    assert object_rows(html(other.get(PAGE, {"period": MARCH.key, "type": "street"}))) == [city.street_b.pk]
    grids_b = object_rows(html(other.get(PAGE, {"period": MARCH.key, "type": "grid"})))
    assert on_time.grid_id not in grids_b and grids_b
    assert set(grids_b) <= set(UnitGrid.objects.filter(street=city.street_b).values_list("pk", flat=True))
    for url in (
        f"/evaluation/street/{city.street_a.pk}/",
        f"/evaluation/grid/{on_time.grid_id}/",
        f"/evaluation/street/{city.street_a.pk}/close_rate/",
        f"/evaluation/district/{city.district.pk}/",
    ):
        assert other.get(url, {"period": MARCH.key}).status_code == 404, url
    assert mine.get(f"/evaluation/street/{city.street_a.pk}/", {"period": MARCH.key}).status_code == 200
    # Street A's shift leader reads street A's cases behind a figure; the leader too.
    figure = f"/evaluation/street/{city.street_a.pk}/registered/"
    for client in (mine, client_for(people["leader"])):
        body = html(client.get(figure, {"period": MARCH.key}))
        assert on_time.number in body


# --- periods ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, message",
    [
        ({"period": "2026-13"}, "期间格式应为"),
        ({"period": "March"}, "期间格式应为"),
        ({"kind": "custom", "first": "2026-03-10", "last": "2026-03-01"}, "期间格式应为"),
        ({"kind": "custom", "first": "2020-01-01", "last": "2026-03-01"}, "自定义期间不能超过"),
        ({"kind": "month", "month": ""}, "期间格式应为"),
        ({"kind": "quarter", "year": "2026", "quarter": "5"}, "期间格式应为"),
        ({"period": "2026-03", "type": "moon"}, "未知评价对象"),
    ],
)
def test_a_bad_period_is_a_clear_message_not_a_500(people, client_for, query, message):
    r = client_for(people["leader"]).get(PAGE, query)
    assert r.status_code == 400
    body = html(r)
    assert message in body and "data-error" in body and 'class="cases ranking"' not in body


def test_bad_periods_on_the_other_pages_too(city, people, client_for):
    leader = client_for(people["leader"])
    for url in (
        f"/evaluation/street/{city.street_a.pk}/",
        f"/evaluation/street/{city.street_a.pk}/close_rate/",
        "/evaluation/report.pdf",
    ):
        r = leader.get(url, {"period": "2026-02-30"})
        assert r.status_code == 400 and "期间格式应为" in html(r), url
    assert (
        leader.get(f"/evaluation/street/{city.street_a.pk}/nonsense/", {"period": "2026-03"}).status_code
        == 404
    )
    assert leader.get(f"/evaluation/moon/{city.street_a.pk}/", {"period": "2026-03"}).status_code == 404
    # A street's id asked for as a community: not that level.
    assert leader.get(f"/evaluation/community/{city.street_a.pk}/", {"period": "2026-03"}).status_code == 404


@pytest.mark.parametrize(
    "query, shown",
    [
        ({"kind": "day", "day": "2026-03-03"}, "2026-03-03"),
        ({"kind": "month", "month": "2026-03"}, "2026年3月"),
        ({"kind": "quarter", "year": "2026", "quarter": "1"}, "2026年第1季度"),
        ({"kind": "year", "year": "2026"}, "2026年"),
        ({"kind": "custom", "first": "2026-03-01", "last": "2026-03-15"}, "2026-03-01 – 2026-03-15"),
    ],
)
def test_the_period_picker(city, people, client_for, march, query, shown):
    r = client_for(people["leader"]).get(PAGE, {**query, "type": "street"})
    assert r.status_code == 200
    body = html(r)
    assert shown in body
    registered = re.search(
        rf'<tr data-object="{city.street_a.pk}">.*?data-ind="registered" data-num="(\d+)"', body, re.S
    )
    assert registered and int(registered[1]) == 2  # both registrations on 3 March


def test_this_month_by_default_and_live(city, people, client_for, drive):
    drive.clock.move_to(at(2026, 5, 20, 10, 0))
    body = html(client_for(people["leader"]).get(PAGE))
    assert "2026年5月" in body and 'data-source="live"' in body


# --- published and live ------------------------------------------------------------------------------


def test_a_published_month_shows_the_snapshot_and_says_so(city, people, client_for, march):
    leader = client_for(people["leader"])
    body = html(leader.get(PAGE, {"period": MARCH.key, "type": "street"}))
    assert 'data-source="live"' in body and "实时" in body and "已发布" not in body
    services.publish_period(MARCH, actor=people["leader"])
    body = html(leader.get(PAGE, {"period": MARCH.key, "type": "street"}))
    assert 'data-source="published"' in body and "已发布 · 第 1 版" in body
    assert "查看实时数据" in body
    live = html(leader.get(PAGE, {"period": MARCH.key, "type": "street", "live": "1"}))
    assert 'data-source="live"' in live and "查看发布版本" in live
    # The figure page shows the published figure beside the count from the case rows.
    figure = html(
        leader.get(f"/evaluation/street/{city.street_a.pk}/close_on_time_rate/", {"period": MARCH.key})
    )
    assert 'data-figure="published">50.00%' in figure and 'data-figure="live">50.00%' in figure


# --- the drill-down -----------------------------------------------------------------------------------


def test_drill_down_from_the_district_to_the_cases(city, people, client_for, march):
    on_time, late = march
    leader = client_for(people["leader"])
    q = {"period": MARCH.key}
    district = html(leader.get(f"/evaluation/district/{city.district.pk}/", q))
    assert f'href="/evaluation/street/{city.street_a.pk}/?period=2026-03"' in district
    assert set(object_rows(district)) == {city.district.pk, city.street_a.pk, city.street_b.pk}
    street = html(leader.get(f"/evaluation/street/{city.street_a.pk}/", q))
    community_id = on_time.community_id
    assert f'href="/evaluation/community/{community_id}/?period=2026-03"' in street
    assert city.district.name in street  # the breadcrumb back up
    community = html(leader.get(f"/evaluation/community/{community_id}/", q))
    assert f'href="/evaluation/grid/{on_time.grid_id}/?period=2026-03"' in community
    grid = html(leader.get(f"/evaluation/grid/{on_time.grid_id}/", q))
    figure_url = f"/evaluation/grid/{on_time.grid_id}/close_rate/?period=2026-03"
    assert f'href="{figure_url}"' in grid
    cases = html(leader.get(figure_url))
    mine = [c for c in (on_time, late) if c.grid_id == on_time.grid_id]
    for case in mine:
        assert f'href="/cases/{case.pk}/"' in cases and case.number in cases
    total = re.search(r'data-part="numerator" data-counter="closed">.*?data-total="(\d+)"', cases, re.S)
    assert total and int(total[1]) == len(mine)
    # Every figure of the row links to its cases, and a case page is one click away.
    assert leader.get(f"/cases/{on_time.pk}/").status_code == 200


def test_the_cases_behind_a_departments_rate(city, people, client_for, march):
    on_time, late = march
    body = html(
        client_for(people["leader"]).get(
            f"/evaluation/department/{city.dept_a.pk}/handle_on_time_rate/", {"period": MARCH.key}
        )
    )
    numerator = body.split('data-part="denominator"')[0]
    assert on_time.number in numerator and late.number not in numerator
    denominator = body.split('data-part="denominator"', 1)[1]
    assert on_time.number in denominator and late.number in denominator
    assert 'data-figure="live">50.00%' in body


def test_people_and_departments_have_their_own_pages_with_trends(city, people, client_for, march):
    leader = client_for(people["leader"])
    r = leader.get(f"/evaluation/shift_leader/{people['shiftlead_a'].pk}/", {"period": MARCH.key})
    assert r.status_code == 200
    body = html(r)
    assert 'data-ind="register_on_time_rate"' in body and "<polyline" in body
    # A person asked for in a role they do not hold: not found.
    assert (
        leader.get(f"/evaluation/inspector/{people['shiftlead_a'].pk}/", {"period": MARCH.key}).status_code
        == 404
    )


def test_trends_over_months_mark_published_months(city, people, client_for, march, drive):
    services.publish_period(MARCH, actor=people["leader"])
    drive.clock.move_to(at(2026, 5, 10, 9, 0))
    body = html(
        client_for(people["leader"]).get(f"/evaluation/street/{city.street_a.pk}/", {"period": "2026-05"})
    )
    months = re.findall(r'<tr data-month="([\d-]+)"', body)
    assert months[-3:] == ["2026-03", "2026-04", "2026-05"] and len(months) == 12
    march_row = re.search(r'<tr data-month="2026-03">.*?</tr>', body, re.S)[0]
    assert "已发布 · 第 1 版" in march_row
    may_row = re.search(r'<tr data-month="2026-05">.*?</tr>', body, re.S)[0]
    assert "实时" in may_row
    assert body.count('class="series"') == 1 + 3  # the score and the region's three rates
    assert 'class="tick published"' in body


# --- queries ------------------------------------------------------------------------------------------


def _queries(client, query) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(PAGE, query).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("object_type", ["street", "grid", "department", "inspector"])
def test_the_rankings_page_queries_do_not_grow_with_cases_or_objects(
    city, people, client_for, drive, object_type, django_assert_max_num_queries
):
    services.load_scoring()
    query = {"period": MARCH.key, "type": object_type}
    drive.through(drive.report(at(2026, 3, 3, 9, 0)), STEPS)
    drive.through(drive.report(at(2026, 3, 3, 9, 0)), STEPS[:3])  # open and overdue at month end
    drive.clock.move_to(at(2026, 4, 2, 9, 0))
    services.fold_events()
    client = client_for(people["leader"])
    _queries(client, query)  # the session's first request stores what later requests reuse
    few = _queries(client, query)
    drive.clock.move_to(at(2026, 3, 4, 9, 0))
    for _ in range(3):
        drive.through(drive.report(at(2026, 3, 4, 9, 0)), late_steps())
        drive.through(drive.report(at(2026, 3, 20, 9, 0)), STEPS[:3])
    drive.clock.move_to(at(2026, 4, 2, 9, 0))
    services.fold_events()
    assert _queries(client, query) == few
    with django_assert_max_num_queries(20):
        client.get(PAGE, query)
    # Published: the snapshot is read instead, in no more queries.
    services.publish_period(MARCH, actor=people["leader"])
    with django_assert_max_num_queries(few):
        assert 'data-source="published"' in html(client.get(PAGE, query))
