"""Everything that writes notifications: queue them (`notify`), deliver them (`deliver_pending`), and
mark inbox messages read.

**Queueing.** `notify()` runs inside the caller's transaction and only inserts outbox rows, one per
channel. When that transaction commits, one `deliver_notifications` task is enqueued
(`transaction.on_commit`), unless one is already waiting to start (it will read these rows too):
an event that rolls back leaves no row and enqueues nothing, and a burst of events one task.

**Delivering exactly once.** `deliver_pending()` takes one due row at a time in its own
transaction: `SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL: concurrent workers take different
rows; SQLite has no row locks, but the project opens every transaction with BEGIN IMMEDIATE, so
only one writer at a time gets that far and the row it reads is current), hands it to the channel,
and stamps `sent_at` before the same transaction commits. A worker killed before the commit
leaves the row unsent and unlocked; it is delivered by the next sweep. So the outbox records each
notification as sent exactly once. Towards an external provider (SMS, e-mail) that is
at-least-once: the one message in flight when a worker dies may be handed over again, always with
the same `notification.reference`, which the adapters pass on as the provider's idempotency key
(see `channels.py`).

**Failures.** A channel that raises: attempts + 1, the error kept in `last_error`, and the row
waits NOTIFY_RETRY_BASE_SECONDS × 2^(attempts-1) (capped at NOTIFY_RETRY_MAX_SECONDS); after
NOTIFY_MAX_ATTEMPTS failures (or a `PermanentFailure`) it is stamped `failed_at` and left alone.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db import OperationalError, transaction
from django.db.models import Model
from django.utils import timezone

from . import channels as channel_registry
from .channels import PermanentFailure
from .conf import setting
from .db import write_transaction
from .models import Notification
from .selectors import inbox_for

logger = logging.getLogger("chengguan.notify")

_MAX_KEY = Notification._meta.get_field("dedupe_key").max_length
_MAX_ERROR = 2000


# --- queueing ------------------------------------------------------------------------------------


def _row_key(dedupe_key: str, recipient_id, channel: str) -> str:
    key = f"{dedupe_key}|{recipient_id}|{channel}"
    if len(key) <= _MAX_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _channels_for(channels: Iterable[str] | None) -> list[str]:
    active = channel_registry.active_channels()
    if channels is None:
        return active
    chosen = []
    for name in channels:
        if not channel_registry.known(name):
            raise ValueError(f"unknown notification channel {name!r}")
        # A channel the deployment has not switched on (NOTIFY_CHANNELS) is left out quietly: the
        # sender says "also by SMS", the bureau decides whether SMS exists.
        if name in active and name not in chosen:
            chosen.append(name)
    return chosen


def notify(
    recipients,
    *,
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    subject: Model | None = None,
    channels: Iterable[str] | None = None,
    dedupe_key: str | None = None,
    send_after: datetime | None = None,
) -> list[Notification]:
    """Queue a notification to each of `recipients` (a person or an iterable of people) on each
    channel, inside the caller's transaction, in one INSERT.

    channels: None → every active channel (NOTIFY_CHANNELS); a list → those of them that are active
    (an unknown name is a ValueError). subject: the record it is about (stored as its model label
    and pk). dedupe_key: the business event ("case:42:dispatched:7"); with it, the same event, person
    and channel is queued once however often this is called (rows already queued are skipped, and a
    concurrent transaction queueing the same row first is skipped by the unique index: ON CONFLICT
    DO NOTHING, so the caller's transaction is never broken by it). send_after: deliver no earlier than.

    Returns the rows this call queued, not those a dedupe_key skipped (with a dedupe_key their
    `pk` is not set: read them back by `dedupe_key` if needed). Nothing is sent here: after the
    caller's transaction commits, a `deliver_notifications` task is enqueued.

    `outbox(...).queue(...)` is the same in two steps, for a caller that must know who is told
    before it knows what they are told.
    """
    return outbox(recipients, kind=kind, channels=channels, dedupe_key=dedupe_key).queue(
        title=title, body=body, link=link, subject=subject, send_after=send_after
    )


@dataclass
class Outbox:
    """Who is told of one event, on which channels, read ahead of what they are told (`outbox()`)."""

    kind: str
    dedupe_key: str | None
    rows: list[tuple[Model, str, str | None]]  # (person, channel, the row's dedupe key)

    def queue(
        self,
        *,
        title: str,
        body: str = "",
        link: str = "",
        subject: Model | None = None,
        send_after: datetime | None = None,
    ) -> list[Notification]:
        """Write the rows (one INSERT), in the transaction `outbox()` ran in; see `notify()`."""
        connection = _connection_in_transaction()
        if not self.rows:
            return []
        base = {
            "kind": self.kind,
            "title": title[:200],
            "body": body,
            "link": link,
            "subject_type": subject._meta.label if subject is not None else "",
            "subject_id": subject.pk if subject is not None else None,
            "send_after": send_after or timezone.now(),
        }
        created = [
            Notification(recipient=person, channel=channel, dedupe_key=key, **base)
            for person, channel, key in self.rows
        ]
        # ignore_conflicts: a concurrent transaction may have queued a row since `outbox()` looked.
        Notification.objects.bulk_create(created, ignore_conflicts=self.dedupe_key is not None)
        _enqueue_delivery_on_commit(connection)
        return created


def outbox(
    recipients,
    *,
    kind: str,
    channels: Iterable[str] | None = None,
    dedupe_key: str | None = None,
    new_event: bool = False,
) -> Outbox:
    """The first step of `notify()`: the rows to queue (each recipient on each channel, less those
    a dedupe_key finds queued already). Reads only; `.queue(title=…)` writes them later in the same
    transaction.

    new_event: the event the dedupe_key names was recorded in this very transaction, so nothing of
    it can be queued yet and the look-up is skipped; the keys are stored all the same, and a second
    queueing of the event is still skipped by the unique index (though then reported as queued)."""
    _connection_in_transaction()
    people = [recipients] if isinstance(recipients, Model) else list(recipients)
    names = _channels_for(channels)
    rows = [(person, name, None) for person in people for name in names]
    if dedupe_key is not None:
        rows = [(person, name, _row_key(dedupe_key, person.pk, name)) for person, name, _ in rows]
    if dedupe_key is not None and rows and not new_event:
        queued = set(
            Notification.objects.filter(dedupe_key__in=[key for *_, key in rows]).values_list(
                "dedupe_key", flat=True
            )
        )
        rows = [row for row in rows if row[2] not in queued]
    return Outbox(kind=kind, dedupe_key=dedupe_key, rows=rows)


def _connection_in_transaction():
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError(
            "notify() must run inside the transaction that records the event (wrap it in transaction.atomic)"
        )
    return connection


def _enqueue_delivery() -> None:
    """After a commit: enqueue a delivery, unless one is already waiting to start. That one will
    deliver this transaction's rows too: they were committed before this check, so before it runs.
    A burst of reports then costs one indexed look-up each instead of a task row and a commit."""
    from .jobs import deliver_notifications

    if _delivery_waiting(deliver_notifications):
        return
    deliver_notifications.enqueue()


def _delivery_waiting(task) -> bool:
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    backend = task.get_backend()
    if not isinstance(backend, DatabaseBackend):
        return False
    return (
        DBTaskResult.objects.ready()
        .filter(task_path=task.module_path, backend_name=backend.alias, queue_name=task.queue_name)
        .exists()
    )


def _enqueue_delivery_on_commit(connection) -> None:
    """One delivery task per transaction, however many notify() calls it made."""
    try:
        pending = any(func is _enqueue_delivery for _sids, func, *_ in connection.run_on_commit)
    except (AttributeError, TypeError, ValueError):  # Django internals changed: enqueue once per call
        pending = False
    if not pending:
        # robust: a queue that is down must not turn a committed request into an error; the
        # periodic sweep (NOTIFY_SWEEP_SECONDS) delivers the rows anyway.
        transaction.on_commit(_enqueue_delivery, robust=True)


def mark_read(user, ids: Iterable[int]) -> int:
    """Mark these inbox messages of `user` read; ids of other people's messages are ignored.
    Returns how many changed."""
    ids = [int(i) for i in ids]
    if not ids:
        return 0
    return inbox_for(user).filter(pk__in=ids, read_at__isnull=True).update(read_at=timezone.now())


def mark_all_read(user) -> int:
    """Mark every message in `user`'s inbox read. Returns how many changed."""
    return inbox_for(user).filter(read_at__isnull=True).update(read_at=timezone.now())


# --- delivery ------------------------------------------------------------------------------------


@dataclass
class DeliveryStats:
    sent: int = 0
    retried: int = 0  # failed, will be tried again
    gave_up: int = 0  # failed for good (failed_at set)

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.gave_up

    def __iadd__(self, other: DeliveryStats) -> DeliveryStats:
        self.sent += other.sent
        self.retried += other.retried
        self.gave_up += other.gave_up
        return self

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def due():
    """Rows waiting to be delivered now, in the order they are delivered (uses notify_due_idx)."""
    return Notification.objects.filter(
        sent_at__isnull=True, failed_at__isnull=True, send_after__lte=timezone.now()
    ).order_by("send_after", "id")


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure."""
    base = float(setting("NOTIFY_RETRY_BASE_SECONDS"))
    return timedelta(
        seconds=min(base * 2 ** max(attempts - 1, 0), float(setting("NOTIFY_RETRY_MAX_SECONDS")))
    )


def _is_locked(exc: OperationalError) -> bool:
    return "locked" in str(exc).lower()


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]


def _deliver(row: Notification, stats: DeliveryStats) -> None:
    """Send one claimed row and record the outcome (inside the claiming transaction)."""
    now = timezone.now()
    try:
        channel = channel_registry.get_channel(row.channel)
    except KeyError:
        channel, error = None, PermanentFailure(f"unknown channel {row.channel!r}")
    else:
        error = None
        try:
            # A savepoint, so a channel whose own query fails cannot poison the claiming transaction.
            with transaction.atomic():
                channel.send(row)
        except Exception as exc:  # any failure of a channel is retried, see PermanentFailure
            error = exc
    if error is None:
        row.sent_at = now
        row.save(update_fields=["sent_at"])
        stats.sent += 1
        return
    row.attempts += 1
    row.last_error = _error_text(error)
    if isinstance(error, PermanentFailure) or row.attempts >= int(setting("NOTIFY_MAX_ATTEMPTS")):
        row.failed_at = now
        stats.gave_up += 1
        logger.warning(
            "notification %s gave up after %s attempt(s): %s", row.pk, row.attempts, row.last_error
        )
    else:
        row.send_after = now + backoff(row.attempts)
        stats.retried += 1
        logger.info(
            "notification %s attempt %s failed, retry at %s: %s",
            row.pk,
            row.attempts,
            row.send_after,
            row.last_error,
        )
    row.save(update_fields=["attempts", "last_error", "failed_at", "send_after"])


def deliver_pending(batch: int | None = None) -> DeliveryStats:
    """Deliver up to `batch` due notifications (NOTIFY_BATCH), each in its own transaction: claim the
    row (skipping rows other workers hold), send it, stamp the outcome, commit. Safe to run in any
    number of workers at once. Returns what it did; fewer than `batch` handled means nothing more
    is due for now."""
    batch = int(batch or setting("NOTIFY_BATCH"))
    stats = DeliveryStats()
    for _ in range(batch):
        try:
            with write_transaction():
                row = (
                    due()
                    .select_related("recipient")
                    .select_for_update(skip_locked=True, of=("self",))
                    .first()
                )
                if row is None:
                    break
                _deliver(row, stats)
        except OperationalError as exc:
            # SQLite: another writer held the database past the timeout; the next sweep goes on.
            if _is_locked(exc):
                logger.info("notify delivery paused: database is locked")
                break
            raise
    return stats


def deliver_all_pending(batch: int | None = None) -> DeliveryStats:
    """`deliver_pending` until nothing is due (rows that just failed wait for their backoff)."""
    batch = int(batch or setting("NOTIFY_BATCH"))
    total = DeliveryStats()
    while True:
        stats = deliver_pending(batch)
        total += stats
        if stats.handled < batch:
            return total


__all__ = [
    "DeliveryStats",
    "Outbox",
    "backoff",
    "deliver_all_pending",
    "deliver_pending",
    "due",
    "mark_all_read",
    "mark_read",
    "notify",
    "outbox",
]
