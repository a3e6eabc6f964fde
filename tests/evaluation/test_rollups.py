"""Roll-ups (models.Rollup): the sums of the day counters of each dekad and month whose days are
all settled. A period read through them (the blocks it covers whole, plus the day rows of the
rest) gives exactly the sums of its day rows, and settling a day again replaces its blocks."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chengguan.evaluation import selectors, services
from chengguan.evaluation.choices import CounterKind, Span
from chengguan.evaluation.models import DailyCounter, Rollup, RollupCounter, SettledDay
from chengguan.evaluation.periods import blocks_of, parse_period

from .conftest import at

pytestmark = pytest.mark.django_db

FIRST, LAST = dt.date(2025, 12, 18), dt.date(2026, 3, 12)  # across a year's end and a short February
NOW = at(2027, 1, 1)
KINDS = (CounterKind.GRID, CounterKind.PERSON)
COUNTERS = ("reported", "registered", "closed", "closed_on_time")


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def fill(rng: random.Random, unsettled: set[dt.date] = frozenset()) -> None:
    """Random day counters for FIRST..LAST (some object-days empty), every day settled but
    `unsettled`, then the roll-ups as a settlement of those days writes them."""
    rows = [
        DailyCounter(day=day, kind=kind, object_id=pk, counter=counter, n=rng.randint(1, 9))
        for day in days(FIRST, LAST)
        for kind in KINDS
        for pk in range(1, 6)
        for counter in COUNTERS
        if rng.random() < 0.6
    ]
    DailyCounter.objects.bulk_create(rows)
    settled = [day for day in days(FIRST, LAST) if day not in unsettled]
    SettledDay.objects.bulk_create([SettledDay(day=day, settled_at=NOW) for day in settled])
    services._roll_up(settled, NOW)


def by_days(kind: str, first: dt.date, last: dt.date) -> dict[int, Counter]:
    """The period's sums straight from the day rows."""
    out: dict[int, Counter] = defaultdict(Counter)
    for pk, counter, n in DailyCounter.objects.filter(kind=kind, day__gte=first, day__lte=last).values_list(
        "object_id", "counter", "n"
    ):
        out[pk][counter] += n
    return out


def test_blocks_of_a_day_are_its_dekad_and_its_month():
    assert blocks_of(dt.date(2026, 2, 20)) == (
        (Span.DEKAD, dt.date(2026, 2, 11), dt.date(2026, 2, 20)),
        (Span.MONTH, dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
    )
    assert blocks_of(dt.date(2025, 12, 21))[0] == (Span.DEKAD, dt.date(2025, 12, 21), dt.date(2025, 12, 31))
    assert blocks_of(dt.date(2026, 3, 1))[0] == (Span.DEKAD, dt.date(2026, 3, 1), dt.date(2026, 3, 10))


@pytest.mark.parametrize("seed", [1, 2])
def test_any_period_read_through_the_roll_ups_is_the_sum_of_its_days(seed):
    rng = random.Random(seed)
    gap = dt.date(2026, 2, 14)  # one day not settled: February and its middle dekad stay unrolled
    fill(rng, unsettled={gap})
    blocks = set(Rollup.objects.values_list("span", "first_day", "last_day"))
    assert (Span.MONTH, dt.date(2026, 1, 1), dt.date(2026, 1, 31)) in blocks
    assert (Span.DEKAD, dt.date(2025, 12, 21), dt.date(2025, 12, 31)) in blocks
    assert (Span.MONTH, dt.date(2025, 12, 1), dt.date(2025, 12, 31)) not in blocks  # 1–17 not settled
    assert (Span.DEKAD, dt.date(2025, 12, 11), dt.date(2025, 12, 20)) not in blocks
    assert (Span.MONTH, dt.date(2026, 2, 1), dt.date(2026, 2, 28)) not in blocks
    assert (Span.DEKAD, dt.date(2026, 2, 11), dt.date(2026, 2, 20)) not in blocks
    assert (Span.DEKAD, dt.date(2026, 2, 21), dt.date(2026, 2, 28)) in blocks
    assert (Span.DEKAD, dt.date(2026, 3, 11), dt.date(2026, 3, 20)) not in blocks  # past LAST

    periods = ["2026-01", "2026-02", "2025-12", "2026-Q1", "2025-12-18..2026-03-12", "2026-01-31..2026-02-01"]
    for _ in range(40):
        a, b = sorted(rng.sample(days(FIRST, LAST), 2))
        periods.append(f"{a}..{b}")
    for text in periods:
        period = parse_period(text)
        covered = selectors.cover(period)
        for kind in KINDS:
            expected = by_days(kind, period.first, period.last)
            got = selectors.read_counts(kind, period, covered=covered)
            assert {k: +v for k, v in got.items() if +v} == {k: +v for k, v in expected.items() if +v}, text
            ids = [2, 4]  # an object list filters the same way
            got = selectors.read_counts(kind, period, ids, covered=covered)
            assert set(got) <= set(ids)
            assert all(got[pk] == expected[pk] for pk in ids), text

    # January is one block and no day row; 2025-12-21..2026-02-10 is a dekad, a month and a dekad
    assert selectors.cover(parse_period("2026-01")) == (
        [Rollup.objects.get(span=Span.MONTH, first_day=dt.date(2026, 1, 1)).pk],
        [],
    )
    rollups, runs = selectors.cover(parse_period("2025-12-20..2026-02-12"))
    assert len(rollups) == 3
    assert runs == [
        (dt.date(2025, 12, 20), dt.date(2025, 12, 20)),
        (dt.date(2026, 2, 11), dt.date(2026, 2, 12)),
    ]


def test_a_month_from_its_dekads_equals_the_month_from_its_days():
    fill(random.Random(3))
    month = Rollup.objects.get(span=Span.MONTH, first_day=dt.date(2026, 1, 1))
    got = Counter({(r.kind, r.object_id, r.counter): r.n for r in RollupCounter.objects.filter(rollup=month)})
    expected = Counter()
    for kind in KINDS:
        for pk, counts in by_days(kind, month.first_day, month.last_day).items():
            for counter, n in counts.items():
                expected[(kind, pk, counter)] += n
    assert got == expected and got


def test_settling_a_day_again_replaces_its_dekad_and_its_month():
    """A day settled again (here: no case event that day, so its counters go) changes the sums
    of its blocks in the same transaction; the other blocks are left alone."""
    fill(random.Random(4))
    day = dt.date(2026, 1, 15)
    before = {
        span: Rollup.objects.get(span=span, first_day=first).rolled_at
        for span, first, _last in blocks_of(day)
    }
    other = Rollup.objects.get(span=Span.DEKAD, first_day=dt.date(2026, 1, 1))
    assert DailyCounter.objects.filter(day=day).exists()
    later = NOW + dt.timedelta(days=1)
    services.settle_day(day, later)
    assert not DailyCounter.objects.filter(day=day).exists()
    for span, first, _last in blocks_of(day):
        assert Rollup.objects.get(span=span, first_day=first).rolled_at == later > before[span]
    assert Rollup.objects.get(pk=other.pk).rolled_at == NOW
    period = parse_period("2026-01")
    assert selectors.cover(period)[1] == []  # still read from its one block
    assert selectors.read_counts(CounterKind.GRID, period) == by_days(
        CounterKind.GRID, period.first, period.last
    )


def test_a_month_of_every_grid_is_read_from_its_block_not_its_days():
    """What makes a ranking of every grid fast: a month's counts come from one row per object and
    counter (RollupCounter), filtered by a subquery of the objects rather than a list of ids."""
    fill(random.Random(5))
    with CaptureQueriesContext(connection) as q:
        selectors.live_figures("grid", parse_period("2026-01"))
    sqls = [x["sql"] for x in q.captured_queries]
    assert any("evaluation_rollupcounter" in s for s in sqls)
    assert not any("evaluation_dailycounter" in s for s in sqls)


def test_no_objects_read_no_rows():
    """An empty list of objects asks the database nothing and gives nothing (Django answers an
    `__in=[]` filter without a query)."""
    fill(random.Random(6))
    period = parse_period("2025-12-18..2026-02-10")
    assert selectors.read_counts(CounterKind.GRID, period, [1, 2]) != {}
    assert selectors.read_counts(CounterKind.GRID, period, []) == {}
    assert selectors.GaugeReader(period, NOW).read(CounterKind.GRID, []) == {}
