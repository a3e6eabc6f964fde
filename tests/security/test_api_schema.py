"""The API against its own OpenAPI schema (schemathesis): for every role, every operation is
called with generated input, valid and invalid, and must answer with no 5xx, with a status the
schema declares, in the content type it declares and in the shape it declares.

The schema is loaded from `/api/openapi.json` of the Django WSGI application itself, and the
requests go to that application in process (no server). Each role calls with its own API token
(as `chengguan token create` issues), and the anonymous caller with none. Path parameters are
drawn half the time from records that exist (cases at several stages, an assessment record with a
finding, the persona's own region, grid, department...), so the 200 answers are checked too, not
only the 404s of random ids. Everything a call writes stays in the test's transaction and is
rolled back with it: the session city of the other tests is untouched.

The number of examples is bounded (`EXAMPLES` per operation, mode and role), so this runs in CI.
"""

from __future__ import annotations

import io
import json
from collections import Counter

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, transaction
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from chengguan.assessment import services as assessment_services
from chengguan.cases.choices import CaseAction, CaseStatus
from chengguan.catalog.models import MinorClass
from chengguan.org.tokens import token_create
from tests.assessment.conftest import build_setup
from tests.cases.factories import make_case

pytestmark = pytest.mark.django_db

# Examples per operation and role: valid input (half of them on existing records), invalid input.
EXAMPLES = 3
NEGATIVE_EXAMPLES = 2
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
NEGATIVE_CHECKS = [*CHECKS, negative_data_rejection]

# One persona of each role (street A where a role has a jurisdiction), an outsider with no role,
# and a caller with no token at all.
ROLES = [
    "anonymous",
    "outsider",
    "inspector_a",
    "operator_a",
    "shiftlead_a",
    "dispatcher_a",
    "handler_a",
    "leader",
    "sysadmin",
    "secadmin",
    "auditor",
    "assessor_1",
    "office_a",
]


@pytest.fixture(scope="module")
def api_schema(django_db_blocker):
    """The schema as `/api/openapi.json` serves it, loaded once: the calls go to this same
    application, Django's WSGI handler as a server runs it."""
    with django_db_blocker.unblock():
        schema = schemathesis.openapi.from_wsgi("/api/openapi.json", WSGIHandler(), follow_redirects=True)
    schema.strategies = {}  # (operation, mode) -> strategy, built once for every role
    return schema


@pytest.fixture
def in_test_transaction():
    """The WSGI handler closes "old" database connections when a request starts and ends, which
    would end the transaction the test runs in; those two receivers are off for the test, as
    Django's own test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(city, people, settings, tmp_path):
    """Records for the path parameters: cases at several stages, an assessment plan, record and
    finding (street A), so that generated calls reach real objects as well as missing ones."""
    # The assessment crew's passwords are never used (tokens are): a fast hash keeps 13 setups cheap.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    setup = build_setup(city, people, settings, tmp_path)
    cases = [
        make_case(city, people, status)
        for status in (CaseStatus.REPORTED, CaseStatus.TO_DISPATCH, CaseStatus.HANDLING, CaseStatus.CLOSED)
    ]
    record, _created = assessment_services.record_start(
        setup.people["assessor_1"], setup.plan.pk, setup.grids[0].pk
    )
    finding, _created = assessment_services.finding_set(
        setup.people["assessor_1"], record.pk, setup.item("A02").pk, note="墙角堆放"
    )
    grid = setup.grids[0]
    return {
        "people": setup.people,
        "ids": {
            "case_id": [c.pk for c in cases],
            "action": list(CaseAction.values),
            "region_id": [city.district.pk, city.street_a.pk, city.street_b.pk, grid.community_id],
            "department_id": [city.dept_a.pk, city.dept_b.pk],
            "person_id": [people["inspector_a"].pk, people["handler_b"].pk],
            "grid_id": [grid.pk],
            "class_id": [MinorClass.objects.filter(major__catalog__active=True).order_by("pk").first().pk],
            "record_id": [record.pk],
            "item_id": [setup.item("A02").pk, setup.item("A01").pk],
            "finding_id": [finding.pk],
        },
    }


def _strategy(schema, operation, mode):
    key = (operation.label, mode)
    if key not in schema.strategies:
        schema.strategies[key] = operation.as_strategy(generation_mode=mode)
    return schema.strategies[key]


def _run_operation(schema, operation, mode, headers, ids, failures: dict, statuses: Counter) -> None:
    known = [p.name for p in operation.path_parameters]
    known = known if known and all(n in ids for n in known) else []
    positive = mode == GenerationMode.POSITIVE
    checks = CHECKS if positive else NEGATIVE_CHECKS

    @settings(
        max_examples=EXAMPLES if positive else NEGATIVE_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategy(schema, operation, mode), data=st.data())
    def run(case, data):
        if known and positive and data.draw(st.booleans()):
            # Half the valid calls name records that exist (the others: whatever ids were drawn).
            for name in known:
                case.path_parameters[name] = data.draw(st.sampled_from(ids[name]))
        with transaction.atomic():  # a call the database refuses does not spoil the ones after it
            response = case.call(headers=headers)
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as group:
            # Every distinct failure is reported (not only the first), with the request that found it.
            for failure in group.exceptions:
                key = (operation.label, failure.code, failure.title)
                failures.setdefault(key, (mode.value, _describe(case), failure.message))

    run()


def _describe(case) -> str:
    body = "" if case.body is NOT_SET else f" body={case.body!r:.300}"
    return f"{case.method} {case.formatted_path} query={case.query!r:.300}{body}"


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_keeps_to_the_schema(role, api_schema, world, in_test_transaction):
    headers = {}
    if role != "anonymous":
        _token, plaintext = token_create(world["people"][role], "schemathesis")
        headers["Authorization"] = f"Bearer {plaintext}"
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30  # the whole API, not an empty or partial schema
    failures: dict = {}
    statuses: Counter = Counter()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run_operation(api_schema, operation, mode, headers, world["ids"], failures, statuses)
    # The calls got through: without a token nothing is served (401; a POST without a session's CSRF
    # token is refused first, 403); with one, the token is taken and real answers come back.
    if role == "anonymous":
        assert set(statuses) <= {401, 403}, statuses
    else:
        assert 401 not in statuses and sum(n for s, n in statuses.items() if 200 <= s < 300) >= 20, statuses
    report = [
        f"{label} {code} {title} [{mode}]\n    {request}\n    {message[:400]}"
        for (label, code, title), (mode, request, message) in failures.items()
    ]
    assert not report, f"{role}: {len(report)} failures\n" + "\n".join(report)


# What the generated calls found, each pinned by a fixed request.


@pytest.fixture
def bearer(people):
    _token, plaintext = token_create(people["dispatcher_a"], "schema")
    return Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")


@pytest.mark.parametrize("body", [b'""', b"[]", b"3", b"null"])
def test_a_body_that_is_not_a_json_object_is_refused(bearer, body):
    # Ninja's Schema reads any value by attribute: a body of all defaults ("mark as read", a
    # transition with nothing but a note) answered 200 to a string or a list.
    for url in ("/api/v1/notify/inbox/read", "/api/v1/cases/1/accept"):
        response = bearer.post(url, body, content_type="application/json")
        assert response.status_code == 422, (url, body, response.content)
        assert response.json()["code"] == "invalid"


def test_a_form_over_the_limits_is_a_json_400(bearer, settings):
    files = []
    for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1):
        f = io.BytesIO(b"x")
        f.name = f"{i}.jpg"
        files.append(f)
    response = bearer.post("/api/v1/assessment/records/1/findings", {"item_id": 1, "photos": files})
    assert response.status_code == 400 and response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "too_many_parts"
    fields = {f"f{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = bearer.post("/api/v1/cases/with-photos", fields)
    assert response.status_code == 400 and response.json()["code"] == "too_many_parts"


def test_an_unreadable_multipart_body_is_a_json_400(bearer):
    response = bearer.post("/api/v1/cases/with-photos", b"abc", content_type="multipart/form-data")
    assert response.status_code == 400 and response.json()["code"] == "bad_body", response.content


def test_a_body_over_the_size_limit_is_a_json_413(bearer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"note": "x" * 2000})
    response = bearer.post("/api/v1/notify/inbox/read", body, content_type="application/json")
    assert response.status_code == 413 and response.json()["code"] == "body_too_large", response.content


@pytest.mark.parametrize(
    "method, url, body",
    [
        ("post", "/api/v1/notify/inbox/read", {"ids": [2**64]}),
        ("get", f"/api/v1/org/regions?parent_id={2**64}", None),
        ("get", f"/api/v1/grid/grids?limit=10&offset={2**64}", None),
        ("get", f"/api/v1/notify/inbox?offset={2**64}", None),
        ("get", f"/api/v1/cases/?limit=10&offset={2**63}", None),
        ("post", "/api/v1/cases/1/accept", {"version": 2**64}),
    ],
)
def test_a_number_past_the_database_range_is_a_422(bearer, method, url, body):
    # The database cannot hold it (SQLite's driver raised OverflowError, PostgreSQL "bigint out of
    # range", both while the answer was being written): a 500 before.
    bearer.raise_request_exception = False
    if method == "post":
        response = bearer.post(url, body, content_type="application/json")
    else:
        response = bearer.get(url)
    assert response.status_code == 422, response.content[:300]
    assert response.json()["code"] == "invalid"
