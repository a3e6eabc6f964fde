"""Set-based rebuild of the day aggregates (PostgreSQL): the counting rules of `counters.py`
stated once more as SQL, so that a month (or a year) of day counters and end-of-day gauges is
rebuilt from the raw case rows in a few statements instead of case by case in Python.

`counters.py` stays the reference (the fold, the drill-down and SQLite use it);
tests/evaluation/test_rebuild.py checks that this SQL gives the same rows as the Python counting
over random case histories. The same SQL text runs in DuckDB over exported rows
(bench/evaluation.py), hence the small dialect table.

Where the SQL reads a case's history through its stages rather than its events, it relies on
what the services guarantee: one open stage at a time, each event that ends a stage ends the
one open stage (so the stage ended by the last 立案/结案/挂账 before a closure is the last stage
with that `ended_by` before the closing stage), and a dispatch's tasks carry its instant.
"""

from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from django.db import connection, transaction

from . import counters

# `series`: the integers lo..hi (none when hi < lo), as a table joined laterally.
PG = {"jlen": "jsonb_array_length", "jtype": "jsonb_typeof", "series": "generate_series({lo}, {hi})"}
DUCKDB = {"jlen": "json_array_length", "jtype": "json_type", "series": "generate_series({lo}, {hi})"}
TABLES = {
    "case": "cases_case",
    "event": "cases_caseevent",
    "stage": "cases_casestage",
    "task": "cases_casetask",
}

PREFIX = """CASE {col} WHEN 'reported' THEN 'accept' WHEN 'verifying' THEN 'verify'
  WHEN 'to_register' THEN 'register' WHEN 'to_dispatch' THEN 'dispatch' WHEN 'dispatched' THEN 'handle'
  WHEN 'handling' THEN 'handle' WHEN 'to_check' THEN 'check' WHEN 'to_close' THEN 'close' END"""
AFTER_REG = "('to_dispatch', 'dispatched', 'handling', 'to_check', 'to_close')"


# What an event counts by itself (its action, its actor, the stage it ended, its case), one row
# per (action, kind, whose id, counter, condition): joined to the events on the action, so the
# events are read once. `who`: actor, reporter, dept (the event's), lead (the ended stage's
# department, else the event's), or a region of the case; `cond`: all, inspector / others (the
# case's source), timed / on_time (the ended stage has an on-time record / was on time), and
# stage_timed / stage_on_time (the same for a stage with a person prefix).
TIMED_ACTIONS = ("accept", "verify", "register", "dispatch", "check_pass", "check_fail", "close")
REGIONS = ("grid", "community", "street", "district")
RULES = [
    ("report", "person", "reporter", "reported", "inspector"),
    *((a, "person", "actor", "_ended", "stage_timed") for a in TIMED_ACTIONS),
    *((a, "person", "actor", "_on_time", "stage_on_time") for a in TIMED_ACTIONS),
    ("accept", "person", "actor", "accepted", "all"),
    ("register", "person", "actor", "registered", "all"),
    ("register", "person", "reporter", "report_registered", "inspector"),
    *(("register", r, r, "registered", "all") for r in REGIONS),
    *(("register", r, r, "registered_by_inspector", "inspector") for r in REGIONS),
    *(("register", r, r, "registered_by_others", "others") for r in REGIONS),
    ("dispatch", "person", "actor", "dispatched", "all"),
    ("handle", "department", "lead", "handled", "timed"),
    ("handle", "department", "lead", "handled_lead", "timed"),
    ("handle", "department", "lead", "handled_on_time", "on_time"),
    ("check_fail", "department", "dept", "reworked", "all"),
    *(("close", r, r, "closed", "all") for r in REGIONS),
    ("extend_approve", "department", "dept", "extended", "all"),
    ("suspend_approve", "department", "dept", "suspended", "all"),
]


def _event_ctes(d: dict, t: dict, actions: tuple[str, ...] | None = None) -> str:
    """The common part of the event counting (counter_sql, case_overview_sql): the period's events
    paired with the stages they ended (`ep`), the rules table, a dispatch's tasks and the closures'
    runs; it ends with a comma, ready for the next common table expression. With `actions`, only
    those events and the stages they ended (their pairing is the same: both row numbers are taken
    within one action)."""
    rules = ",\n    ".join("(" + ", ".join(f"'{v}'" for v in rule) + ")" for rule in RULES)
    only = ", ".join(f"'{a}'" for a in actions or ())
    event_only = f" AND ev.action IN ({only})" if actions else ""
    stage_only = f" AND s.ended_by IN ({only})" if actions else ""
    return f"""
WITH e AS (
  SELECT ev.id, ev.case_id, ev.action, ev.actor_id, ev.department_id, ev.at, ev.data,
    CAST(ev.at AT TIME ZONE %(tz)s AS date) AS day,
    row_number() OVER (PARTITION BY ev.at, ev.case_id, ev.action ORDER BY ev.id) AS rk
  FROM {t["event"]} ev WHERE ev.at >= %(lo)s AND ev.at < %(hi)s{event_only}
),
se AS (
  SELECT s.id, s.case_id, s.status, s.department_id, s.ended_at, s.ended_by, s.on_time,
    row_number() OVER (PARTITION BY s.ended_at, s.case_id, s.ended_by ORDER BY s.id) AS rk
  FROM {t["stage"]} s WHERE s.ended_at >= %(lo)s AND s.ended_at < %(hi)s{stage_only}
),
ep AS (
  SELECT e.*, se.id AS st_id, se.status AS st_status, se.department_id AS st_dept, se.on_time AS st_on_time,
    c.source, c.reporter_id, c.grid_id, c.community_id, c.street_id, c.district_id
  FROM e JOIN {t["case"]} c ON c.id = e.case_id
  LEFT JOIN se ON se.ended_at = e.at AND se.case_id = e.case_id AND se.ended_by = e.action AND se.rk = e.rk
),
rules(action, kind, who, counter, cond) AS (VALUES
    {rules}
),
-- a dispatch's tasks: the k-th dispatch at an instant created the tasks after those of the earlier ones
dsp AS (
  SELECT ep.id, ep.case_id, ep.at, ep.day,
    1 + coalesce({d["jlen"]}(CASE WHEN lower({d["jtype"]}(ep.data->'cohandlers')) = 'array' THEN ep.data->'cohandlers' END), 0)
      AS n
  FROM ep WHERE ep.action = 'dispatch'
),
dsp2 AS (
  SELECT dsp.*, coalesce(sum(dsp.n) OVER (PARTITION BY dsp.case_id, dsp.at ORDER BY dsp.id
    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS first_task FROM dsp
),
tk AS (
  SELECT tk.id, tk.case_id, tk.department_id, tk.dispatched_at,
    row_number() OVER (PARTITION BY tk.case_id, tk.dispatched_at ORDER BY tk.id) - 1 AS rk
  FROM {t["task"]} tk WHERE tk.dispatched_at >= %(lo)s AND tk.dispatched_at < %(hi)s
),
-- closures: the run since the last 立案/结案/挂账 before the closing stage, and the last dispatch's tasks;
-- the lead's handling passes are those between that dispatch and the closing stage (never a later one)
cl AS (
  SELECT ep.id, ep.case_id, ep.at, ep.day, ep.st_id, ep.grid_id, ep.community_id, ep.street_id, ep.district_id
  FROM ep WHERE ep.action = 'close'
),
cl_marks AS (
  SELECT cl.id,
    coalesce(max(s.id) FILTER (WHERE s.ended_by IN ('register', 'close', 'suspend_approve') AND s.id < cl.st_id), 0)
      AS run_after,
    max(s.id) FILTER (WHERE s.ended_by = 'dispatch'
      AND (s.id < cl.st_id OR (cl.st_id IS NULL AND s.ended_at <= cl.at))) AS dsp_stage
  FROM cl JOIN {t["stage"]} s ON s.case_id = cl.case_id GROUP BY cl.id
),
cl_run AS (
  SELECT cl.id, cl.day, cl.grid_id, cl.community_id, cl.street_id, cl.district_id,
    cl.st_id IS NOT NULL AND coalesce(bool_and(s.on_time) FILTER (
      WHERE s.id > m.run_after AND s.id <= cl.st_id AND s.on_time IS NOT NULL), true) AS run_on_time,
    ds.ended_at AS dsp_at, m.dsp_stage,
    count(*) FILTER (WHERE s.id > m.dsp_stage AND s.id < cl.st_id
      AND s.status IN ('dispatched', 'handling') AND s.on_time IS NOT NULL) AS passes,
    coalesce(bool_and(s.on_time) FILTER (WHERE s.id > m.dsp_stage AND s.id < cl.st_id
      AND s.status IN ('dispatched', 'handling') AND s.on_time IS NOT NULL), false) AS passes_on_time,
    cl.case_id
  FROM cl JOIN cl_marks m ON m.id = cl.id JOIN {t["stage"]} s ON s.case_id = cl.case_id
  LEFT JOIN {t["stage"]} ds ON ds.id = m.dsp_stage
  GROUP BY cl.id, cl.day, cl.grid_id, cl.community_id, cl.street_id, cl.district_id, cl.st_id, ds.ended_at,
    m.dsp_stage, cl.case_id
),
"""


def counter_sql(d: dict = PG, t: dict = TABLES) -> str:
    """(day, kind, object_id, counter, n) of the events at %(lo)s <= at < %(hi)s.

    The events and the stages they ended are read by instant (the indexes on `at` and
    `ended_at`, whatever the size of the tables) and paired in that order; what an event counts
    by itself comes from one join with RULES; the rest (a dispatch's tasks, the dispatcher of a
    returned dispatch, the registrant of a voided case, a co-handler's feedback, a closure's run)
    from the few events concerned."""
    prefix = PREFIX.format(col="ep.st_status")
    return (
        _event_ctes(d, t)
        + f"""
rows AS (
  -- what each event counts by itself
  SELECT ep.day, r.kind,
    CASE r.who WHEN 'actor' THEN ep.actor_id WHEN 'reporter' THEN ep.reporter_id WHEN 'dept' THEN ep.department_id
      WHEN 'lead' THEN coalesce(nullif(ep.st_dept, 0), ep.department_id) WHEN 'grid' THEN ep.grid_id
      WHEN 'community' THEN ep.community_id WHEN 'street' THEN ep.street_id WHEN 'district' THEN ep.district_id
    END AS pk,
    CASE WHEN r.cond IN ('stage_timed', 'stage_on_time') THEN {prefix} || r.counter ELSE r.counter END AS counter
  FROM ep JOIN rules r ON r.action = ep.action
  WHERE CASE r.cond WHEN 'all' THEN true
    WHEN 'inspector' THEN coalesce(ep.source = 'inspector', false)
    WHEN 'others' THEN NOT coalesce(ep.source = 'inspector', false)
    WHEN 'timed' THEN ep.st_on_time IS NOT NULL
    WHEN 'on_time' THEN coalesce(ep.st_on_time, false)
    WHEN 'stage_timed' THEN ep.st_on_time IS NOT NULL AND {prefix} IS NOT NULL
    WHEN 'stage_on_time' THEN coalesce(ep.st_on_time, false) AND {prefix} IS NOT NULL END
  -- 派遣: the tasks the dispatch created
  UNION ALL SELECT dsp2.day, 'department', tk.department_id, 'assigned' FROM dsp2 JOIN tk
    ON tk.case_id = dsp2.case_id AND tk.dispatched_at = dsp2.at AND tk.rk >= dsp2.first_task
    AND tk.rk < dsp2.first_task + dsp2.n
  -- 回退: counts against the dispatcher of the last dispatch before it
  UNION ALL SELECT ep.day, 'person', ld.actor_id, 'dispatch_returned' FROM ep
  CROSS JOIN LATERAL (SELECT x.actor_id FROM {t["event"]} x
    WHERE x.case_id = ep.case_id AND x.action = 'dispatch' AND x.id < ep.id ORDER BY x.id DESC LIMIT 1) AS ld
  WHERE ep.action = 'return'
  -- 作废: counts against the shift leader of the last registration before it
  UNION ALL SELECT ep.day, 'person', lr.actor_id, 'register_voided' FROM ep
  CROSS JOIN LATERAL (SELECT x.actor_id FROM {t["event"]} x
    WHERE x.case_id = ep.case_id AND x.action = 'register' AND x.id < ep.id ORDER BY x.id DESC LIMIT 1) AS lr
  WHERE ep.action = 'void'
  -- 协办反馈
  UNION ALL SELECT ep.day, 'department', tk.department_id, c.counter FROM ep
  JOIN {t["task"]} tk ON tk.id = CAST(ep.data->>'task' AS BIGINT) AND tk.case_id = ep.case_id
  CROSS JOIN (VALUES ('handled'), ('handled_on_time')) AS c(counter)
  WHERE ep.action = 'cohandler_feedback' AND tk.on_time IS NOT NULL AND (c.counter = 'handled' OR tk.on_time)
  -- 结案: on time for the regions, and the departments of the last dispatch
  UNION ALL SELECT r.day, v.kind, v.pk, 'closed_on_time' FROM cl_run r
  CROSS JOIN LATERAL (VALUES ('grid', r.grid_id), ('community', r.community_id), ('street', r.street_id),
    ('district', r.district_id)) AS v(kind, pk)
  WHERE r.run_on_time
  UNION ALL SELECT r.day, 'department', tk.department_id, c.counter FROM cl_run r
  JOIN {t["task"]} tk ON tk.case_id = r.case_id AND tk.dispatched_at = r.dsp_at
  CROSS JOIN (VALUES ('closed'), ('closed_on_time')) AS c(counter)
  WHERE r.dsp_stage IS NOT NULL AND (tk.role = 'lead' OR tk.status <> 'released')
    AND (c.counter = 'closed' OR CASE WHEN tk.role = 'lead' THEN r.passes > 0 AND r.passes_on_time
                                      ELSE tk.status = 'done' AND coalesce(tk.on_time, false) END)
)
SELECT day, kind, pk, counter, count(*) AS n FROM rows WHERE pk IS NOT NULL AND pk <> 0
GROUP BY day, kind, pk, counter
"""
    )


def case_overview_sql(d: dict = PG, t: dict = TABLES) -> str:
    """(case_id, counter, n): what each case of the events at %(lo)s <= at < %(hi)s counts in a
    report's overview — 受理 (`accepted`, a person's), 立案, 结案 and 按期结案 (`registered`,
    `closed`, `closed_on_time`, the district's) — by the same rules as counter_sql, over the events
    of those three actions only."""
    return (
        _event_ctes(d, t, actions=("accept", "register", "close"))
        + """
per_case(case_id, counter) AS (
  SELECT ep.case_id, 'accepted' FROM ep WHERE ep.action = 'accept' AND coalesce(ep.actor_id, 0) <> 0
  UNION ALL SELECT ep.case_id, 'registered' FROM ep
    WHERE ep.action = 'register' AND coalesce(ep.district_id, 0) <> 0
  UNION ALL SELECT ep.case_id, 'closed' FROM ep WHERE ep.action = 'close' AND coalesce(ep.district_id, 0) <> 0
  UNION ALL SELECT r.case_id, 'closed_on_time' FROM cl_run r
    WHERE r.run_on_time AND coalesce(r.district_id, 0) <> 0
)
SELECT case_id, counter, count(*) AS n FROM per_case GROUP BY case_id, counter
"""
    )


def case_overview(first: dt.date, last: dt.date) -> list[tuple[int, str, int]]:
    """case_overview_sql over the days first..last (PostgreSQL)."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL jit = off")
        cur.execute("SET LOCAL work_mem = %s", [getattr(settings, "EVALUATION_REBUILD_WORK_MEM", "256MB")])
        cur.execute(case_overview_sql(), params(first, last))
        return cur.fetchall()


def _gauge_ctes(d: dict, t: dict) -> str:
    """The common part of gauge_sql and overdue_cases_sql, ending with a comma: the stage-days
    open and overdue at a midnight (`o`: stage, case, status, department, day) and the co-handler
    task-days (`co_days`)."""

    def ld(col: str) -> str:  # the local date of a timestamptz
        return f"CAST({col} AT TIME ZONE %(tz)s AS date)"

    def days(lo: str, hi: str) -> str:  # (day number i) for i in lo..hi, clipped to the range
        return d["series"].format(
            lo=f"greatest({lo}, r.first) - r.first", hi=f"least({hi}, r.last) - r.first"
        )

    started, deadline, ended = ld("st.started_at"), ld("st.deadline"), ld("st.ended_at")
    plain_days = days(f"greatest({started}, {deadline})", f"coalesce({ended} - 1, r.last)")
    ext_days = days(started, f"least({deadline}, {ld('x.at')}, coalesce({ended}, r.last + 1)) - 1")
    co_days = days(
        f"greatest({ld('co.dispatched_at')}, {ld('co.deadline')})", f"coalesce({ld('co.ended')} - 1, r.last)"
    )
    return f"""
WITH r AS (
  SELECT CAST(%(first)s AS date) AS first, CAST(%(last)s AS date) AS last,
    CAST(CAST(%(first)s AS date) + 1 AS timestamp) AT TIME ZONE %(tz)s AS t_first,
    CAST(CAST(%(last)s AS date) + 1 AS timestamp) AT TIME ZONE %(tz)s AS t_last
),
st AS (
  SELECT s.id, s.case_id, s.status, s.department_id, s.started_at, s.deadline, s.ended_at
  FROM {t["stage"]} s, r
  WHERE s.started_at < r.t_last AND (s.ended_at IS NULL OR s.ended_at >= r.t_first)
),
-- overdue at T whatever the extensions (they only ever move a deadline later); only a stage that
-- ended after its deadline, or is still open, can have been open and overdue at a midnight
plain AS (
  SELECT st.id, st.case_id, st.status, st.department_id, r.first + CAST(gs.i AS INTEGER) AS day
  FROM st CROSS JOIN r CROSS JOIN LATERAL {plain_days} AS gs(i)
  WHERE (st.ended_at IS NULL OR st.ended_at > st.deadline) AND st.deadline < r.t_last
),
-- not overdue by the final deadline, but by the one in force at T (an extension approved at or
-- after T): the first such extension (in id order) carries the deadline in force at T
ext_days AS (
  SELECT st.id, st.case_id, st.status, st.department_id, r.first + CAST(gs.i AS INTEGER) AS day, x.id AS x_id,
    CAST(x.data->>'old_deadline' AS TIMESTAMPTZ) AS old_deadline
  FROM st CROSS JOIN r JOIN {t["event"]} x ON x.case_id = st.case_id AND x.action = 'extend_approve'
    AND x.at >= st.started_at AND (st.ended_at IS NULL OR x.at <= st.ended_at)
  CROSS JOIN LATERAL {ext_days} AS gs(i)
),
ext AS (
  SELECT ext_days.*, row_number() OVER (PARTITION BY id, day ORDER BY x_id) AS rk FROM ext_days
),
o AS (
  SELECT id, case_id, status, department_id, day FROM plain
  UNION ALL SELECT id, case_id, status, department_id, day FROM ext
  WHERE rk = 1 AND old_deadline < CAST(day + 1 AS timestamp) AT TIME ZONE %(tz)s
),
co AS (
  SELECT tk.id, tk.case_id, tk.department_id, tk.dispatched_at, tk.deadline,
    CASE WHEN tk.status = 'done' THEN tk.done_at ELSE (
      SELECT min(x.at) FROM {t["event"]} x WHERE x.case_id = tk.case_id AND x.at > tk.dispatched_at
        AND (x.action IN ('return', 'reopen', 'suspend_approve')
             OR (x.action = 'cohandler_release' AND x.data->>'task' = CAST(tk.id AS VARCHAR)))) END AS ended
  FROM {t["task"]} tk, r
  WHERE tk.role = 'co' AND tk.dispatched_at < r.t_last AND tk.deadline < r.t_last
    AND (tk.done_at IS NULL OR tk.done_at >= r.t_first)
),
co_days AS (
  SELECT co.department_id, r.first + CAST(gs.i AS INTEGER) AS day
  FROM co CROSS JOIN r CROSS JOIN LATERAL {co_days} AS gs(i)
  WHERE co.ended IS NULL OR co.ended > co.deadline
),
"""


def gauge_sql(d: dict = PG, t: dict = TABLES) -> str:
    """(day, kind, object_id, counter, n): open and overdue at the end of each day
    %(first)s..%(last)s (the instant T = the next local midnight).

    Linear in the stages: each stage (and co-handler task) is given only the days it was open and
    overdue at midnight, as one series of day numbers (i = day - first). For the day d, T is the
    midnight after d, and with L(x) the local date of x: x < T  <=>  L(x) <= d, and x >= T  <=>
    L(x) - 1 >= d. So a stage is open and past its final deadline at the end of the days
    max(L(started), L(deadline)) .. L(ended) - 1, and one that was extended later (approved at x)
    was past its earlier deadline at T only on days up to min(L(deadline), L(x)) - 1."""
    prefix = PREFIX.format(col="op.status")
    return (
        _gauge_ctes(d, t)
        + f"""
oc AS (
  SELECT o.day, o.status, c.grid_id, c.community_id, c.street_id, c.district_id
  FROM o JOIN {t["case"]} c ON c.id = o.case_id
),
op AS (
  SELECT day, status, 'grid' AS kind, grid_id AS pk FROM oc
  UNION ALL SELECT day, status, 'community', community_id FROM oc
  UNION ALL SELECT day, status, 'street', street_id FROM oc
  UNION ALL SELECT day, status, 'district', district_id FROM oc
),
rows AS (
  SELECT op.day, op.kind, op.pk, 'oo_' || {prefix} AS counter FROM op WHERE {prefix} IS NOT NULL
  UNION ALL SELECT op.day, op.kind, op.pk, 'oo_case' FROM op WHERE op.status IN {AFTER_REG}
  UNION ALL SELECT o.day, 'department', o.department_id, 'oo_task' FROM o
  WHERE o.status IN ('dispatched', 'handling')
  UNION ALL SELECT day, 'department', department_id, 'oo_task' FROM co_days
)
SELECT day, kind, pk, counter, count(*) AS n FROM rows WHERE pk IS NOT NULL AND pk <> 0
GROUP BY day, kind, pk, counter
"""
    )


def overdue_cases_sql(d: dict = PG, t: dict = TABLES) -> str:
    """(case_id): the cases open and overdue after registration at the end of %(last)s — those
    gauge_sql counts in a district's `oo_case` that day — for a snapshot's per-case overview."""
    return (
        _gauge_ctes(d, t)
        + f"""
oo AS (
  SELECT DISTINCT o.case_id FROM o CROSS JOIN r WHERE o.day = r.last AND o.status IN {AFTER_REG}
)
SELECT oo.case_id FROM oo JOIN {t["case"]} c ON c.id = oo.case_id WHERE coalesce(c.district_id, 0) <> 0
"""
    )


def overdue_cases(day: dt.date) -> set[int]:
    """overdue_cases_sql at the end of `day` (PostgreSQL)."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL jit = off")
        cur.execute(overdue_cases_sql(), params(day, day))
        return {case_id for (case_id,) in cur.fetchall()}


def params(first: dt.date, last: dt.date) -> dict:
    return {
        "tz": settings.TIME_ZONE,
        "lo": counters.midnight(first),
        "hi": counters.day_end(last),
        "first": first,
        "last": last,
    }


def supported() -> bool:
    return connection.vendor == "postgresql"


def rebuild_days(first: dt.date, last: dt.date) -> dict[str, int]:
    """Replace the counters and gauges of the days first..last (inclusive) with a recount from the
    case rows. The caller holds the fold's lock (services._settle_period) and marks the days
    settled."""
    p = params(first, last)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL jit = off")
        cur.execute("SET LOCAL work_mem = %s", [getattr(settings, "EVALUATION_REBUILD_WORK_MEM", "256MB")])
        cur.execute("DELETE FROM evaluation_dailycounter WHERE day >= %s AND day <= %s", [first, last])
        cur.execute("DELETE FROM evaluation_dailygauge WHERE day >= %s AND day <= %s", [first, last])
        t0 = time.perf_counter()
        cur.execute(
            "INSERT INTO evaluation_dailycounter (day, kind, object_id, counter, n) " + counter_sql(), p
        )
        n_counters = cur.rowcount
        t1 = time.perf_counter()
        cur.execute("INSERT INTO evaluation_dailygauge (day, kind, object_id, counter, n) " + gauge_sql(), p)
        n_gauges = cur.rowcount
        t2 = time.perf_counter()
    return {"counters": n_counters, "gauges": n_gauges, "counters_s": t1 - t0, "gauges_s": t2 - t1}


def events_per_day(first: dt.date, last: dt.date) -> dict[dt.date, int]:
    """The number of case events of each local day first..last (what SettledDay records)."""
    p = params(first, last)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT CAST(at AT TIME ZONE %(tz)s AS date), count(*) FROM cases_caseevent "
            "WHERE at >= %(lo)s AND at < %(hi)s GROUP BY 1",
            p,
        )
        return dict(cur.fetchall())
