"""`chengguan worker`: --once processes what is due; periodic jobs are enqueued once per interval;
the long-running worker stops cleanly on SIGTERM."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from chengguan.notify import channels
from chengguan.notify.models import Notification, PeriodicSchedule
from chengguan.notify.periodic import enqueue_due, periodic_jobs, register_periodic, unregister_periodic
from chengguan.notify.services import notify

from . import helpers
from .helpers import FakeChannel, pg_only

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def periodic_job():
    helpers.PERIODIC_RUNS.clear()
    job = register_periodic("test.hourly", 3600, helpers.record_periodic_run, args=("hourly",))
    yield job
    unregister_periodic("test.hourly")


def test_the_notify_sweep_is_registered():
    (job,) = [j for j in periodic_jobs() if j.name == "notify.deliver"]
    assert job.task.name == "deliver_notifications" and job.interval == timedelta(seconds=60)


def test_worker_once_processes_due_notifications_and_periodic_jobs(committed_city, settings, periodic_job):
    settings.NOTIFY_CHANNELS = ["inbox", "fake"]
    fake = channels.register(FakeChannel())
    try:
        with transaction.atomic():
            for i in range(3):
                notify(committed_city.people["inspector_a"], kind="case_dispatched", title=f"案件 {i}")
        # committed: one delivery task waits in the queue
        assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 1
        out = io.StringIO()
        call_command("worker", "--once", stdout=out)
        assert "notifications sent 6" in out.getvalue()
        assert len(fake.calls) == 3 and not Notification.objects.filter(sent_at=None).exists()
        assert helpers.PERIODIC_RUNS == ["hourly"]
        assert set(DBTaskResult.objects.values_list("status", flat=True)) == {TaskResultStatus.SUCCESSFUL}
        # nothing is due the second time: no job runs, nothing is sent again
        call_command("worker", "--once", stdout=io.StringIO())
        assert len(fake.calls) == 3 and helpers.PERIODIC_RUNS == ["hourly"]
    finally:
        channels.unregister("fake")


@pytest.mark.django_db
def test_a_periodic_job_is_enqueued_once_per_interval(periodic_job):
    now = timezone.now()
    assert "test.hourly" in enqueue_due(now)
    assert "test.hourly" not in enqueue_due(now + timedelta(minutes=59))
    assert "test.hourly" in enqueue_due(now + timedelta(minutes=61))
    row = PeriodicSchedule.objects.get(name="test.hourly")
    assert row.next_run_at == now + timedelta(minutes=121)
    queued = DBTaskResult.objects.filter(task_path="tests.notify.helpers.record_periodic_run")
    assert [r.args_kwargs["args"] for r in queued] == [["hourly"], ["hourly"]]


@pytest.mark.django_db
def test_a_shortened_interval_takes_effect_at_once(periodic_job):
    now = timezone.now()
    PeriodicSchedule.objects.create(name="test.hourly", next_run_at=now + timedelta(days=1))
    assert "test.hourly" in enqueue_due(now)


def test_register_periodic_checks_its_arguments():
    with pytest.raises(ValueError):
        register_periodic("x", 0, helpers.record_periodic_run)
    with pytest.raises(TypeError):
        register_periodic("x", 10, print)


@pg_only
def test_the_worker_stops_cleanly_on_sigterm(committed_city):
    from .test_concurrency import _worker_env

    with transaction.atomic():
        notify(committed_city.people["inspector_a"], kind="a", title="x", channels=["inbox"])
    connection.close()
    worker = subprocess.Popen(
        [sys.executable, "-m", "chengguan", "worker", "--interval", "0.2", "--tick", "0.2"],
        cwd=ROOT,
        env=_worker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and Notification.objects.filter(sent_at=None).exists():
            time.sleep(0.1)
        assert not Notification.objects.filter(sent_at=None).exists()  # the worker delivered it
        assert PeriodicSchedule.objects.filter(name="notify.deliver").exists()  # and ran the schedule
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=15)
    finally:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
    assert worker.returncode == 0, out.decode()
