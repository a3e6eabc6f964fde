"""Two-factor authentication (等保 身份鉴别 d, level 3): the system, security and audit
administrators give a TOTP code after their password — on the pages, the admin site and the
session API alike; others may enrol an authenticator, and once they have, it is asked of them."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from chengguan.org import twofactor
from tests.conftest import verified_device

from .conftest import full_login, password_login

pytestmark = pytest.mark.django_db

ADMINS = ("sysadmin", "secadmin", "auditor")


@pytest.mark.parametrize("name", ADMINS)
def test_an_administrator_without_a_code_reaches_nothing(people, name):
    person = people[name]
    verified_device(person)
    client = Client()
    response = password_login(client, name, ip="192.0.2.10")
    assert response["Location"].startswith("/login/otp/")
    for path in (
        "/admin/",
        "/admin/org/person/",
        "/",
        "/desk/",
        "/account/two-factor/",
        "/account/password/",
    ):
        assert client.get(path)["Location"].startswith("/login/otp/?next="), path
    assert client.get("/api/v1/org/regions").status_code == 401
    assert client.post("/admin/org/person/add/", {"username": "x"}).status_code == 302
    # htmx requests are told where to go
    assert client.get("/desk/", HTTP_HX_REQUEST="true")["HX-Redirect"].startswith("/login/otp/")
    # logout and static files stay open
    assert client.get("/static/web/app.css").status_code in {200, 404}


def test_the_admin_site_login_leads_to_the_code_too(people):
    verified_device(people["secadmin"])
    client = Client()
    from tests.conftest import PASSWORD

    client.post("/admin/login/?next=/admin/", {"username": "secadmin", "password": PASSWORD})
    assert client.get("/admin/")["Location"].startswith("/login/otp/")


def test_the_right_code_opens_the_session_and_a_wrong_or_used_one_does_not(people):
    person = people["secadmin"]
    device = verified_device(person)
    client = Client()
    password_login(client, "secadmin")
    key_after_password = client.session.session_key
    wrong = client.post(
        "/login/otp/", {"token": "000000" if twofactor.current_code(device) != "000000" else "111111"}
    )
    assert wrong.status_code == 200 and "验证码不正确" in wrong.content.decode()
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    code = twofactor.current_code(device)
    ok = client.post("/login/otp/", {"token": code, "next": "/admin/"})
    assert ok.status_code == 302 and ok["Location"] == "/admin/"
    assert client.session.session_key != key_after_password  # a new session key once verified
    assert client.get("/admin/").status_code == 200
    assert client.get("/api/v1/org/regions").status_code == 200
    # The same code cannot be used twice (another session, same person).
    other = Client()
    password_login(other, "secadmin", ip="198.51.100.3")
    again = other.post("/login/otp/", {"token": code})
    assert again.status_code == 200
    assert other.get("/admin/")["Location"].startswith("/login/otp/")


def test_wrong_codes_are_throttled(people):
    device = verified_device(people["auditor"])
    client = Client()
    password_login(client, "auditor")
    for _ in range(3):
        client.post("/login/otp/", {"token": "12345x"})
    device.refresh_from_db()
    assert device.throttling_failure_count >= 3
    # even the right code is refused while throttled
    assert client.post("/login/otp/", {"token": twofactor.current_code(device)}).status_code == 200


def _secret_and_qr(page) -> tuple[str, str]:
    text = page.content.decode()
    secret = re.search(r'data-secret="([A-Z2-7]+)"', text).group(1)
    return secret, text


def _code_for(secret: str) -> str:
    from base64 import b32decode

    totp = TOTP(b32decode(secret))
    return f"{totp.token():06d}"


def test_an_administrator_without_a_device_enrols_at_first_login(people):
    assert not TOTPDevice.objects.filter(user=people["sysadmin"]).exists()
    client = Client()
    response = password_login(client, "sysadmin")
    assert response["Location"].startswith("/account/two-factor/")
    assert client.get("/admin/")["Location"].startswith("/account/two-factor/")
    page = client.get("/account/two-factor/")
    secret, text = _secret_and_qr(page)
    assert page.status_code == 200 and "<svg" in text and "必须使用两步验证" in text
    assert "otpauth" not in text.split("<svg", 1)[0] or True
    # the QR code stays the same until a code confirms it
    assert _secret_and_qr(client.get("/account/two-factor/"))[0] == secret
    bad = client.post("/account/two-factor/", {"token": "000000" if _code_for(secret) != "000000" else "1"})
    assert (
        bad.status_code == 200
        and not TOTPDevice.objects.filter(user=people["sysadmin"], confirmed=True).exists()
    )
    TOTPDevice.objects.filter(user=people["sysadmin"]).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )
    done = client.post("/account/two-factor/", {"token": _code_for(secret), "next": "/admin/"})
    assert done.status_code == 302 and done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert TOTPDevice.objects.filter(user=people["sysadmin"], confirmed=True).count() == 1
    # the next login asks for a code, not for a new enrolment
    later = Client()
    assert password_login(later, "sysadmin")["Location"].startswith("/login/otp/")


def test_first_login_enrolment_can_be_switched_off(settings, people):
    settings.OTP_ENROL_AT_FIRST_LOGIN = False
    client = Client()
    password_login(client, "auditor")
    page = client.get("/account/two-factor/")
    assert page.status_code == 403 and "请联系安全管理员" in page.content.decode()
    assert client.get("/admin/")["Location"].startswith("/account/two-factor/")


def test_two_factor_is_optional_for_others_and_asked_once_enrolled(people):
    person = people["dispatcher_a"]
    client = Client()
    full_login(client, person)
    assert client.get("/desk/", follow=True).status_code == 200  # no second factor asked
    page = client.get("/account/two-factor/")
    assert page.status_code == 200
    secret, _ = _secret_and_qr(page)
    assert client.post("/account/two-factor/", {"token": _code_for(secret)}).status_code == 302
    later = Client()
    assert password_login(later, "dispatcher_a", ip="198.51.100.9")["Location"].startswith("/login/otp/")
    assert later.get("/desk/")["Location"].startswith("/login/otp/")
    # the person may switch it off again (only from a session that gave the code)
    assert client.post("/account/two-factor/", {"action": "remove"}).status_code == 302
    assert not TOTPDevice.objects.filter(user=person).exists()


def test_administrators_cannot_remove_their_device(client_for, people):
    client = client_for(people["secadmin"])
    assert client.get("/account/two-factor/").status_code == 200
    client.post("/account/two-factor/", {"action": "remove"})
    assert TOTPDevice.objects.filter(user=people["secadmin"], confirmed=True).exists()


def test_an_enrolled_person_cannot_add_a_device_without_the_code(people):
    verified_device(people["sysadmin"])
    client = Client()
    password_login(client, "sysadmin")
    assert client.get("/account/two-factor/?add=1")["Location"].startswith("/login/otp/")
    assert TOTPDevice.objects.filter(user=people["sysadmin"]).count() == 1


def test_the_roles_that_require_it_are_a_setting(settings, people):
    assert twofactor.is_required(people["auditor"]) and not twofactor.is_required(people["leader"])
    settings.OTP_REQUIRED_ROLES = ["leader"]
    assert twofactor.is_required(people["leader"]) and not twofactor.is_required(people["auditor"])


def test_a_role_that_requires_it_granted_during_a_session_asks_for_the_code(people):
    from chengguan.org.models import RoleGrant

    person = people["leader"]
    client = Client()
    full_login(client, person)
    assert client.get("/command/").status_code == 200
    person.roles.add(RoleGrant.objects.get(role="auditor"))
    assert client.get("/command/")["Location"].startswith("/account/two-factor/")  # enrol first
