"""On PostgreSQL: real concurrent requests. Two dispatchers dispatching the same case at once:
one succeeds, one gets 409. Twenty concurrent creates with one Idempotency-Key: one case. Eight
concurrent creates: eight consecutive numbers.

The threads use their own connections, so the data they act on is committed (and removed at the
end of each test)."""

import threading

import pytest
from django.db import connection, connections
from django.test import Client

from chengguan.cases.models import Case, IdempotencyRecord
from chengguan.org.models import Person

from .factories import minor, point_in

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def in_thread(fn, *args):
    """Run fn in a fresh thread (its own connection, autocommit) and return its result."""
    out = {}

    def run():
        try:
            out["value"] = fn(*args)
        except BaseException as exc:  # pragma: no cover - surfaced below
            out["error"] = exc
        finally:
            connections.close_all()

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out.get("value")


def concurrently(n, fn):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        try:
            barrier.wait()
            results[i] = fn(i)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def client(username):
    c = Client()
    c.force_login(Person.objects.get(username=username))
    return c


def cleanup(numbers):
    def delete():
        IdempotencyRecord.objects.filter(case__number__in=numbers).delete()
        Case.objects.filter(number__in=numbers).delete()

    in_thread(delete)


def test_two_dispatchers_at_once_one_wins_one_gets_409(city, people):
    from chengguan.cases import services

    lon, lat = point_in(city.street_a)
    cls = minor("道路不洁")

    def prepare():
        person = Person.objects.get(username="inspector_a")
        case, _ = services.case_report(
            person,
            services.CaseInput(
                source="inspector", minor_class_id=cls.pk, description="并发测试", lon=lon + 0.0003, lat=lat
            ),
        )
        case = services.case_accept(Person.objects.get(username="operator_a"), case.pk, version=case.version)
        case = services.case_register(
            Person.objects.get(username="shiftlead_a"), case.pk, version=case.version
        )
        Person.objects.get(username="dispatcher_b").regions.add(city.street_a)  # a second dispatcher for A
        return case

    case = in_thread(prepare)
    try:

        def dispatch(i):
            c = client("dispatcher_a" if i == 0 else "dispatcher_b")
            dept = city.dept_a.pk if i == 0 else city.dept_b.pk
            return c.post(
                f"/api/v1/cases/{case.pk}/dispatch",
                {"version": case.version, "department_id": dept},
                content_type="application/json",
            )

        responses = concurrently(2, dispatch)
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 409], [r.content for r in responses]
        loser = next(r for r in responses if r.status_code == 409)
        assert loser.json()["code"] in ("stale_version", "invalid_state")
        final = in_thread(lambda: Case.objects.get(pk=case.pk))
        assert final.version == case.version + 1
        assert in_thread(lambda: final.tasks.filter(current=True).count()) == 1
    finally:
        in_thread(lambda: Person.objects.get(username="dispatcher_b").regions.remove(city.street_a))
        cleanup([case.number])


def test_twenty_concurrent_creates_with_one_key_make_one_case(city, people):
    lon, lat = point_in(city.street_a)
    payload = {
        "source": "inspector",
        "minor_class_id": minor("道路不洁").pk,
        "description": "幂等并发测试",
        "lon": lon + 0.0006,
        "lat": lat,
    }

    def create(i):
        return client("inspector_a").post(
            "/api/v1/cases/", payload, content_type="application/json", HTTP_IDEMPOTENCY_KEY="same-key-20"
        )

    responses = concurrently(20, create)
    try:
        assert all(r.status_code in (200, 201) for r in responses), [r.content for r in responses]
        assert sorted(r.status_code for r in responses).count(201) == 1
        assert len({r.json()["id"] for r in responses}) == 1
        assert in_thread(lambda: Case.objects.filter(description="幂等并发测试").count()) == 1
    finally:
        cleanup([r.json()["number"] for r in responses if r.status_code in (200, 201)])


def test_concurrent_creates_take_consecutive_numbers(city, people):
    """Each intake takes its number last, holding the year's counter row only to its commit: the
    numbers of concurrent reports are still unique and gapless."""
    lon, lat = point_in(city.street_a)
    payload = {"source": "inspector", "minor_class_id": minor("道路不洁").pk, "description": "编号并发测试"}

    def create(i):
        return client("inspector_a").post(
            "/api/v1/cases/",
            {**payload, "lon": lon + 0.0001 * i, "lat": lat},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"numbers-{i}",
        )

    responses = concurrently(8, create)
    numbers = sorted(r.json()["number"] for r in responses if r.status_code == 201)
    try:
        assert len(numbers) == 8, [r.content for r in responses]
        sequence = [int(n[-6:]) for n in numbers]
        assert sequence == list(range(sequence[0], sequence[0] + 8))
        stored = in_thread(
            lambda: sorted(Case.objects.filter(description="编号并发测试").values_list("number", flat=True))
        )
        assert stored == numbers
    finally:
        cleanup(numbers)
