"""Test channels and tasks for the notify tests (importable by worker subprocesses too)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from django_tasks import task

from chengguan.notify.channels import Channel, SmsBackend


class FakeChannel(Channel):
    """Records every hand-over; fails the first `fail_times` calls (or always, with fail_times=-1)."""

    name = "fake"

    def __init__(self, fail_times: int = 0, delay: float = 0.0):
        self.calls: list[int] = []
        self.fail_times = fail_times
        self.delay = delay
        self._lock = threading.Lock()

    def send(self, notification) -> None:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.calls.append(notification.pk)
            failing = self.fail_times == -1 or len(self.calls) <= self.fail_times
        if failing:
            raise ConnectionError("provider unreachable")


class FileChannel(Channel):
    """An external provider that writes each hand-over (the notification's reference) to a file,
    then takes `delay` seconds to answer: a worker killed during the wait has handed the message over
    but not yet recorded it as sent."""

    name = "file"
    external = True

    def __init__(self, path: str, delay: float = 0.0):
        self.path = Path(path)
        self.delay = delay

    def send(self, notification) -> None:
        with self.path.open("a") as f:
            f.write(notification.reference + "\n")
            f.flush()
        if self.delay:
            time.sleep(self.delay)


class RecordingSmsBackend(SmsBackend):
    sent: list[tuple[str, str, str]] = []

    def send_sms(self, phone: str, text: str, *, reference: str) -> None:
        RecordingSmsBackend.sent.append((phone, text, reference))


PERIODIC_RUNS: list[str] = []


@task()
def record_periodic_run(label: str) -> str:
    PERIODIC_RUNS.append(label)
    return label


pg_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (row locks, a server)"
)
