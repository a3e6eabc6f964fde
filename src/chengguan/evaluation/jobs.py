"""Evaluation jobs (django-tasks), run by `chengguan worker` on a schedule; all idempotent.

* fold — today's counters within a minute of each event;
* settle — each finished day rebuilt from the case rows, with its end-of-day gauges;
* publish — the month, quarter and year that just ended, once their last day is settled.
"""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from chengguan.core import clock

from . import counters, services
from .models import Snapshot
from .periods import month_of, quarter_of, year_of


def publish_closed_periods(now: dt.datetime | None = None) -> list[str]:
    """Publish the latest finished month, quarter and year that are not published yet."""
    now = now or clock.now()
    last_over = counters.local_day(now - services.settle_grace()) - dt.timedelta(days=1)
    published = []
    for period in (month_of(last_over), quarter_of(last_over), year_of(last_over)):
        if period.last != last_over:
            period = {"month": month_of, "quarter": quarter_of, "year": year_of}[period.kind](
                period.first - dt.timedelta(days=1)
            )
        if Snapshot.objects.filter(period=period.key).exists():
            continue
        services.publish_period(period, now=now)
        published.append(period.key)
    return published


@task()
def fold_events_task() -> dict[str, int]:
    return services.fold_events()


@task()
def settle_days_task() -> list[str]:
    return [d.isoformat() for d in services.settle_due()]


@task()
def publish_closed_periods_task() -> list[str]:
    return publish_closed_periods()
