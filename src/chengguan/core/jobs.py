"""The core's background jobs (django-tasks), run by `chengguan worker` on a schedule, and the
recovery of tasks whose worker died.

**A worker that dies mid-task.** django-tasks-db claims a task by committing it as RUNNING with the
worker's id, then runs it outside any transaction; a worker killed (SIGKILL, OOM, power loss)
before it records the outcome leaves the row RUNNING for ever, and nothing runs it again. So each
`chengguan worker` holds a lock that says it is alive (`WorkerLiveness`) for as long as it runs,
and `requeue_abandoned_tasks()` (every minute, and at the start of `chengguan worker --once`)
puts a RUNNING task back in the queue when the last worker that claimed it no longer holds it.

* PostgreSQL: the lock is a session advisory lock held on a connection of its own; the server
  releases it the moment the worker's process is gone (its socket closes), so a task claimed by a
  dead worker runs again within a minute. A worker whose lock connection breaks (the database
  restarted) takes the lock again at once.
* SQLite (one machine, the demo): there are no session locks; a task RUNNING for longer than
  TASKS_ABANDONED_AFTER_SECONDS (default one hour) is taken to be abandoned.

A task is therefore run at least once, not exactly once: the project's tasks are idempotent (see
notify/periodic.py). A task that has lost its worker TASKS_MAX_WORKER_LOSSES times (default 3: it
may be what kills them, e.g. out of memory) is marked FAILED instead of being queued again.
Workers must be `chengguan worker`: a bare `db_worker` holds no liveness lock, so its tasks would
look abandoned.
"""

from __future__ import annotations

import logging
import threading
import zlib
from datetime import timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone
from django_tasks import task

from . import audit

logger = logging.getLogger("chengguan.core.jobs")

# pg_advisory_lock(classid, objid): classid marks the project's worker locks ("CG" + 1), objid is
# the CRC-32 of the worker id (a clash between two live workers is refused at start, see below).
LIVENESS_CLASSID = 0x4347_0001


@task()
def seal_audit_log() -> dict[str, int]:
    """Seal the audit rows written since the last seal (every minute), then prune old ranges."""
    sealed = audit.seal()
    pruned = audit.prune()
    return {
        "sealed_upto": sealed.upto_id if sealed else 0,
        "sealed_rows": sealed.rows if sealed else 0,
        "pruned": pruned,
    }


@task()
def requeue_abandoned() -> dict[str, int]:
    """Queue again the tasks whose worker died while running them (every minute)."""
    return requeue_abandoned_tasks()


# --- worker liveness -------------------------------------------------------------------------------


def _liveness_objid(worker_id: str) -> int:
    value = zlib.crc32(worker_id.encode())
    return value - (1 << 32) if value >= 1 << 31 else value  # int4


def _uses_postgresql(alias: str = DEFAULT_DB_ALIAS) -> bool:
    return connections[alias].vendor == "postgresql"


class WorkerLiveness:
    """Held by a running worker: while it is, the tasks it claimed are not requeued.

    `acquire()` takes the lock (False: another live worker holds this id's lock; pick another id);
    a daemon thread checks the lock's connection every `check_seconds` and takes the lock again on
    a new connection when the database was restarted; `release()` lets go. On SQLite it does
    nothing (see the module's docstring)."""

    def __init__(self, worker_id: str, *, alias: str = DEFAULT_DB_ALIAS, check_seconds: float = 5.0):
        self.worker_id = worker_id
        self.alias = alias
        self.check_seconds = check_seconds
        self._conn = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _take(self) -> bool:
        conn = connections.create_connection(self.alias)  # its own connection, never shared
        conn.inc_thread_sharing()  # made here, checked by the watch thread
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_try_advisory_lock(%s, %s)",
                    [LIVENESS_CLASSID, _liveness_objid(self.worker_id)],
                )
                taken = bool(cursor.fetchone()[0])
        except Exception:
            conn.close()
            raise
        if not taken:
            conn.close()
            return False
        self._conn = conn
        return True

    def acquire(self) -> bool:
        if not _uses_postgresql(self.alias):
            return True
        with self._lock:
            if not self._take():
                return False
        self._thread = threading.Thread(target=self._watch, name="chengguan-liveness", daemon=True)
        self._thread.start()
        return True

    def _watch(self) -> None:
        while not self._stop.wait(self.check_seconds):
            with self._lock:
                if self._stop.is_set():
                    return
                conn = self._conn
                if conn is not None and conn.is_usable():
                    continue
                if conn is not None:
                    self._close(conn)
                    self._conn = None
                try:
                    if not self._take():  # pragma: no cover - a clash with a new live worker
                        logger.error("worker %s: another worker holds its liveness lock", self.worker_id)
                except Exception as exc:  # the database is still down: try again on the next check
                    logger.warning("worker %s: cannot take its liveness lock yet: %s", self.worker_id, exc)

    @staticmethod
    def _close(conn) -> None:
        try:
            conn.close()
        except Exception:  # a broken connection may fail to close; it is gone either way
            pass

    def release(self) -> None:
        self._stop.set()
        with self._lock:
            if self._conn is not None:
                self._close(self._conn)
                self._conn = None
        if self._thread is not None:
            self._thread.join(timeout=self.check_seconds + 5)


# --- recovery --------------------------------------------------------------------------------------


def _worker_alive(cursor, worker_id: str) -> bool:
    """PostgreSQL: does a live worker hold this id's liveness lock? (Taking it for the length of
    this transaction succeeds only when none does.)"""
    cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LIVENESS_CLASSID, _liveness_objid(worker_id)])
    return not cursor.fetchone()[0]


def requeue_abandoned_tasks(now=None) -> dict[str, int]:
    """Queue again each RUNNING task (database backend) whose last worker is gone; fail those that
    lost TASKS_MAX_WORKER_LOSSES workers. Returns {requeued, failed}. Safe to run in any number of
    workers at once (the rows are claimed FOR UPDATE SKIP LOCKED)."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    max_losses = int(getattr(settings, "TASKS_MAX_WORKER_LOSSES", 3))
    requeued = failed = 0
    with transaction.atomic():
        running = DBTaskResult.objects.select_for_update(skip_locked=True).filter(
            status=TaskResultStatus.RUNNING
        )
        postgres = _uses_postgresql(running.db)
        if not postgres:
            after = float(getattr(settings, "TASKS_ABANDONED_AFTER_SECONDS", 3600))
            running = running.filter(started_at__lt=now - timedelta(seconds=after))
        rows = list(running.order_by("started_at")[:500])
        if not rows:
            return {"requeued": 0, "failed": 0}
        with transaction.get_connection(running.db).cursor() as cursor:
            for row in rows:
                worker_id = row.worker_ids[-1] if row.worker_ids else ""
                if postgres and worker_id and _worker_alive(cursor, worker_id):
                    continue
                if len(row.worker_ids) >= max_losses:
                    row.status = TaskResultStatus.FAILED
                    row.finished_at = now
                    row.exception_class_path = "chengguan.core.jobs.WorkerLost"
                    row.traceback = (
                        f"WorkerLost: the worker running this task died {len(row.worker_ids)} times "
                        f"(workers {', '.join(row.worker_ids)}); not queued again\n"
                    )
                    row.save(update_fields=["status", "finished_at", "exception_class_path", "traceback"])
                    failed += 1
                    logger.error(
                        "task %s (%s) failed: its workers died %s times",
                        row.pk,
                        row.task_path,
                        len(row.worker_ids),
                    )
                else:
                    # READY again, keeping worker_ids: the next claim appends its worker, so the
                    # row shows every worker that took it.
                    row.status = TaskResultStatus.READY
                    row.started_at = None
                    row.save(update_fields=["status", "started_at"])
                    requeued += 1
                    logger.warning(
                        "task %s (%s) queued again: worker %s is gone", row.pk, row.task_path, worker_id
                    )
    return {"requeued": requeued, "failed": failed}
