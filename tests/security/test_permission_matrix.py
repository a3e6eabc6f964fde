"""The permission matrix (tests/security/matrix.py) run over HTTP: every page, API operation and
Open311 resource × every role of the role table, a person with no role and anonymous × an object
of the subject's own jurisdiction and one of another, each answering as its row says.

A URL of the project without a row fails `test_every_url_has_a_row` ("add a row to the matrix"),
and a row naming a URL that no longer exists fails it too.

The objects (cases, photos, assessment plans and records…) are made once for the module inside a
transaction that is rolled back at its end; each request runs in a savepoint of its own, rolled
back after it, so a write that an allowed subject makes (a submitted record, a finding turned into
a case) never reaches the next request. One test per row, trying every subject on both
jurisdictions; a failure lists each subject × jurisdiction that answered otherwise. Transitions are sent with a version the case no longer
has: the services check visibility (404), then the role (403), then the version (409), so the right
role's 409 proves the permission passed without changing the case.
"""

from __future__ import annotations

import datetime as dt
import io
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib import admin
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django_otp import DEVICE_ID_SESSION_KEY
from PIL import Image
from shapely.geometry import shape

from chengguan.api import api as ninja_api
from chengguan.org import twofactor
from chengguan.org.choices import DepartmentKind, Role
from tests.conftest import make_person, verified_device

from . import matrix
from .matrix import ANONYMOUS, NO_ROLE, OTHER, OWN, ROWS, SUBJECTS

# --- the objects ------------------------------------------------------------------------------------------


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 160, 90)).save(buf, "JPEG")
    return buf.getvalue()


def _point(street):
    from chengguan.grid.models import UnitGrid

    grid = UnitGrid.objects.filter(street=street, area_m2__gt=9900).order_by("code").first()
    p = shape(grid.geometry).centroid
    return grid, p.x, p.y


def _case(street, crew, dept, *, cohandler=None, photo=True):
    """A case in `street` handled by `dept` (signed: 处置中), through the services, with a photo."""
    from chengguan.cases import services
    from chengguan.cases.photos import ingest_photo
    from tests.cases.factories import minor

    _grid, lon, lat = _point(street)
    case, _ = services.case_report(
        crew["inspector"],
        services.CaseInput(
            source="inspector",
            minor_class_id=minor().pk,
            description="矩阵案件",
            lon=lon,
            lat=lat,
            reporter_name="张三",
            reporter_phone="13800138000",
            photos=[ingest_photo(_jpeg())] if photo else [],
        ),
    )
    case = services.case_accept(crew["operator"], case.pk, version=case.version)
    case = services.case_register(crew["shiftlead"], case.pk, version=case.version)
    case = services.case_dispatch(
        crew["dispatcher"],
        case.pk,
        version=case.version,
        department_id=dept.pk,
        cohandler_ids=[cohandler.pk] if cohandler else [],
    )
    return services.case_sign(crew["handler"], case.pk, version=case.version)


def _crew(people, side):
    return {
        "inspector": people[f"inspector_{side}"],
        "operator": people[f"operator_{side}"],
        "shiftlead": people[f"shiftlead_{side}"],
        "dispatcher": people[f"dispatcher_{side}"],
        "handler": people[f"handler_{side}"],
    }


def _personas(city) -> dict[str, object]:
    """One person per role acting for street A (the handler for department A; the administrators
    for the whole city), and a person with no role in street A."""
    found = {NO_ROLE: make_person("mx_no_role", regions=[city.street_a])}
    for role in Role.values:
        if role in matrix.CITYWIDE:
            found[role] = make_person(f"mx_{role}", [role], citywide=True, staff=True)
        elif role in matrix.DEPARTMENT_ONLY:
            found[role] = make_person(f"mx_{role}", [role], departments=[city.dept_a], department=city.dept_a)
        else:
            found[role] = make_person(f"mx_{role}", [role], regions=[city.street_a])
    return found


def build_world(city):
    from chengguan.assessment import services as assessment
    from chengguan.assessment.models import AssessmentTeam, Checklist
    from chengguan.cases.choices import TaskRole
    from chengguan.catalog.models import MinorClass
    from chengguan.open311 import selectors as open311_selectors
    from chengguan.org.models import Department, Person

    people = {k: Person.objects.get(pk=p.pk) for k, p in city.people.items()}
    personas = _personas(city)
    dept_c = Department.objects.create(code="MX-C", name="矩阵协办", kind=DepartmentKind.LANDSCAPE)

    own = _case(city.street_a, _crew(people, "a"), city.dept_a, cohandler=dept_c)
    original = _case(city.street_a, _crew(people, "a"), city.dept_a, photo=False)
    other = _case(city.street_b, _crew(people, "b"), city.dept_b)
    assert own.version > 1

    # People to look up: one in street A and department A, one in street B and department B.
    target_a = make_person("mx_target_a", [Role.INSPECTOR], regions=[city.street_a], department=city.dept_a)
    target_b = make_person("mx_target_b", [Role.INSPECTOR], regions=[city.street_b], department=city.dept_b)

    # Grid assessment: a team in each street (the matrix's assessor in street A's), a running plan
    # over each street's grids, a draft record with a finding and its photo on each.
    assessment.load_config()
    checklist = Checklist.objects.get(code="GRID-REF")
    assessor_b = make_person("mx_assessor_b", [Role.ASSESSOR], regions=[city.street_b])
    today = timezone.localdate()
    sides = {}
    for where, street, member in (
        (OWN, city.street_a, personas[Role.ASSESSOR]),
        (OTHER, city.street_b, assessor_b),
    ):
        team = AssessmentTeam.objects.create(name=f"矩阵考核组{where}", region=street, leader=member)
        team.members.set([member])
        grid, lon, lat = _point(street)
        plan = assessment.plan_create(
            people["sysadmin"],
            name=f"MX-PLAN-{where}",
            team_id=team.pk,
            checklist_id=checklist.pk,
            first_day=today - dt.timedelta(days=1),
            last_day=today + dt.timedelta(days=1),
            grid_ids=[grid.pk],
        )
        record, _ = assessment.record_start(member, plan.pk, grid.pk)
        item = checklist.items.order_by("id").first()
        finding, _ = assessment.finding_set(member, record.pk, item.pk, note="矩阵", photos=[_jpeg()])
        case = {OWN: own, OTHER: other}[where]
        region = {OWN: city.street_a, OTHER: city.street_b}[where]
        sides[where] = SimpleNamespace(
            case=case.pk,
            number=case.number,
            photo=case.photos.first().pk,
            region=region.pk,
            region_code=region.code,
            street=region.pk,
            department={OWN: city.dept_a, OTHER: city.dept_b}[where].pk,
            person={OWN: target_a, OTHER: target_b}[where].pk,
            person_code={OWN: target_a, OTHER: target_b}[where].username,
            grid=grid.pk,
            grid_code=grid.code,
            plan=plan.pk,
            plan_code=plan.name,
            plan_grid=grid.pk,
            team=team.pk,
            record=record.pk,
            item=item.pk,
            finding=finding.pk,
            fphoto=finding.photos.first().pk,
        )
    _grid, lon, lat = _point(city.street_a)
    shared = {
        "stale_version": own.version - 1,
        "original_number": original.number,
        "original_id": original.pk,
        "co_task": own.tasks.get(role=TaskRole.CO, current=True).pk,
        "minor_class": MinorClass.objects.filter(major__catalog__active=True).order_by("id").first().pk,
        "checklist": checklist.pk,
        "lon": lon,
        "lat": lat,
        "month": today.strftime("%Y-%m"),
        "service_code": open311_selectors.service_code(open311_selectors.offered_services().first()),
    }
    values = {}
    for where, side in sides.items():
        values[where] = SimpleNamespace(**shared, **vars(side))
    return SimpleNamespace(personas=personas, values=values)


def _session(person) -> str:
    """A logged-in session for the person (the administrators' with the second factor given)."""
    client = Client()
    client.force_login(person)
    if twofactor.is_required(person):
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = verified_device(person).persistent_id
        session.save()
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture(scope="module")
def world(city, django_db_blocker, tmp_path_factory):
    media = override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("matrix-media")))
    media.enable()
    try:
        with django_db_blocker.unblock():
            outer = transaction.atomic()
            outer.__enter__()
            try:
                built = build_world(city)
                built.sessions = {s: _session(p) for s, p in built.personas.items()}
                yield built
            finally:
                transaction.set_rollback(True)
                outer.__exit__(None, None, None)
    finally:
        media.disable()


def client_of(world, subject) -> Client:
    client = Client()
    if subject != ANONYMOUS:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[subject]
    return client


# --- sending a row's request --------------------------------------------------------------------------------


def _url(row, values) -> str:
    fields = {**vars(values), "variant": row.variant}
    url = row.path.format(**fields)
    query = matrix.QUERIES.get(row.target)
    if query:
        url += ("&" if "?" in url else "?") + query.format(**fields)
    return url


def send(client, row, values):
    url = _url(row, values)
    method = row.method.lower()
    if method in ("get", "delete"):
        return getattr(client, method)(url)
    data = row.data(values) if row.data else {}
    if row.content == "json":
        return client.post(url, data, content_type="application/json")
    data = {k: v for k, v in data.items() if v is not None}
    if row.content == "urlencoded":
        return client.post(url, urlencode(data), content_type="application/x-www-form-urlencoded")
    return client.post(url, data)


def check(world, row, subject, where) -> list[str]:
    """The row's request as the subject on the jurisdiction, in a savepoint rolled back after it;
    what differs from the row's answer."""
    values = world.values[where]
    name = f"{subject} on {where} jurisdiction ({row.method} {_url(row, values)})"
    try:
        with transaction.atomic():
            response = send(client_of(world, subject), row, values)
            transaction.set_rollback(True)
    except Exception as exc:  # a 500: the test client raises the view's exception
        return [f"{name}: raised {exc!r}"]
    expected, got = row.expected(subject, where), response.status_code
    if got != expected:
        return [f"{name}: expected {expected}, got {got} {response.content[:200]!r}"]
    wrong = []
    if got == 302 and subject == ANONYMOUS and row.anonymous != row.ok:
        if not response["Location"].startswith(reverse("web:login")):
            wrong.append(f"{name}: sent to {response['Location']}, not to the login page")
    if row.shows and subject != ANONYMOUS and 200 <= got < 300:
        body = response.content.decode()
        for side in (where,) if row.per_where else (OWN, OTHER):
            marker = _marker(row.shows, world.values[side])
            shown, should = marker in body, matrix.sees(subject, row.shows, side)
            if shown != should:
                wrong.append(
                    f"{name}: the {side} jurisdiction's {row.shows} {marker} is "
                    f"{'listed' if shown else 'missing'}, expected {'listed' if should else 'hidden'}"
                )
    return wrong


@pytest.mark.django_db
@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.id)
def test_matrix(world, row):
    """The row, as every subject, on its own jurisdiction's object and on another's."""
    wrong = [
        line
        for subject in row.subjects
        for where in row.wheres(subject)
        for line in check(world, row, subject, where)
    ]
    assert not wrong, f"{row.id}{' (' + row.note + ')' if row.note else ''}:\n" + "\n".join(wrong)


def _marker(kind, values) -> str:
    return {
        "case": values.number,
        "region": f'"{values.region_code}"',  # quoted: a street's code begins its communities' codes
        "person": values.person_code,
        "grid": values.grid_code,
        "plan": values.plan_code,
    }[kind]


# --- every URL has a row, every row a URL ------------------------------------------------------------------


def _patterns(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(x for x in (namespace, p.namespace) if x)
            yield from _patterns(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield namespace, (f"{namespace}:{p.name}" if namespace else p.name) if p.name else None, p


def url_keys() -> set[str]:
    """Every page and resource of the URL map (by name, or route when unnamed), every API operation
    (method and path from the OpenAPI schema); the admin site is one group."""
    keys = set()
    for namespace, name, pattern in _patterns(get_resolver().url_patterns):
        if getattr(pattern.callback, "__module__", "").startswith("ninja.operation"):
            continue  # API operations: from the schema, with their methods
        if namespace.split(":")[0] == matrix.ADMIN_NAMESPACE:
            continue
        keys.add(name or str(pattern.pattern))
    for path, operations in ninja_api.get_openapi_schema()["paths"].items():
        for method in operations:
            keys.add(f"{method.upper()} {path}")
    return keys


def test_every_url_has_a_row():
    urls = url_keys()
    rows = {r.target for r in ROWS}
    missing = sorted(urls - rows)
    stale = sorted(rows - urls)
    assert not missing, (
        "URLs without a row: add a row to the matrix (tests/security/matrix.py) for " + ", ".join(missing)
    )
    assert not stale, "rows naming URLs that no longer exist: " + ", ".join(stale)


def test_every_role_of_the_role_table_is_a_subject():
    assert set(SUBJECTS) == {ANONYMOUS, NO_ROLE, *Role.values}
    assert set(matrix.GRANTS) <= set(Role.values)


# --- the admin site: one group, the same role table ----------------------------------------------------------


def _admin_expected(subject, model_admin, index=False) -> int:
    if subject == ANONYMOUS or subject not in matrix.STAFF:
        return 302
    if index:
        return 200
    opts = model_admin.model._meta
    granted = matrix.grants(subject)
    may = (
        f"{opts.app_label}.view_{opts.model_name}" in granted
        or f"{opts.app_label}.change_{opts.model_name}" in granted
    )
    return 200 if may else 403


@pytest.mark.django_db
@pytest.mark.parametrize("subject", SUBJECTS)
def test_admin_site(world, subject):
    client = client_of(world, subject)
    wrong = []
    response = client.get(reverse("admin:index"))
    if response.status_code != _admin_expected(subject, None, index=True):
        wrong.append(f"admin:index {response.status_code}")
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        expected = _admin_expected(subject, model_admin)
        response = client.get(url)
        if response.status_code != expected:
            wrong.append(f"{url}: expected {expected}, got {response.status_code}")
        elif expected == 302:
            assert response["Location"].startswith(reverse("admin:login")), response["Location"]
    assert not wrong, f"the admin site as {subject}:\n" + "\n".join(wrong)
