"""Sessions (等保 身份鉴别 b; ASVS 7.3.1, 7.3.2, 7.4.2, 7.4.5): 30 idle minutes and 12 hours at most;
a disabled account is logged out at its next request; the security administrator ends sessions."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from chengguan.org.models import Person, UserSession

from .conftest import full_login

pytestmark = pytest.mark.django_db

PAGE = "/workbench/operator/"


def logged_out(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_session_ends_after_30_idle_minutes(people):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client = Client()
        full_login(client, people["operator_a"])
        for minutes in (29, 58, 87):  # active every 29 minutes: still there
            clock.move_to(start + dt.timedelta(minutes=minutes))
            assert client.get(PAGE).status_code == 200
        clock.move_to(start + dt.timedelta(minutes=87 + 31))
        response = client.get(PAGE)
        assert logged_out(response)
        page = client.get(response["Location"])
        assert "长时间未操作" in page.content.decode()
    assert not UserSession.objects.filter(person=people["operator_a"]).exists()


def test_a_session_ends_12_hours_after_login_however_active(people):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client = Client()
        full_login(client, people["operator_a"])
        now = start
        while now + dt.timedelta(minutes=25) < start + dt.timedelta(hours=11, minutes=55):
            now += dt.timedelta(minutes=25)
            clock.move_to(now)
            assert client.get(PAGE).status_code == 200
        clock.move_to(start + dt.timedelta(hours=12, minutes=1))
        assert logged_out(client.get(PAGE))


def test_the_api_answers_401_once_the_session_has_ended(people):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client = Client()
        full_login(client, people["operator_a"])
        assert client.get("/api/v1/cases/").status_code == 200
        clock.move_to(start + dt.timedelta(minutes=31))
        assert client.get("/api/v1/cases/").status_code == 401


def test_login_records_the_session_and_logout_removes_it(people):
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11) test")
    full_login(client, people["operator_a"], ip="192.0.2.44")
    row = UserSession.objects.get(person=people["operator_a"])
    assert row.session_key == client.session.session_key
    assert row.ip == "192.0.2.44" and row.user_agent.startswith("Mozilla/5.0")
    client.post("/logout/")
    assert not UserSession.objects.filter(pk=row.pk).exists()


def test_djangos_session_auth_refuses_an_inactive_person_on_the_next_request(people):
    """Django's own behaviour (ModelBackend.get_user → user_can_authenticate), without our signal:
    a session whose person was disabled behind the ORM's back is anonymous on its next request."""
    client = Client()
    full_login(client, people["operator_a"])
    assert client.get(PAGE).status_code == 200
    Person.objects.filter(pk=people["operator_a"].pk).update(is_active=False)  # no signal
    assert Session.objects.filter(session_key=client.session.session_key).exists()
    assert logged_out(client.get(PAGE))


def test_disabling_an_account_deletes_its_sessions_at_once(people):
    person = people["operator_a"]
    phone, desk = Client(), Client()
    full_login(phone, person, ip="198.51.100.1")
    full_login(desk, person)
    keys = set(UserSession.objects.filter(person=person).values_list("session_key", flat=True))
    assert len(keys) == 2
    person.is_active = False
    person.save()
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert not UserSession.objects.filter(person=person).exists()
    assert logged_out(phone.get(PAGE)) and logged_out(desk.get(PAGE))


def test_disabling_in_the_admin_ends_the_sessions(client_for, people):
    person = people["operator_a"]
    victim = Client()
    full_login(victim, person)
    admin = client_for(people["secadmin"])
    page = admin.get(f"/admin/org/person/{person.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in {"password"}}
    data.update(
        {
            "username": person.username,
            "roles": [r.pk for r in person.roles.all()],
            "regions": [r.pk for r in person.regions.all()],
            "departments": [],
            "is_active": "",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "",
            "date_joined_1": "",
        }
    )
    data.pop("is_active")
    data = {k: v for k, v in data.items() if k not in {"last_login", "date_joined", "password_changed_at"}}
    response = admin.post(f"/admin/org/person/{person.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not Person.objects.get(pk=person.pk).is_active
    assert logged_out(victim.get(PAGE))


def test_the_security_administrator_ends_a_persons_sessions(client_for, people):
    person = people["operator_a"]
    victim, bystander = Client(), Client()
    full_login(victim, person)
    full_login(bystander, people["dispatcher_a"])
    admin = client_for(people["secadmin"])
    listing = admin.get("/admin/org/usersession/")
    assert listing.status_code == 200 and victim.session.session_key not in listing.content.decode()
    response = admin.post(
        "/admin/org/person/", {"action": "end_all_sessions", "_selected_action": [person.pk]}
    )
    assert response.status_code == 302
    assert logged_out(victim.get(PAGE))
    assert bystander.get("/desk/", follow=True).status_code == 200
    assert admin.get("/admin/").status_code == 200  # the administrator's own session stays


def test_the_security_administrator_ends_one_session(client_for, people):
    person = people["operator_a"]
    phone, desk = Client(), Client()
    full_login(phone, person, ip="198.51.100.1")
    full_login(desk, person)
    row = UserSession.objects.get(session_key=phone.session.session_key)
    admin = client_for(people["secadmin"])
    response = admin.post("/admin/org/usersession/", {"action": "end_selected", "_selected_action": [row.pk]})
    assert response.status_code == 302
    assert logged_out(phone.get(PAGE))
    assert desk.get(PAGE).status_code == 200


def test_only_the_security_administrator_manages_sessions(client_for, people):
    for name in ("sysadmin", "auditor", "leader", "operator_a"):
        response = client_for(people[name]).get("/admin/org/usersession/")
        assert response.status_code in {302, 403}, name
