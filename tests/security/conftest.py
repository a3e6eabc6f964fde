"""Helpers of the security tests: logging in through the pages (password, then the code), as a
browser would, from a chosen address."""

from __future__ import annotations

import pytest
from django.test import Client

from chengguan.org import twofactor
from tests.conftest import PASSWORD, verified_device


def password_login(client: Client, username: str, password: str = PASSWORD, *, ip: str = "192.0.2.10"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def full_login(client: Client, person, *, ip: str = "192.0.2.10"):
    """Password, then (for whoever needs it) the one-time code: a session that finished logging in."""
    response = password_login(client, person.username, ip=ip)
    assert response.status_code == 302, response.content[:500]
    if twofactor.is_required(person):
        device = verified_device(person)
        response = client.post(
            "/login/otp/", {"token": twofactor.current_code(device), "next": "/"}, REMOTE_ADDR=ip
        )
        assert response.status_code == 302 and not response["Location"].startswith("/login/otp/")
    return response


@pytest.fixture
def browser_client():
    """A client whose requests look like a browser's (one address, a user agent)."""
    return Client(REMOTE_ADDR="192.0.2.10", HTTP_USER_AGENT="Mozilla/5.0 (test)")


# The browser fixtures of the page tests (a live server, Debian's chromium, the network guard).
from tests.web.conftest import (  # noqa: E402, F401
    _live_server_helper,
    browser,
    committed,
    live_server,
    login,
    login_as,
    network_guard,
    new_page,
    page,
)
