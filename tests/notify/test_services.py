"""Queueing in the caller's transaction, and delivery exactly once, with retries and giving up."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from chengguan.notify import channels, services
from chengguan.notify.jobs import deliver_notifications
from chengguan.notify.models import Notification
from chengguan.notify.services import backoff, deliver_pending, notify

from .helpers import FakeChannel, RecordingSmsBackend

pytestmark = pytest.mark.django_db

DELIVER_TASK = "chengguan.notify.jobs.deliver_notifications"


def queue(recipient, n=1, **kw):
    with transaction.atomic():
        return [
            row
            for i in range(n)
            for row in notify(recipient, kind="case_dispatched", title=f"案件 {i} 已派遣", **kw)
        ]


def due_now():
    """Make every waiting row due (instead of waiting out the backoff)."""
    Notification.objects.filter(sent_at=None, failed_at=None).update(send_after=timezone.now())


# --- queueing -----------------------------------------------------------------------------------


def test_notify_writes_one_row_per_active_channel_and_enqueues_after_commit(
    fake, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rows = queue(alice, link="/cases/7/")
    assert sorted(r.channel for r in rows) == ["fake", "inbox"]
    assert all(r.sent_at is None and r.link == "/cases/7/" for r in rows)
    assert len(callbacks) == 1
    assert DBTaskResult.objects.filter(task_path=DELIVER_TASK).count() == 1
    assert fake.calls == []  # notify() never sends


def test_rolled_back_event_queues_and_sends_nothing(fake, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            notify(alice, kind="case_dispatched", title="派遣")
            raise RuntimeError("the event failed")
    assert callbacks == []
    assert not Notification.objects.exists()
    assert not DBTaskResult.objects.exists()
    assert deliver_pending().handled == 0 and fake.calls == []


def test_one_delivery_task_per_transaction(fake, alice, bob, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        notify(alice, kind="a", title="一")
        notify(bob, kind="a", title="二")
    assert len(callbacks) == 1
    assert DBTaskResult.objects.filter(task_path=DELIVER_TASK).count() == 1


def test_a_delivery_waiting_to_start_takes_the_next_transactions_rows():
    """What each commit runs (`_enqueue_delivery`): a burst enqueues one delivery while it waits;
    once a worker has taken it (it may have read the outbox already) the next commit enqueues
    another, and so does one when the waiting delivery is deferred to later."""
    waiting = DBTaskResult.objects.filter(task_path=DELIVER_TASK)
    for _commit in range(3):
        services._enqueue_delivery()
    assert waiting.count() == 1
    waiting.update(status=TaskResultStatus.RUNNING)
    services._enqueue_delivery()
    assert waiting.count() == 2 and waiting.filter(status=TaskResultStatus.READY).count() == 1
    waiting.filter(status=TaskResultStatus.READY).update(run_after=timezone.now() + timedelta(hours=1))
    services._enqueue_delivery()
    assert waiting.count() == 3


def test_channels_named_by_the_sender(fake, alice, settings):
    assert [r.channel for r in queue(alice, channels=["fake"])] == ["fake"]
    # SMS is a known channel, but this deployment has not switched it on: left out.
    assert [r.channel for r in queue(alice, channels=["inbox", "sms"])] == ["inbox"]
    with pytest.raises(ValueError, match="no_such"):
        queue(alice, channels=["no_such"])


def test_subject_is_stored_generically(fake, alice, city):
    (row, _) = queue(alice, subject=city.street_a)
    assert (row.subject_type, row.subject_id) == ("org.Region", city.street_a.pk)


def test_dedupe_key_queues_an_event_once_per_person_and_channel(fake, alice, bob):
    key = "case:42:dispatched:7"
    assert len(queue(alice, dedupe_key=key)) == 2
    assert queue(alice, dedupe_key=key) == []  # the same event again: nothing new
    assert len(queue(bob, dedupe_key=key)) == 2  # another person
    assert Notification.objects.count() == 4
    deliver_pending()
    assert len(fake.calls) == 2


def test_many_recipients_are_queued_in_one_insert_and_deduplicated_per_person(
    fake, alice, bob, django_assert_num_queries
):
    key = "case:42:dispatched:8"
    with transaction.atomic():
        queue(alice, dedupe_key=key)  # alice already has this event
        with django_assert_num_queries(2):  # which are queued already; one INSERT for the rest
            rows = notify([alice, bob], kind="case_dispatched", title="案件已派遣", dedupe_key=key)
    assert sorted((r.recipient_id, r.channel) for r in rows) == sorted([(bob.pk, "fake"), (bob.pk, "inbox")])
    assert Notification.objects.filter(dedupe_key__startswith=key).count() == 4
    with transaction.atomic():
        assert notify([], kind="case_dispatched", title="nobody") == []


def test_a_row_queued_concurrently_is_skipped_without_breaking_the_transaction(fake, alice, bob):
    """The SELECT saw no row, but another transaction inserted it before our INSERT: ON CONFLICT
    DO NOTHING skips it and the caller's transaction goes on."""
    key = "case:43:dispatched:9"
    with transaction.atomic():
        Notification.objects.create(
            recipient=alice, channel="inbox", kind="k", title="t", dedupe_key=f"{key}|{alice.pk}|inbox"
        )
        real_filter = Notification.objects.filter

        def nothing_queued(*args, **kwargs):  # as if the row had not been committed yet
            return real_filter(pk__in=[])

        Notification.objects.filter = nothing_queued
        try:
            notify([alice, bob], kind="case_dispatched", title="案件已派遣", dedupe_key=key)
        finally:
            del Notification.objects.filter
        assert Notification.objects.filter(dedupe_key__startswith=key).count() == 4  # usable
    assert Notification.objects.filter(dedupe_key=f"{key}|{alice.pk}|inbox", kind="k").exists()


def test_long_dedupe_keys_are_hashed(fake, alice):
    key = "x" * 400
    rows = queue(alice, dedupe_key=key)
    assert all(len(r.dedupe_key) <= 255 for r in rows) and queue(alice, dedupe_key=key) == []


# --- delivery -----------------------------------------------------------------------------------


def test_each_notification_is_sent_once(fake, alice):
    rows = queue(alice, 3, channels=["fake"])
    first = deliver_pending()
    second = deliver_pending()
    assert (first.sent, second.handled) == (3, 0)
    assert sorted(fake.calls) == sorted(r.pk for r in rows)
    assert not Notification.objects.filter(sent_at=None).exists()


def test_delivery_task_sends_everything_due(fake, alice):
    queue(alice, 5, channels=["fake"])
    result = deliver_notifications.call()
    assert result == {"sent": 5, "retried": 0, "gave_up": 0}
    assert len(fake.calls) == 5


def test_a_crash_before_commit_leaves_the_row_unsent(fake, alice):
    class Killed(BaseException):  # like SystemExit: not a channel failure, the process dies
        pass

    class Dying(FakeChannel):
        name = "fake"

        def send(self, notification):
            super().send(notification)
            raise Killed

    channels.register(Dying())
    (row,) = queue(alice, channels=["fake"])
    with pytest.raises(Killed):
        deliver_pending()
    row.refresh_from_db()
    assert (row.sent_at, row.attempts, row.last_error) == (None, 0, "")
    channels.register(fake)
    assert deliver_pending().sent == 1 and fake.calls == [row.pk]


def test_failures_back_off_then_give_up(fake, alice, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    settings.NOTIFY_RETRY_BASE_SECONDS = 30
    fake.fail_times = -1
    (row,) = queue(alice, channels=["fake"])
    t = timezone.now() + timedelta(minutes=1)
    for attempt, wait in ((1, 30), (2, 60)):
        with time_machine.travel(t, tick=False):
            assert deliver_pending().retried == 1
        row.refresh_from_db()
        assert row.attempts == attempt and row.failed_at is None and row.sent_at is None
        assert row.send_after == t + timedelta(seconds=wait)
        assert "ConnectionError: provider unreachable" in row.last_error
        with time_machine.travel(row.send_after - timedelta(seconds=1), tick=False):
            assert deliver_pending().handled == 0  # not due before its backoff
        t = row.send_after
    with time_machine.travel(t, tick=False):
        assert deliver_pending().gave_up == 1
    row.refresh_from_db()
    assert row.attempts == 3 and row.failed_at == t and row.state == "failed"
    with time_machine.travel(t + timedelta(days=1), tick=False):
        assert deliver_pending().handled == 0
    assert len(fake.calls) == 3


def test_backoff_doubles_up_to_the_cap(settings):
    settings.NOTIFY_RETRY_BASE_SECONDS = 30
    settings.NOTIFY_RETRY_MAX_SECONDS = 3600
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 7, 8)] == [30, 60, 120, 1920, 3600]


def test_a_failure_then_success_is_sent_once(fake, alice):
    fake.fail_times = 1
    (row,) = queue(alice, channels=["fake"])
    assert deliver_pending().retried == 1
    due_now()
    assert deliver_pending().sent == 1
    row.refresh_from_db()
    assert row.attempts == 1 and row.sent_at is not None and fake.calls == [row.pk, row.pk]


def test_a_channel_whose_query_fails_does_not_break_the_claim(fake, alice):
    class BadQuery(FakeChannel):
        name = "fake"

        def send(self, notification):
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM notify_no_such_table")

    channels.register(BadQuery())
    (row,) = queue(alice, channels=["fake"])
    assert deliver_pending().retried == 1
    row.refresh_from_db()
    assert row.attempts == 1 and "no_such_table" in row.last_error


def test_a_row_of_an_unknown_channel_is_given_up(alice):
    with transaction.atomic():
        row = Notification.objects.create(recipient=alice, channel="pager", kind="a", title="x")
    assert deliver_pending().gave_up == 1
    row.refresh_from_db()
    assert row.failed_at is not None and "unknown channel" in row.last_error


# --- built-in channels --------------------------------------------------------------------------


def test_inbox_and_log_channels(alice, caplog):
    caplog.set_level("INFO", logger="chengguan.notify")
    rows = queue(alice, link="/cases/9/")
    assert deliver_pending().sent == 2
    log_row = next(r for r in rows if r.channel == "log")
    assert f"notification id={log_row.pk} kind=case_dispatched" in caplog.text and "/cases/9/" in caplog.text


def test_sms_goes_to_the_configured_adapter_with_the_reference(alice, settings):
    settings.NOTIFY_CHANNELS = ["sms"]
    settings.NOTIFY_SMS_BACKEND = "tests.notify.helpers.RecordingSmsBackend"
    settings.NOTIFY_BASE_URL = "https://cg.example.gov.cn"
    RecordingSmsBackend.sent.clear()
    alice.phone = "13800000000"
    alice.save(update_fields=["phone"])
    (row,) = queue(alice, body="请处理", link="/cases/9/")
    assert deliver_pending().sent == 1
    assert RecordingSmsBackend.sent == [
        ("13800000000", "案件 0 已派遣\n请处理\nhttps://cg.example.gov.cn/cases/9/", f"cg-notify-{row.pk}")
    ]


def test_console_sms_backend_logs(alice, settings, caplog):
    caplog.set_level("INFO", logger="chengguan.notify.sms")
    settings.NOTIFY_CHANNELS = ["sms"]
    alice.phone = "13800000000"
    alice.save(update_fields=["phone"])
    (row,) = queue(alice)
    deliver_pending()
    assert f"SMS ref=cg-notify-{row.pk} to=13800000000" in caplog.text


def test_sms_without_a_phone_number_gives_up_at_once(alice, settings):
    settings.NOTIFY_CHANNELS = ["sms"]
    alice.phone = ""
    alice.save(update_fields=["phone"])
    queue(alice)
    assert deliver_pending().gave_up == 1
    assert Notification.objects.get().last_error == "PermanentFailure: recipient has no phone number"


def test_email_carries_the_reference_as_message_id(alice, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.NOTIFY_CHANNELS = ["email"]
    settings.NOTIFY_BASE_URL = "https://cg.example.gov.cn"
    alice.email = "alice@example.gov.cn"
    alice.save(update_fields=["email"])
    (row,) = queue(alice, body="请处理")
    assert deliver_pending().sent == 1
    (message,) = mail.outbox
    assert message.to == ["alice@example.gov.cn"] and message.subject == "案件 0 已派遣"
    assert message.extra_headers["Message-ID"] == f"<cg-notify-{row.pk}@cg.example.gov.cn>"
    assert message.message()["Message-ID"] == f"<cg-notify-{row.pk}@cg.example.gov.cn>"


def test_late_notifications_wait(fake, alice):
    queue(alice, channels=["fake"], send_after=timezone.now() + timedelta(hours=1))
    assert deliver_pending().handled == 0
