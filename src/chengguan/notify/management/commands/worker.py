"""`chengguan worker`: the background worker.

It runs django-tasks' database worker (`db_worker`, which claims queued tasks with
SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL) in the main thread and, beside it, a thread that
enqueues the registered periodic jobs when they fall due (see notify/periodic.py). SIGTERM or
SIGINT stops it cleanly: the task in hand is finished, then the process exits (a second signal
aborts the task; its notifications stay in the outbox and are delivered by the next sweep).

`--once` does one round and exits (cron, tests): enqueue the periodic jobs that are due, deliver
every due notification, run every queued task, deliver again.

Run as many workers as needed: tasks, notifications and periodic jobs are each claimed by one.

Each worker holds a liveness lock while it runs (core/jobs.py): a task whose worker died mid-way
(SIGKILL, out of memory) is queued again by `requeue_abandoned_tasks`, every minute and at the
start of `--once`.
"""

from __future__ import annotations

import logging
import signal
import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection
from django.utils.crypto import get_random_string

from chengguan.core.jobs import WorkerLiveness, requeue_abandoned_tasks
from chengguan.notify.periodic import enqueue_due
from chengguan.notify.services import deliver_all_pending

logger = logging.getLogger("chengguan.notify.worker")


def _database_backend():
    """The default task backend when it is django-tasks-db's, else None."""
    from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends

    try:
        from django_tasks_db import DatabaseBackend
    except ImportError:  # pragma: no cover - the package is a dependency
        return None
    backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
    return backend if isinstance(backend, DatabaseBackend) else None


def periodic_loop(stop: threading.Event, tick: float) -> None:
    """Enqueue due periodic jobs every `tick` seconds until `stop` is set."""
    try:
        while not stop.is_set():
            close_old_connections()
            try:
                enqueue_due()
            except Exception:  # keep ticking: a database hiccup must not stop the schedule
                logger.exception("periodic scheduler tick failed")
            stop.wait(tick)
    finally:
        connection.close()  # this thread's own connection


class Command(BaseCommand):
    help = "Run the background worker: queued tasks (django-tasks database backend) and periodic jobs."

    def add_arguments(self, parser):
        parser.add_argument(
            "--once",
            action="store_true",
            help="Process everything that is due once, then exit (cron, tests).",
        )
        parser.add_argument(
            "--queue-name",
            default="*",
            help="Queues to process, comma-separated; '*' for all (default).",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds between polls of the task queue when it is empty (default 1).",
        )
        parser.add_argument(
            "--tick",
            type=float,
            default=5.0,
            help="Seconds between checks for due periodic jobs (default 5).",
        )
        parser.add_argument(
            "--no-periodic",
            action="store_false",
            dest="periodic",
            help="Do not enqueue periodic jobs (another worker does).",
        )
        parser.add_argument("--worker-id", default=None, help="Unique id of this worker (default: random).")

    def handle(self, *args, once, queue_name, interval, tick, periodic, worker_id, verbosity, **options):
        if interval < 0 or tick <= 0:
            raise CommandError("--interval must be >= 0 and --tick > 0")
        db_options = {"queue_name": queue_name, "reload": False, "verbosity": verbosity}
        backend = _database_backend()
        liveness = None
        if backend is not None:
            liveness = self._hold_liveness(worker_id)
            db_options["worker_id"] = liveness.worker_id
        try:
            if once:
                return self.run_once(backend, periodic, db_options)
            return self.run_forever(backend, periodic, db_options, queue_name, interval, tick)
        finally:
            if liveness is not None:
                liveness.release()

    def _hold_liveness(self, worker_id: str | None) -> WorkerLiveness:
        """Take this worker's liveness lock (a random id is drawn again on the rare clash)."""
        for _ in range(5):
            liveness = WorkerLiveness(worker_id or get_random_string(32))
            if liveness.acquire():
                return liveness
            if worker_id:
                raise CommandError(f"another running worker has the id {worker_id!r}")
        raise CommandError("could not take a worker liveness lock")  # pragma: no cover

    def run_forever(self, backend, periodic: bool, db_options: dict, queue_name, interval, tick) -> None:
        stop = threading.Event()
        thread = None
        if periodic:
            thread = threading.Thread(
                target=periodic_loop, args=(stop, tick), name="chengguan-periodic", daemon=True
            )
            thread.start()
        try:
            if backend is not None:
                self.stdout.write(
                    f"worker: task queue '{queue_name}', periodic jobs {'on' if periodic else 'off'}"
                )
                call_command("db_worker", interval=interval, startup_delay=True, **db_options)
            else:
                # Tasks run where they are enqueued (immediate backend) or in the broker's own workers:
                # only the periodic schedule and the delivery sweep are ours.
                self.stdout.write("worker: the default task backend is not the database; periodic jobs only")
                self._wait_for_signal(stop)
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=tick + 10)

    def _wait_for_signal(self, stop: threading.Event) -> None:
        def handler(signum, frame):
            stop.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        while not stop.wait(1.0):
            pass

    def run_once(self, backend, periodic: bool, db_options: dict) -> None:
        enqueued = enqueue_due() if periodic else []
        stats = deliver_all_pending()
        if backend is not None:
            requeue_abandoned_tasks()  # tasks whose worker died: this round runs them
            # db_worker installs its own SIGINT/SIGTERM handlers; put the caller's back afterwards.
            saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                call_command("db_worker", batch=True, interval=0, startup_delay=False, **db_options)
            finally:
                for sig, handler in saved.items():
                    signal.signal(sig, handler)
        stats += deliver_all_pending()
        self.stdout.write(
            f"worker --once: periodic jobs enqueued {len(enqueued)}; notifications sent {stats.sent}, "
            f"to retry {stats.retried}, given up {stats.gave_up}"
        )
