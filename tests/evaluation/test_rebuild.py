"""The set-based rebuild (evaluation/rebuild.py, PostgreSQL) gives the same day counters as the
Python counting rules and the same end-of-day gauges as the brute-force count, over random case
histories (the same hypothesis histories as test_aggregates)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from chengguan.cases.models import Case
from chengguan.evaluation import rebuild, reports, services
from chengguan.evaluation.models import DailyCounter, DailyGauge, SettledDay
from chengguan.evaluation.periods import parse_period

from .test_aggregates import (
    AFTER,
    FIRST_DAY,
    LAST_DAY,
    REOPENED_AND_HANDLED_LATE,
    Rollback,
    brute_force_gauges,
    from_scratch,
    own_aggregates,
    run,
    script,
    stored_counts,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL rebuild runs on PostgreSQL"),
]


@settings(
    max_examples=15,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: a failure prints its diff
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scripts=st.lists(script, min_size=1, max_size=4))
@example(scripts=REOPENED_AND_HANDLED_LATE)  # a reopened case: its earlier closure keeps its figures
def test_the_sql_rebuild_equals_the_python_counting(city, people, scripts):
    try:
        with transaction.atomic():
            run(city, people, scripts, 0)
            expected = from_scratch()
            rebuild.rebuild_days(FIRST_DAY, LAST_DAY)
            got = stored_counts()  # the rebuilt days (FIRST_DAY..LAST_DAY), as `expected`
            diff = {k: (expected[k], got[k]) for k in set(expected) | set(got) if expected[k] != got[k]}
            assert not diff, sorted(diff.items(), key=str)[:20]
            day = FIRST_DAY
            while day <= LAST_DAY:
                gauges = Counter(
                    {(g.kind, g.object_id, g.counter): g.n for g in DailyGauge.objects.filter(day=day)}
                )
                assert gauges == brute_force_gauges(day), day
                day += dt.timedelta(days=1)
            # A snapshot's per-case overview (reports.snapshot_case_rows) counted in SQL is the
            # Python counting's, case by case.
            period = parse_period(f"{FIRST_DAY}..{LAST_DAY}")
            in_sql, _facts = reports._overview_counts(Case.objects.all(), period, AFTER, every_case=True)
            in_python, _facts = reports._overview_counts(Case.objects.all(), period, AFTER)
            assert in_sql == in_python
            raise Rollback
    except Rollback:
        pass


def settled_state() -> tuple[Counter, Counter, dict]:
    gauges = Counter(
        {
            (g.day, g.kind, g.object_id, g.counter): g.n
            for g in DailyGauge.objects.filter(day__gte=FIRST_DAY, day__lte=LAST_DAY)
        }
    )
    days = dict(SettledDay.objects.filter(day__gte=FIRST_DAY, day__lte=LAST_DAY).values_list("day", "events"))
    return stored_counts(), gauges, days


@settings(
    max_examples=4,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scripts=st.lists(script, min_size=1, max_size=4))
@example(scripts=REOPENED_AND_HANDLED_LATE)
def test_closing_a_period_on_postgresql_settles_it_like_the_day_by_day_python_path(city, people, scripts):
    """The month close (publish/recompute: services._settle_period) rebuilds the days with the SQL
    on PostgreSQL: the same counters, gauges and settled days (with their event counts) as
    settle_day() day by day, whether it rebuilds the whole period or the runs of days between
    days already settled."""
    period = parse_period(f"{FIRST_DAY}..{LAST_DAY}")
    try:
        with transaction.atomic():
            own_aggregates()
            run(city, people, scripts, 0)
            for day in period.days():
                services.settle_day(day, AFTER)
            python = settled_state()
            DailyCounter.objects.all().delete()
            DailyGauge.objects.all().delete()
            services._settle_period(period, AFTER, force=True)  # the whole period in one pass
            assert settled_state() == python
            kept = [FIRST_DAY + dt.timedelta(days=3), LAST_DAY]
            for model in (SettledDay, DailyCounter, DailyGauge):
                model.objects.exclude(day__in=kept).delete()
            services._settle_period(period, AFTER, force=False)  # two runs around the settled days
            assert settled_state() == python
            raise Rollback
    except Rollback:
        pass
