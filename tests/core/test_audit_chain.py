"""Tamper evidence of the audit log: digests, seals with a hash chain and an HMAC, verification,
retention; logins, failures and denials are recorded."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from chengguan.core import audit
from chengguan.core.models import AuditAction, AuditLog, AuditSeal
from chengguan.core.permissions import access
from chengguan.grid.models import UnitGrid
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
LATER = timezone.now() + dt.timedelta(hours=1)  # past the seal lag for every row written now


def write_some(n=5):
    return [
        audit.write(AuditAction.BULK, "core.Test", i, f"row {i}", {"n": i, "x": 1.5, "名": "值"})
        for i in range(n)
    ]


def raw_update(row_id, **fields):
    sets = ", ".join(f"{k} = %s" for k in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE core_auditlog SET {sets} WHERE id = %s", [*fields.values(), row_id])


def test_an_untouched_log_verifies_and_seals_chain_on():
    write_some()
    first = audit.seal(LATER)
    write_some(3)
    second = audit.seal(LATER + dt.timedelta(minutes=1))
    assert first and second and second.upto_id > first.upto_id and second.rows == 3
    assert audit.seal(LATER + dt.timedelta(minutes=2)) is None  # nothing new
    result = audit.verify()
    assert result.ok, result.problems
    assert result.seals >= 2 and result.head == second.chain


def test_rows_younger_than_the_lag_wait_for_the_next_seal():
    rows = write_some(2)
    assert (
        audit.seal(timezone.now()) is None
        or audit.AuditSeal.objects.filter(upto_id__gte=rows[0].pk).count() == 0
    )
    assert audit.verify().unsealed >= 2


def test_a_changed_row_is_found_sealed_or_not():
    rows = write_some()
    audit.seal(LATER)
    raw_update(rows[2].pk, object_repr="nothing to see")
    result = audit.verify()
    assert not result.ok
    assert any(f"row {rows[2].pk}" in p for p in result.problems)


def test_a_row_rewritten_with_a_matching_digest_breaks_the_chain():
    rows = write_some()
    audit.seal(LATER)
    forged = AuditLog.objects.values("id", "digest", *audit._CONTENT).get(pk=rows[1].pk)
    forged["object_repr"] = "forged"
    raw_update(rows[1].pk, object_repr="forged", digest=audit.row_digest(forged))
    result = audit.verify()
    assert any("chain differs" in p for p in result.problems)


def test_a_removed_row_breaks_the_chain():
    rows = write_some()
    audit.seal(LATER)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditlog WHERE id = %s", [rows[3].pk])
    assert not audit.verify().ok


def test_a_seal_rewritten_without_the_key_is_found():
    write_some()
    seal = audit.seal(LATER)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditseal SET chain = %s WHERE id = %s", ["f" * 64, seal.pk])
    assert any("signature" in p for p in audit.verify().problems)


def test_sealing_refuses_to_cover_a_changed_row():
    rows = write_some()
    raw_update(rows[0].pk, actor_name="someone else")
    with pytest.raises(ValueError):
        audit.seal(LATER)


def test_the_command_exits_non_zero_on_tampering():
    rows = write_some()
    call_command("audit", "verify", stdout=io.StringIO(), stderr=io.StringIO())
    raw_update(rows[0].pk, changes='{"n": 99}')
    with pytest.raises(CommandError):
        call_command("audit", "verify", stdout=io.StringIO(), stderr=io.StringIO())


def test_the_log_and_its_seals_refuse_changes_through_the_orm():
    write_some(1)
    seal = audit.seal(LATER)
    with pytest.raises(PermissionError):
        AuditLog.objects.all().update(object_repr="x")
    with pytest.raises(PermissionError):
        seal.delete()
    with pytest.raises(PermissionError):
        AuditSeal.objects.all().delete()


def test_pruning_keeps_180_days_at_least_and_the_chain_still_verifies(settings):
    settings.AUDIT_RETENTION_DAYS = 30  # asked for less than the floor: 180 are kept
    assert audit.retention_days() == 180
    write_some()
    old = audit.seal(LATER)
    write_some(2)
    audit.seal(LATER + dt.timedelta(minutes=1))
    assert audit.prune(LATER + dt.timedelta(days=179)) == 0
    deleted = audit.prune(LATER + dt.timedelta(days=181))
    assert deleted >= 5 and not AuditLog.objects.filter(id__lte=old.upto_id).exists()
    result = audit.verify()
    assert result.ok, result.problems


def test_rows_gone_without_a_prune_record_are_found():
    write_some()
    seal = audit.seal(LATER)
    write_some(1)
    audit.seal(LATER + dt.timedelta(minutes=1))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditlog WHERE id <= %s", [seal.upto_id])
    assert any("no prune recorded" in p for p in audit.verify().problems)


def test_export_is_csv_and_is_itself_recorded():
    write_some(3)
    out = io.StringIO()
    today = timezone.localdate().isoformat()
    call_command("audit", "export", "--from", today, "--to", today, "--by", "auditor", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith("id,at,actor_name") and len(lines) >= 4
    assert AuditLog.objects.filter(action=AuditAction.EXPORT).exists()


def test_logins_failures_and_denials_are_recorded(client, people):
    leader = people["leader"]
    assert client.post("/login/", {"username": leader.username, "password": PASSWORD}).status_code == 302
    client.post("/logout/")
    client.post("/login/", {"username": leader.username, "password": "wrong password"})
    actions = set(AuditLog.objects.filter(object_repr=leader.username).values_list("action", flat=True))
    assert {AuditAction.LOGIN, AuditAction.LOGOUT, AuditAction.LOGIN_FAILED} <= actions
    grid = UnitGrid.objects.first()
    with pytest.raises(PermissionDenied):
        access(leader, UnitGrid, grid.pk, "delete")  # the leader sees grids but may not delete them
    assert AuditLog.objects.filter(
        action=AuditAction.DENIED, model="grid.UnitGrid", object_id=str(grid.pk)
    ).exists()


def test_personal_data_enters_the_log_only_as_a_keyed_digest():
    from chengguan.cases.models import Case
    from chengguan.core.audit import snapshot

    case = Case(pk=1, reporter_name="王小明", reporter_phone="13912345678")
    logged = snapshot(case)
    assert logged["reporter_phone"].startswith("enc:") and "1391234" not in str(logged)
    assert logged["reporter_name"] != snapshot(Case(pk=1, reporter_name="李四"))["reporter_name"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["verify", "--skip-checks"], {"action": "verify", "skip_checks": True, "verbosity": 1}),
        (["--skip-checks", "verify"], {"action": "verify", "skip_checks": True, "verbosity": 1}),
        (["verify"], {"action": "verify", "skip_checks": False, "verbosity": 1, "traceback": False}),
        (
            ["seal", "-v", "0", "--traceback", "--no-color", "--skip-checks"],
            {"action": "seal", "skip_checks": True, "verbosity": 0, "traceback": True, "no_color": True},
        ),
        (["-v", "2", "prune"], {"action": "prune", "verbosity": 2, "skip_checks": False}),
        (
            ["export", "--from", "2026-01-01", "--to", "2026-01-31", "--skip-checks", "--by", "auditor"],
            {"action": "export", "skip_checks": True, "by": "auditor", "date_to": "2026-01-31"},
        ),
    ],
)
def test_django_standard_options_are_taken_after_the_subcommand_too(argv, expected):
    """`chengguan audit verify --skip-checks` was refused ("unrecognized arguments"): argparse
    hands what follows a subcommand to the subcommand's parser. Given before or after it, a
    standard option now has its effect, and one not given keeps its default."""
    from chengguan.core.management.commands.audit import Command

    parser = Command().create_parser("chengguan", "audit")
    options = vars(parser.parse_args(argv))
    assert {k: options[k] for k in expected} == expected


def test_the_command_runs_with_standard_options_after_the_subcommand():
    write_some(2)
    out = io.StringIO()
    call_command(
        "audit", "verify", "--skip-checks", "-v", "2", "--traceback", stdout=out, stderr=io.StringIO()
    )
    assert "audit log intact" in out.getvalue()
    call_command("audit", "seal", "--skip-checks", stdout=io.StringIO())
    with pytest.raises(CommandError, match="unrecognized arguments: --bogus"):  # others still refused
        call_command("audit", "verify", "--bogus", stdout=io.StringIO())
