"""Shared fixtures: a small synthetic city, built once per session, and named personas, so
permission tests read like the rules ("a dispatcher of street A does not see street B")."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from chengguan.demo.city import SyntheticCity, synthesize
from chengguan.grid import services as grid_services
from chengguan.org.choices import DepartmentKind, RegionLevel, Role
from chengguan.org.models import Department, Person, Region, RoleGrant

PASSWORD = "Test#pass-2026"


@dataclass
class City:
    synthetic: SyntheticCity
    district: Region
    street_a: Region
    street_b: Region
    dept_a: Department
    dept_b: Department
    people: dict[str, Person]


def make_person(
    username, roles=(), *, regions=(), departments=(), department=None, citywide=False, staff=False
):
    person = Person.objects.create_user(
        username=username,
        password=PASSWORD,
        full_name=username,
        department=department,
        citywide=citywide,
        is_staff=staff,
    )
    person.roles.set(RoleGrant.objects.filter(role__in=roles))
    person.regions.set(regions)
    person.departments.set(departments)
    return person


def build_small_city() -> City:
    synthetic = synthesize(
        seed=11, radius_m=1200, street_names=["甲街道", "乙街道"], communities_per_street=3, fine_cells=160
    )
    for level in (RegionLevel.DISTRICT, RegionLevel.STREET, RegionLevel.COMMUNITY):
        grid_services.region_import(synthetic.geojson(level), level)
    grid_services.grids_generate()
    call_command("catalog", "load", "--activate", stdout=io.StringIO())
    district = Region.objects.get(level=RegionLevel.DISTRICT)
    street_a, street_b = Region.objects.filter(level=RegionLevel.STREET).order_by("code")
    dept_a = Department.objects.create(
        code="T-A", name="甲中队", kind=DepartmentKind.CHENGGUAN_SQUAD, region=street_a
    )
    dept_b = Department.objects.create(code="T-B", name="公安乙", kind=DepartmentKind.POLICE, region=street_b)
    people = {
        "inspector_a": make_person("inspector_a", [Role.INSPECTOR], regions=[street_a]),
        "operator_a": make_person("operator_a", [Role.OPERATOR], regions=[street_a]),
        "shiftlead_a": make_person("shiftlead_a", [Role.SHIFT_LEADER], regions=[street_a]),
        "dispatcher_a": make_person("dispatcher_a", [Role.DISPATCHER], regions=[street_a]),
        "inspector_b": make_person("inspector_b", [Role.INSPECTOR], regions=[street_b]),
        "operator_b": make_person("operator_b", [Role.OPERATOR], regions=[street_b]),
        "shiftlead_b": make_person("shiftlead_b", [Role.SHIFT_LEADER], regions=[street_b]),
        "dispatcher_b": make_person("dispatcher_b", [Role.DISPATCHER], regions=[street_b]),
        "handler_a": make_person("handler_a", [Role.HANDLER], departments=[dept_a], department=dept_a),
        "handler_b": make_person("handler_b", [Role.HANDLER], departments=[dept_b], department=dept_b),
        "leader": make_person("leader", [Role.LEADER], citywide=True),
        "sysadmin": make_person("sysadmin", [Role.SYSTEM_ADMIN], citywide=True, staff=True),
        "secadmin": make_person("secadmin", [Role.SECURITY_ADMIN], citywide=True, staff=True),
        "auditor": make_person("auditor", [Role.AUDITOR], citywide=True, staff=True),
        "outsider": make_person("outsider"),
    }
    return City(synthetic, district, street_a, street_b, dept_a, dept_b, people)


@pytest.fixture(scope="session")
def city(django_db_setup, django_db_blocker) -> City:
    """The small city, committed once for the whole session (tests roll back their own changes)."""
    with django_db_blocker.unblock():
        return build_small_city()


@pytest.fixture
def people(city, db) -> dict[str, Person]:
    return {k: Person.objects.get(pk=p.pk) for k, p in city.people.items()}


@pytest.fixture
def client_for(db):
    def make(person: Person) -> Client:
        client = Client()
        client.force_login(person)
        return client

    return make


def verified_device(person: Person):
    """The person's authenticator (a confirmed TOTP device), made on first use."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=person, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=person, name="test", confirmed=True)


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language (zh-hans): a page asked in English, or an
    activate() without its deactivate(), does not carry over into the next test (a request through
    LocaleMiddleware leaves its language active in the thread)."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _force_login_passes_two_factor(monkeypatch):
    """`client.force_login(person)` stands for a person who has finished logging in: for those
    who need a second factor (the three administrators), the session also records the code as
    given. Tests of the login steps themselves log in through the pages (tests/security/)."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from chengguan.org import twofactor

    original = Client._login

    def _login(self, user, backend=None):
        original(self, user, backend)
        if isinstance(user, Person) and twofactor.is_required(user):
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = verified_device(user).persistent_id
            session.save()

    monkeypatch.setattr(Client, "_login", _login)


@pytest.fixture(autouse=True)
def _no_session_lifetime_in_simulated_time(request, settings):
    """Many tests log a client in once and then move the clock by hours, days or months to act
    in simulated time; the session's idle timeout and lifetime and the password's expiry count in
    real time and would log them out. They are lifted here, except for the security tests
    (tests/security/), which test exactly them with the production values."""
    if "security" not in request.node.path.parts:
        settings.SESSION_IDLE_SECONDS = settings.SESSION_ABSOLUTE_SECONDS = 10**9
        settings.SESSION_COOKIE_AGE = 14 * 24 * 3600  # Django's default (the store's own expiry)
        settings.PASSWORD_MAX_AGE_DAYS = 0


@pytest.fixture(autouse=True)
def _catalogue_checked_on_every_use(monkeypatch):
    """Tests roll their transactions back, which no signal reports: a per-process copy of the
    catalogue made inside a test must not outlive it. Checking the stamp on every use (rather than
    every few seconds, as in production) keeps each test's view exact."""
    from chengguan.catalog import selectors

    monkeypatch.setattr(selectors, "CHECK_SECONDS", 0.0)
