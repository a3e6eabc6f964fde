"""`chengguan otp` and the demo's authenticators: the administrators of the demo can log in with a
code from the printed secret (a real enrolment path, not a relaxed check)."""

from __future__ import annotations

import io
from base64 import b32decode

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from chengguan.org.management.commands.otp import demo_devices

from .conftest import password_login

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("otp", *args, stdout=out)
    return out.getvalue()


def test_enrol_list_code_reset(people, tmp_path):
    svg = tmp_path / "qr.svg"
    out = run("enrol", "auditor", "--svg", str(svg))
    secret = out.split("secret:")[1].split()[0]
    assert "otpauth://totp/" in out and svg.read_text().startswith("<svg")
    assert "auditor" in run("list") and "confirmed" in run("list", "auditor")
    code = run("code", "auditor").strip()
    assert code == f"{TOTP(b32decode(secret)).token():06d}"
    client = Client()
    password_login(client, "auditor")
    assert client.post("/login/otp/", {"token": code, "next": "/admin/"})["Location"] == "/admin/"
    assert "1" in run("reset", "auditor") and not TOTPDevice.objects.filter(user=people["auditor"]).exists()
    with pytest.raises(CommandError):
        run("enrol", "nobody")


def test_the_code_is_refused_in_production(settings, people):
    run("enrol", "auditor")
    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        run("code", "auditor")


def test_the_demo_gives_each_administrator_an_authenticator_once(people, tmp_path):
    first = demo_devices(tmp_path)
    assert {row[0] for row in first} == {"sysadmin", "secadmin", "auditor"}
    assert all(path.read_text().startswith("<svg") for _, _, path in first)
    assert demo_devices(tmp_path) == first  # kept across runs
    secret = dict((u, s) for u, s, _ in first)["sysadmin"]
    client = Client()
    password_login(client, "sysadmin")
    code = f"{TOTP(b32decode(secret)).token():06d}"
    assert client.post("/login/otp/", {"token": code, "next": "/admin/"})["Location"] == "/admin/"
