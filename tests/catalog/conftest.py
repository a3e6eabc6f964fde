"""Catalogue fixtures: the shipped catalogue as data, loaded into the database, and personas."""

from __future__ import annotations

import copy
import json

import pytest

from chengguan.catalog import services
from chengguan.catalog.models import Catalog, MajorClass, MinorClass, StageLimit
from chengguan.core.models import AuditLog
from chengguan.org.models import Person, RoleGrant


@pytest.fixture(scope="session")
def shipped() -> dict:
    return json.loads(services.DEFAULT_FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture
def data(shipped) -> dict:
    """A private copy of the shipped catalogue to break or change."""
    return copy.deepcopy(shipped)


@pytest.fixture
def loaded(db) -> services.LoadResult:
    return services.catalog_load(services.DEFAULT_FIXTURE, activate=True)


def make_person(username: str, *roles: str, **fields) -> Person:
    person = Person.objects.create_user(username=username, password="Catalog-test-9173", **fields)
    for role in roles:
        person.roles.add(RoleGrant.objects.get(role=role))
    return person


@pytest.fixture
def inspector(db) -> Person:
    return make_person("inspector_li", "inspector", full_name="李监督员")


@pytest.fixture
def outsider(db) -> Person:
    """Logged in, but holds no role."""
    return make_person("outsider_wang")


@pytest.fixture
def sysadmin(db) -> Person:
    return make_person("sysadmin_zhao", "system_admin", citywide=True, is_staff=True)


def row_counts() -> dict[str, int]:
    return {
        "catalog": Catalog.objects.count(),
        "major": MajorClass.objects.count(),
        "minor": MinorClass.objects.count(),
        "limit": StageLimit.objects.count(),
        "audit": AuditLog.objects.count(),
    }


@pytest.fixture(autouse=True)
def _empty_catalogue(request):
    """These tests start from a database without a catalogue; the shared test city (built once
    per session) loads one, so remove it inside each test's transaction (rolled back after)."""
    if "db" in request.fixturenames or any(
        "loaded" == name or "data" == name for name in request.fixturenames
    ):
        request.getfixturevalue("db")
        Catalog.objects.all().delete()
