"""Benchmark: the command centre and the queues with 10,000 open cases (not a test: it measures and
prints, it asserts nothing).

    .venv/bin/python bench/pages.py [--open 10000] [--closed 2000] [--repeat 15] [--pg] [--keep-db]

Builds its own scratch database — SQLite in a temporary folder by default, or with --pg a scratch
PostgreSQL database (`chengguan_bench_pages` on 127.0.0.1:5432, dropped at the end) — with the
tests' small city (two streets, one person per role) and bulk-written rows: `--open` open cases
spread over the open statuses in street A (all visible to street A's desk and to the leader),
their report/dispatch events, the departments' tasks, pending extension and suspension requests,
and `--closed` cases closed this month. Then, in this process, Django's test client asks each
page as its persona: one warm-up, then `--repeat` timed requests; it prints the median and p90 of
the server time (the whole request through middleware, view, queries and template, no network)
and the number of queries of one request, beside the goal: ≤ 300 ms and ≤ 20 queries.

Rows are written directly (bulk_create), not through the workflow services: the benchmark
measures reading pages, and 10,000 cases through the services would take minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS, GOAL_QUERIES = 300.0, 20
PG_DB = "chengguan_bench_pages"

PAGES = [
    # (label, persona, url)
    ("command centre (wall)", "leader", "/command/"),
    ("  panel: figures", "leader", "/command/panels/figures/"),
    ("  panel: departments", "leader", "/command/panels/departments/"),
    ("  panel: events", "leader", "/command/panels/events/"),
    ("  map data: open cases", "leader", "/map/cases.geojson?status=open"),
    ("desk 待受理", "operator_a", "/desk/reported/"),
    ("desk 待受理 filtered", "operator_a", "/desk/reported/?overdue=1&q=垃圾"),
    ("desk 待立案", "shiftlead_a", "/desk/to_register/"),
    ("desk 待派遣", "dispatcher_a", "/desk/to_dispatch/"),
    ("desk 待核查", "shiftlead_a", "/desk/to_check/"),
    ("desk 待结案", "shiftlead_a", "/desk/to_close/"),
    ("desk 延期审批", "shiftlead_a", "/desk/extension/"),
    ("desk 挂账审批", "shiftlead_a", "/desk/suspension/"),
    ("inbox 待签收", "handler_a", "/department/to_sign/"),
    ("inbox 处置中", "handler_a", "/department/handling/"),
    ("inbox 协办", "handler_b", "/department/cohandling/"),
    ("ledger (台账)", "shiftlead_a", "/ledger/"),
]


def say(msg: str = "") -> None:
    print(msg, flush=True)


def pg_admin():
    import psycopg

    return psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True)


def pg_recreate(drop_only: bool = False) -> None:
    from psycopg import sql

    with pg_admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(PG_DB)))
        if not drop_only:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(PG_DB)))


def setup_django(args, tmp: Path) -> None:
    if args.pg:
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="chengguan.settings",
        CHENGGUAN_VAR_DIR=str(tmp),
        DEBUG="false",
        LOG_LEVEL="WARNING",
        ALLOWED_HOSTS="testserver,127.0.0.1",
    )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build(args):
    """The tests' small city, then the cases (bulk-written)."""
    from django.utils import timezone
    from tests.conftest import build_small_city

    from chengguan.cases.choices import (
        OPEN_STATUSES,
        CaseAction,
        CaseStatus,
        RequestKind,
        RequestStatus,
        TaskRole,
        TaskStatus,
    )
    from chengguan.cases.models import Case, CaseEvent, CaseRequest, CaseTask
    from chengguan.catalog.models import MinorClass
    from chengguan.grid.models import UnitGrid

    city = build_small_city()
    rng = random.Random(7)
    now = timezone.now()
    grids = list(UnitGrid.objects.filter(street=city.street_a).values_list("pk", "community_id", "geometry"))
    classes = list(
        MinorClass.objects.filter(major__catalog__active=True, active=True).values_list("pk", flat=True)
    )
    statuses = sorted(OPEN_STATUSES)
    month_start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    cases = []
    total = args.open + args.closed
    for i in range(total):
        grid_id, community_id, geometry = grids[i % len(grids)]
        x, y = geometry["coordinates"][0][0]
        is_open = i < args.open
        status = statuses[i % len(statuses)] if is_open else CaseStatus.CLOSED
        created = now - dt.timedelta(minutes=rng.randint(5, 60 * 24 * 20))
        created = max(created, month_start + dt.timedelta(minutes=1)) if not is_open else created
        deadline = now + dt.timedelta(hours=rng.randint(-48, 72))
        dispatched = status in (
            CaseStatus.DISPATCHED,
            CaseStatus.HANDLING,
            CaseStatus.TO_CHECK,
            CaseStatus.TO_CLOSE,
        )
        cases.append(
            Case(
                number=f"B{i:09d}",
                year=now.year,
                source="inspector",
                minor_class_id=classes[i % len(classes)],
                description=f"基准测试案件 {i} 路边垃圾",
                lon=x + 0.0001,
                lat=y - 0.0001,
                original_lon=x,
                original_lat=y,
                grid_id=grid_id,
                community_id=community_id,
                street=city.street_a,
                district=city.district,
                reporter=city.people["inspector_a"],
                status=status,
                stage_deadline=deadline if is_open else None,
                overdue=is_open and deadline < now and rng.random() < 0.5,
                lead_department=city.dept_a if dispatched or not is_open else None,
                registered_at=created + dt.timedelta(hours=1)
                if status not in (CaseStatus.REPORTED, CaseStatus.VERIFYING, CaseStatus.TO_REGISTER)
                else None,
                closed_at=None if is_open else created + dt.timedelta(hours=5),
                created_at=created,
            )
        )
    Case.objects.bulk_create(cases, batch_size=2000)
    rows = list(Case.objects.values_list("pk", "status", "created_at"))
    events, tasks, requests = [], [], []
    for n, (pk, status, created) in enumerate(rows):
        events.append(
            CaseEvent(
                case_id=pk,
                action=CaseAction.REPORT,
                actor_name="inspector_a",
                at=created,
                to_status="reported",
            )
        )
        if status in (
            CaseStatus.DISPATCHED,
            CaseStatus.HANDLING,
            CaseStatus.TO_CHECK,
            CaseStatus.TO_CLOSE,
            CaseStatus.CLOSED,
        ):
            at = created + dt.timedelta(hours=2)
            events.append(
                CaseEvent(
                    case_id=pk,
                    action=CaseAction.DISPATCH,
                    actor_name="dispatcher_a",
                    at=at,
                    department=city.dept_a,
                )
            )
            task_status = {
                CaseStatus.DISPATCHED: TaskStatus.DISPATCHED,
                CaseStatus.HANDLING: TaskStatus.SIGNED,
            }.get(status, TaskStatus.DONE)
            tasks.append(
                CaseTask(
                    case_id=pk,
                    department=city.dept_a,
                    role=TaskRole.LEAD,
                    status=task_status,
                    dispatched_at=at,
                    deadline=at + dt.timedelta(days=2),
                    current=True,
                )
            )
            if status in (CaseStatus.DISPATCHED, CaseStatus.HANDLING) and n % 5 == 0:
                tasks.append(
                    CaseTask(
                        case_id=pk,
                        department=city.dept_b,
                        role=TaskRole.CO,
                        status=TaskStatus.DISPATCHED,
                        dispatched_at=at,
                        deadline=at + dt.timedelta(days=2),
                        current=True,
                    )
                )
        if status == CaseStatus.HANDLING and n % 3 == 0:
            requests.append(
                CaseRequest(
                    case_id=pk,
                    kind=RequestKind.EXTENSION if n % 2 else RequestKind.SUSPENSION,
                    status=RequestStatus.PENDING,
                    department=city.dept_a,
                    requested_at=created + dt.timedelta(hours=3),
                    reason="材料未到",
                    amount=2 if n % 2 else None,
                    unit="work_day" if n % 2 else "",
                    planned_fix_date=None if n % 2 else (now + dt.timedelta(days=30)).date(),
                )
            )
    CaseEvent.objects.bulk_create(events, batch_size=5000)
    CaseTask.objects.bulk_create(tasks, batch_size=5000)
    CaseRequest.objects.bulk_create(requests, batch_size=5000)
    return city, {"cases": len(rows), "events": len(events), "tasks": len(tasks), "requests": len(requests)}


def _counting(log: list):
    """An execute wrapper noting each statement and its time (kept across reconnections)."""

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            log.append((time.perf_counter() - started, sql))

    return wrapper


def measure(city, repeat: int, verbose: bool = False):
    from django.db import connection
    from django.test import Client

    from chengguan.org.models import Person

    clients = {}
    results = []
    for label, persona, url in PAGES:
        client = clients.get(persona)
        if client is None:
            client = clients[persona] = Client()
            client.force_login(Person.objects.get(username=persona))
        response = client.get(url)  # warm-up (and the person's access, cached per process)
        if response.status_code != 200:
            results.append((label, persona, url, None, None, None, response.status_code))
            continue
        queries = []
        with connection.execute_wrapper(_counting(queries)):
            client.get(url)
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p90 = times[min(len(times) - 1, round(0.9 * (len(times) - 1)))]
        results.append((label, persona, url, statistics.median(times), p90, len(queries), 200))
        if verbose:
            for seconds, sql in sorted(queries, reverse=True)[:3]:
                say(f"  {label}: {seconds * 1000:7.1f} ms  {sql[:300]}")
    return results


def pad(text: str, width: int) -> str:
    """Left-justify for a terminal: CJK characters take two columns."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


def report(results, args, counts, build_s):
    import django
    from django.db import connection

    say()
    say(
        f"database: {connection.vendor} {'.'.join(map(str, connection.Database.sqlite_version_info)) if connection.vendor == 'sqlite' else connection.pg_version}"
    )
    say(
        f"python {platform.python_version()}, django {django.get_version()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
    )
    say(
        f"data: {counts['cases']} cases ({args.open} open in street A, {args.closed} closed this month), "
        f"{counts['events']} events, {counts['tasks']} tasks, {counts['requests']} pending requests; built in {build_s:.1f} s"
    )
    say(
        f"goal: ≤ {GOAL_MS:.0f} ms server time and ≤ {GOAL_QUERIES} queries per page; {args.repeat} timed requests each"
    )
    say()
    say(f"{'page':28} {'persona':13} {'median ms':>10} {'p90 ms':>8} {'queries':>8}  goal")
    for label, persona, _url, median, p90, queries, status in results:
        if median is None:
            say(f"{pad(label, 28)} {persona:13} {'HTTP ' + str(status):>10}")
            continue
        met = "met" if median <= GOAL_MS and queries <= GOAL_QUERIES else "NOT met"
        say(f"{pad(label, 28)} {persona:13} {median:10.1f} {p90:8.1f} {queries:8d}  {met}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--open", type=int, default=10_000, help="open cases (default 10,000)")
    p.add_argument("--closed", type=int, default=2_000, help="cases closed this month (default 2,000)")
    p.add_argument("--repeat", type=int, default=15, help="timed requests per page (default 15)")
    p.add_argument(
        "--pg", action="store_true", help="PostgreSQL on 127.0.0.1:5432 (scratch database) instead of SQLite"
    )
    p.add_argument("--verbose", action="store_true", help="print the slowest statements of each page")
    p.add_argument("--keep-db", action="store_true", help="keep the scratch PostgreSQL database")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cg-bench-pages-") as tmp:
        if args.pg:
            pg_recreate()
        try:
            setup_django(args, Path(tmp))
            started = time.perf_counter()
            city, counts = build(args)
            build_s = time.perf_counter() - started
            results = measure(city, args.repeat, verbose=args.verbose)
            report(results, args, counts, build_s)
        finally:
            if args.pg:
                from django.db import connections

                connections.close_all()
                if not args.keep_db:
                    pg_recreate(drop_only=True)


if __name__ == "__main__":
    main()
