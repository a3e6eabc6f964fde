"""Periodic jobs: a tiny registry that `chengguan worker` turns into enqueued tasks.

An app registers its job once, from its AppConfig.ready():

    register_periodic("cases.overdue_scan", 300, overdue_scan)   # a django-tasks Task

The worker calls `enqueue_due()` every few seconds. Each job's next run is kept in the database
(`PeriodicSchedule`, one row per job, claimed FOR UPDATE SKIP LOCKED), so however many workers
run, a due job is enqueued once per interval; the next run is counted from the moment it was
enqueued (a worker that was down does not fire a backlog of runs). A job's task should be
idempotent: an interval is a wish, not a guarantee (a deployment may run the job by hand, or the
schedule may be reset).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from .db import write_transaction
from .models import PeriodicSchedule

logger = logging.getLogger("chengguan.notify.periodic")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval: timedelta
    task: Any  # a django_tasks Task
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


_JOBS: dict[str, PeriodicJob] = {}


def register_periodic(
    name: str, interval_seconds: float, task, *, args: tuple = (), kwargs: dict | None = None
) -> PeriodicJob:
    """Enqueue `task(*args, **kwargs)` every `interval_seconds` while a worker runs. Registering
    a name again replaces the earlier job (its schedule row is kept)."""
    if not name or len(name) > PeriodicSchedule._meta.get_field("name").max_length:
        raise ValueError(f"bad periodic job name {name!r}")
    if interval_seconds <= 0:
        raise ValueError("interval_seconds must be positive")
    if not hasattr(task, "enqueue"):
        raise TypeError(f"{task!r} is not a task (decorate it with django_tasks.task)")
    job = PeriodicJob(name, timedelta(seconds=interval_seconds), task, tuple(args), dict(kwargs or {}))
    _JOBS[name] = job
    return job


def unregister_periodic(name: str) -> None:
    _JOBS.pop(name, None)


def periodic_jobs() -> list[PeriodicJob]:
    return sorted(_JOBS.values(), key=lambda j: j.name)


def _ensure_rows(jobs: list[PeriodicJob], now: datetime) -> None:
    known = set(
        PeriodicSchedule.objects.filter(name__in=[j.name for j in jobs]).values_list("name", flat=True)
    )
    missing = [PeriodicSchedule(name=j.name, next_run_at=now) for j in jobs if j.name not in known]
    if missing:
        try:
            with transaction.atomic():
                PeriodicSchedule.objects.bulk_create(missing, ignore_conflicts=True)
        except IntegrityError:  # another worker created them first
            pass


def enqueue_due(now: datetime | None = None) -> list[str]:
    """Enqueue every registered job that is due; returns their names."""
    jobs = periodic_jobs()
    if not jobs:
        return []
    now = now or timezone.now()
    _ensure_rows(jobs, now)
    enqueued = []
    for job in jobs:
        try:
            with write_transaction():
                row = (
                    PeriodicSchedule.objects.select_for_update(skip_locked=True)
                    # due, or scheduled further ahead than the (since shortened) interval allows
                    .filter(Q(next_run_at__lte=now) | Q(next_run_at__gt=now + job.interval), name=job.name)
                    .first()
                )
                if row is None:
                    continue
                # With the database backend the task row joins this transaction: the schedule moves
                # on if and only if the task is queued.
                job.task.enqueue(*job.args, **job.kwargs)
                row.last_enqueued_at = now
                row.next_run_at = now + job.interval
                row.save(update_fields=["last_enqueued_at", "next_run_at"])
        except OperationalError as exc:
            if "locked" in str(exc).lower():  # SQLite busy: try again on the next tick
                continue
            raise
        except Exception:
            logger.exception("could not enqueue periodic job %s", job.name)
            continue
        enqueued.append(job.name)
        logger.info("enqueued periodic job %s", job.name)
    return enqueued
