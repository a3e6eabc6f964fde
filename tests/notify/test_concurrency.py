"""Exactly once under concurrency: two deliverers at once, and a worker killed mid-delivery.

These need real commits (other connections must see the rows), so they use the `committed_city` fixture.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, transaction

from chengguan.notify import channels
from chengguan.notify.models import Notification
from chengguan.notify.services import deliver_all_pending, notify

from .helpers import FakeChannel, FileChannel, pg_only

ROOT = Path(__file__).resolve().parents[2]


def queue(person, n, channel):
    with transaction.atomic():
        for i in range(n):
            notify(person, kind="case_dispatched", title=f"案件 {i}", channels=[channel])


def test_notify_refuses_to_run_outside_a_transaction():
    # checked before any query: the event and its notifications must commit together
    with pytest.raises(transaction.TransactionManagementError):
        notify(object(), kind="a", title="x")


def test_two_deliverers_at_once_send_each_notification_once(committed_city, settings):
    """PostgreSQL: SKIP LOCKED hands each row to one of them. SQLite: BEGIN IMMEDIATE lets one writer
    in at a time; the other waits or, when its lock times out, stops and leaves the rest to the next
    sweep. Either way no row is handed over twice."""
    settings.NOTIFY_CHANNELS = ["fake"]
    fake = channels.register(FakeChannel(delay=0.002))
    try:
        queue(committed_city.people["inspector_a"], 40, "fake")
        errors: list[BaseException] = []

        def run():
            try:
                deliver_all_pending(batch=5)
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []
        deliver_all_pending()  # whatever a locked-out deliverer left (SQLite)
        assert len(fake.calls) == 40 and len(set(fake.calls)) == 40
        assert Notification.objects.filter(sent_at__isnull=False).count() == 40
    finally:
        channels.unregister("fake")


def _worker_env() -> dict[str, str]:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    url = f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    return {**os.environ, "DATABASE_URL": url}


SCRIPT = """
import sys, django
django.setup()
from chengguan.notify import channels
from tests.notify.helpers import FileChannel
channels.register(FileChannel(sys.argv[1], delay=float(sys.argv[2])))
from django.core.management import call_command
call_command("worker", "--once", "--no-periodic")
"""


def _start_worker(log: Path, delay: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(log), str(delay)],
        cwd=ROOT,
        env=_worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _lines(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


@pg_only
def test_a_worker_killed_mid_delivery_loses_and_doubles_nothing(committed_city, settings, tmp_path):
    n = 6
    log = tmp_path / "provider.log"
    settings.NOTIFY_CHANNELS = ["file"]
    channels.register(FileChannel(str(log)))  # to queue; only the worker processes send
    try:
        queue(committed_city.people["inspector_a"], n, "file")
    finally:
        channels.unregister("file")
    refs = {f"cg-notify-{pk}" for pk in Notification.objects.values_list("pk", flat=True)}

    worker = _start_worker(log, delay=0.3)
    deadline = time.monotonic() + 20
    while len(_lines(log)) < 3 and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.01)
    handed_at_kill = len(_lines(log))
    worker.send_signal(signal.SIGKILL)  # during the 3rd message's 0.3 s answer: handed over, not committed
    worker.wait(10)
    assert worker.returncode == -signal.SIGKILL, worker.stderr.read().decode()
    sent_at_kill = Notification.objects.filter(sent_at__isnull=False).count()
    assert 2 <= sent_at_kill < n and sent_at_kill <= handed_at_kill <= sent_at_kill + 1

    # The server may need a moment to notice the dead connection and release its row lock.
    for _ in range(5):
        rerun = _start_worker(log, delay=0)
        _, err = rerun.communicate(timeout=60)
        assert rerun.returncode == 0, err.decode()
        if not Notification.objects.filter(sent_at__isnull=True).exists():
            break
        time.sleep(0.5)

    # Our outbox: every notification sent exactly once, none failed, none retried.
    rows = Notification.objects.all()
    assert rows.filter(sent_at__isnull=False, attempts=0, failed_at__isnull=True).count() == n
    # The provider: every reference arrived; the one in flight at the kill arrived twice with the
    # same reference (so a provider deduplicating on it delivers it once), nothing else is doubled.
    lines = _lines(log)
    assert set(lines) == refs
    assert len(lines) == n + (handed_at_kill - sent_at_kill)
