"""Staff phone numbers are personal data: encrypted at rest, found by an exact number through a
keyed hash, shown masked (grid page, view-only admin), in full only to whoever manages the person
(audited); the migration encrypts the rows written before."""

from __future__ import annotations

import importlib
import types

import pytest
from django.apps import apps
from django.db import connection

from chengguan.core.models import AuditAction, AuditLog
from chengguan.grid.models import GridResponsibility, UnitGrid
from chengguan.org.models import Person, phone_index

pytestmark = pytest.mark.django_db

PHONE = "13912345678"


def stored(person) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, phone_index FROM org_person WHERE id = %s", [person.pk])
        return cursor.fetchone()


def test_the_phone_is_encrypted_at_rest_and_indexed_by_a_keyed_hash(people):
    person = people["inspector_a"]
    person.phone = PHONE
    person.save(update_fields=["phone"])  # the index follows even when only the phone is saved
    raw, index = stored(person)
    assert raw.startswith("v1:") and "1391234" not in raw and "5678" not in raw
    assert index == phone_index(PHONE) == phone_index("+86 139-1234-5678") and PHONE not in index
    assert Person.objects.get(pk=person.pk).phone == PHONE
    assert Person.objects.filter(phone_index=phone_index("139 1234 5678")).get() == person
    person.phone = ""
    person.save()
    assert stored(person) == ("", "")


def test_the_audit_log_carries_no_phone(people):
    person = people["inspector_a"]
    person.phone = PHONE
    person.save()
    row = AuditLog.objects.filter(model="org.Person", object_id=str(person.pk)).latest("id")
    assert "1391234" not in str(row.changes) and "5678" not in str(row.changes)


def test_the_admin_finds_a_person_by_the_whole_number_only(client_for, people):
    person = people["inspector_a"]
    person.phone = PHONE
    person.save()
    admin = client_for(people["secadmin"])
    found = admin.get("/admin/org/person/", {"q": "139 1234 5678"})
    assert f"/admin/org/person/{person.pk}/change/" in found.content.decode()
    partial = admin.get("/admin/org/person/", {"q": "1391234"})
    assert f"/admin/org/person/{person.pk}/change/" not in partial.content.decode()


def test_the_admin_shows_the_phone_masked_to_viewers_and_in_full_to_managers_audited(client_for, people):
    person = people["inspector_a"]
    person.phone = PHONE
    person.save()
    url = f"/admin/org/person/{person.pk}/change/"
    viewer = client_for(people["sysadmin"]).get(url)  # may view people, not change them
    assert viewer.status_code == 200
    assert PHONE not in viewer.content.decode() and "139****5678" in viewer.content.decode()
    assert not AuditLog.objects.filter(action=AuditAction.VIEW_PERSONAL, object_id=str(person.pk)).exists()
    manager = client_for(people["secadmin"]).get(url)
    assert manager.status_code == 200 and PHONE in manager.content.decode()
    row = AuditLog.objects.get(action=AuditAction.VIEW_PERSONAL, object_id=str(person.pk))
    assert row.actor_id == people["secadmin"].pk and row.changes == {"fields": ["phone"]}


def test_the_grid_page_shows_responsible_peoples_phones_masked(city, client_for, people):
    person = people["inspector_a"]
    person.phone = PHONE
    person.save()
    grid = UnitGrid.objects.filter(street=city.street_a).order_by("code").first()
    GridResponsibility.objects.create(grid=grid, person=person, duty="inspector")
    page = client_for(people["shiftlead_a"]).get(f"/grids/{grid.pk}/").content.decode()
    assert "139****5678" in page and PHONE not in page


def test_the_migration_encrypts_the_phones_written_before(people):
    person = people["inspector_a"]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE org_person SET phone = %s, phone_index = '' WHERE id = %s", [PHONE, person.pk])
    assert stored(person) == (PHONE, "")
    migration = importlib.import_module("chengguan.org.migrations.0007_person_phone_encrypted")
    migration.encrypt_existing(apps, types.SimpleNamespace(connection=connection))
    raw, index = stored(person)
    assert raw.startswith("v1:") and index == phone_index(PHONE)
    assert Person.objects.get(pk=person.pk).phone == PHONE
