from __future__ import annotations

import pytest
from django.db import connection

from chengguan.notify import channels
from chengguan.notify.models import Notification, PeriodicSchedule

from .helpers import FakeChannel


@pytest.fixture
def fake(settings):
    """A fake channel, active: notify() without channels writes an inbox row and a fake row."""
    channel = channels.register(FakeChannel())
    settings.NOTIFY_CHANNELS = ["inbox", "fake"]
    yield channel
    channels.unregister("fake")


@pytest.fixture
def alice(people):
    return people["inspector_a"]


@pytest.fixture
def bob(people):
    return people["handler_b"]


def _clean() -> None:
    from django_tasks_db.models import DBTaskResult

    Notification.objects.all().delete()
    PeriodicSchedule.objects.all().delete()
    DBTaskResult.objects.all().delete()


def _is_test_database() -> bool:
    name = str(connection.settings_dict["NAME"])
    test_name = (connection.settings_dict.get("TEST") or {}).get("NAME")
    if test_name:
        return name == test_name
    return name.startswith("file:memorydb_") if connection.vendor == "sqlite" else name.startswith("test_")


@pytest.fixture(scope="session")
def _test_database(request, django_db_setup, django_db_blocker):
    """pytest-django creates the test database only when a selected test is marked for the database;
    a run of nothing but committed-data tests would otherwise write to the real one."""
    if _is_test_database():
        return
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        config = setup_databases(verbosity=0, interactive=False, aliases={"default"})

    def teardown():
        with django_db_blocker.unblock():
            teardown_databases(config, verbosity=0)

    request.addfinalizer(teardown)
    assert _is_test_database()


@pytest.fixture
def committed_city(request, _test_database, django_db_blocker):
    """Real commits, for tests that need other connections (threads, worker processes) to see the
    rows. Returns the session's committed city (use it, not the `city` fixture, so the test database
    exists before the city is built); removes every row it leaves (no table flush, so the city stays
    for the tests after)."""
    city = request.getfixturevalue("city")
    with django_db_blocker.unblock():
        _clean()
        try:
            yield city
        finally:
            connection.close()
            _clean()


@pytest.fixture(autouse=True)
def _empty_outbox(request):
    """These tests count rows: start each database test from an empty outbox and task queue
    (inside its transaction, rolled back after), whatever tests before it committed."""
    if "committed_city" in request.fixturenames or "db" not in request.fixturenames:
        return
    _clean()
