"""Notifications from case events, the overdue scan and the ledger review."""

import datetime as dt

import pytest

from chengguan.cases import jobs, services
from chengguan.cases.choices import CaseStatus
from chengguan.cases.models import Case
from chengguan.notify.models import Notification

from .factories import make_case

pytestmark = pytest.mark.django_db


def inbox(person, kind=None):
    qs = Notification.objects.filter(recipient=person, channel="inbox")
    return qs.filter(kind=kind) if kind else qs


def test_dispatch_notifies_lead_and_cohandler_departments(city, people):
    case = make_case(city, people, CaseStatus.DISPATCHED, cohandler=city.dept_b)
    assert inbox(people["handler_a"], "case_dispatched").filter(subject_id=case.pk).count() == 1
    assert inbox(people["handler_b"], "case_dispatched").filter(subject_id=case.pk).count() == 1
    assert not inbox(people["dispatcher_a"], "case_dispatched").exists()  # not told of their own action


def test_next_role_is_told_and_rolled_back_transitions_tell_nobody(city, people):
    case = make_case(city, people)
    assert inbox(people["operator_a"], "case_reported").filter(subject_id=case.pk).exists()
    assert not inbox(people["operator_b"], "case_reported").filter(subject_id=case.pk).exists()
    before = Notification.objects.count()
    with pytest.raises(services.Conflict):
        services.case_register(people["shiftlead_a"], case.pk, version=case.version)  # wrong state
    assert Notification.objects.count() == before


def test_overdue_scan_flags_once_and_escalates_later(city, people):
    case = make_case(city, people, CaseStatus.HANDLING)
    deadline = case.stage_deadline
    assert jobs.scan_overdue(deadline - dt.timedelta(minutes=1)) == {"flagged": 0, "escalated": 0}
    result = jobs.scan_overdue(deadline + dt.timedelta(minutes=1))
    assert result["flagged"] >= 1
    case.refresh_from_db()
    assert case.overdue is True
    assert inbox(people["handler_a"], "case_overdue").filter(subject_id=case.pk).count() == 1
    again = jobs.scan_overdue(deadline + dt.timedelta(minutes=2))
    assert again["flagged"] == 0
    assert inbox(people["handler_a"], "case_overdue").filter(subject_id=case.pk).count() == 1
    jobs.scan_overdue(deadline + jobs.escalate_after() + dt.timedelta(minutes=1))
    assert inbox(people["leader"], "case_escalated").filter(subject_id=case.pk).count() == 1
    jobs.scan_overdue(deadline + 2 * jobs.escalate_after())
    assert inbox(people["leader"], "case_escalated").filter(subject_id=case.pk).count() == 1


def test_ledger_review_reminds_shift_leaders(city, people):
    case = make_case(city, people, CaseStatus.SUSPENDED)
    assert jobs.review_ledger(case.planned_fix_date) == {"due": 0}
    later = case.planned_fix_date + dt.timedelta(days=1)
    assert jobs.review_ledger(later)["due"] >= 1
    assert inbox(people["shiftlead_a"], "ledger_due").filter(subject_id=case.pk).count() == 1
    jobs.review_ledger(later)
    assert inbox(people["shiftlead_a"], "ledger_due").filter(subject_id=case.pk).count() == 1


def test_reporter_is_told_of_the_outcome(city, people):
    case = make_case(city, people, CaseStatus.CLOSED)
    assert Case.objects.get(pk=case.pk).reporter == people["inspector_a"]
    assert inbox(people["inspector_a"], "case_closed").filter(subject_id=case.pk).count() == 1
