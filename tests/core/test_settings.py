"""Settings a deployment changes come from the environment; a bad value stops the start with a
message naming the variable, instead of a traceback or a silent default."""

import re

import pytest
from django.core.exceptions import ImproperlyConfigured

from chengguan.settings import env_number, env_rate_limits
from chengguan.web import ratelimit
from chengguan.web.checks import check_rate_limits


def test_numbers_are_read_and_bad_ones_named(monkeypatch):
    assert env_number("CG_TEST_N", "60") == 60
    monkeypatch.setenv("CG_TEST_N", "2.5")
    assert env_number("CG_TEST_N", "60", float) == 2.5
    with pytest.raises(ImproperlyConfigured, match=re.escape("CG_TEST_N must be a number, got '2.5'")):
        env_number("CG_TEST_N", "60")  # a whole number is expected
    monkeypatch.setenv("CG_TEST_N", "-1")
    with pytest.raises(ImproperlyConfigured, match="must not be negative"):
        env_number("CG_TEST_N", "60")


def test_rate_limits_are_read_from_the_environment(monkeypatch, settings):
    monkeypatch.setenv("CG_TEST_LIMITS", "public_report=10/3600, open311_read = 600/60")
    settings.PUBLIC_RATE_LIMITS = env_rate_limits("CG_TEST_LIMITS")
    assert ratelimit.limit_for("public_report") == (10, 3600)
    assert ratelimit.limit_for("open311_read") == (600, 60)
    assert ratelimit.limit_for("public_lookup") == ratelimit.DEFAULT_LIMITS["public_lookup"]
    for bad in ("public_report=10", "public_report=10/0", "public_report"):
        monkeypatch.setenv("CG_TEST_LIMITS", bad)
        with pytest.raises(ImproperlyConfigured, match="expected scope=attempts/seconds"):
            env_rate_limits("CG_TEST_LIMITS")


def test_an_unknown_rate_limit_scope_fails_the_checks(settings):
    settings.PUBLIC_RATE_LIMITS = {"publik_report": (1, 60)}
    found = check_rate_limits()
    assert [m.id for m in found] == ["chengguan.E003"] and "publik_report" in found[0].msg
    settings.PUBLIC_RATE_LIMITS = {"public_report": (1, 60)}
    assert check_rate_limits() == []


def test_behind_a_proxy_the_client_address_comes_from_the_configured_header(settings, rf):
    settings.CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    request = rf.get("/", HTTP_X_REAL_IP="203.0.113.7, 10.0.0.1", REMOTE_ADDR="10.0.0.1")
    assert ratelimit.client_ip(request) == "203.0.113.7"
