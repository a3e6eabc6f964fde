"""The audit log misses none of the security events (等保 2.0 安全审计; ASVS 16.3.1, 16.3.2, 7.5.1):
a denial survives the rollback of its transaction; a 403 nobody recorded is a denial; downloads
are exports; two-factor events and every end of a session are recorded; expired sessions are
cleared by the worker; device changes need the password again."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from chengguan.core import audit, context
from chengguan.core.models import AuditAction, AuditLog
from chengguan.core.permissions import access
from chengguan.grid.models import UnitGrid
from chengguan.notify.periodic import periodic_jobs
from chengguan.org import sessions, twofactor
from chengguan.org.models import UserSession
from tests.conftest import PASSWORD, verified_device

from .conftest import full_login, password_login

pytestmark = pytest.mark.django_db

PAGE = "/workbench/operator/"


def events(person, action) -> list[AuditLog]:
    return list(AuditLog.objects.filter(action=action, object_id=str(person.pk)).order_by("id"))


def reasons(person) -> list[str]:
    return [row.changes.get("reason") for row in events(person, AuditAction.SESSION_END)]


# --- denials ----------------------------------------------------------------------------------------


def _grid_denials(grid):
    return AuditLog.objects.filter(action=AuditAction.DENIED, model="grid.UnitGrid", object_id=str(grid.pk))


def test_a_denial_inside_a_transaction_that_rolls_back_keeps_its_row(people):
    leader, grid = people["leader"], UnitGrid.objects.order_by("pk").first()
    ctx = context.ActorContext(user_id=leader.pk, username=leader.username, request_id="r-1", via="test")
    with context.acting(ctx), audit.request_scope():
        with pytest.raises(PermissionDenied), transaction.atomic():
            grid.save()  # some work of the transaction, rolled back with it
            access(leader, UnitGrid, grid.pk, "delete")
        assert not _grid_denials(grid).exists()  # the rollback took the row away…
    row = _grid_denials(grid).get()  # …and the end of the request wrote it again
    assert row.changes == {"action": "delete", "rolled_back": True}
    assert (row.actor_id, row.actor_name, row.request_id) == (leader.pk, "leader", "r-1")
    audit.seal(timezone.now() + dt.timedelta(hours=1))
    assert audit.verify().ok


def test_a_denial_in_a_transaction_that_commits_is_written_once(people):
    leader, grid = people["leader"], UnitGrid.objects.order_by("pk").first()
    with audit.request_scope():
        with transaction.atomic():
            with pytest.raises(PermissionDenied):
                access(leader, UnitGrid, grid.pk, "delete")
    assert _grid_denials(grid).count() == 1
    assert "rolled_back" not in _grid_denials(grid).get().changes


def test_a_403_without_a_chokepoint_denial_is_recorded_as_one(client_for, people):
    """The admin refuses the auditor a person's page (no chokepoint involved): a denial all the same."""
    auditor = people["auditor"]
    response = client_for(auditor).get("/admin/org/person/add/")
    assert response.status_code == 403
    row = AuditLog.objects.filter(action=AuditAction.DENIED, actor_id=auditor.pk).get()
    assert row.object_repr == "GET /admin/org/person/add/" and row.changes["status"] == 403


# --- exports ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "url", "query"),
    [
        ("shiftlead_a", "/ledger/export.xlsx", {"scope": "suspended"}),
        ("leader", "/api/v1/cases/ledger.xlsx", {"scope": "all"}),
        ("leader", "/evaluation/report.xlsx", {}),
        ("leader", "/evaluation/report.pdf", {}),
    ],
)
def test_downloads_are_recorded_as_exports(city, client_for, people, persona, url, query):
    person = people[persona]
    response = client_for(person).get(url, query)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    row = AuditLog.objects.filter(action=AuditAction.EXPORT, actor_id=person.pk).get()
    assert row.changes["path"] == url and row.changes["query"] == {k: [v] for k, v in query.items()}
    assert row.object_repr.endswith(url.rsplit(".", 1)[1])  # the file's name


def test_the_audit_export_is_itself_recorded(people):
    call_command(
        "audit",
        "export",
        "--from",
        "2020-01-01",
        "--to",
        "2030-01-01",
        "--by",
        "auditor",
        stdout=io.StringIO(),
    )
    assert AuditLog.objects.filter(
        action=AuditAction.EXPORT, model="core.AuditLog", actor_name="auditor"
    ).exists()


# --- two-factor -------------------------------------------------------------------------------------


def _secret(page) -> str:
    return re.search(r'data-secret="([A-Z2-7]+)"', page.content.decode()).group(1)


def _code(secret: str) -> str:
    from base64 import b32decode

    from django_otp.oath import TOTP

    return f"{TOTP(b32decode(secret)).token():06d}"


def _unthrottle(person):
    TOTPDevice.objects.filter(user=person).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_enrolment_and_codes_accepted_or_refused_are_recorded(people):
    person = people["sysadmin"]
    client = Client()
    password_login(client, "sysadmin")
    secret = _secret(client.get("/account/two-factor/"))
    client.post("/account/two-factor/", {"token": _wrong(_code(secret))})
    _unthrottle(person)
    assert client.post("/account/two-factor/", {"token": _code(secret)}).status_code == 302
    [enrol] = events(person, AuditAction.OTP_ENROL)
    assert enrol.changes["by"] == "self" and enrol.actor_id == person.pk
    assert [r.changes["step"] for r in events(person, AuditAction.OTP_FAILED)] == ["enrol"]

    later = Client()
    password_login(later, "sysadmin", ip="198.51.100.7")
    device = twofactor.devices(person).get()
    ip = {"REMOTE_ADDR": "198.51.100.7"}
    later.post("/login/otp/", {"token": _wrong(twofactor.current_code(device))}, **ip)
    _unthrottle(person)
    next_code = twofactor.current_code(device, at=device.last_t * 30 + 31)  # (the enrolment's is used)
    later.post("/login/otp/", {"token": next_code}, **ip)
    assert [r.changes["step"] for r in events(person, AuditAction.OTP_FAILED)] == ["enrol", "login"]
    assert [r.changes["step"] for r in events(person, AuditAction.OTP_VERIFIED)] == ["login"]
    assert events(person, AuditAction.OTP_VERIFIED)[0].ip == "198.51.100.7"


def test_an_administrator_removing_a_device_is_recorded(client_for, people):
    person = people["dispatcher_a"]
    device = verified_device(person)
    admin = client_for(people["secadmin"])
    response = admin.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not TOTPDevice.objects.filter(pk=device.pk).exists()
    [removed] = events(person, AuditAction.OTP_REMOVED)
    assert removed.changes["by"] == "administrator" and removed.actor_id == people["secadmin"].pk


def test_a_reset_on_the_command_line_is_recorded(people):
    person = people["dispatcher_a"]
    verified_device(person)
    call_command("otp", "reset", person.username, stdout=io.StringIO())
    [removed] = events(person, AuditAction.OTP_REMOVED)
    assert removed.changes["by"] == "system" and removed.via == "cli:otp reset"


# --- re-authentication before device changes --------------------------------------------------------


def test_adding_a_device_needs_the_password_again_once_the_login_is_not_recent(people):
    person = people["dispatcher_a"]
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client = Client()
        full_login(client, person)
        clock.move_to(start + dt.timedelta(minutes=6))  # the login no longer counts as recent
        page = client.get("/account/two-factor/")
        assert page.status_code == 200 and 'data-secret="' not in page.content.decode()
        assert 'name="password"' in page.content.decode()
        # a code typed without re-authenticating confirms nothing
        client.post("/account/two-factor/", {"token": "123456"})
        assert not TOTPDevice.objects.filter(user=person).exists()
        wrong = client.post("/account/two-factor/", {"action": "reauth", "password": "not it"})
        assert wrong.status_code == 200 and 'data-secret="' not in wrong.content.decode()
        assert AuditLog.objects.filter(action=AuditAction.LOGIN_FAILED, object_repr=person.username).exists()
        ok = client.post("/account/two-factor/", {"action": "reauth", "password": PASSWORD})
        assert ok.status_code == 302
        secret = _secret(client.get(ok["Location"]))
        assert client.post("/account/two-factor/", {"token": _code(secret)}).status_code == 302
        assert twofactor.is_enrolled(person) and events(person, AuditAction.REAUTH)


def test_removing_a_device_needs_the_password_and_a_code(people):
    person = people["dispatcher_a"]
    device = verified_device(person)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client = Client()
        full_login(client, person)  # (the person's code is asked at login: enrolled)
        assert client.post("/login/otp/", {"token": twofactor.current_code(device)}).status_code == 302
        clock.move_to(start + dt.timedelta(minutes=10))
        client.post("/account/two-factor/", {"action": "remove"})
        assert TOTPDevice.objects.filter(pk=device.pk).exists()  # refused: not re-authenticated
        clock.move_to(start + dt.timedelta(minutes=10, seconds=40))  # a fresh code
        no_code = client.post("/account/two-factor/", {"action": "reauth", "password": PASSWORD})
        assert no_code.status_code == 200
        assert events(person, AuditAction.OTP_FAILED)[-1].changes["step"] == "reauth"
        _unthrottle(person)
        code = twofactor.current_code(device)
        ok = client.post("/account/two-factor/", {"action": "reauth", "password": PASSWORD, "token": code})
        assert ok.status_code == 302
        assert client.post("/account/two-factor/", {"action": "remove"}).status_code == 302
        assert not TOTPDevice.objects.filter(user=person).exists()
        assert events(person, AuditAction.OTP_REMOVED)[0].changes["by"] == "self"


# --- ends of sessions -------------------------------------------------------------------------------


def test_an_idle_timeout_and_the_lifetime_are_recorded_as_session_ends(people):
    person = people["operator_a"]
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        idle = Client()
        full_login(idle, person)
        clock.move_to(start + dt.timedelta(minutes=31))
        assert idle.get(PAGE).status_code == 302
        assert reasons(person) == ["idle"]
        assert not events(person, AuditAction.LOGOUT)  # the end is recorded once, with its reason
        busy = Client()
        full_login(busy, person)
        now = start + dt.timedelta(minutes=31)
        while now < start + dt.timedelta(hours=12, minutes=40):
            now += dt.timedelta(minutes=25)
            clock.move_to(now)
            busy.get(PAGE)
    assert reasons(person) == ["idle", "expired"]


def test_sessions_ended_by_the_administrator_or_by_disabling_are_recorded(client_for, people):
    person = people["operator_a"]
    first, second = Client(), Client()
    full_login(first, person)
    admin = client_for(people["secadmin"])
    admin.post("/admin/org/person/", {"action": "end_all_sessions", "_selected_action": [person.pk]})
    [ended] = events(person, AuditAction.SESSION_END)
    assert ended.changes["reason"] == "admin" and ended.actor_id == people["secadmin"].pk
    full_login(second, person)
    person.is_active = False
    person.save()
    assert reasons(person) == ["admin", "disabled"]


def test_the_worker_clears_expired_idle_and_vanished_sessions(people):
    assert "org.clear_sessions" in {job.name for job in periodic_jobs()}
    # Sessions that earlier tests committed (the browser tests' live server) are not this test's:
    # set them aside inside its transaction (rolled back afterwards).
    UserSession.objects.all().delete()
    Session.objects.all().delete()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        idle, active, vanished = Client(), Client(), Client()
        full_login(idle, people["operator_a"])
        full_login(vanished, people["dispatcher_a"])
        clock.move_to(start + dt.timedelta(minutes=20))
        full_login(active, people["inspector_a"])
        Session.objects.filter(session_key=vanished.session.session_key).delete()  # gone from the store
        clock.move_to(start + dt.timedelta(minutes=35))
        counts = sessions.clear_sessions()
    assert counts == {"idle": 1, "expired": 0, "cleared": 1}
    assert set(UserSession.objects.values_list("person__username", flat=True)) == {"inspector_a"}
    assert not Session.objects.filter(session_key=idle.session.session_key).exists()
    assert reasons(people["operator_a"]) == ["idle"] and reasons(people["dispatcher_a"]) == ["cleared"]


def test_sessions_clear_on_the_command_line_ends_sessions_past_their_lifetime(settings, people):
    settings.SESSION_ABSOLUTE_SECONDS = 2 * 3600
    UserSession.objects.all().delete()  # sessions committed by earlier tests are set aside (rolled back)
    Session.objects.all().delete()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client = Client()
        full_login(client, people["operator_a"])
        for minutes in range(25, 120, 25):  # active: never idle
            clock.move_to(start + dt.timedelta(minutes=minutes))
            assert client.get(PAGE).status_code == 200
        clock.move_to(start + dt.timedelta(minutes=125))
        out = io.StringIO()
        call_command("sessions", "clear", stdout=out)
    assert "expired 1," in out.getvalue()
    assert not UserSession.objects.filter(person=people["operator_a"]).exists()
    assert not Session.objects.filter(session_key=client.session.session_key).exists()
    assert reasons(people["operator_a"]) == ["expired"]
