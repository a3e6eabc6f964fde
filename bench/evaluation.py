"""Benchmark: evaluation figures at a city's scale (not a test: it measures and prints).

    .venv/bin/python bench/evaluation.py [--cases 12000000] [--span 2025-01-01..2025-12-31]
        [--month 2025-06] [--jobs 2] [--chunk 50000] [--runs 7] [--db NAME] [--keep-db]
        [--reuse-db [--append N --span …]] [--skip-year] [--no-duckdb]

In a scratch PostgreSQL database (127.0.0.1:5432, `chengguan_bench_eval`, dropped at the end
unless --keep-db; --reuse-db measures an existing one, --append adds cases to it): the demo city,
then cases reported uniformly over the --span days, with their stages, events and tasks
(bench/evaluation_data.py, set-based SQL, --jobs statements at a time).

(b) closes --month from scratch through `services.publish_period` (its aggregates, settled days
    and snapshot deleted first; on PostgreSQL the days are rebuilt set-based) — goal ≤ 5 s for a
    month of 1 M cases;
(c) DuckDB: the raw rows of the cases alive in that month, exported with COPY to CSV, the same
    counting SQL run by DuckDB on them (month totals, gauges at the month's end), the indicators
    formed from those counts and compared with the project's, figure by figure, for every object
    (0 mismatches expected);
(a) settles every other month of the year the same way, then times `selectors.live_figures` for
    every object type for --month and a custom 90-day range: median and p95 of --runs runs,
    queries per call — goal ≤ 50 ms each.
See docs/evaluation.md (§9) and bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import evaluation_data  # noqa: E402

GOAL_READ_MS, GOAL_CLOSE_S = 50.0, 5.0
TZ_NAME = "Asia/Shanghai"
TZ = ZoneInfo(TZ_NAME)
HORIZON = dt.datetime(2026, 1, 1, tzinfo=TZ)
NOW = HORIZON + dt.timedelta(days=5)  # the evaluation clock: 2025 is over and settled
YEAR = 2025
CUSTOM = "2025-09-01..2025-11-29"  # 90 days


def say(msg: str = "") -> None:
    print(msg, flush=True)


def loadavg() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def machine() -> str:
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().splitlines()[0].split()[1])
        mem = f"; {kb / 1024 / 1024:.0f} GB RAM"
    return f"{cpu}; {os.cpu_count()} CPUs{mem}; {platform.platform()}; python {platform.python_version()}"


def admin(sql: str, dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql)


def spans(text: str) -> list[tuple[dt.date, dt.date]]:
    out = []
    for part in text.split(","):
        a, b = part.split("..")
        out.append((dt.date.fromisoformat(a), dt.date.fromisoformat(b)))
    return out


def generate(args, dsn: str, first_id: int) -> dict:
    """--cases (or --append) cases over the --span ranges, in proportion to their days; the
    indexes of the case tables are dropped for the load and built again (both timed)."""
    import psycopg

    out = {}
    n = args.append if args.reuse_db else args.cases
    ranges = spans(args.span)
    total_days = sum((b - a).days + 1 for a, b in ranges)
    with psycopg.connect(dsn) as conn:
        restore = evaluation_data.drop_indexes(conn)
    t = time.perf_counter()
    given = 0
    for i, (a, b) in enumerate(ranges):
        days = (b - a).days + 1
        count = n - given if i == len(ranges) - 1 else round(n * days / total_days)
        say(f"  {count:,} cases reported {a}..{b} (ids from {first_id + given:,}) ...")
        start = dt.datetime.combine(a, dt.time(), tzinfo=TZ)
        evaluation_data.generate(
            dsn,
            count,
            start,
            days,
            HORIZON,
            TZ_NAME,
            args.chunk,
            say,
            first_id=first_id + given,
            jobs=args.jobs,
        )
        given += count
    out["generate rows"] = time.perf_counter() - t
    t = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        evaluation_data.restore_indexes(conn, restore)
    out["rebuild indexes + analyze"] = time.perf_counter() - t
    return out


def build(args, dsn_admin: str, dsn: str) -> dict:
    import subprocess

    out = {}
    admin(f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)", dsn_admin)
    admin(f"CREATE DATABASE {args.db}", dsn_admin)
    env = dict(os.environ, DATABASE_URL=dsn, DEBUG="false", LOG_LEVEL="WARNING")
    env["CHENGGUAN_VAR_DIR"] = tempfile.mkdtemp(prefix="cg-bench-eval-")
    t = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "chengguan"), "demo", "--no-serve", "--days", "0"],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=600,
        stdout=subprocess.DEVNULL,
    )
    out["demo city (migrations + demo)"] = time.perf_counter() - t
    out.update(generate(args, dsn, 1))
    return out


def setup_django(dsn: str) -> None:
    os.environ["DATABASE_URL"] = dsn
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chengguan.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


class Queries:
    def __init__(self):
        self.n = 0

    def __call__(self, execute, sql, params, many, context):
        self.n += 1
        return execute(sql, params, many, context)


def time_reads(period, runs: int, now) -> list[tuple]:
    from django.db import connection

    from chengguan.evaluation import selectors
    from chengguan.evaluation.choices import ObjectType

    out = []
    for object_type in ObjectType.values:
        selectors.live_figures(object_type, period, now=now)  # warm-up
        q = Queries()
        with connection.execute_wrapper(q):
            rows = selectors.live_figures(object_type, period, now=now)
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            selectors.live_figures(object_type, period, now=now)
            times.append((time.perf_counter() - t) * 1000)
        # one object, as its own page and the API's figure of one object read it
        one = rows[len(rows) // 2]
        single = []
        for _ in range(runs + 1):
            t = time.perf_counter()
            found = selectors.compute(object_type, period, [(one.object_id, one.name)], now=now)
            selectors.score(found, object_type, period)
            single.append((time.perf_counter() - t) * 1000)
        single = sorted(single[1:])
        out.append((object_type, len(rows), *_median_p95(times), q.n, *_median_p95(single)))
    return out


def _median_p95(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * len(times) + 0.5) - 1)]


def forget(period, *, last_day_only: bool = False) -> None:
    """A month from scratch: no aggregates, no settled days, no snapshot. `last_day_only`: the
    month as the worker leaves it at its end, every day settled but the last, nothing published."""
    from django.db import connection, transaction

    from chengguan.evaluation.models import DailyCounter, DailyGauge, Rollup, SettledDay, Snapshot

    first = period.last if last_day_only else period.first
    with transaction.atomic():
        Rollup.objects.filter(last_day__gte=first, first_day__lte=period.last).delete()
        DailyCounter.objects.filter(day__gte=first, day__lte=period.last).delete()
        DailyGauge.objects.filter(day__gte=first, day__lte=period.last).delete()
        SettledDay.objects.filter(day__gte=first, day__lte=period.last).delete()
        ids = list(Snapshot.objects.filter(period=period.key).values_list("pk", flat=True))
        if ids:  # snapshots are frozen through the ORM: raw SQL, scratch database only
            with connection.cursor() as cur:
                cur.execute("DELETE FROM evaluation_snapshotfigure WHERE snapshot_id = ANY(%s)", [ids])
                cur.execute("DELETE FROM evaluation_snapshotscore WHERE snapshot_id = ANY(%s)", [ids])
                cur.execute("DELETE FROM evaluation_snapshotcase WHERE snapshot_id = ANY(%s)", [ids])
                cur.execute("DELETE FROM evaluation_snapshot WHERE id = ANY(%s)", [ids])


def close_month(period, now, *, last_day_only: bool = False) -> dict:
    """(b): publish_period from scratch, timed as a whole and by part (the settlement, i.e.
    rebuild_days + the settled days, and the snapshot). `last_day_only`: the close as it runs in
    operation, the worker having settled every other day of the month as it ended."""
    from chengguan.evaluation import rebuild, services

    forget(period, last_day_only=last_day_only)
    parts = {"settle": 0.0}
    settle = services._settle_period
    rebuild_days = rebuild.rebuild_days
    rows = {}

    def timed_settle(*a, **kw):
        t = time.perf_counter()
        try:
            return settle(*a, **kw)
        finally:
            parts["settle"] += time.perf_counter() - t

    def counted_rebuild(first, last):
        out = rebuild_days(first, last)
        for k, v in out.items():
            rows[k] = rows.get(k, 0) + v
        return out

    services._settle_period, rebuild.rebuild_days = timed_settle, counted_rebuild
    try:
        t0 = time.perf_counter()
        snapshot = services.publish_period(period, now=now)
        total = time.perf_counter() - t0
    finally:
        services._settle_period, rebuild.rebuild_days = settle, rebuild_days
    return {
        "settle": parts["settle"],
        "snapshot": total - parts["settle"],
        "total": total,
        "rows": rows,
        "figures": snapshot.figures.count(),
    }


def settle_rest_of_year(month_key: str, now) -> list[tuple[str, float]]:
    """(a)'s aggregates: every other month of the year settled the same way (publish's path)."""
    from chengguan.evaluation import services
    from chengguan.evaluation.periods import parse_period

    out = []
    for m in range(1, 13):
        key = f"{YEAR}-{m:02d}"
        if key == month_key:
            continue
        period = parse_period(key)
        forget(period)
        t = time.perf_counter()
        services._settle_period(period, now, force=True)
        out.append((key, time.perf_counter() - t))
        say(f"    {key} settled in {out[-1][1]:.1f} s")
    return out


# --- DuckDB -----------------------------------------------------------------------------------------

COLS = {
    "case": "id, source, reporter_id, grid_id, community_id, street_id, district_id",
    "event": "id, case_id, action, actor_id, department_id, at, data",
    "stage": "id, case_id, status, department_id, started_at, deadline, ended_at, ended_by, on_time",
    "task": "id, case_id, department_id, role, status, dispatched_at, deadline, done_at, on_time",
}
TYPES = {
    "case": {},
    "event": {"data": "JSON", "at": "TIMESTAMPTZ"},
    "stage": {"started_at": "TIMESTAMPTZ", "deadline": "TIMESTAMPTZ", "ended_at": "TIMESTAMPTZ"},
    "task": {"dispatched_at": "TIMESTAMPTZ", "deadline": "TIMESTAMPTZ", "done_at": "TIMESTAMPTZ"},
}


def export_alive(period, tmp: Path) -> tuple[dict, dict, float]:
    """CSV files of the raw rows of the cases alive in the period: reported before its end and not
    closed before its start (the generated cases are never reopened, so every event, stage and
    task that the period's counts and end-of-period gauges read belongs to one of them)."""
    from django.db import connection

    from chengguan.evaluation import counters, rebuild

    lo, hi = counters.midnight(period.first), counters.day_end(period.last)
    t0 = time.perf_counter()
    raw = connection.connection  # psycopg: COPY … TO STDOUT
    with raw.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_alive")
        cur.execute(
            "CREATE TEMP TABLE bench_alive AS SELECT id FROM cases_case "
            "WHERE created_at < %s AND (closed_at IS NULL OR closed_at >= %s)",
            [hi, lo],
        )
        cur.execute("ALTER TABLE bench_alive ADD PRIMARY KEY (id)")
    files, sizes = {}, {}
    for name, table in rebuild.TABLES.items():
        key = "id" if name == "case" else "case_id"
        files[name] = tmp / f"{name}.csv"
        sizes[name] = 0
        with open(files[name], "wb") as fh, raw.cursor() as cur:
            sql = (
                f"COPY (SELECT {COLS[name]} FROM {table} WHERE {key} IN (SELECT id FROM bench_alive)) "
                "TO STDOUT WITH (FORMAT csv, HEADER)"
            )
            with cur.copy(sql) as cp:
                for block in cp:
                    fh.write(block)
        sizes[name] = files[name].stat().st_size
    raw.commit()
    return files, sizes, time.perf_counter() - t0


def duckdb_figures(period, files: dict) -> tuple[dict, float, float, dict]:
    """The period's figures for every object from the raw rows, with DuckDB: (figures, load s,
    count s, rows loaded)."""
    import duckdb

    from chengguan.evaluation import rebuild, selectors
    from chengguan.evaluation.choices import PERSON_TYPES, ObjectType
    from chengguan.evaluation.indicators import AREA, INDICATORS

    t0 = time.perf_counter()
    db = duckdb.connect()
    db.execute(f"SET TimeZone = '{TZ_NAME}'")
    db.execute("SET threads = 2")
    db.execute("SET memory_limit = '6GB'")
    names, loaded = {}, {}
    for name, path in files.items():
        names[name] = f"raw_{name}"
        db.execute(
            f"CREATE TABLE raw_{name} AS SELECT * FROM read_csv('{path}', header=true, types={TYPES[name]!r})"
        )
        loaded[name] = db.execute(f"SELECT count(*) FROM raw_{name}").fetchone()[0]
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    p = rebuild.params(period.first, period.last)
    p = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in p.items()}

    def duck(sql: str) -> str:
        return sql.replace("%(", "$").replace(")s", "")

    month = "SELECT kind, pk, counter, sum(n) FROM (" + duck(rebuild.counter_sql(rebuild.DUCKDB, names))
    month += ") GROUP BY ALL"
    own: dict[str, dict[int, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for kind, pk, counter, n in db.execute(month, {k: p[k] for k in ("tz", "lo", "hi")}).fetchall():
        own[kind][pk][counter] += int(n)
    gp = {"tz": p["tz"], "first": str(period.last), "last": str(period.last)}
    for _day, kind, pk, counter, n in db.execute(
        duck(rebuild.gauge_sql(rebuild.DUCKDB, names)), gp
    ).fetchall():
        own[kind][pk][counter] += int(n)
    count_s = time.perf_counter() - t1
    figures = {}
    for object_type in ObjectType.values:
        kind = selectors.KIND_OF[object_type]
        objects = selectors.objects_of(object_type)
        areas = selectors.person_areas([pk for pk, _ in objects]) if object_type in PERSON_TYPES else {}
        for pk, _name in objects:
            mine = own[kind].get(pk, Counter())
            area = Counter()
            for k, rid in areas.get(pk, []):
                area.update(own[k].get(rid, Counter()))
            for ind in INDICATORS[object_type]:

                def value(term, mine=mine, area=area):
                    return term.sign * (area if term.scope == AREA else mine)[term.counter]

                num = sum(value(t) for t in ind.numerator)
                den = None if ind.denominator is None else sum(value(t) for t in ind.denominator)
                figures[(object_type, pk, ind.code)] = (num, den)
    db.close()
    return figures, load_s, count_s, loaded


def project_figures(period, now) -> dict:
    from chengguan.evaluation import selectors
    from chengguan.evaluation.choices import ObjectType

    out = {}
    for object_type in ObjectType.values:
        for row in selectors.live_figures(object_type, period, now=now):
            for code, fig in row.figures.items():
                out[(object_type, row.object_id, code)] = (fig.numerator, fig.denominator)
    return out


def compare(period, now, tmp: Path) -> dict:
    files, sizes, export_s = export_alive(period, tmp)
    figs, load_s, count_s, loaded = duckdb_figures(period, files)
    mine = project_figures(period, now)
    bad = [(k, mine.get(k), figs.get(k)) for k in sorted(set(mine) | set(figs)) if mine.get(k) != figs.get(k)]
    nonzero = sum(1 for v in mine.values() if v[0] or v[1])
    return {
        "export": export_s,
        "load": load_s,
        "count": count_s,
        "rows": loaded,
        "csv_mb": sum(sizes.values()) / 1e6,
        "compared": len(mine),
        "nonzero": nonzero,
        "objects": len({k[:2] for k in mine}),
        "bad": bad,
    }


def table(head, lines) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(head, *lines, strict=False)]
    say("  ".join(str(c).ljust(w) for c, w in zip(head, widths, strict=True)))
    say("  ".join("-" * w for w in widths))
    for line in lines:
        say("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)))


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=12_000_000, help="cases to generate in a new database")
    ap.add_argument("--span", default=f"{YEAR}-01-01..{YEAR}-12-31", help="report dates: A..B[,C..D]")
    ap.add_argument("--month", default=f"{YEAR}-06", help="the month closed (b), compared (c) and read (a)")
    ap.add_argument("--chunk", type=int, default=50_000)
    ap.add_argument("--jobs", type=int, default=2, help="generating statements at a time")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--db", default="chengguan_bench_eval")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--reuse-db", action="store_true", help="measure an existing database")
    ap.add_argument("--append", type=int, default=0, help="with --reuse-db: add this many cases over --span")
    ap.add_argument("--skip-year", action="store_true", help="only (b) and (c)")
    ap.add_argument("--skip-close", action="store_true", help="only (a) (--month already closed)")
    ap.add_argument("--no-duckdb", action="store_true")
    args = ap.parse_args(argv)
    dsn_admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    dsn = f"postgres://postgres@127.0.0.1:5432/{args.db}"
    load_start = loadavg()
    started = time.perf_counter()
    setup_times: dict = {}
    closed = duck = None
    reads: dict = {}
    year_s: list = []
    try:
        if not args.reuse_db:
            say(f"Building {args.db}: the demo city, then {args.cases:,} cases over {args.span} ...")
            setup_times = build(args, dsn_admin, dsn)
        elif args.append:
            import psycopg

            with psycopg.connect(dsn) as conn:
                first_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM cases_case").fetchone()[0]
            say(f"Adding {args.append:,} cases over {args.span} to {args.db} ...")
            setup_times = generate(args, dsn, first_id)
        setup_django(dsn)
        from django.db import connection

        from chengguan.evaluation.periods import parse_period

        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM cases_case")
            rows = {"cases_case": cur.fetchone()[0]}
            for table_name in evaluation_data.TABLES[1:]:
                cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table_name])
                rows[table_name + " (≈)"] = cur.fetchone()[0]
            setup_times["rows"] = rows
            cur.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            setup_times["database size"] = cur.fetchone()[0]
            cur.execute(
                "SELECT to_char(created_at AT TIME ZONE %s, 'YYYY-MM') m, count(*) FROM cases_case "
                "GROUP BY 1 ORDER BY 1",
                [TZ_NAME],
            )
            per_month = dict(cur.fetchall())
        month = parse_period(args.month)
        if not args.skip_close:
            say(
                f"(b) closing {args.month} ({per_month.get(args.month, 0):,} cases reported in it) from scratch ..."
            )
            closed = close_month(month, NOW)
            say(f"    settle {closed['settle']:.2f} s + snapshot {closed['snapshot']:.2f} s")
            say(
                f"(b) closing {args.month} again as in operation (every day but its last settled already) ..."
            )
            closed["operation"] = close_month(month, NOW, last_day_only=True)
            op = closed["operation"]
            say(f"    settle the last day {op['settle']:.2f} s + snapshot {op['snapshot']:.2f} s")
            if not args.no_duckdb:
                say(f"(c) DuckDB: the figures of {args.month} from the raw rows ...")
                with tempfile.TemporaryDirectory(
                    prefix="cg-bench-duck-", dir=os.environ.get("BENCH_TMP")
                ) as tmp:
                    duck = compare(month, NOW, Path(tmp))
                for k, a, b in duck["bad"][:20]:
                    say(f"    MISMATCH {k}: project {a} duckdb {b}")
        if not args.skip_year:
            say(f"(a) settling the other months of {YEAR} (the aggregates the reads use) ...")
            year_s = settle_rest_of_year(args.month, NOW)
            with connection.cursor() as cur:
                # the tables the reads use, as autovacuum would have by then: without statistics on
                # the roll-ups the planner takes a month's 16,000 grid rows for 9 and joins them
                # row by row (1.5 M cases: the 90-day grid read's roll-up query 256 ms → 82 ms)
                cur.execute(
                    "ANALYZE evaluation_dailycounter; ANALYZE evaluation_dailygauge; "
                    "ANALYZE evaluation_rollup; ANALYZE evaluation_rollupcounter"
                )
            for key in (args.month, CUSTOM):
                say(f"    timing live_figures for {key} ...")
                reads[key] = time_reads(parse_period(key), args.runs, NOW)
    finally:
        if not args.keep_db and not args.reuse_db:
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
            admin(f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)", dsn_admin)
    report(args, load_start, started, setup_times, per_month, closed, duck, year_s, reads)


def report(args, load_start, started, setup_times, per_month, closed, duck, year_s, reads) -> None:
    say("")
    say("=" * 100)
    say(f"date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; machine: {machine()}")
    say(f"load average (1/5/15 min): at start {load_start}, at end {loadavg()}")
    say("NOTE: other engineers' test runs share these cores; every figure below is skewed by them.")
    rows = setup_times.get("rows", {})
    say("rows: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
    say("cases reported per month: " + ", ".join(f"{k} {v:,}" for k, v in per_month.items()))
    for k, v in setup_times.items():
        if k != "rows":
            say(f"set-up: {k} {v:.1f} s" if isinstance(v, float) else f"set-up: {k} {v}")
    if year_s:
        total = sum(s for _, s in year_s)
        slowest = max(year_s, key=lambda x: x[1])
        say(
            f"(a) the other {len(year_s)} months settled (set-based) in {total:.1f} s, slowest {slowest[0]} {slowest[1]:.1f} s"
        )
    say("")
    lines = []
    if closed:
        lines.append(
            (
                f"(b) close {args.month}",
                f"{per_month.get(args.month, 0):,} cases",
                f"{closed['figures']:,} figures",
                f"{closed['total']:.2f} s",
                "≤ 5 s",
                met(closed["total"] <= GOAL_CLOSE_S),
            )
        )
    for key, results in reads.items():
        for object_type, n, med, p95, nq, one_med, one_p95 in results:
            lines.append(
                (
                    f"(a) {key}",
                    object_type,
                    f"{n:,} objects, {nq} queries",
                    f"median {med:.1f} ms, p95 {p95:.1f} ms",
                    "p95 ≤ 50 ms",
                    met(p95 <= GOAL_READ_MS),
                )
            )
            lines.append(
                (
                    "",
                    "  one of them",
                    "1 object",
                    f"median {one_med:.1f} ms, p95 {one_p95:.1f} ms",
                    "p95 ≤ 50 ms",
                    met(one_p95 <= GOAL_READ_MS),
                )
            )
    table(("what", "", "size", "measured", "goal", ""), lines)
    if closed:
        say(
            f"    (b) = settle {closed['settle']:.2f} s (counters {closed['rows'].get('counters_s', 0):.1f} s: "
            f"{closed['rows'].get('counters', 0):,} rows; gauges {closed['rows'].get('gauges_s', 0):.1f} s: "
            f"{closed['rows'].get('gauges', 0):,} rows; settled days) + snapshot {closed['snapshot']:.2f} s"
        )
        op = closed["operation"]
        say(
            f"    (b) as in operation, every day but the last settled as it ended: {op['total']:.2f} s = "
            f"settle the last day {op['settle']:.2f} s + snapshot {op['snapshot']:.2f} s (not the goal's measure)"
        )
    if duck:
        loaded = ", ".join(f"{k} {v:,}" for k, v in duck["rows"].items())
        say(
            f"(c) DuckDB {args.month}: the rows of the cases alive in the month ({loaded}; CSV {duck['csv_mb']:,.0f} MB)"
        )
        say(
            f"    export (PostgreSQL COPY) {duck['export']:.1f} s; DuckDB load {duck['load']:.1f} s; "
            f"DuckDB count of the month {duck['count']:.2f} s"
        )
        say(
            f"    agreement: {duck['compared']:,} figures (numerator and denominator) of {duck['objects']:,} objects "
            f"compared ({duck['nonzero']:,} not zero): mismatches = {len(duck['bad'])}"
        )
    say(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
