"""Everything that writes evaluation records: folding case events into the day counters,
settling finished days from the raw case rows, publishing and recomputing snapshots, loading the
scoring configuration.

How the aggregates stay exact (docs/evaluation.md §2):

* `fold_events()` (every minute) reads the case events after its watermark, in id order, and
  adds their counts to the day counters: today's figures within a minute. It stops at the first
  event younger than `EVALUATION_FOLD_LAG_SECONDS`, so a transaction still open when its event
  id was taken is waited for rather than skipped.
* `settle_day()` (for each day once it has been over `EVALUATION_SETTLE_GRACE_MINUTES`) rebuilds
  that day's counters from all the day's events and records the gauges (stages open and overdue
  at midnight). A settled day is a pure function of the case rows, whatever the fold did; the
  fold skips settled days.
* `_roll_up()`, in the same transaction as a settlement, sums the day counters of each dekad and
  month whose days are all settled (models.Rollup), so a month or a quarter is read from a few
  rows per object rather than a row per day.

Both take the one FoldCursor row's lock, so they never interleave.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from chengguan.cases.models import CaseEvent
from chengguan.core import audit, clock, context
from chengguan.core.errors import Conflict, Invalid
from chengguan.core.models import AuditAction

from . import counters, rebuild, reports, selectors
from .choices import ObjectType, Span, Transform
from .models import (
    DailyCounter,
    DailyGauge,
    FoldCursor,
    GradeCutoff,
    GradeScale,
    Rollup,
    RollupCounter,
    ScoreBand,
    ScoreScheme,
    ScoreWeight,
    SettledDay,
    Snapshot,
    SnapshotCase,
    SnapshotFigure,
    SnapshotScore,
)
from .periods import Period, blocks_of

FOLD_BATCH = 2000
SETTLE_BATCH_DAYS = 31
DEFAULT_CONFIG = Path(__file__).resolve().parent / "fixtures" / "scoring_reference.json"


def fold_lag() -> dt.timedelta:
    return dt.timedelta(seconds=float(getattr(settings, "EVALUATION_FOLD_LAG_SECONDS", 60)))


def settle_grace() -> dt.timedelta:
    return dt.timedelta(minutes=float(getattr(settings, "EVALUATION_SETTLE_GRACE_MINUTES", 10)))


def _locked_cursor() -> FoldCursor:
    FoldCursor.objects.get_or_create(pk=1)
    return FoldCursor.objects.select_for_update().get(pk=1)


def _add_counts(counts: Counter) -> None:
    """counts[(day, kind, object id, counter)] added to the day counters (one upsert per row)."""
    if not counts:
        return
    table = connection.ops.quote_name(DailyCounter._meta.db_table)
    sql = (
        f"INSERT INTO {table} (day, kind, object_id, counter, n) VALUES (%s, %s, %s, %s, %s) "
        f"ON CONFLICT (kind, day, object_id, counter) DO UPDATE SET n = {table}.n + excluded.n"
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            sql, [(day, kind, pk, counter, n) for (day, kind, pk, counter), n in counts.items()]
        )


# --- the fold and the settlement -------------------------------------------------------------------------


def fold_events(now: dt.datetime | None = None) -> dict[str, int]:
    """Fold the case events after the watermark into the day counters (days not yet settled)."""
    now = now or clock.now()
    horizon = now - fold_lag()
    folded = skipped = 0
    while True:
        with transaction.atomic():
            cursor = _locked_cursor()
            rows = list(
                CaseEvent.objects.filter(id__gt=cursor.last_event_id)
                .order_by("id")
                .values_list("id", "case_id", "at")[:FOLD_BATCH]
            )
            ready = []
            for row in rows:
                if row[2] >= horizon:  # wait for it (and for anything after it)
                    break
                ready.append(row)
            if not ready:
                break
            days = {counters.local_day(at) for _, _, at in ready}
            settled = set(SettledDay.objects.filter(day__in=days).values_list("day", flat=True))
            wanted = {pk for pk, _, at in ready if counters.local_day(at) not in settled}
            skipped += len(ready) - len(wanted)
            if wanted:
                histories = counters.load_histories({case for pk, case, _ in ready if pk in wanted})
                counts = Counter(
                    (d, k, o, c) for d, k, o, c, _case in counters.tally_events(wanted, histories)
                )
                _add_counts(counts)
            cursor.last_event_id = ready[-1][0]
            cursor.save(update_fields=["last_event_id", "updated_at"])
            folded += len(wanted)
        if len(ready) < len(rows) or len(rows) < FOLD_BATCH:
            break
    return {"folded": folded, "skipped_settled": skipped}


def settle_day(day: dt.date, now: dt.datetime | None = None) -> dict[str, int]:
    """Rebuild one finished day's counters and gauges from the case rows."""
    now = now or clock.now()
    if counters.day_end(day) > now:
        raise Conflict(
            "day_not_over", _("该日尚未结束，不能结算 · the day is not over"), detail={"day": str(day)}
        )
    with transaction.atomic():
        _locked_cursor()
        DailyCounter.objects.filter(day=day).delete()
        DailyGauge.objects.filter(day=day).delete()
        q = Q(at__gte=counters.midnight(day), at__lt=counters.day_end(day))
        events = CaseEvent.objects.filter(q).count()
        counts = Counter((k, o, c) for _d, k, o, c, _case in counters.tally_event_query(q))
        DailyCounter.objects.bulk_create(
            [DailyCounter(day=day, kind=k, object_id=o, counter=c, n=n) for (k, o, c), n in counts.items()],
            batch_size=1000,
        )
        gauges = Counter((k, o, c) for k, o, c, _case in counters.gauge_rows(counters.day_end(day)))
        DailyGauge.objects.bulk_create(
            [DailyGauge(day=day, kind=k, object_id=o, counter=c, n=n) for (k, o, c), n in gauges.items()],
            batch_size=1000,
        )
        SettledDay.objects.update_or_create(day=day, defaults={"settled_at": now, "events": events})
        _roll_up([day], now)
    return {"events": events, "counters": len(counts), "gauges": len(gauges)}


def _roll_up(days, now: dt.datetime) -> int:
    """Replace the roll-ups of the dekads and months that hold these just-settled days: each
    block every day of which is settled gets the sums of its day counters (a month from its three
    dekads), any other loses its roll-up. The caller holds the fold's lock, in the settlement's
    transaction. Returns the blocks written."""
    blocks = sorted({b for day in days for b in blocks_of(day)}, key=lambda b: (b[0] == Span.MONTH, b[1]))
    if not blocks:
        return 0
    stale = Q()
    for span, first, _last in blocks:
        stale |= Q(span=span, first_day=first)
    Rollup.objects.filter(stale).delete()
    lo, hi = min(b[1] for b in blocks), max(b[2] for b in blocks)
    settled = set(SettledDay.objects.filter(day__gte=lo, day__lte=hi).values_list("day", flat=True))
    qn = connection.ops.quote_name
    target = qn(RollupCounter._meta.db_table)
    columns = "rollup_id, kind, object_id, counter, n"
    written = 0
    for span, first, last in blocks:
        if any(first + dt.timedelta(days=i) not in settled for i in range((last - first).days + 1)):
            continue
        rollup = Rollup.objects.create(span=span, first_day=first, last_day=last, rolled_at=now)
        dekads = []
        if span == Span.MONTH:  # every day is settled, so its three dekads are normally rolled up
            dekads = list(
                Rollup.objects.filter(span=Span.DEKAD, first_day__gte=first, last_day__lte=last).values_list(
                    "pk", flat=True
                )
            )
        if len(dekads) == 3:
            source = (
                f"SELECT %s, kind, object_id, counter, SUM(n) FROM {target} "
                f"WHERE rollup_id IN ({', '.join(['%s'] * len(dekads))}) GROUP BY kind, object_id, counter"
            )
            params = [rollup.pk, *dekads]
        else:
            source = (
                f"SELECT %s, kind, object_id, counter, SUM(n) FROM {qn(DailyCounter._meta.db_table)} "
                "WHERE day >= %s AND day <= %s GROUP BY kind, object_id, counter"
            )
            params = [rollup.pk, first, last]
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {target} ({columns}) {source}", params)
        written += 1
    return written


def settle_due(now: dt.datetime | None = None, limit: int = SETTLE_BATCH_DAYS) -> list[dt.date]:
    """Settle the finished days (over for the grace period) not settled yet, oldest first, from
    the day of the first case event; at most `limit` days a run."""
    now = now or clock.now()
    first = CaseEvent.objects.order_by("at").values_list("at", flat=True).first()
    if first is None:
        return []
    last = counters.local_day(now - settle_grace()) - dt.timedelta(days=1)
    start = counters.local_day(first)
    if last < start:
        return []
    settled = set(SettledDay.objects.filter(day__gte=start, day__lte=last).values_list("day", flat=True))
    due = [
        d for d in (start + dt.timedelta(days=i) for i in range((last - start).days + 1)) if d not in settled
    ]
    for day in due[:limit]:
        settle_day(day, now)
    return due[:limit]


# --- snapshots --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _acting(actor, via: str):
    """Audit records name the actor (a service called outside a request, e.g. by a job)."""
    if actor is not None and context.current().user_id is None:
        with context.acting(context.ActorContext(user_id=actor.pk, username=actor.username, via=via)):
            yield
    else:
        yield


def _closed(period: Period, now: dt.datetime) -> None:
    if counters.day_end(period.last) + settle_grace() > now:
        raise Conflict(
            "period_open",
            _("期间 %s 尚未结束，不能发布 · the period is not over") % period.key,
            detail={"period": period.key},
        )


def _insert_rows(model, fields: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert many new rows (a snapshot's figures: thousands a period). On PostgreSQL with COPY,
    which is several times faster than building model instances for bulk_create."""
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            [model(**dict(zip(fields, row, strict=True))) for row in rows], batch_size=2000
        )
        return
    table = connection.ops.quote_name(model._meta.db_table)
    column = {f.attname: f.column for f in model._meta.concrete_fields}
    columns = ", ".join(connection.ops.quote_name(column[f]) for f in fields)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _write_snapshot(period: Period, version: int, actor, reason: str, now: dt.datetime) -> Snapshot:
    config = {}
    figures, scores = [], []
    for object_type in ObjectType.values:
        ids = selectors.object_ids(object_type)
        rows = selectors.compute(object_type, period, selectors.objects_of(object_type), ids=ids, now=now)
        config[object_type] = selectors.score(rows, object_type, period, ids=ids)
        for row in rows:
            scores.append((object_type, row))
            for code, fig in row.figures.items():
                figures.append((object_type, row.object_id, code, fig))
    snapshot = Snapshot.objects.create(
        period=period.key,
        first_day=period.first,
        last_day=period.last,
        version=version,
        current=True,
        published_at=now,
        published_by=actor,
        reason=reason,
        config=config,
    )
    _insert_rows(
        SnapshotFigure,
        ("snapshot_id", "object_type", "object_id", "indicator", "numerator", "denominator", "value"),
        [(snapshot.pk, t, pk, code, f.numerator, f.denominator, f.value) for t, pk, code, f in figures],
    )
    _insert_rows(
        SnapshotScore,
        ("snapshot_id", "object_type", "object_id", "object_name", "score", "grade", "rank"),
        [(snapshot.pk, t, r.object_id, r.name[:200], r.score, r.grade, r.rank) for t, r in scores],
    )
    # The report's overview per case (its splits by source and kind stay as published).
    _insert_rows(
        SnapshotCase,
        ("snapshot_id", *reports.SNAPSHOT_CASE_FIELDS),
        [(snapshot.pk, *row) for row in reports.snapshot_case_rows(period, now)],
    )
    return snapshot


def _settle_period(period: Period, now: dt.datetime, *, force: bool) -> None:
    """Settle the period's days (those not settled yet, or all of them with `force`). On
    PostgreSQL each run of consecutive days is rebuilt in one set-based pass (rebuild.py: the
    same counting rules as SQL, checked against counters.py by tests/evaluation/test_rebuild.py);
    elsewhere (SQLite) day by day with the Python counting."""
    settled = set(
        SettledDay.objects.filter(day__gte=period.first, day__lte=period.last).values_list("day", flat=True)
    )
    due = [day for day in period.days() if force or day not in settled]
    if not due:
        return
    if not rebuild.supported():
        for day in due:
            settle_day(day, now)
        return
    if counters.day_end(due[-1]) > now:
        raise Conflict(
            "day_not_over", _("该日尚未结束，不能结算 · the day is not over"), detail={"day": str(due[-1])}
        )
    runs: list[list[dt.date]] = []
    for day in due:
        if runs and runs[-1][-1] + dt.timedelta(days=1) == day:
            runs[-1].append(day)
        else:
            runs.append([day])
    with transaction.atomic():
        _locked_cursor()
        for run in runs:
            rebuild.rebuild_days(run[0], run[-1])
            events = rebuild.events_per_day(run[0], run[-1])
            SettledDay.objects.bulk_create(
                [SettledDay(day=day, settled_at=now, events=events.get(day, 0)) for day in run],
                update_conflicts=True,
                unique_fields=["day"],
                update_fields=["settled_at", "events"],
            )
        _roll_up(due, now)


def publish_period(period: Period, *, actor=None, now: dt.datetime | None = None) -> Snapshot:
    """Freeze a finished period's figures (version 1). Its days are settled first."""
    now = now or clock.now()
    _closed(period, now)
    with _acting(actor, "evaluation.publish"), transaction.atomic():
        if Snapshot.objects.filter(period=period.key).exists():
            raise Conflict(
                "already_published",
                _("期间 %s 已发布，如需更正请重新计算 · already published; recompute instead") % period.key,
            )
        _settle_period(period, now, force=False)
        try:
            with transaction.atomic():
                return _write_snapshot(period, 1, actor, "", now)
        except IntegrityError:
            raise Conflict(
                "already_published", _("期间 %s 已发布 · already published") % period.key
            ) from None


def recompute_period(period: Period, *, actor, reason: str, now: dt.datetime | None = None) -> Snapshot:
    """An explicit, audited correction: rebuild the period's days from the case rows and publish
    the next version; the previous version is kept (marked superseded)."""
    now = now or clock.now()
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("reason_required", _("请填写重新计算的理由 · a reason is required"))
    _closed(period, now)
    with _acting(actor, "evaluation.recompute"), transaction.atomic():
        previous = Snapshot.objects.select_for_update().filter(period=period.key, current=True).first()
        if previous is None:
            raise Conflict("not_published", _("期间 %s 尚未发布 · the period is not published") % period.key)
        _settle_period(period, now, force=True)
        previous.current = False
        previous.save()
        snapshot = _write_snapshot(period, previous.version + 1, actor, reason, now)
        changed = _changed_figures(previous, snapshot)
        audit.write(
            AuditAction.UPDATE,
            Snapshot._meta.label,
            snapshot.pk,
            str(snapshot),
            {
                "recompute": {
                    "period": period.key,
                    "from_version": previous.version,
                    "to_version": snapshot.version,
                    "reason": reason,
                    "figures_changed": changed,
                }
            },
        )
        return snapshot


def _changed_figures(old: Snapshot, new: Snapshot) -> int:
    def key(f):
        return (f.object_type, f.object_id, f.indicator)

    before = {key(f): (f.numerator, f.denominator) for f in old.figures.all()}
    return sum(1 for f in new.figures.all() if before.get(key(f)) != (f.numerator, f.denominator))


# --- configuration ----------------------------------------------------------------------------------


def load_scoring(path: Path | str = DEFAULT_CONFIG) -> dict[str, int]:
    """Load scoring schemes and grade scales from a JSON file; a scheme or scale with the same
    object type and effective date is replaced (its weights, bands and cut-offs with it)."""
    from .indicators import indicator

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    schemes = scales = 0
    with transaction.atomic():
        for item in data.get("schemes", []):
            object_type = selectors.check_object_type(item["object_type"])
            effective = dt.date.fromisoformat(item["effective_from"])
            scheme, _created = ScoreScheme.objects.update_or_create(
                object_type=object_type,
                effective_from=effective,
                defaults={"name": item["name"], "basis": item.get("basis", "")},
            )
            scheme.weights.all().delete()
            scheme.bands.all().delete()
            for w in item["weights"]:
                ind = indicator(object_type, w["indicator"])
                if ind is None:
                    raise Invalid("bad_indicator", f"{object_type}: unknown indicator {w['indicator']}")
                transform = w.get("transform", ind.default_transform)
                if transform not in Transform.values:
                    raise Invalid("bad_transform", f"unknown transform {transform}")
                ScoreWeight.objects.create(
                    scheme=scheme, indicator=ind.code, weight=Decimal(str(w["weight"])), transform=transform
                )
            for code, bands in item.get("bands", {}).items():
                if indicator(object_type, code) is None:
                    raise Invalid("bad_indicator", f"{object_type}: unknown indicator {code}")
                for lower, score in bands:
                    ScoreBand.objects.create(
                        scheme=scheme, indicator=code, lower=int(lower), score=Decimal(str(score))
                    )
            schemes += 1
        for item in data.get("grades", []):
            scale, _created = GradeScale.objects.update_or_create(
                effective_from=dt.date.fromisoformat(item["effective_from"]), defaults={"name": item["name"]}
            )
            scale.cutoffs.all().delete()
            for grade, min_score in item["cutoffs"]:
                GradeCutoff.objects.create(scale=scale, grade=grade, min_score=Decimal(str(min_score)))
            scales += 1
    return {"schemes": schemes, "grade_scales": scales}
