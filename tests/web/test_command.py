"""The command centre wall through Django's test client: who may open it, the figures (through the
chokepoint: another street's figures leave street A's cases out), the polled fragments, and a
bounded number of queries whatever the number of cases."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chengguan.cases import selectors
from chengguan.cases.choices import CaseStatus
from chengguan.cases.models import Case
from chengguan.web.views.command import POLL_SECONDS
from tests.cases.factories import make_case

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


def figures(user) -> dict:
    now = timezone.now()
    day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return selectors.command_figures(user, day_start=day, month_start=day.replace(day=1), now=now)


def test_the_leader_lands_on_the_wall(client_for, people):
    client = client_for(people["leader"])
    assert client.get("/")["Location"] == "/command/"
    page = client.get("/command/")
    assert page.status_code == 200 and "城市管理指挥大屏" in html(page)
    for panel in ("figures", "departments", "events"):
        assert f'hx-get="/command/panels/{panel}/" hx-trigger="every {POLL_SECONDS}s"' in html(page)
    assert POLL_SECONDS >= 30
    assert 'id="wall-map"' in html(page) and "web/command.js" in html(page)


def test_who_may_open_the_wall(client_for, people):
    for name in ("leader", "shiftlead_a", "dispatcher_a", "operator_a"):
        assert client_for(people[name]).get("/command/").status_code == 200, name
    for name in ("handler_a", "inspector_a", "outsider", "sysadmin"):
        assert client_for(people[name]).get("/command/").status_code == 404, name
        assert client_for(people[name]).get("/command/panels/figures/").status_code == 404, name
    assert client_for(people["leader"]).get("/command/panels/nonsense/").status_code == 404


def test_figures_count_the_days_and_months_work(city, people):
    leader = people["leader"]
    before, before_b = figures(leader), figures(people["shiftlead_b"])
    make_case(city, people, CaseStatus.REPORTED)
    make_case(city, people, CaseStatus.DISPATCHED)
    make_case(city, people, CaseStatus.CLOSED)
    late = make_case(city, people, CaseStatus.HANDLING)
    Case.objects.filter(pk=late.pk).update(stage_deadline=timezone.now() - dt.timedelta(hours=1))
    after = figures(leader)
    for period in ("today", "month"):
        assert after[period]["reported"] - before[period]["reported"] == 4
        assert after[period]["registered"] - before[period]["registered"] == 3
        assert after[period]["dispatched"] - before[period]["dispatched"] == 3
        assert after[period]["closed"] - before[period]["closed"] == 1
        assert after[period]["on_time_rate"] is not None
    assert after["overdue"] - before["overdue"] == 1
    assert after["open"] - before["open"] == 3
    # Street B's shift leader sees none of street A's cases in the figures.
    assert figures(people["shiftlead_b"]) == before_b


def test_the_fragments_show_the_figures_the_departments_and_the_events(city, client_for, people):
    late = make_case(city, people, CaseStatus.HANDLING)
    Case.objects.filter(pk=late.pk).update(overdue=True)
    client = client_for(people["leader"])
    fig = client.get("/command/panels/figures/")
    assert fig.status_code == 200 and 'id="wall-figures"' in html(fig) and "<html" not in html(fig)
    overdue = int(re.search(r'data-figure="overdue">(\d+)<', html(fig)).group(1))
    assert overdue >= 1
    departments = html(client.get("/command/panels/departments/"))
    assert f'data-department="{city.dept_a.pk}"' in departments and "甲中队" in departments
    events = html(client.get("/command/panels/events/"))
    assert late.number in events and "签收" in events
    # Street B sees neither the case nor its department's overdue count.
    other = client_for(people["shiftlead_b"])
    assert late.number not in html(other.get("/command/panels/events/"))
    assert f'data-department="{city.dept_a.pk}"' not in html(other.get("/command/panels/departments/"))


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_wall_queries_do_not_grow_with_the_number_of_cases(
    city, people, client_for, django_assert_max_num_queries
):
    client = client_for(people["leader"])
    make_case(city, people, CaseStatus.HANDLING)
    few = count_queries(client, "/command/")
    for status in (CaseStatus.REPORTED, CaseStatus.DISPATCHED, CaseStatus.CLOSED, CaseStatus.HANDLING) * 2:
        make_case(city, people, status)
    assert count_queries(client, "/command/") == few
    with django_assert_max_num_queries(12):
        client.get("/command/")
    for panel in ("figures", "departments", "events"):
        with django_assert_max_num_queries(6):
            client.get(f"/command/panels/{panel}/")
