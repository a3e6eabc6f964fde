"""Benchmark: evaluation figures at a city's scale (not a test: it measures and prints).

    .venv/bin/python bench/evaluation.py [--cases 12000000] [--chunk 100000] [--runs 7]
                                         [--keep-db] [--reuse-db]

In a scratch PostgreSQL database (127.0.0.1:5432, `chengguan_bench_eval`, dropped at the end
unless --keep-db; --reuse-db measures an existing one without generating): the demo city, then a
year (2025) of generated cases, stages, events and tasks (bench/evaluation_data.py, set-based SQL).

(a) builds the day aggregates of the whole year from the raw rows (evaluation/rebuild.py), then
    times `selectors.live_figures` for every object type, for one month and a custom 90-day
    range: median and p95 of --runs runs, queries per call — goal ≤ 50 ms each;
(b) closes the busiest month from scratch: its aggregates deleted, rebuilt from its events
    (rebuild_days) and the snapshot written (services._write_snapshot) — goal ≤ 5 s;
(c) DuckDB: the month's raw rows exported with COPY to CSV, the same counting SQL run by DuckDB
    straight on them (month totals, no day rows), the indicators computed from those counts and
    compared with the project's figures object by object (0 mismatches expected).
See bench/README.md.
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
YEAR_START = dt.datetime(2025, 1, 1, tzinfo=TZ)
HORIZON = dt.datetime(2026, 1, 1, tzinfo=TZ)
MONTH, CUSTOM = "2025-06", "2025-09-01..2025-11-29"


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
    return f"{cpu}; {os.cpu_count()} CPUs; {platform.platform()}; python {platform.python_version()}"


def admin(sql: str, dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql)


def build(args, dsn_admin: str, dsn: str) -> dict:
    import subprocess

    import psycopg

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
    with psycopg.connect(dsn) as conn:
        restore = evaluation_data.drop_indexes(conn)
        t = time.perf_counter()
        out["rows"] = evaluation_data.generate(
            conn, args.cases, YEAR_START, 365, HORIZON, TZ_NAME, args.chunk, say
        )
        out["generate rows"] = time.perf_counter() - t
        t = time.perf_counter()
        evaluation_data.restore_indexes(conn, restore)
        out["rebuild indexes + analyze"] = time.perf_counter() - t
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
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * len(times) + 0.5) - 1)]
        out.append((object_type, len(rows), statistics.median(times), p95, q.n))
    return out


def close_month(period, now) -> dict:
    from django.db import transaction

    from chengguan.evaluation import rebuild, services
    from chengguan.evaluation.models import DailyCounter, DailyGauge, SettledDay, Snapshot

    with transaction.atomic():  # from scratch: no aggregates and no snapshot for the month
        DailyCounter.objects.filter(day__gte=period.first, day__lte=period.last).delete()
        DailyGauge.objects.filter(day__gte=period.first, day__lte=period.last).delete()
        SettledDay.objects.filter(day__gte=period.first, day__lte=period.last).delete()
        from django.db import connection

        with connection.cursor() as cur:  # snapshots are frozen through the ORM: scratch database only
            ids = list(Snapshot.objects.filter(period=period.key).values_list("pk", flat=True))
            if ids:
                cur.execute("DELETE FROM evaluation_snapshotfigure WHERE snapshot_id = ANY(%s)", [ids])
                cur.execute("DELETE FROM evaluation_snapshotscore WHERE snapshot_id = ANY(%s)", [ids])
                cur.execute("DELETE FROM evaluation_snapshot WHERE id = ANY(%s)", [ids])
    t0 = time.perf_counter()
    with transaction.atomic():
        services._locked_cursor()
        rows = rebuild.rebuild_days(period.first, period.last)
        SettledDay.objects.bulk_create(
            [SettledDay(day=d, settled_at=now, events=0) for d in period.days()], ignore_conflicts=True
        )
        t1 = time.perf_counter()
        snapshot = services._write_snapshot(period, 1, None, "bench", now)
    t2 = time.perf_counter()
    return {
        "settle": t1 - t0,
        "snapshot": t2 - t1,
        "total": t2 - t0,
        "rows": rows,
        "figures": snapshot.figures.count(),
    }


# --- DuckDB -----------------------------------------------------------------------------------------


def duckdb_figures(period, tmp: Path) -> tuple[dict, float, float]:
    """The month's figures for every object from the raw rows, with DuckDB."""
    import duckdb
    from django.db import connection

    from chengguan.evaluation import counters, rebuild, selectors
    from chengguan.evaluation.choices import PERSON_TYPES, ObjectType
    from chengguan.evaluation.indicators import AREA, INDICATORS

    t0 = time.perf_counter()
    files = {}
    cols = {
        "case": "id, source, reporter_id, grid_id, community_id, street_id, district_id",
        "event": "id, case_id, action, actor_id, department_id, at, data",
        "stage": "id, case_id, status, department_id, started_at, deadline, ended_at, ended_by, on_time",
        "task": "id, case_id, department_id, role, status, dispatched_at, deadline, done_at, on_time",
    }
    raw = connection.connection  # psycopg: COPY … TO STDOUT
    for name, table in rebuild.TABLES.items():
        files[name] = tmp / f"{name}.csv"
        with open(files[name], "wb") as fh, raw.cursor() as cur:
            with cur.copy(
                f"COPY (SELECT {cols[name]} FROM {table}) TO STDOUT WITH (FORMAT csv, HEADER)"
            ) as cp:
                for block in cp:
                    fh.write(block)
    export_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    db = duckdb.connect()
    db.execute(f"SET TimeZone = '{TZ_NAME}'")
    types = {
        "event": {"data": "JSON", "at": "TIMESTAMPTZ"},
        "stage": {"started_at": "TIMESTAMPTZ", "deadline": "TIMESTAMPTZ", "ended_at": "TIMESTAMPTZ"},
        "task": {"dispatched_at": "TIMESTAMPTZ", "deadline": "TIMESTAMPTZ", "done_at": "TIMESTAMPTZ"},
        "case": {},
    }
    names = {}
    for name, path in files.items():
        names[name] = f"raw_{name}"
        db.execute(
            f"CREATE TABLE raw_{name} AS SELECT * FROM read_csv('{path}', header=true, types={types[name]!r})"
        )
    p = rebuild.params(period.first, period.last)
    p = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in p.items()}
    month = (
        "SELECT kind, pk, counter, sum(n) FROM ("
        + rebuild.counter_sql(rebuild.DUCKDB, names).replace("%(", "$").replace(")s", "")
        + ") GROUP BY ALL"
    )
    own: dict[str, dict[int, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for kind, pk, counter, n in db.execute(month, {k: p[k] for k in ("tz", "lo", "hi")}).fetchall():
        own[kind][pk][counter] += int(n)
    gp = {"tz": p["tz"], "first": str(period.last), "last": str(period.last)}
    gauges = rebuild.gauge_sql(rebuild.DUCKDB, names).replace("%(", "$").replace(")s", "")
    for _day, kind, pk, counter, n in db.execute(gauges, gp).fetchall():
        own[kind][pk][counter] += int(n)
    duck_s = time.perf_counter() - t1
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
    del counters
    return figures, export_s, duck_s


def project_figures(period, now) -> dict:
    from chengguan.evaluation import selectors
    from chengguan.evaluation.choices import ObjectType

    out = {}
    for object_type in ObjectType.values:
        for row in selectors.live_figures(object_type, period, now=now):
            for code, fig in row.figures.items():
                out[(object_type, row.object_id, code)] = (fig.numerator, fig.denominator)
    return out


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
    ap.add_argument("--cases", type=int, default=12_000_000)
    ap.add_argument("--chunk", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--db", default="chengguan_bench_eval")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--reuse-db", action="store_true", help="measure an existing database (no generation)")
    ap.add_argument("--no-duckdb", action="store_true")
    args = ap.parse_args(argv)
    dsn_admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    dsn = f"postgres://postgres@127.0.0.1:5432/{args.db}"
    load_start = loadavg()
    started = time.perf_counter()
    setup_times = {}
    try:
        if not args.reuse_db:
            say(f"Building {args.db}: demo city, then {args.cases:,} cases over 2025 ...")
            setup_times = build(args, dsn_admin, dsn)
        setup_django(dsn)
        from django.db import connection

        from chengguan.evaluation import rebuild, services
        from chengguan.evaluation.models import SettledDay
        from chengguan.evaluation.periods import parse_period

        with connection.cursor() as cur:
            for table_name in evaluation_data.TABLES:
                cur.execute(f"SELECT count(*) FROM {table_name}")
                setup_times.setdefault("rows", {})[table_name] = cur.fetchone()[0]
            cur.execute(
                "SELECT to_char(created_at AT TIME ZONE %s, 'YYYY-MM') m, count(*) FROM cases_case "
                "GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
                [TZ_NAME],
            )
            busiest, busiest_n = cur.fetchone()
        now = HORIZON + dt.timedelta(days=5)
        say("(a) building the year's aggregates from the raw rows (rebuild_days 2025-01-01..2025-12-31) ...")
        t = time.perf_counter()
        with services.transaction.atomic():
            services._locked_cursor()
            built = rebuild.rebuild_days(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
            year = parse_period("2025")
            SettledDay.objects.bulk_create(
                [SettledDay(day=d, settled_at=now, events=0) for d in year.days()], ignore_conflicts=True
            )
        build_s = time.perf_counter() - t
        say(f"    {build_s:.1f} s, {built['counters']:,} counter rows, {built['gauges']:,} gauge rows")
        with connection.cursor() as cur:
            cur.execute("ANALYZE evaluation_dailycounter; ANALYZE evaluation_dailygauge")
        reads = {}
        for key in (MONTH, CUSTOM):
            say(f"    timing live_figures for {key} ...")
            reads[key] = time_reads(parse_period(key), args.runs, now)
        say(f"(b) closing {busiest} ({busiest_n:,} cases reported) from scratch ...")
        closed = close_month(parse_period(busiest), now)
        say(f"    settle {closed['settle']:.2f} s + snapshot {closed['snapshot']:.2f} s")
        duck = None
        if not args.no_duckdb:
            say(f"(c) DuckDB: the figures of {busiest} from the raw rows ...")
            with tempfile.TemporaryDirectory(prefix="cg-bench-duck-") as tmp:
                figs, export_s, duck_s = duckdb_figures(parse_period(busiest), Path(tmp))
            mine = project_figures(parse_period(busiest), now)
            bad = [
                (k, mine.get(k), figs.get(k))
                for k in sorted(set(mine) | set(figs))
                if mine.get(k) != figs.get(k)
            ]
            duck = (export_s, duck_s, len(mine), bad)
            for k, a, b in bad[:20]:
                say(f"    MISMATCH {k}: project {a} duckdb {b}")
    finally:
        if not args.keep_db and not args.reuse_db:
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
            admin(f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)", dsn_admin)
    say("")
    say("=" * 96)
    say(f"machine: {machine()}")
    say(f"load average (1/5/15 min): at start {load_start}, at end {loadavg()}")
    say("NOTE: other engineers' test runs share these 2 cores; every figure below is skewed by them.")
    rows = setup_times.get("rows", {})
    say("rows: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
    for k, v in setup_times.items():
        if k != "rows":
            say(f"set-up: {k} {v:.1f} s")
    say(f"(a) year's aggregates built from the raw rows: {build_s:.1f} s")
    say("")
    lines = []
    for key, results in reads.items():
        for object_type, n, med, p95, nq in results:
            lines.append(
                (key, object_type, n, f"{med:.1f}", f"{p95:.1f}", nq, "≤ 50 ms", met(p95 <= GOAL_READ_MS))
            )
    lines.append(
        (
            f"close {busiest}",
            f"{busiest_n:,} cases",
            closed["figures"],
            f"{closed['total'] * 1000:.0f}",
            "",
            "",
            "≤ 5 s",
            met(closed["total"] <= GOAL_CLOSE_S),
        )
    )
    table(("period", "object type / what", "objects", "median ms", "p95 ms", "queries", "goal", ""), lines)
    say(
        f"    close = settle {closed['settle']:.2f} s ({closed['rows']['counters']:,} counter, "
        f"{closed['rows']['gauges']:,} gauge rows) + snapshot {closed['snapshot']:.2f} s"
    )
    if duck:
        export_s, duck_s, n, bad = duck
        say(
            f"(c) DuckDB {busiest}: COPY export {export_s:.1f} s, DuckDB load + count {duck_s:.1f} s; "
            f"{n:,} figures compared, {len(bad)} mismatches"
        )
    say(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
