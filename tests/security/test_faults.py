"""Faults, on PostgreSQL: a worker killed mid-job, the database restarted during a burst of
intake, and fifty identical submissions at once.

* `chengguan worker` killed with SIGKILL in the middle of the overdue scan: the task it had
  claimed is queued again (its worker's liveness lock is gone) and run by the next worker; every
  stage is flagged and escalated once, every notification queued once.
* A private PostgreSQL cluster (initdb in a temporary directory, a free port: the shared server is
  never touched) behind a real `chengguan serve`: the database is stopped and started again in the
  middle of a burst of reports. Every answer is a 201 with its case or a clean 503 (JSON code and
  message, Retry-After); once the database is back every request succeeds without restarting the
  server; every case has its stage, event, outbox rows and idempotency record (nothing
  half-written); retrying each refused request with its Idempotency-Key gives exactly one case.
* Fifty identical submissions (one Idempotency-Key, one body) at once through the same server:
  one case, every answer that case.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count

from tests.notify.conftest import _test_database  # noqa: F401  (the test database, whatever is selected)

from .pgcluster import ROOT, PrivateCluster, Server, cannot_run_cluster, postgres_bindir

pg_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="fault tests need PostgreSQL")


# --- the answer when the database is unavailable (both databases) --------------------------------


def test_the_api_answers_503_with_retry_after_when_the_database_is_unavailable(
    client_for, people, monkeypatch
):
    from django.db import OperationalError

    from chengguan.cases import services

    def down(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "case_report", down)
    body = {"minor_class_id": 1, "description": "x", "lon": 120.0, "lat": 30.0}
    response = client_for(people["inspector_a"]).post("/api/v1/cases/", body, content_type="application/json")
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert response.json()["code"] == "database_unavailable" and response.json()["message"]


def test_outside_the_api_a_database_failure_is_a_503_page_and_anything_else_still_a_500(rf):
    """handler500 (what Django calls for an exception no view handled, e.g. in a middleware)."""
    from django.db import InterfaceError
    from django.urls import get_resolver

    handler = get_resolver().resolve_error_handler(500)
    try:
        raise InterfaceError("connection already closed")
    except InterfaceError:
        page = handler(rf.get("/cases/"))
        api = handler(rf.get("/open311/v2/requests.json"))
    assert page.status_code == 503 and page["Content-Type"].startswith("text/html") and page["Retry-After"]
    assert api.status_code == 503 and b"database_unavailable" in api.content
    try:
        raise ValueError("a bug")
    except ValueError:
        assert handler(rf.get("/cases/")).status_code == 500


# --- a worker killed mid-job ------------------------------------------------------------------------

WORKER_SCRIPT = """
import sys, time, django
django.setup()
from chengguan.cases import jobs, notifications

log, delay, worker_id, once = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4] == "once"
jobs.BATCH = 1  # one stage per transaction: the scan commits stage by stage
original = notifications.stage_overdue

def slow_stage_overdue(case, stage, *, escalate):
    original(case, stage, escalate=escalate)
    with open(log, "a") as f:
        f.write(f"{stage.pk}:{int(escalate)}\\n")
    time.sleep(delay)  # inside the stage's transaction, before it commits

notifications.stage_overdue = slow_stage_overdue
from django.core.management import call_command
args = ["--once"] if once else ["--interval", "0.1"]
call_command("worker", "--no-periodic", "--worker-id", worker_id, *args)
"""


def _db_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _worker(log: Path, delay: float, worker_id: str, *, once: bool) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, str(log), str(delay), worker_id, "once" if once else "loop"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": _db_url(), "LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _clean_queue() -> None:
    from django_tasks_db.models import DBTaskResult

    from chengguan.notify.models import Notification, PeriodicSchedule

    Notification.objects.all().delete()
    PeriodicSchedule.objects.all().delete()
    DBTaskResult.objects.all().delete()


@pytest.fixture
def committed(_test_database, city, django_db_blocker):  # noqa: F811
    """The session's city with real commits (worker processes must see the rows); removes the
    cases, notifications and tasks the test leaves."""
    from chengguan.cases.models import Case, IdempotencyRecord

    made: list[int] = []
    with django_db_blocker.unblock():
        _clean_queue()
        try:
            yield made
        finally:
            connection.close()
            IdempotencyRecord.objects.filter(case_id__in=made).delete()
            Case.objects.filter(pk__in=made).delete()
            _clean_queue()


@pg_only
def test_a_task_of_a_live_worker_stays_claimed_and_one_of_a_dead_worker_runs_again(db):
    """The recovery's rule, in one process: the liveness lock decides; a task that has lost too
    many workers fails instead of looping."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from chengguan.core.jobs import WorkerLiveness, requeue_abandoned, requeue_abandoned_tasks

    def running(worker_ids):
        row = requeue_abandoned.enqueue().db_result
        DBTaskResult.objects.filter(pk=row.pk).update(status=TaskResultStatus.RUNNING, worker_ids=worker_ids)
        return row.pk

    live = WorkerLiveness("faults-live-" + secrets.token_hex(4))
    assert live.acquire()
    try:
        assert not WorkerLiveness(live.worker_id).acquire()  # one live worker per id
        held = running([live.worker_id])
        dead = running(["faults-gone-" + secrets.token_hex(4)])
        tired = running([f"faults-gone-{i}-{secrets.token_hex(4)}" for i in range(3)])
        requeue_abandoned_tasks()
        status = dict(DBTaskResult.objects.filter(pk__in=[held, dead, tired]).values_list("pk", "status"))
        assert status == {
            held: TaskResultStatus.RUNNING,
            dead: TaskResultStatus.READY,
            tired: TaskResultStatus.FAILED,
        }
        assert DBTaskResult.objects.get(pk=tired).exception_class_path == "chengguan.core.jobs.WorkerLost"
    finally:
        live.release()
    requeue_abandoned_tasks()  # its worker stopped: now it runs again
    assert DBTaskResult.objects.get(pk=held).status == TaskResultStatus.READY


@pg_only
def test_a_worker_killed_mid_scan_its_task_runs_again_and_nothing_is_doubled(committed, city, tmp_path):
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from chengguan.cases import services
    from chengguan.cases.jobs import overdue_scan
    from chengguan.cases.models import CaseStage
    from chengguan.notify.models import Notification
    from chengguan.org.models import Person
    from tests.cases.factories import minor, point_in

    n = 4
    inspector = Person.objects.get(username="inspector_a")
    lon, lat = point_in(city.street_a)
    for i in range(n):
        case, _ = services.case_report(
            inspector,
            services.CaseInput(
                source="inspector", minor_class_id=minor().pk, description=f"超期扫描 {i}", lon=lon, lat=lat
            ),
        )
        committed.append(case.pk)
    stages = CaseStage.objects.filter(case_id__in=committed, ended_at__isnull=True)
    assert stages.count() == n
    stages.update(deadline=timezone.now() - timedelta(days=3))  # overdue, and past escalation
    Notification.objects.all().delete()  # the reports' own notifications: not what is counted here
    task_id = overdue_scan.enqueue().id

    log = tmp_path / "scan.log"
    first, second = "faults-w1-" + secrets.token_hex(4), "faults-w2-" + secrets.token_hex(4)
    worker = _worker(log, 0.5, first, once=False)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and worker.poll() is None:
            if log.exists() and len(log.read_text().split()) >= 2:
                break
            time.sleep(0.02)
        worker.send_signal(signal.SIGKILL)  # in the 2nd stage's transaction: 1 committed, 1 not
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == -signal.SIGKILL, worker.stderr.read().decode()[-3000:]

    row = DBTaskResult.objects.get(pk=task_id)
    assert row.status == TaskResultStatus.RUNNING and row.worker_ids == [first]  # claimed by the dead
    flagged_at_kill = dict(
        stages.filter(overdue_flagged_at__isnull=False).values_list("pk", "overdue_flagged_at")
    )
    assert 1 <= len(flagged_at_kill) < n  # killed mid-job

    # The next worker finds the task's worker gone, queues it again and runs it (the server may
    # need a moment to notice the dead connection and release the liveness lock).
    for _ in range(5):
        rerun = _worker(log, 0, second, once=True)
        try:
            _, err = rerun.communicate(timeout=60)
        finally:
            if rerun.poll() is None:
                rerun.kill()
                rerun.wait()
        assert rerun.returncode == 0, err.decode()[-3000:]
        if DBTaskResult.objects.get(pk=task_id).status != TaskResultStatus.RUNNING:
            break
        time.sleep(0.5)

    row = DBTaskResult.objects.get(pk=task_id)
    assert row.status == TaskResultStatus.SUCCESSFUL, row.traceback
    assert row.worker_ids == [first, second]
    assert DBTaskResult.objects.filter(task_path=row.task_path).count() == 1  # the same task, not a new one
    # Every stage flagged and escalated; those flagged before the kill were not flagged again.
    assert not stages.filter(overdue_flagged_at__isnull=True).exists()
    assert not stages.filter(escalated_at__isnull=True).exists()
    assert (
        dict(stages.filter(pk__in=flagged_at_kill).values_list("pk", "overdue_flagged_at")) == flagged_at_kill
    )
    # One notification per stage, kind, person and channel; each stage told and escalated.
    rows = Notification.objects.filter(subject_id__in=committed)
    doubled = (
        rows.values("subject_id", "kind", "recipient_id", "channel").annotate(c=Count("id")).filter(c__gt=1)
    )
    assert list(doubled) == []
    for case_id in committed:
        kinds = set(rows.filter(subject_id=case_id).values_list("kind", flat=True))
        assert kinds == {"case_overdue", "case_escalated"}, (case_id, kinds)


# --- a real server on a private cluster -------------------------------------------------------------


@dataclass
class Stack:
    cluster: PrivateCluster
    server: Server
    dbname: str
    token: str
    minor_class_id: int
    points: list[tuple[float, float]]

    def sql(self, query: str, params=()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.cluster.dsn(self.dbname), connect_timeout=5) as conn:
            return conn.execute(query, params).fetchall()

    def report(self, key: str, body: dict):
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key}
        return self.server.request("POST", "/api/v1/cases/", body, headers)


@pytest.fixture(scope="module")
def stack(_test_database, city, django_db_blocker, tmp_path_factory):  # noqa: F811
    """A private cluster holding a copy of the test database (the small city, and a token for
    inspector_a made for it), with `chengguan serve` (3 workers × 2 threads) in front."""
    reason = cannot_run_cluster()
    if reason:
        pytest.skip(reason)
    from psycopg.conninfo import make_conninfo
    from shapely.geometry import shape

    from chengguan.grid.models import UnitGrid
    from chengguan.org.models import ApiToken, Person
    from chengguan.org.tokens import token_create
    from tests.cases.factories import minor

    cluster = PrivateCluster(postgres_bindir())
    server = None
    try:
        with django_db_blocker.unblock():
            token, plaintext = token_create(Person.objects.get(username="inspector_a"), "faults")
            try:
                minor_class_id = minor().pk
                grids = UnitGrid.objects.filter(street=city.street_a, area_m2__gt=9900).order_by("code")[:8]
                points = [
                    (round(shape(g.geometry).centroid.x, 7), round(shape(g.geometry).centroid.y, 7))
                    for g in grids
                ]
                s = connection.settings_dict
                source = make_conninfo(
                    host=s["HOST"] or "127.0.0.1",
                    port=str(s["PORT"] or 5432),
                    user=s["USER"],
                    dbname=s["NAME"],
                    **({"password": s["PASSWORD"]} if s["PASSWORD"] else {}),
                )
                cluster.init()
                cluster.start()
                cluster.copy_database(source, "faults")
            finally:
                ApiToken.objects.filter(pk=token.pk).delete()
        var = tmp_path_factory.mktemp("faults-var")
        server = Server(cluster.url("faults"), var, workers=3, threads=2)
        headers = {"Authorization": f"Bearer {plaintext}"}
        server.wait_ready("/api/v1/cases/?limit=1", headers)
        yield Stack(cluster, server, "faults", plaintext, minor_class_id, points)
    finally:
        if server is not None:
            server.stop()
        cluster.destroy()


def _body(stack: Stack, description: str, i: int = 0) -> dict:
    lon, lat = stack.points[i % len(stack.points)]
    return {
        "source": "inspector",
        "minor_class_id": stack.minor_class_id,
        "description": description,
        "lon": lon,
        "lat": lat,
    }


@pg_only
def test_fifty_identical_submissions_at_once_make_one_case(stack):
    key = "faults-fifty-" + secrets.token_hex(4)
    body = _body(stack, f"五十次同时提交 {key}")
    barrier = threading.Barrier(50)
    answers = [None] * 50

    def submit(i):
        barrier.wait()
        answers[i] = stack.report(key, body)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    statuses = sorted(a.status for a in answers)
    assert set(statuses) <= {200, 201}, [
        (a.status, a.body[:300]) for a in answers if a.status not in (200, 201)
    ]
    assert statuses.count(201) == 1
    assert len({a.json()["id"] for a in answers}) == 1
    (case_id,) = {a.json()["id"] for a in answers}
    assert stack.sql("SELECT id FROM cases_case WHERE description = %s", [body["description"]]) == [
        (case_id,)
    ]
    assert stack.sql("SELECT case_id FROM cases_idempotencyrecord WHERE key = %s", [key]) == [(case_id,)]


def _parts(stack: Stack, run: str) -> dict[int, tuple]:
    """Each case of this run: (idempotency keys, stages, report events, outbox rows)."""
    rows = stack.sql(
        """
        SELECT c.id,
               (SELECT array_agg(r.key) FROM cases_idempotencyrecord r WHERE r.case_id = c.id),
               (SELECT count(*) FROM cases_casestage s WHERE s.case_id = c.id),
               (SELECT count(*) FROM cases_caseevent e WHERE e.case_id = c.id AND e.action = 'report'),
               (SELECT count(*) FROM notify_notification n
                 WHERE n.subject_type = 'cases.Case' AND n.subject_id = c.id)
          FROM cases_case c WHERE c.description LIKE %s
        """,
        [f"%{run}%"],
    )
    return {r[0]: (r[1] or [], r[2], r[3], r[4]) for r in rows}


@pg_only
def test_the_database_restarted_during_a_burst_clean_errors_then_recovery(stack):
    run = secrets.token_hex(4)
    bodies: dict[str, dict] = {}
    answers: list[tuple[str, float, object]] = []  # (key, sent at, answer)
    lock = threading.Lock()
    stop = threading.Event()
    counter = iter(range(100_000))

    def client(idx: int) -> None:
        while not stop.is_set():
            with lock:
                n = next(counter)
            key = f"burst-{run}-{n}"
            body = _body(stack, f"重启演练 {run} #{n}", n)
            with lock:
                bodies[key] = body
            sent = time.monotonic()
            answer = stack.report(key, body)
            with lock:
                answers.append((key, sent, answer))
            time.sleep(0.01)

    def wait_for(predicate, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {_summary(answers)}"
            time.sleep(0.02)

    def count(since: float, statuses=None) -> int:
        with lock:
            return sum(1 for _k, t, a in answers if t >= since and (statuses is None or a.status in statuses))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(6)]
    for t in threads:
        t.start()
    try:
        began = time.monotonic()
        wait_for(lambda: count(began, {201}) >= 10, 20, "the first cases")
        stack.cluster.stop("immediate")  # a crash in the middle of the burst: open transactions are cut
        down = time.monotonic()
        wait_for(lambda: count(down) >= 6, 10, "answers while the database is down")
        starting = time.monotonic()
        stack.cluster.start()
        up = time.monotonic()
        wait_for(lambda: count(up, {201}) >= 15, 25, "cases after the restart")
    finally:
        stop.set()
        for t in threads:
            t.join(30)

    failures = [(k, a) for k, _t, a in answers if a.status != 201]
    # Every answer: a case, or a clean refusal that says to come back.
    unclean = [(a.status, a.body[:300]) for _k, a in failures if a.status != 503]
    assert unclean == [], unclean
    for _k, a in failures:
        assert a.headers.get("content-type", "").startswith("application/json"), a.body[:300]
        error = a.json()
        assert error["code"] == "database_unavailable" and error["message"], error
        assert int(a.headers["retry-after"]) > 0
    while_down = [a.status for _k, t, a in answers if down <= t < starting]
    assert while_down and set(while_down) == {503}  # while it was down: refused, every one
    # Back: every request sent after the database came back succeeded (no server restart).
    after = [a.status for _k, t, a in answers if t >= up]
    assert after and set(after) == {201}, _summary(answers)

    created = {k: a.json()["id"] for k, _t, a in answers if a.status == 201}
    parts = _parts(stack, run)
    healthy = parts[created[min(created, key=lambda k: int(k.rsplit("-", 1)[1]))]]
    assert healthy[1:] == (1, 1, healthy[3]) and healthy[3] > 0  # a stage, the report, its outbox rows
    # Every case written is whole: its key, its stage, its event, its outbox rows.
    for case_id, (keys, stages, events, outbox) in parts.items():
        assert len(keys) == 1 and (stages, events, outbox) == healthy[1:], (
            case_id,
            keys,
            stages,
            events,
            outbox,
        )
    by_key = {keys[0]: case_id for case_id, (keys, *_rest) in parts.items()}
    assert all(by_key[k] == case_id for k, case_id in created.items())

    # Retrying each refused request with its key: one case each, never two.
    for key, _answer in failures:
        retry = stack.report(key, bodies[key])
        assert retry.status in (200, 201), retry.body[:300]
        assert key not in by_key or retry.json()["id"] == by_key[key]  # it had gone through: the same case
    parts = _parts(stack, run)
    keys = [k for case_keys, *_rest in parts.values() for k in case_keys]
    assert sorted(keys) == sorted(k for k, _t, _a in answers) and len(parts) == len(answers)
    assert all(p[1:] == healthy[1:] for p in parts.values())


def _summary(answers) -> str:
    counts: dict[int, int] = {}
    for _k, _t, a in list(answers):
        counts[a.status] = counts.get(a.status, 0) + 1
    return f"answers by status {counts}"


@pg_only
def test_after_a_restart_while_idle_the_next_requests_reconnect_and_succeed(stack):
    """The server's persistent connections all died while nobody was asking: each is checked
    before it is reused (CONN_HEALTH_CHECKS), so no request fails on a dead one."""
    run = secrets.token_hex(4)

    def burst(tag: str) -> list[int]:
        answers = [None] * 24

        def send(i):
            answers[i] = stack.report(f"idle-{run}-{tag}-{i}", _body(stack, f"空闲重启 {run} {tag} {i}", i))

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(answers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return [a.status for a in answers]

    assert set(burst("before")) == {201}  # every worker thread has a connection open now
    stack.cluster.stop("fast")
    stack.cluster.start()
    statuses = burst("after")
    assert set(statuses) == {201}, statuses
