"""Benchmark: case intake over HTTP (not a test: it measures and prints, it asserts nothing).

    .venv/bin/python bench/intake.py [--workers 5] [--threads 1] [--concurrency 4,8,16]
                                     [--duration 15] [--paced 20] [--keep-db]

Builds the demo city in a scratch PostgreSQL database (127.0.0.1:5432, dropped at the end), starts
`chengguan serve` (granian, WSGI, several workers, persistent connections) on 127.0.0.1 with
`DJANGO_SETTINGS_MODULE=bench.floor_settings` (the project's settings plus `POST /bench/floor`),
then loads, from stdlib Python threads with keep-alive `http.client` connections on this machine:

* `POST /api/v1/cases/` as the demo inspectors (bearer tokens, a unique Idempotency-Key per
  request, a random point inside the inspector's street, class 暴露垃圾): auth, validation,
  locate, idempotency, number, stage, event and the notification outbox;
* `POST /bench/floor`: a bare Ninja endpoint that validates the same body and inserts one row
  (the framework floor: same server, same middleware, same database).

For each: (a) closed loop at a few concurrency levels for a fixed time, the best is the peak;
(b) open loop paced at half the peak rate, latency measured from each request's scheduled time
(so queueing counts). Afterwards it checks that cases created = 201 answers and that there was no
5xx. Every loop is bounded in count and time; only 127.0.0.1 is contacted. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import platform
import random
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"  # loopback only
ANCHOR = "≥ 40% of the floor's throughput, p99 ≤ 100 ms at half the peak rate"
GOAL_RATIO, GOAL_P99_MS = 0.40, 100.0
INTAKE_PATH, FLOOR_PATH = "/api/v1/cases/", "/bench/floor"
REQUEST_TIMEOUT = 10.0
MAX_REQUESTS_PER_LOOP = 200_000  # a hard cap on every loop, whatever the duration
CLASS_NAME = "暴露垃圾"


def say(msg: str = "") -> None:
    print(msg, flush=True)


# --- results -------------------------------------------------------------------------------------


@dataclass
class Run:
    endpoint: str
    mode: str  # "closed C=8" or "paced 123/s"
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, of answered requests
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0  # no answer: connection error or timeout
    created: int = 0  # rows the server wrote during the run (counted in the database)
    unread: int = 0  # wrk: handled by the server but in flight when wrk stopped, so never read
    late: int = 0  # paced: requests sent more than 10 ms after their scheduled time
    cpu: dict[str, float] = field(default_factory=dict)  # CPU-seconds by who used them
    db: dict[str, float] = field(default_factory=dict)  # mean PostgreSQL sessions by state
    target_rate: float | None = None
    percentiles: dict[float, float] = field(default_factory=dict)  # ms, when the client computed them (wrk)

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def ok(self) -> int:
        return self.statuses.get(201, 0)

    @property
    def bad(self) -> int:
        """Errors: no answer, or any answer but 201."""
        return self.errors + self.answered - self.ok

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def pct(self, q: float) -> float:
        if q in self.percentiles:
            return self.percentiles[q]
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, max(0, round(q * len(xs) + 0.5) - 1))] * 1000


# --- the load generator --------------------------------------------------------------------------


class Client:
    """One keep-alive connection to the server (reconnects when the server closes it)."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT)
        try:
            self.conn.request("POST", path, body, headers)
            response = self.conn.getresponse()
            response.read()
            if response.will_close:
                self.close()
            return response.status
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Requests:
    """Makes each request's body and headers: a rotating inspector, a random point inside that
    inspector's street, and a unique Idempotency-Key."""

    def __init__(self, path: str, identities: list[dict], minor_class_id: int, run_id: str):
        self.path = path
        self.identities = identities
        self.minor_class_id = minor_class_id
        self.run_id = run_id
        self.seq = itertools.count()  # thread-safe enough: next() on a count is atomic in CPython

    def make(self, rng: random.Random) -> tuple[bytes, dict[str, str]]:
        n = next(self.seq)
        who = self.identities[n % len(self.identities)]
        lon, lat = rng.choice(who["points"])
        body = {
            "minor_class_id": self.minor_class_id,
            "description": f"bench intake {self.run_id} #{n}: 暴露垃圾，路边堆放",
            "lon": lon,
            "lat": lat,
        }
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {who['token']}",
            "Idempotency-Key": f"bench-{self.run_id}-{n}",
        }
        return json.dumps(body, ensure_ascii=False).encode(), headers


def closed_loop(port: int, reqs: Requests, clients: int, seconds: float, name: str) -> Run:
    """`clients` threads, each sending its next request as soon as the last is answered."""
    run = Run(reqs.path, f"closed C={clients}", clients, seconds)
    lock = threading.Lock()
    budget = itertools.count()
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def worker(idx: int) -> None:
        rng = random.Random(idx)
        client, lat, statuses, errors = Client(port), [], {}, 0
        start.wait()
        while time.perf_counter() < deadline[0] and next(budget) < MAX_REQUESTS_PER_LOOP:
            body, headers = reqs.make(rng)
            t0 = time.perf_counter()
            try:
                status = client.post(reqs.path, body, headers)
            except (OSError, http.client.HTTPException):
                errors += 1
                continue
            lat.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
        client.close()
        with lock:
            run.latencies.extend(lat)
            run.errors += errors
            for s, c in statuses.items():
                run.statuses[s] = run.statuses.get(s, 0) + c

    threads = [threading.Thread(target=worker, args=(i,), name=f"{name}-{i}") for i in range(clients)]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for t in threads:
        t.join(seconds + 2 * REQUEST_TIMEOUT)
    run.seconds = time.perf_counter() - began
    return run


def paced_loop(port: int, reqs: Requests, rate: float, seconds: float, clients: int) -> Run:
    """Open loop: request i is due at start + i / rate, whoever is free sends it. Latency runs
    from the due time, so a server (or client) that falls behind shows it in the percentiles."""
    total = min(MAX_REQUESTS_PER_LOOP, max(1, int(rate * seconds)))
    run = Run(reqs.path, f"paced {rate:.0f}/s", clients, seconds, target_rate=rate)
    lock = threading.Lock()
    tickets = iter(range(total))
    start = threading.Barrier(clients + 1)
    t0 = [0.0]
    stop_at = [0.0]

    def worker(idx: int) -> None:
        rng = random.Random(1000 + idx)
        client, lat, statuses, errors, late = Client(port), [], {}, 0, 0
        start.wait()
        while True:
            with lock:
                i = next(tickets, None)
            if i is None:
                break
            due = t0[0] + i / rate
            now = time.perf_counter()
            if now > stop_at[0]:
                break
            if due > now:
                time.sleep(due - now)
            elif now - due > 0.010:
                late += 1
            body, headers = reqs.make(rng)
            try:
                status = client.post(reqs.path, body, headers)
            except (OSError, http.client.HTTPException):
                errors += 1
                continue
            lat.append(time.perf_counter() - due)
            statuses[status] = statuses.get(status, 0) + 1
        client.close()
        with lock:
            run.latencies.extend(lat)
            run.errors += errors
            run.late += late
            for s, c in statuses.items():
                run.statuses[s] = run.statuses.get(s, 0) + c

    threads = [threading.Thread(target=worker, args=(i,), name=f"paced-{i}") for i in range(clients)]
    for t in threads:
        t.start()
    t0[0] = time.perf_counter() + 0.05
    stop_at[0] = t0[0] + seconds * 1.5  # a server that falls far behind does not stretch the run
    start.wait()
    for t in threads:
        t.join(seconds * 1.5 + 2 * REQUEST_TIMEOUT)
    run.seconds = time.perf_counter() - t0[0]
    return run


WRK_SCRIPT = r"""
-- generated by bench/intake.py: %(what)s
local path, minor, run_id, cap = "%(path)s", %(minor)d, "%(run_id)s", %(cap)d
local people = {%(people)s}
local threads = {}
function setup(thread)
  -- runs in the main Lua state; `tid` becomes a global of each thread's own state
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
function init(args)
  n, statuses = 0, {}
  math.randomseed(tid * 7919)
end
function request()
  n = n + 1
  local who = people[(n + tid) %% #people + 1]
  local pt = who.points[math.random(#who.points)]
  local body = string.format(
    '{"minor_class_id": %%d, "description": "bench intake %%s wrk%%d #%%d: 暴露垃圾，路边堆放", "lon": %%.7f, "lat": %%.7f}',
    minor, run_id, tid, n, pt[1], pt[2])
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. who.token,
    ["Idempotency-Key"] = string.format("bench-%%s-wrk%%d-%%d", run_id, tid, n),
  }, body)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if n >= cap then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local total, parts = {}, {}
  for _, t in ipairs(threads) do
    for status, count in pairs(t:get("statuses") or {}) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do
    parts[#parts + 1] = string.format('"%%d": %%d', status, count)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"duration_us": %%d, "requests": %%d, "p50_us": %%d, "p99_us": %%d, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "timeout": %%d}, "statuses": {%%s}}\n',
    summary.duration, summary.requests, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, table.concat(parts, ", ")))
end
"""


def wrk_loop(port: int, reqs: Requests, clients: int, seconds: float, script_dir: Path) -> Run:
    """The closed loop with wrk (C, epoll) instead of Python threads: a Lua script makes the same
    requests (rotating inspector, random point in their street, unique Idempotency-Key)."""

    def lua_person(who: dict) -> str:
        points = ", ".join(f"{{{x:.7f}, {y:.7f}}}" for x, y in who["points"])
        return f"{{token = {json.dumps(who['token'])}, points = {{{points}}}}}"

    people = ", ".join(lua_person(who) for who in reqs.identities)
    run_id = f"{reqs.run_id}-{next(reqs.seq)}"  # keys stay unique across wrk runs
    script = script_dir / f"wrk-{run_id}.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "what": reqs.path,
            "path": reqs.path,
            "minor": reqs.minor_class_id,
            "run_id": run_id,
            "cap": MAX_REQUESTS_PER_LOOP // max(1, min(2, clients)),
            "people": people,
        }
    )
    threads = max(1, min(2, clients))
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{clients}",
        f"-d{seconds:g}s",
        f"--timeout={REQUEST_TIMEOUT:g}s",
        "-s",
        str(script),
        f"http://{HOST}:{port}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 3 * REQUEST_TIMEOUT)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no result:\n{out.stdout}\n{out.stderr}")
    data = json.loads(line[6:])
    run = Run(reqs.path, f"closed C={clients} (wrk)", clients, data["duration_us"] / 1e6)
    for status, count in data["statuses"].items():
        run.statuses[int(status)] = run.statuses.get(int(status), 0) + count
    run.errors = sum(data["errors"].values())
    run.percentiles = {0.5: data["p50_us"] / 1000, 0.99: data["p99_us"] / 1000}
    return run


# --- who used the CPU ----------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stat(pid: int | str) -> tuple[int, float]:
    """(ppid, CPU seconds: user + system) of a process, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def _proc_table() -> dict[int, tuple[int, float, str]]:
    """pid → (ppid, CPU seconds, cmdline) for every process we can read."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            ppid, cpu = _proc_stat(entry.name)
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            table[int(entry.name)] = (ppid, cpu, cmd)
    return table


def _machine_busy() -> float:
    with contextlib.suppress(OSError):
        parts = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
        return (sum(parts[:8]) - idle) / TICK
    return 0.0


def _own_cpu() -> float:
    """CPU seconds of this process and of its children that have exited (wrk runs as one; the
    server and the demo build exit outside the measured runs)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class CpuMeter:
    """CPU seconds spent between start() and stop() by: this load generator, the server's process
    tree, the PostgreSQL backends of the scratch database, and everything else on the machine."""

    def __init__(self, server_pid: int, dbname: str):
        self.server_pid, self.dbname = server_pid, dbname

    def _classify(self) -> dict[int, tuple[str, float]]:
        table = _proc_table()
        server = {self.server_pid}
        changed = True
        while changed:
            changed = False
            for pid, (ppid, _cpu, _cmd) in table.items():
                if ppid in server and pid not in server:
                    server.add(pid)
                    changed = True
        out = {}
        for pid, (_ppid, cpu, cmd) in table.items():
            if pid in server:
                out[pid] = ("server", cpu)
            elif cmd.startswith("postgres:") and f" {self.dbname} " in cmd:
                out[pid] = ("PostgreSQL", cpu)
        return out

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.busy0 = _machine_busy()
        self.self0 = _own_cpu()
        self.procs0 = self._classify()

    def stop(self) -> dict[str, float]:
        procs = self._classify()
        out = {
            "load generator": _own_cpu() - self.self0,
            "server": 0.0,
            "PostgreSQL": 0.0,
        }
        for pid, (who, cpu) in procs.items():
            before = self.procs0.get(pid)
            out[who] += cpu - (before[1] if before and before[0] == who else 0.0)
        busy = _machine_busy() - self.busy0
        out["everything else"] = max(0.0, busy - sum(out.values()))
        out["wall"] = time.perf_counter() - self.t0
        return out


class DbSampler:
    """Samples pg_stat_activity of the scratch database ten times a second while a loop runs: how
    many of the server's sessions are running a statement, waiting for a lock held by another
    transaction, waiting for the WAL to be flushed at commit, or idle inside a transaction (the
    server is computing between statements while the transaction holds its locks)."""

    def __init__(self, dsn: str, dbname: str):
        self.dsn, self.dbname = dsn, dbname
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.samples = 0
        self.totals: dict[str, float] = {}
        self.stop_event.clear()
        self.thread = threading.Thread(target=self._run, name="db-sampler", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            deadline = time.monotonic() + 600  # bounded whatever happens to the caller
            while not self.stop_event.wait(0.1) and time.monotonic() < deadline:
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                    (self.dbname,),
                ).fetchall()
                self.samples += 1
                for state, wtype, wevent in rows:
                    if state == "active" and wtype == "Lock":
                        key = f"waiting for a lock ({wevent})"
                    elif state == "active" and wtype == "IO" and (wevent or "").startswith("WAL"):
                        key = "flushing WAL (commit)"
                    elif state == "active":
                        key = "running a statement"
                    elif state == "idle in transaction":
                        key = "idle in transaction"
                    else:
                        key = "idle"
                    self.totals[key] = self.totals.get(key, 0) + 1

    def stop(self) -> dict[str, float]:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(5)
        n = max(1, self.samples)
        return {k: v / n for k, v in sorted(self.totals.items(), key=lambda kv: -kv[1])}


# --- set-up --------------------------------------------------------------------------------------


def pg_admin(dsn: str):
    import psycopg

    return psycopg.connect(dsn, autocommit=True)


def create_db(dsn: str, name: str) -> None:
    from psycopg import sql

    with pg_admin(dsn) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_db(dsn: str, name: str) -> None:
    from psycopg import sql

    with pg_admin(dsn) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def server_env(args, tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://{args.pg_user}@{HOST}:{args.pg_port}/{args.db}",
        DJANGO_SETTINGS_MODULE="bench.floor_settings",
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        CHENGGUAN_VAR_DIR=str(tmp / "var"),
        DEBUG="false",
        LOG_LEVEL="WARNING",
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    for name in ("STATIC_ROOT", "MEDIA_ROOT"):
        env.pop(name, None)
    return env


def build_demo(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(VENV_BIN / "chengguan"), "demo", "--no-serve", "--days", "0"],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=300,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def setup_django(env: dict[str, str]) -> None:
    """This process talks to the scratch database too (tokens, points, checks)."""
    for key in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "CHENGGUAN_VAR_DIR", "DEBUG", "LOG_LEVEL"):
        os.environ[key] = env[key]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def make_fixtures(run_id: str, points_per_person: int) -> tuple[list[dict], int, dict[str, str]]:
    """Tokens for inspector1..6, random points inside each one's street, the class id, and the
    floor's table (raw SQL, scratch database only)."""
    import shapely
    from django.db import connection

    from chengguan.catalog.models import MinorClass
    from chengguan.grid.models import UnitGrid
    from chengguan.org.models import Person
    from chengguan.org.tokens import token_create

    minor = MinorClass.objects.get(name=CLASS_NAME, major__catalog__active=True)
    rng = random.Random(run_id)
    identities = []
    for n in range(1, 7):
        person = Person.objects.get(username=f"inspector{n}")
        street = person.regions.get()
        grids = list(UnitGrid.objects.filter(street__code=street.code).values_list("geometry", flat=True))
        points = []
        for geometry in rng.sample(grids, min(points_per_person, len(grids))):
            poly = shapely.geometry.shape(geometry)
            minx, miny, maxx, maxy = poly.bounds
            for _try in range(50):  # a random point strictly inside the grid, else its centroid-ish point
                p = shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
                if poly.contains(p) and poly.exterior.distance(p) > 1e-6:
                    break
            else:
                p = poly.representative_point()
            points.append((round(p.x, 7), round(p.y, 7)))
        _token, plaintext = token_create(person, f"bench-intake-{run_id}")
        identities.append(
            {"username": person.username, "street": street.name, "token": plaintext, "points": points}
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_floor (id bigserial PRIMARY KEY, minor_class_id integer NOT NULL, "
            "description text NOT NULL, lon double precision NOT NULL, lat double precision NOT NULL, "
            "created_at timestamptz NOT NULL)"
        )
    return identities, minor.pk, {"minor_class": f"{minor.full_code} {minor.name} (id {minor.pk})"}


def analyze() -> None:
    """ANALYZE the freshly built scratch database: without statistics the planner takes the new
    tables for empty, and the intake's duplicate look-up scans every recent case of its class
    (1.45 ms → 0.08 ms) until autovacuum gets to them in the middle of a run."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def count_queries(reqs: dict[str, Requests]) -> dict[str, dict]:
    """One request of each kind in this process (Django's test client, same database), after one
    warm-up: statements, transactions, and what the statements touch."""
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    out = {}
    client = DjangoClient(HTTP_HOST=HOST)
    rng = random.Random(7)
    for name, r in reqs.items():
        for _ in range(2):  # the first builds the grid index and warms caches
            body, headers = r.make(rng)
            with CaptureQueriesContext(connection) as q:
                response = client.post(
                    r.path,
                    body,
                    content_type="application/json",
                    headers={k: v for k, v in headers.items() if k != "Content-Type"},
                )
        sqls = [x["sql"] for x in q.captured_queries]
        control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
        statements = [s for s in sqls if not s.startswith(control)]
        tables: dict[str, int] = {}
        for s in statements:
            verb = s.split(None, 1)[0]
            table = next((w.strip('"') for w in s.split() if w.startswith('"') and "." not in w), "?")
            if verb == "SELECT":
                table = s.split(" FROM ", 1)[1].split()[0].strip('"') if " FROM " in s else "?"
            tables[f"{verb} {table}"] = tables.get(f"{verb} {table}", 0) + 1
        out[name] = {
            "status": response.status_code,
            "statements": len(statements),
            "transactions": sum(1 for s in sqls if s.startswith("COMMIT")),
            "savepoints": sum(1 for s in sqls if s.startswith("SAVEPOINT")),
            "by_table": tables,
        }
    return out


def backend_cpu_seconds(connection) -> float | None:
    """CPU time (user + system) this process's PostgreSQL backend has used so far, from
    /proc/<pid>/stat (the server runs on this machine); None where /proc cannot tell."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        return _proc_stat(pid)[1]
    except (OSError, ValueError, IndexError):
        return None


def cost_per_request(reqs: dict[str, Requests], n: int) -> dict[str, dict]:
    """CPU per request of each kind, split between this Python process and its PostgreSQL backend:
    `n` requests in-process through Django's test client (no HTTP server: the server's own share is
    the same for both kinds), after a warm-up, the kinds alternating in two halves so that a drift
    of the machine's speed falls on both."""
    from django.db import connection
    from django.test import Client as DjangoClient

    client = DjangoClient(HTTP_HOST=HOST)
    rng = random.Random(11)
    totals = {name: {"python": 0.0, "db": 0.0, "n": 0} for name in reqs}

    def send(r: Requests) -> None:
        body, headers = r.make(rng)
        client.post(
            r.path,
            body,
            content_type="application/json",
            headers={k: v for k, v in headers.items() if k != "Content-Type"},
        )

    for r in reqs.values():
        for _ in range(10):
            send(r)
    for _half in range(2):
        for name, r in reqs.items():
            db0, py0 = backend_cpu_seconds(connection), time.process_time()
            for _ in range(max(1, n // 2)):
                send(r)
            py1, db1 = time.process_time(), backend_cpu_seconds(connection)
            totals[name]["python"] += py1 - py0
            totals[name]["db"] = None if db0 is None or db1 is None else totals[name]["db"] + db1 - db0
            totals[name]["n"] += max(1, n // 2)
    return {
        name: {
            "n": t["n"],
            "python_ms": t["python"] / t["n"] * 1000,
            "db_ms": None if t["db"] is None else t["db"] / t["n"] * 1000,
        }
        for name, t in totals.items()
    }


class RowCounter:
    """Counts the rows each endpoint writes, in the database, around every run. wrk stops at its
    deadline without reading the answers to the requests then in flight (at most one per
    connection); the server still handles them, so a wrk run may create up to C rows more than it
    saw 201s. The Python loops read every answer, so there the counts must be equal."""

    TABLES = {INTAKE_PATH: "cases_case", FLOOR_PATH: "bench_floor"}

    def __init__(self, dsn: str):
        import psycopg

        self.conn = psycopg.connect(dsn, autocommit=True)

    def count(self, endpoint: str) -> int:
        return self.conn.execute(f"SELECT count(*) FROM {self.TABLES[endpoint]}").fetchone()[0]

    def settled(self, endpoint: str) -> int:
        """The count once the server has finished what was in flight (stable for 0.5 s; ≤ 15 s)."""
        last, deadline = self.count(endpoint), time.monotonic() + 15
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.count(endpoint)
            if now == last:
                break
            last = now
        return last

    def counted(self, endpoint: str, loop, *loop_args) -> Run:
        before = self.count(endpoint)
        run = loop(*loop_args)
        run.created = self.settled(endpoint) - before
        if run.mode.endswith("(wrk)"):
            run.unread = max(0, run.created - run.ok)
        return run

    def close(self) -> None:
        self.conn.close()


def counts() -> dict[str, int]:
    from django.db import connection

    from chengguan.cases.models import Case

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_floor")
        floor = cursor.fetchone()[0]
    result = {"cases": Case.objects.count(), "floor rows": floor}
    connection.close()
    return result


# --- the server ----------------------------------------------------------------------------------


def start_server(args, env: dict[str, str], log: Path) -> subprocess.Popen:
    cmd = [
        str(VENV_BIN / "chengguan"),
        "serve",
        "--addr",
        f"{HOST}:{args.port}",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
    ]
    out = log.open("wb")
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(
                f"the server exited with {proc.returncode}; see {log}:\n{log.read_text()[-3000:]}"
            )
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection(HOST, args.port, timeout=2)
            conn.request("GET", "/static/admin/css/base.css")
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return proc
        time.sleep(0.5)
    stop_server(proc)
    raise SystemExit(f"the server did not answer within 90 s; see {log}")


def stop_server(proc: subprocess.Popen, timeout: float = 40) -> tuple[int | None, float]:
    """SIGTERM, as a service manager would; (exit code, seconds it took). Kills after `timeout`."""
    started = time.perf_counter()
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
            return None, time.perf_counter() - started
    return proc.returncode, time.perf_counter() - started


# --- output --------------------------------------------------------------------------------------


def loadavg() -> str:
    if not hasattr(os, "getloadavg"):
        return "n/a"
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def machine_info(pg_version: str) -> list[str]:
    import django
    import granian
    import ninja
    import psycopg

    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"machine: {cpu}; {os.cpu_count()} CPUs ({usable} usable); {platform.platform()}",
        f"python {platform.python_version()}, Django {django.get_version()}, django-ninja {ninja.__version__}, "
        f"granian {granian.__version__}, psycopg {psycopg.__version__}",
        f"database: {pg_version}",
    ]


def table(head, lines, right=()) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(head, *lines, strict=False)]

    def fmt(cells):
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    say(fmt(head))
    say("  ".join("-" * w for w in widths))
    for line in lines:
        say(fmt(line))


def cpu_share(run: Run) -> str:
    c = run.cpu
    if not c:
        return ""
    wall = c["wall"] or 1
    parts = [
        f"{who} {c[who] / wall * 100:.0f}%"
        for who in ("server", "PostgreSQL", "load generator", "everything else")
    ]
    return ", ".join(parts)


def print_report(args, info, runs, peaks, paced, queries, costs, checks, notes, load_start, total_s) -> None:
    say("")
    say("=" * 100)
    for line in info:
        say(line)
    say(
        f"load average (1/5/15 min): at start {load_start}, at end {loadavg()} (other work skews the figures)"
    )
    say(
        f"server: chengguan serve (granian WSGI), {args.workers} workers × {args.threads} thread(s), "
        f"{HOST}:{args.port}; database: PostgreSQL {args.db} on {HOST}:{args.pg_port}, CONN_MAX_AGE 60"
    )
    say(
        f"NOTE: one {os.cpu_count()}-core machine runs the load generator, the server and PostgreSQL: they "
        "share the CPU, and the CPU column shows who used it (100% = one core). Load generator: "
        + (
            "wrk (C, keep-alive, Lua script) for the closed loops"
            if args.client == "wrk"
            else "stdlib Python threads (keep-alive http.client) for the closed loops"
        )
        + "; stdlib Python threads for the warm-up and the paced runs."
    )
    say("")
    say(f"Goal (from the issue): {ANCHOR}")
    say("")
    head = ("endpoint", "load", "requests", "errors", "req/s", "p50 ms", "p99 ms", "CPU (100% = 1 core)")
    lines = []
    for r in runs:
        lines.append(
            (
                r.endpoint,
                r.mode,
                f"{r.answered + r.errors + r.unread:,}",
                f"{r.bad:,}",
                f"{r.rate:,.1f}",
                f"{r.pct(0.50):.1f}",
                f"{r.pct(0.99):.1f}",
                cpu_share(r),
            )
        )
    table(head, lines, right=(2, 3, 4, 5, 6))
    say("")
    say("The server's PostgreSQL sessions during each run (mean number in each state, sampled 10×/s):")
    states = []
    for r in runs:
        for k in r.db:
            if k not in states:
                states.append(k)
    head = ("endpoint", "load", *states)
    lines = [(r.endpoint, r.mode, *(f"{r.db.get(k, 0):.2f}" for k in states)) for r in runs if r.db]
    table(head, lines, right=tuple(range(2, 2 + len(states))))
    say("")
    say("Summary (peak: best closed-loop level; latency: paced at half the peak, from the scheduled time)")
    head = (
        "endpoint",
        "server",
        "workers",
        "database",
        "requests",
        "errors",
        "peak req/s",
        "p50 ms",
        "p99 ms",
    )
    lines = []
    for name in (INTAKE_PATH, FLOOR_PATH):
        peak, pr = peaks[name], paced[name]
        total = sum(r.answered + r.errors + r.unread for r in runs if r.endpoint == name)
        errors = sum(r.bad for r in runs if r.endpoint == name)
        lines.append(
            (
                name,
                "granian WSGI",
                f"{args.workers}×{args.threads}",
                args.pg_short,
                f"{total:,}",
                f"{errors:,}",
                f"{peak.rate:,.1f} (C={peak.clients})",
                f"{pr.pct(0.50):.1f}",
                f"{pr.pct(0.99):.1f}",
            )
        )
    table(head, lines, right=(4, 5, 6, 7, 8))
    intake, floor = peaks[INTAKE_PATH], peaks[FLOOR_PATH]
    ratio = intake.rate / floor.rate if floor.rate else float("nan")
    p99 = paced[INTAKE_PATH].pct(0.99)
    say("")
    say(
        f"intake / floor throughput: {ratio * 100:.1f}%  (goal ≥ {GOAL_RATIO * 100:.0f}%: "
        f"{'met' if ratio >= GOAL_RATIO else 'NOT met'})"
    )
    say(
        f"intake p99 at half the peak rate ({paced[INTAKE_PATH].target_rate:.0f}/s): {p99:.1f} ms  "
        f"(goal ≤ {GOAL_P99_MS:.0f} ms: {'met' if p99 <= GOAL_P99_MS else 'NOT met'})"
    )
    say("")
    say("Checks after the run:")
    for line in checks:
        say(f"  {line}")
    say("")
    say("Queries per request (one request in-process through Django's test client, after a warm-up):")
    for name, q in queries.items():
        say(
            f"  {name}: status {q['status']}, {q['statements']} statements in {q['transactions']} "
            f"transaction(s), {q['savepoints']} savepoint(s)"
        )
        say("    " + ", ".join(f"{k} ×{v}" for k, v in sorted(q["by_table"].items(), key=lambda kv: -kv[1])))
    say("")
    say("CPU per request:")
    served = {}
    for name, peak in peaks.items():
        c, n = peak.cpu, max(1, peak.created or peak.ok)
        if c:
            served[name] = {who: c[who] / n * 1000 for who in ("server", "PostgreSQL", "load generator")}
            say(
                f"  at the peak, {name}: server processes {served[name]['server']:.2f} ms + PostgreSQL "
                f"{served[name]['PostgreSQL']:.2f} ms + load generator {served[name]['load generator']:.2f} ms "
                f"({n:,} requests)"
            )
    for name, c in costs.items():
        db = "n/a" if c["db_ms"] is None else f"{c['db_ms']:.2f} ms"
        say(
            f"  in-process (Django's test client, no HTTP server), {name}: Python {c['python_ms']:.2f} ms + "
            f"PostgreSQL {db} ({c['n']} requests)"
        )
    if INTAKE_PATH in served and FLOOR_PATH in served:
        # The three share the two cores, so each request's cost is all three together.
        floor_ms, intake_ms = sum(served[FLOOR_PATH].values()), sum(served[INTAKE_PATH].values())
        budget = floor_ms / GOAL_RATIO
        fixed = served[INTAKE_PATH]["PostgreSQL"] + served[INTAKE_PATH]["load generator"]
        say(
            f"  The cores are the limit: the inverse ratio of CPU per request, {floor_ms:.2f} / {intake_ms:.2f} ms "
            f"= {floor_ms / intake_ms * 100:.1f}%, is the throughput ratio. {GOAL_RATIO * 100:.0f}% of the floor "
            f"leaves an intake {budget:.2f} ms ({floor_ms:.2f} ms / {GOAL_RATIO:.2f}); its PostgreSQL work and "
            f"its load generator take {fixed:.2f} ms of that, which leaves {budget - fixed:.2f} ms for the "
            f"server's processes (the intake's take {served[INTAKE_PATH]['server']:.2f} ms; the floor's "
            f"{served[FLOOR_PATH]['server']:.2f} ms, for one statement without authentication)."
        )
    if notes:
        say("")
        for note in notes:
            say(f"- {note}")
    say("")
    say(f"total run time {total_s:.0f} s")


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    p.add_argument(
        "--workers", type=int, default=2 * cores + 1, help="server workers (default 2 × cores + 1)"
    )
    p.add_argument("--threads", type=int, default=1, help="threads per worker (default 1)")
    p.add_argument(
        "--concurrency",
        default="4,8,16",
        help="closed-loop client counts to try for the peak (default 4,8,16)",
    )
    p.add_argument("--duration", type=float, default=15, help="seconds per closed-loop level (default 15)")
    p.add_argument(
        "--paced", type=float, default=20, help="seconds of the paced run at half the peak (default 20)"
    )
    p.add_argument("--warmup", type=float, default=4, help="seconds of warm-up per endpoint (default 4)")
    p.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="closed-loop load generator: wrk (Debian package, C) or stdlib Python threads; "
        "auto: wrk when installed (the paced runs always use Python threads)",
    )
    p.add_argument("--port", type=int, default=18765, help="the server's port on 127.0.0.1 (default 18765)")
    p.add_argument("--pg-port", type=int, default=5432)
    p.add_argument("--pg-user", default="postgres", help="a superuser that may create databases (trust auth)")
    p.add_argument("--db", default="chengguan_bench_intake", help="the scratch database (dropped at the end)")
    p.add_argument("--keep-db", action="store_true", help="keep the scratch database for a look afterwards")
    p.add_argument("--points", type=int, default=300, help="random points per inspector (default 300)")
    p.add_argument(
        "--cost-requests",
        type=int,
        default=400,
        help="requests of each kind sent in-process to split their CPU between Python and PostgreSQL (default 400)",
    )
    args = p.parse_args(argv)
    if args.client == "auto":
        args.client = "wrk" if shutil.which("wrk") else "python"
    elif args.client == "wrk" and not shutil.which("wrk"):
        p.error("--client wrk: wrk is not installed (apt-get install wrk)")
    args.levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if not args.levels or min(args.levels) < 1 or max(args.levels) > 256:
        p.error("--concurrency: client counts from 1 to 256")
    if not 1 <= args.duration <= 120 or not 1 <= args.paced <= 120:
        p.error("--duration and --paced: 1–120 s")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    load_start = loadavg()
    admin_dsn = f"host={HOST} port={args.pg_port} user={args.pg_user} dbname=postgres"
    run_id = secrets.token_hex(4)
    notes: list[str] = []
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="chengguan-bench-intake-") as tmp_name:
        tmp = Path(tmp_name)
        env = server_env(args, tmp)
        say(f"Scratch database {args.db} on {HOST}:{args.pg_port}; files under {tmp}")
        create_db(admin_dsn, args.db)
        proc = None
        try:
            say("Building the demo city (chengguan demo --no-serve --days 0) ...")
            demo_s = build_demo(env)
            notes.append(f"Set-up: the demo city took {demo_s:.1f} s to build in PostgreSQL.")
            setup_django(env)
            identities, minor_id, fixture_notes = make_fixtures(run_id, args.points)
            analyze()  # planner statistics, as autovacuum keeps them in a database that has run a while
            notes.append(
                f"Class {fixture_notes['minor_class']}; reporters "
                + ", ".join(f"{i['username']} ({i['street']})" for i in identities)
                + f"; {args.points} random points inside each one's street."
            )
            reqs = {
                INTAKE_PATH: Requests(INTAKE_PATH, identities, minor_id, run_id),
                FLOOR_PATH: Requests(FLOOR_PATH, identities, minor_id, run_id),
            }
            queries = count_queries(reqs)
            say(f"CPU per request in-process ({args.cost_requests} of each kind) ...")
            costs = cost_per_request(reqs, args.cost_requests)
            before = counts()

            say(
                f"Starting chengguan serve: {args.workers} workers × {args.threads} thread(s) on {HOST}:{args.port}"
            )
            t_server = time.perf_counter()
            proc = start_server(args, env, tmp / "server.log")
            notes.append(f"The server answered {time.perf_counter() - t_server:.1f} s after it was started.")
            meter = CpuMeter(proc.pid, args.db)
            sampler = DbSampler(
                f"host={HOST} port={args.pg_port} user={args.pg_user} dbname={args.db}", args.db
            )

            rows = RowCounter(f"host={HOST} port={args.pg_port} user={args.pg_user} dbname={args.db}")

            def measured(loop, r: Requests, *loop_args) -> Run:
                def timed_loop() -> Run:
                    meter.start()
                    sampler.start()
                    run = loop(args.port, r, *loop_args)
                    run.db = sampler.stop()
                    run.cpu = meter.stop()
                    return run

                return rows.counted(r.path, timed_loop)

            peaks: dict[str, Run] = {}
            paced: dict[str, Run] = {}
            for name, r in reqs.items():
                say(f"{name}: warm-up {args.warmup:.0f} s at C={max(args.levels)}")
                warm = rows.counted(name, closed_loop, args.port, r, max(args.levels), args.warmup, "warm")
                warm.mode = f"warm-up C={warm.clients}"
                runs.append(warm)
                for c in args.levels:
                    if args.client == "wrk":
                        run = measured(wrk_loop, r, c, args.duration, tmp)
                    else:
                        run = measured(closed_loop, r, c, args.duration, "closed")
                    runs.append(run)
                    say(
                        f"  C={c:<3} {run.rate:8.1f} req/s  p50 {run.pct(0.5):6.1f} ms  p99 {run.pct(0.99):7.1f} ms  "
                        f"errors {run.bad}  [{cpu_share(run)}]"
                    )
                peak = max(
                    (x for x in runs if x.endpoint == name and x.mode.startswith("closed")),
                    key=lambda x: x.rate,
                )
                peaks[name] = peak
                rate = max(1.0, peak.rate / 2)
                clients = min(128, max(16, 4 * peak.clients))
                pr = measured(paced_loop, r, rate, args.paced, clients)
                runs.append(pr)
                paced[name] = pr
                say(
                    f"  paced {rate:.0f}/s: {pr.rate:8.1f} req/s  p50 {pr.pct(0.5):6.1f} ms  "
                    f"p99 {pr.pct(0.99):7.1f} ms  late {pr.late}  errors {pr.bad}  [{cpu_share(pr)}]"
                )
            code, stop_s = stop_server(proc)
            proc = None
            rows.close()
            notes.append(
                f"SIGTERM stopped the server in {stop_s:.1f} s with exit code {code} "
                f"({'clean' if code == 0 else 'NOT clean'})."
            )
            after = counts()
            checks = []
            for name, key in ((INTAKE_PATH, "cases"), (FLOOR_PATH, "floor rows")):
                mine = [r for r in runs if r.endpoint == name]
                made, ok = after[key] - before[key], sum(r.ok for r in mine)
                in_runs = sum(r.created for r in mine)
                checks.append(
                    f"{name}: {made:,} {key} created while the server ran "
                    f"({'all' if made == in_runs else 'NOT all'} during the runs), {ok:,} answered 201"
                )
                exact = [r for r in mine if not r.mode.endswith("(wrk)")]
                e_made, e_ok = sum(r.created for r in exact), sum(r.ok for r in exact)
                checks.append(
                    f"  Python-driven runs (every answer read): {e_made:,} created, {e_ok:,} answered 201: "
                    f"{'equal' if e_made == e_ok else 'MISMATCH'}"
                )
                wrk = [r for r in mine if r.mode.endswith("(wrk)")]
                if wrk:
                    w_made, w_ok = sum(r.created for r in wrk), sum(r.ok for r in wrk)
                    fine = all(r.ok <= r.created <= r.ok + r.clients for r in wrk)
                    checks.append(
                        f"  wrk runs: {w_made:,} created = {w_ok:,} answered 201 + "
                        f"{w_made - w_ok} in flight when wrk stopped ("
                        + ", ".join(f"C={r.clients}: {r.created - r.ok}" for r in wrk)
                        + f"; at most C each): {'consistent' if fine else 'MISMATCH'}"
                    )
            fivexx = sum(c for r in runs for s, c in r.statuses.items() if s >= 500)
            others = {}
            for r in runs:
                for s, c in r.statuses.items():
                    if s != 201:
                        others[s] = others.get(s, 0) + c
            checks.append(
                f"5xx answers: {fivexx}; other non-201 answers: {others or 'none'}; "
                f"requests with no answer: {sum(r.errors for r in runs)}"
            )
            busy = [
                f"{r.endpoint} {r.mode} {r.cpu['everything else'] / r.cpu['wall'] * 100:.0f}%"
                for r in runs
                if r.cpu and r.cpu["everything else"] > 0.5 * r.cpu["wall"]
            ]
            if busy:
                notes.append(
                    "Other processes used more than half a core during: "
                    + ", ".join(busy)
                    + ". Those figures are lower than this machine can do alone."
                )
            late = [f"{name} {r.late}/{r.answered + r.errors}" for name, r in paced.items()]
            notes.append(
                "Paced runs: requests sent more than 10 ms after their scheduled time (client or "
                "server behind): " + ", ".join(late) + "."
            )
            log = (tmp / "server.log").read_text(errors="replace")
            tracebacks = log.count("Traceback")
            if tracebacks:
                checks.append(f"server log: {tracebacks} traceback(s); last lines:\n{log[-2000:]}")
            pg = pg_version(admin_dsn)
            args.pg_short = pg.split(" (", 1)[0].rsplit(".", 1)[0]
            info = machine_info(pg)
        finally:
            if proc is not None:
                stop_server(proc, timeout=10)
            from django.conf import settings

            if settings.configured:
                from django.db import connections

                connections.close_all()
            if args.keep_db:
                say(f"(kept the scratch database {args.db})")
            else:
                drop_db(admin_dsn, args.db)
    print_report(
        args,
        info,
        runs,
        peaks,
        paced,
        queries,
        costs,
        checks,
        notes,
        load_start,
        time.perf_counter() - started,
    )


def pg_version(dsn: str) -> str:
    with pg_admin(dsn) as admin:
        version = admin.execute("SHOW server_version").fetchone()[0]
        sync = admin.execute("SHOW synchronous_commit").fetchone()[0]
    return f"PostgreSQL {version} on {HOST} (synchronous_commit {sync})"


if __name__ == "__main__":
    sys.exit(main())
