"""Remaining time in lists follows each case's running stage: natural minutes stay natural."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from chengguan.cases.choices import CaseStatus
from chengguan.cases.models import CaseStage
from chengguan.catalog.choices import TimeUnit
from chengguan.web.deadlines import annotate_remaining
from tests.cases.factories import make_case

pytestmark = pytest.mark.django_db
NIGHT = dt.datetime(2026, 11, 25, 23, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Wednesday, off hours


def test_a_natural_time_limit_counts_down_at_night_and_working_time_waits_for_morning(
    city, people, django_assert_max_num_queries
):
    with time_machine.travel(NIGHT, tick=False):
        reported = make_case(city, people, CaseStatus.REPORTED)
        handling = make_case(city, people, CaseStatus.HANDLING)
        units = {
            s.case_id: s.limit_unit
            for s in CaseStage.objects.filter(ended_at=None, case__in=[reported, handling])
        }
        assert units[reported.pk] in (TimeUnit.MINUTE, TimeUnit.HOUR)  # the catalogue's acceptance limit
        assert units[handling.pk] not in (TimeUnit.MINUTE, TimeUnit.HOUR)
        cases = [reported, handling]
        with django_assert_max_num_queries(3):
            annotate_remaining(cases, at=NIGHT + dt.timedelta(minutes=5))
    assert not reported.remaining.working
    assert reported.remaining.left == reported.stage_deadline - (NIGHT + dt.timedelta(minutes=5))
    assert handling.remaining.working
    assert handling.remaining.left < handling.stage_deadline - NIGHT  # the night does not count
