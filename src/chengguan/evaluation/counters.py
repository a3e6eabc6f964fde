"""What each case event counts, and what is open and overdue at an instant: the one statement of
the counting rules, used alike by the incremental fold, the day settlement, a recompute and the
drill-down (so a figure and the list of cases behind it cannot disagree).

Two kinds of numbers (definitions in docs/evaluation.md):

* **Event counters** — each case event adds to counters dated by the event's local day (a
  closure on 3 March counts on 3 March, whenever the case was reported). They depend only on
  rows that never change once written: the event, the stage it ended (its `on_time` is frozen
  when it ends), the tasks its dispatch created, and a co-handler task once it fed back.
* **Gauges** — stages (and co-handler tasks) open and past their deadline at an instant T: a
  stage is open at T when it started before T and had not ended before T; it is overdue at T
  when the deadline in force at T (an extension approved later does not count back) is before
  T. Approved suspensions (挂账) end the stage without counting, so a suspended case is never
  open-overdue.

Everything here reads rows in bulk (a few queries for any number of cases) and is pure Python
after that.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q

from chengguan.cases.choices import CaseAction, CaseSource, CaseStatus, TaskRole, TaskStatus
from chengguan.cases.models import Case, CaseEvent, CaseStage, CaseTask

from .choices import CounterKind

TZ = ZoneInfo(settings.TIME_ZONE)
CHUNK = 2000

# The person counters of the timed stage a status stands for (the stage's `status` column).
STAGE_PREFIX = {
    CaseStatus.REPORTED: "accept",
    CaseStatus.VERIFYING: "verify",
    CaseStatus.TO_REGISTER: "register",
    CaseStatus.TO_DISPATCH: "dispatch",
    CaseStatus.DISPATCHED: "handle",
    CaseStatus.HANDLING: "handle",
    CaseStatus.TO_CHECK: "check",
    CaseStatus.TO_CLOSE: "close",
}
# Stages after registration: a case open and overdue in one of them counts against 结案率.
AFTER_REGISTRATION = frozenset(
    {
        CaseStatus.TO_DISPATCH,
        CaseStatus.DISPATCHED,
        CaseStatus.HANDLING,
        CaseStatus.TO_CHECK,
        CaseStatus.TO_CLOSE,
    }
)
# Events that end every open co-handler task without counting it: the lead gave the case back,
# the case was reopened, or its suspension was approved.
CO_TASK_ABANDONED = frozenset({CaseAction.RETURN, CaseAction.REOPEN, CaseAction.SUSPEND_APPROVE})
REGION_KINDS = (
    (CounterKind.GRID, "grid_id"),
    (CounterKind.COMMUNITY, "community_id"),
    (CounterKind.STREET, "street_id"),
    (CounterKind.DISTRICT, "district_id"),
)


def local_day(at: dt.datetime) -> dt.date:
    return at.astimezone(TZ).date()


def midnight(day: dt.date) -> dt.datetime:
    """The instant a local day begins."""
    return dt.datetime.combine(day, dt.time(), tzinfo=TZ)


def day_end(day: dt.date) -> dt.datetime:
    """The instant a local day is over (the next day's midnight)."""
    return midnight(day + dt.timedelta(days=1))


# --- one case's history ------------------------------------------------------------------------------


@dataclass(slots=True)
class Facts:
    id: int
    source: str
    reporter_id: int | None
    grid_id: int | None
    community_id: int | None
    street_id: int | None
    district_id: int | None

    def places(self) -> list[tuple[str, int]]:
        return [(kind, getattr(self, name)) for kind, name in REGION_KINDS if getattr(self, name)]


@dataclass(slots=True)
class Ev:
    id: int
    case_id: int
    action: str
    actor_id: int | None
    department_id: int | None
    at: dt.datetime
    data: dict


@dataclass(slots=True)
class St:
    id: int
    case_id: int
    status: str
    department_id: int | None
    started_at: dt.datetime
    deadline: dt.datetime
    ended_at: dt.datetime | None
    ended_by: str
    on_time: bool | None


@dataclass(slots=True)
class Tk:
    id: int
    case_id: int
    department_id: int
    role: str
    status: str
    dispatched_at: dt.datetime
    deadline: dt.datetime
    done_at: dt.datetime | None
    on_time: bool | None


@dataclass
class History:
    """A case with all its events, stages and tasks (each in id order), and the pairings the
    counting needs: which stage an event ended, which tasks a dispatch created."""

    case: Facts
    events: list[Ev]
    stages: list[St]
    tasks: list[Tk]
    _ended: dict[int, St] = field(default_factory=dict)
    _created: dict[int, list[Tk]] = field(default_factory=dict)
    _co_end: dict[int, dt.datetime | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The k-th event with a given (instant, action) ended the k-th stage with that
        # (ended_at, ended_by): stage ids follow creation order, so ties on a frozen clock pair up.
        by_end: dict[tuple, list[St]] = defaultdict(list)
        for stage in self.stages:
            if stage.ended_at is not None:
                by_end[(stage.ended_at, stage.ended_by)].append(stage)
        seen: dict[tuple, int] = defaultdict(int)
        for ev in self.events:
            key = (ev.at, ev.action)
            candidates = by_end.get(key)
            if candidates:
                k = seen[key]
                if k < len(candidates):
                    self._ended[ev.id] = candidates[k]
                seen[key] = k + 1
        # A dispatch created its lead task and one task per co-handler, in that order.
        by_time: dict[dt.datetime, list[Tk]] = defaultdict(list)
        for task in self.tasks:
            by_time[task.dispatched_at].append(task)
        taken: dict[dt.datetime, int] = defaultdict(int)
        for ev in self.events:
            if ev.action != CaseAction.DISPATCH:
                continue
            n = 1 + len(ev.data.get("cohandlers") or [])
            start = taken[ev.at]
            self._created[ev.id] = by_time.get(ev.at, [])[start : start + n]
            taken[ev.at] = start + n
        # When each co-handler task stopped being open: its feedback, its release, or the first
        # event after its dispatch that abandoned it.
        for ev in self.events:
            if ev.action != CaseAction.DISPATCH:
                continue
            for task in self._created.get(ev.id, []):
                if task.role != TaskRole.CO:
                    continue
                end = task.done_at if task.status == TaskStatus.DONE else None
                if end is None:
                    for later in self.events:
                        if later.id <= ev.id:
                            continue
                        if (
                            later.action == CaseAction.COHANDLER_RELEASE and later.data.get("task") == task.id
                        ) or later.action in CO_TASK_ABANDONED:
                            end = later.at
                            break
                self._co_end[task.id] = end

    def ended_stage(self, ev: Ev) -> St | None:
        return self._ended.get(ev.id)

    def tasks_created(self, ev: Ev) -> list[Tk]:
        return self._created.get(ev.id, [])

    def task(self, pk) -> Tk | None:
        return next((t for t in self.tasks if t.id == pk), None)

    def last_before(self, ev: Ev, actions: Iterable[str]) -> Ev | None:
        actions = set(actions)
        found = None
        for other in self.events:
            if other.id >= ev.id:
                break
            if other.action in actions:
                found = other
        return found

    def co_task_end(self, task: Tk) -> dt.datetime | None:
        return self._co_end.get(task.id, task.done_at)


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def load_histories(case_ids: Iterable[int]) -> dict[int, History]:
    """Histories of the given cases, four queries per chunk of cases."""
    ids = sorted(set(case_ids))
    facts: dict[int, Facts] = {}
    events: dict[int, list[Ev]] = defaultdict(list)
    stages: dict[int, list[St]] = defaultdict(list)
    tasks: dict[int, list[Tk]] = defaultdict(list)
    for chunk in _chunks(ids):
        for row in Case.objects.filter(pk__in=chunk).values_list(
            "id", "source", "reporter_id", "grid_id", "community_id", "street_id", "district_id"
        ):
            facts[row[0]] = Facts(*row)
        for row in (
            CaseEvent.objects.filter(case_id__in=chunk)
            .order_by("id")
            .values_list("id", "case_id", "action", "actor_id", "department_id", "at", "data")
        ):
            events[row[1]].append(Ev(*row[:6], row[6] or {}))
        for row in (
            CaseStage.objects.filter(case_id__in=chunk)
            .order_by("id")
            .values_list(
                "id",
                "case_id",
                "status",
                "department_id",
                "started_at",
                "deadline",
                "ended_at",
                "ended_by",
                "on_time",
            )
        ):
            stages[row[1]].append(St(*row))
        for row in (
            CaseTask.objects.filter(case_id__in=chunk)
            .order_by("id")
            .values_list(
                "id",
                "case_id",
                "department_id",
                "role",
                "status",
                "dispatched_at",
                "deadline",
                "done_at",
                "on_time",
            )
        ):
            tasks[row[1]].append(Tk(*row))
    return {pk: History(f, events[pk], stages[pk], tasks[pk]) for pk, f in facts.items()}


# --- event counters ------------------------------------------------------------------------------------


def event_counts(h: History, ev: Ev) -> list[tuple[str, int, str]]:
    """The (kind, object id, counter) entries one event adds 1 to, on the event's local day."""
    out: list[tuple[str, int, str]] = []
    case = h.case
    action = ev.action
    stage = h.ended_stage(ev)

    def person(pk, counter):
        if pk:
            out.append((CounterKind.PERSON, pk, counter))

    def department(pk, counter):
        if pk:
            out.append((CounterKind.DEPARTMENT, pk, counter))

    def regions(counter):
        for kind, pk in case.places():
            out.append((kind, pk, counter))

    def timed_stage():
        """The actor's on-time record for the stage this event ended (not for a suspension)."""
        if stage is None or stage.on_time is None or stage.status not in STAGE_PREFIX:
            return
        prefix = STAGE_PREFIX[stage.status]
        person(ev.actor_id, f"{prefix}_ended")
        if stage.on_time:
            person(ev.actor_id, f"{prefix}_on_time")

    if action == CaseAction.REPORT:
        if case.source == CaseSource.INSPECTOR:
            person(case.reporter_id, "reported")
    elif action == CaseAction.ACCEPT:
        person(ev.actor_id, "accepted")
        timed_stage()
    elif action == CaseAction.VERIFY:
        timed_stage()
    elif action == CaseAction.REGISTER:
        timed_stage()
        person(ev.actor_id, "registered")
        regions("registered")
        if case.source == CaseSource.INSPECTOR:
            person(case.reporter_id, "report_registered")
            regions("registered_by_inspector")
        else:
            regions("registered_by_others")
    elif action == CaseAction.DISPATCH:
        timed_stage()
        person(ev.actor_id, "dispatched")
        for task in h.tasks_created(ev):
            department(task.department_id, "assigned")
    elif action == CaseAction.RETURN:
        dispatch = h.last_before(ev, {CaseAction.DISPATCH})
        if dispatch is not None:
            person(dispatch.actor_id, "dispatch_returned")
    elif action == CaseAction.VOID:
        # 作废数 of 准确立案率: against the shift leader of the last registration before it.
        register = h.last_before(ev, {CaseAction.REGISTER})
        if register is not None:
            person(register.actor_id, "register_voided")
    elif action == CaseAction.HANDLE:
        if stage is not None and stage.on_time is not None:
            dept = stage.department_id or ev.department_id
            department(dept, "handled")
            department(dept, "handled_lead")
            if stage.on_time:
                department(dept, "handled_on_time")
    elif action == CaseAction.COHANDLER_FEEDBACK:
        task = h.task(ev.data.get("task"))
        if task is not None and task.on_time is not None:
            department(task.department_id, "handled")
            if task.on_time:
                department(task.department_id, "handled_on_time")
    elif action in (CaseAction.CHECK_PASS, CaseAction.CHECK_FAIL):
        timed_stage()
        if action == CaseAction.CHECK_FAIL:
            department(ev.department_id, "reworked")
    elif action == CaseAction.CLOSE:
        timed_stage()
        regions("closed")
        if _run_on_time(h, ev, stage):
            regions("closed_on_time")
        for dept, on_time in _closing_departments(h, ev, stage):
            department(dept, "closed")
            if on_time:
                department(dept, "closed_on_time")
    elif action == CaseAction.EXTEND_APPROVE:
        department(ev.department_id, "extended")
    elif action == CaseAction.SUSPEND_APPROVE:
        department(ev.department_id, "suspended")
    return out


def _run_on_time(h: History, close: Ev, close_stage: St | None) -> bool:
    """A closure is on time (按期结案) when every timed stage of its run ended on time: the
    stages after the registration, or after the previous closure or suspension for a reopened
    case, up to and including the closing stage. Rework, a return and re-dispatch are in the run."""
    if close_stage is None:
        return False
    start = h.last_before(close, {CaseAction.REGISTER, CaseAction.CLOSE, CaseAction.SUSPEND_APPROVE})
    start_stage = h.ended_stage(start) if start is not None else None
    after = start_stage.id if start_stage is not None else 0
    run = [s for s in h.stages if after < s.id <= close_stage.id and s.on_time is not None]
    return all(s.on_time for s in run)


def _closing_departments(h: History, close: Ev, close_stage: St | None) -> list[tuple[int, bool]]:
    """The departments a closure counts for, each judged on its own task (协办 counts for each
    department on its own task): the tasks of the last dispatch, released co-handlers excluded.
    The lead is on time when every handling pass from that dispatch up to the closing stage
    (rework included) was; a co-handler when its feedback was.

    Only stages before the closing stage count, so a closure's figures never change afterwards:
    a reopened case's later handling passes belong to its next closure, not to this one (and a
    closure that ended no stage, which the services never write, has no on-time lead)."""
    dispatch = h.last_before(close, {CaseAction.DISPATCH})
    if dispatch is None:
        return []
    dispatch_stage = h.ended_stage(dispatch)
    after = dispatch_stage.id if dispatch_stage is not None else 0
    until = close_stage.id if close_stage is not None else after
    out = []
    for task in h.tasks_created(dispatch):
        if task.role == TaskRole.LEAD:
            passes = [
                s.on_time
                for s in h.stages
                if after < s.id < until and STAGE_PREFIX.get(s.status) == "handle" and s.on_time is not None
            ]
            out.append((task.department_id, bool(passes) and all(passes)))
        elif task.status != TaskStatus.RELEASED:
            out.append((task.department_id, task.status == TaskStatus.DONE and bool(task.on_time)))
    return out


def tally_events(event_ids: set[int], histories: dict[int, History]) -> Iterator[tuple]:
    """(day, kind, object id, counter, case id) for each count of the given events."""
    for h in histories.values():
        for ev in h.events:
            if ev.id in event_ids:
                day = local_day(ev.at)
                for kind, pk, counter in event_counts(h, ev):
                    yield day, kind, pk, counter, h.case.id


def tally_event_query(q: Q) -> Iterator[tuple]:
    """Counts of the events matching `q` (their cases' histories are loaded whole)."""
    rows = list(CaseEvent.objects.filter(q).values_list("id", "case_id"))
    if not rows:
        return iter(())
    histories = load_histories({case_id for _, case_id in rows})
    return tally_events({pk for pk, _ in rows}, histories)


# --- gauges: open and overdue at an instant ---------------------------------------------------------


def _deadline_at(stage: St, at: dt.datetime, extensions: list[Ev]) -> dt.datetime:
    """The stage's deadline as it stood at `at`: an extension approved at or after `at` while the
    stage was open had not yet moved it."""
    for ev in extensions:  # in id order
        if ev.at >= at and ev.at >= stage.started_at and (stage.ended_at is None or ev.at <= stage.ended_at):
            old = ev.data.get("old_deadline")
            if old:
                return dt.datetime.fromisoformat(old)
    return stage.deadline


def gauge_rows(at: dt.datetime, case_ids: Iterable[int] | None = None) -> Iterator[tuple[str, int, str, int]]:
    """(kind, object id, counter, case id) for every stage and co-handler task open and overdue
    at the instant `at`.

    Regions get `oo_<stage>` per stage (accept, verify, register, dispatch, handle, check, close)
    and `oo_case` for a case overdue after its registration; departments get `oo_task` for their
    lead handling stage or their co-handler task."""
    stage_q = CaseStage.objects.filter(started_at__lt=at).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gte=at)
    )
    task_q = CaseTask.objects.filter(role=TaskRole.CO, dispatched_at__lt=at, deadline__lt=at).filter(
        Q(done_at__isnull=True) | Q(done_at__gte=at)
    )
    if case_ids is not None:
        ids = list(case_ids)
        stage_q = stage_q.filter(case_id__in=ids)
        task_q = task_q.filter(case_id__in=ids)
    stages = [
        St(*row)
        for row in stage_q.values_list(
            "id",
            "case_id",
            "status",
            "department_id",
            "started_at",
            "deadline",
            "ended_at",
            "ended_by",
            "on_time",
        )
    ]
    # Extensions approved at or after `at` may have moved a deadline that had already passed.
    maybe_moved = [s.case_id for s in stages if s.deadline >= at]
    extensions: dict[int, list[Ev]] = defaultdict(list)
    if maybe_moved:
        for chunk in _chunks(sorted(set(maybe_moved))):
            for row in (
                CaseEvent.objects.filter(case_id__in=chunk, action=CaseAction.EXTEND_APPROVE, at__gte=at)
                .order_by("id")
                .values_list("id", "case_id", "action", "actor_id", "department_id", "at", "data")
            ):
                extensions[row[1]].append(Ev(*row[:6], row[6] or {}))
    overdue = [s for s in stages if _deadline_at(s, at, extensions.get(s.case_id, [])) < at]
    co_candidates = list(task_q.values_list("case_id", flat=True).distinct())
    places = {}
    wanted = {s.case_id for s in overdue} | set(co_candidates)
    for chunk in _chunks(sorted(wanted)):
        for row in Case.objects.filter(pk__in=chunk).values_list(
            "id", "source", "reporter_id", "grid_id", "community_id", "street_id", "district_id"
        ):
            places[row[0]] = Facts(*row).places()
    for stage in overdue:
        prefix = STAGE_PREFIX.get(stage.status)
        if prefix is None:
            continue
        for kind, pk in places.get(stage.case_id, []):
            yield kind, pk, f"oo_{prefix}", stage.case_id
            if stage.status in AFTER_REGISTRATION:
                yield kind, pk, "oo_case", stage.case_id
        if prefix == "handle" and stage.department_id:
            yield CounterKind.DEPARTMENT, stage.department_id, "oo_task", stage.case_id
    if co_candidates:
        histories = load_histories(co_candidates)
        for h in histories.values():
            for task in h.tasks:
                if task.role != TaskRole.CO or not (task.dispatched_at < at and task.deadline < at):
                    continue
                end = h.co_task_end(task)
                if end is None or end >= at:
                    yield CounterKind.DEPARTMENT, task.department_id, "oo_task", h.case.id
