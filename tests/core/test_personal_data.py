"""Personal data: encrypted at rest, masked on the page, revealed only on request, audited."""

from __future__ import annotations

import base64
import os

import pytest
from django.core import checks
from django.db import connection

from chengguan.cases.choices import CaseSource, CaseStatus
from chengguan.cases.models import Case
from chengguan.core import crypto
from chengguan.core.masking import mask_name, mask_phone, mask_plate
from chengguan.core.models import AuditAction, AuditLog
from tests.cases.factories import make_case

NAME, PHONE = "王小明", "13912345678"


def test_round_trip_and_every_ciphertext_differs():
    one, two = crypto.encrypt(PHONE), crypto.encrypt(PHONE)
    assert one.startswith("v1:") and one != two and PHONE not in one
    assert crypto.decrypt(one) == crypto.decrypt(two) == PHONE
    assert crypto.decrypt("") == "" and crypto.decrypt(None) is None
    assert crypto.decrypt("13812345678") == "13812345678"  # a row from before encryption


def test_a_tampered_value_or_another_key_is_refused(settings):
    stored = crypto.encrypt(PHONE)
    raw = bytearray(base64.urlsafe_b64decode(stored[3:]))
    raw[-1] ^= 1
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("v1:" + base64.urlsafe_b64encode(bytes(raw)).decode())
    settings.DATA_KEY = base64.urlsafe_b64encode(os.urandom(32)).decode()
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(stored)


def test_deploy_check_reports_a_derived_or_malformed_key(settings):
    settings.DATA_KEY = ""
    ids = {m.id for m in checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])}
    assert "chengguan.W002" in ids
    settings.DATA_KEY = "too-short"
    ids = {m.id for m in checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])}
    assert "chengguan.E002" in ids and "chengguan.W002" not in ids
    settings.DATA_KEY = base64.urlsafe_b64encode(os.urandom(32)).decode()
    ids = {m.id for m in checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])}
    assert not ids & {"chengguan.W002", "chengguan.E002"}


@pytest.mark.parametrize(
    ("value", "masked"),
    [("张三", "张*"), ("欧阳娜娜", "欧***"), ("", ""), ("李", "李*")],
)
def test_names_are_masked(value, masked):
    assert mask_name(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812341234", "138****1234"),
        ("138-1234-1234", "138****1234"),
        ("0731-88881234", "****1234"),
        ("123", "***"),
    ],
)
def test_phones_are_masked(value, masked):
    assert mask_phone(value) == masked


def test_plates_are_masked():
    assert mask_plate("湘A12312") == "湘A·***12" and mask_plate("湘A·D12345") == "湘A·****45"


@pytest.fixture
def public_case(city, people):
    case = make_case(city, people, CaseStatus.REPORTED, source=CaseSource.PUBLIC)
    Case.objects.filter(pk=case.pk).update(reporter=None, reporter_name=NAME, reporter_phone=PHONE)
    return case


@pytest.mark.django_db
def test_stored_encrypted_read_in_clear(public_case):
    with connection.cursor() as cursor:
        cursor.execute("SELECT reporter_name, reporter_phone FROM cases_case WHERE id = %s", [public_case.pk])
        name, phone = cursor.fetchone()
    assert name.startswith("v1:") and phone.startswith("v1:") and PHONE not in phone and NAME not in name
    case = Case.objects.get(pk=public_case.pk)
    assert (case.reporter_name, case.reporter_phone) == (NAME, PHONE)
    assert Case.objects.filter(pk=case.pk, reporter_phone="").count() == 0  # blanks stay findable


@pytest.mark.django_db
def test_the_page_masks_and_an_operator_reveals_once_audited(public_case, people, client_for):
    operator = client_for(people["operator_a"])
    page = operator.get(f"/cases/{public_case.pk}/").content.decode()
    assert PHONE not in page and NAME not in page
    assert "139****5678" in page and "王**" in page and f"/cases/{public_case.pk}/reporter/" in page
    before = AuditLog.objects.filter(action=AuditAction.VIEW_PERSONAL).count()
    revealed = operator.post(f"/cases/{public_case.pk}/reporter/")
    assert (
        revealed.status_code == 200
        and PHONE in revealed.content.decode()
        and NAME in revealed.content.decode()
    )
    entry = AuditLog.objects.filter(action=AuditAction.VIEW_PERSONAL).latest("id")
    assert AuditLog.objects.filter(action=AuditAction.VIEW_PERSONAL).count() == before + 1
    assert (entry.actor_id, entry.model, entry.object_id) == (
        people["operator_a"].pk,
        "cases.Case",
        str(public_case.pk),
    )


@pytest.mark.django_db
def test_others_see_no_button_and_cannot_reveal(public_case, people, client_for):
    dispatcher = client_for(people["dispatcher_a"])
    page = dispatcher.get(f"/cases/{public_case.pk}/").content.decode()
    assert "139****5678" in page and "/reporter/" not in page
    assert dispatcher.post(f"/cases/{public_case.pk}/reporter/").status_code == 403
    assert client_for(people["operator_b"]).post(f"/cases/{public_case.pk}/reporter/").status_code == 404
    assert not AuditLog.objects.filter(
        action=AuditAction.VIEW_PERSONAL, object_id=str(public_case.pk)
    ).exists()


@pytest.mark.django_db
def test_the_migration_encrypts_rows_written_before_it(public_case):
    import importlib
    from types import SimpleNamespace

    from django.apps import apps

    migration = importlib.import_module("chengguan.cases.migrations.0002_reporter_encrypted")
    with connection.cursor() as cursor:  # as the rows were before: clear text
        cursor.execute(
            "UPDATE cases_case SET reporter_name = %s, reporter_phone = %s WHERE id = %s",
            [NAME, PHONE, public_case.pk],
        )
    migration.encrypt_existing(apps, SimpleNamespace(connection=connection))
    with connection.cursor() as cursor:
        cursor.execute("SELECT reporter_name, reporter_phone FROM cases_case WHERE id = %s", [public_case.pk])
        name, phone = cursor.fetchone()
    assert name.startswith("v1:") and phone.startswith("v1:")
    assert Case.objects.values_list("reporter_name", "reporter_phone").get(pk=public_case.pk) == (NAME, PHONE)
