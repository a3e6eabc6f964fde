"""Remaining time to a case's current stage deadline, on the working-time calendar."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from chengguan.catalog.choices import TimeUnit
from chengguan.core import calendar as work_calendar
from chengguan.core import clock

NATURAL_UNITS = frozenset({TimeUnit.HOUR, TimeUnit.MINUTE})


@dataclass(frozen=True)
class Remaining:
    """Time left to a deadline: `left` is negative once it has passed; `working` says whether it is
    counted in working time (工作时) or natural time."""

    deadline: dt.datetime
    left: dt.timedelta
    working: bool

    @property
    def overdue(self) -> bool:
        return self.left < dt.timedelta(0)


def remaining(
    deadline: dt.datetime | None, *, unit: str = TimeUnit.WORK_HOUR, at=None, calendar=None
) -> Remaining | None:
    """Time from `at` (now) to `deadline`, in working time unless the stage's limit is natural time."""
    if deadline is None:
        return None
    at = at or clock.now()
    if unit in NATURAL_UNITS:
        return Remaining(deadline, deadline - at, working=False)
    left = work_calendar.working_time_between(at, deadline, calendar=calendar)
    return Remaining(deadline, left, working=True)


def open_stage(case):
    """The case's running stage from its prefetched stages (None when it has none)."""
    running = [s for s in case.stages.all() if s.ended_at is None]
    return running[-1] if running else None


def annotate_remaining(cases, *, at=None) -> None:
    """Set `case.remaining` on each case of a list, counted in the unit of each case's running
    stage (a 10-minute acceptance limit counts natural minutes, at night too): one query for the
    units, one calendar snapshot for the whole list."""
    from chengguan.cases.models import CaseStage

    cases = list(cases)
    timed = [case.pk for case in cases if case.stage_deadline is not None]
    units = dict(
        CaseStage.objects.filter(case_id__in=timed, ended_at__isnull=True).values_list(
            "case_id", "limit_unit"
        )
        if timed
        else ()
    )
    cal = work_calendar.get_calendar()
    for case in cases:
        unit = units.get(case.pk, TimeUnit.WORK_HOUR)
        case.remaining = remaining(case.stage_deadline, unit=unit, at=at, calendar=cal)
