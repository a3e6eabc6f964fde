"""The case loop's background jobs (django-tasks), run by `chengguan worker` on a schedule.

All are idempotent: a stage is flagged overdue once and escalated once (timestamps on the stage),
the ledger reminder is deduplicated per case and day, and the photo sweep removes only files that
no row refers to.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from . import notifications
from .choices import CaseStatus
from .models import Case, CaseStage
from .photos import sweep_orphan_photos

BATCH = 200


def escalate_after() -> dt.timedelta:
    """How long after a missed deadline the leaders are told (CASE_ESCALATE_AFTER_HOURS, natural)."""
    return dt.timedelta(hours=float(getattr(settings, "CASE_ESCALATE_AFTER_HOURS", 24)))


def scan_overdue(now: dt.datetime | None = None) -> dict[str, int]:
    """Flag open stages past their deadline (notify whoever must act), and escalate those still
    open `escalate_after()` later to the leaders."""
    now = now or timezone.now()
    flagged = escalated = 0
    while True:
        with transaction.atomic():
            stages = list(
                CaseStage.objects.select_for_update(skip_locked=True)
                .filter(ended_at__isnull=True, deadline__lt=now, overdue_flagged_at__isnull=True)
                .select_related("case__minor_class")[:BATCH]
            )
            for stage in stages:
                stage.overdue_flagged_at = now
                stage.save(update_fields=["overdue_flagged_at"])
                Case.objects.filter(pk=stage.case_id).update(overdue=True)
                notifications.stage_overdue(stage.case, stage, escalate=False)
            flagged += len(stages)
        if len(stages) < BATCH:
            break
    while True:
        with transaction.atomic():
            stages = list(
                CaseStage.objects.select_for_update(skip_locked=True)
                .filter(ended_at__isnull=True, deadline__lt=now - escalate_after(), escalated_at__isnull=True)
                .select_related("case__minor_class")[:BATCH]
            )
            for stage in stages:
                stage.escalated_at = now
                stage.save(update_fields=["escalated_at"])
                notifications.stage_overdue(stage.case, stage, escalate=True)
            escalated += len(stages)
        if len(stages) < BATCH:
            break
    return {"flagged": flagged, "escalated": escalated}


def review_ledger(today: dt.date | None = None) -> dict[str, int]:
    """Remind the shift leaders of suspended cases (挂账) past their planned fix date."""
    today = today or timezone.localdate()
    due = Case.objects.filter(status=CaseStatus.SUSPENDED, planned_fix_date__lt=today).select_related(
        "minor_class"
    )
    count = 0
    with transaction.atomic():
        for case in due:
            notifications.ledger_item_due(case, today)
            count += 1
    return {"due": count}


@task()
def overdue_scan() -> dict[str, int]:
    return scan_overdue()


@task()
def ledger_review() -> dict[str, int]:
    return review_ledger()


@task()
def photo_sweep() -> dict[str, int]:
    """Photo files no row refers to, left by a process that died before its transaction ended."""
    return sweep_orphan_photos()
