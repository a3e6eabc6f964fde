"""Browser tests: a live server on 127.0.0.1 over the session's committed city, Debian's chromium
driven by Playwright, a network guard, screenshots and persona logins.

Fixtures and helpers for page tests (use them; don't start another browser or server):

* `live_server`: the running server (`live_server.url`). It replaces pytest-django's fixture of
  the same name, whose `transactional_db` flushes every table after each test and would wipe the
  session's committed `city` for the tests after. Data a browser test needs is committed (the
  server answers on its own connection), made through `committed` and removed after the test.
* `committed`: `committed.case(status, **make_case_kwargs)` makes a committed case in street A;
  every case (and notification, task row) created during the test, by the test or through the
  pages, is deleted afterwards. `committed.person(name)` is a fresh Person.
* `browser`: headless /usr/bin/chromium (never a downloaded browser), one per test module.
* `page`: a fresh page (own context: cookies, language zh-hans, 1280×900) whose every request is
  recorded; a request to anything but 127.0.0.1/localhost is aborted and fails the test.
  `new_page(width=…, height=…, locale=…)` makes more (another persona, the 360 px phone, the wall).
* `login(page, "operator_a")`: logs in through the login form and returns the page (at the
  person's landing page). `login_as(page, "operator_a")`: a session cookie, no form (faster).
* `screenshot(page, "case-detail")`: a full-page PNG in $SCREENSHOT_DIR or ./var/screenshots
  (the folder is printed at the end of the run).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

from tests.cases.factories import make_case
from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR") or Path.cwd() / "var" / "screenshots").resolve()
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
NON_NETWORK_SCHEMES = {"data", "blob", "about", "chrome-error"}
_shots: list[Path] = []


def is_local(url: str) -> bool:
    """Whether a request stays on this machine (loopback only; data:/blob:/about: never leave)."""
    parts = urlsplit(url)
    if parts.scheme in NON_NETWORK_SCHEMES:
        return True
    host = (parts.hostname or "").lower()
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- server and data ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _live_server_helper():
    """Overrides pytest-django's: its transactional_db would flush the committed city after each test."""
    yield


@pytest.fixture(scope="session")
def live_server(city, django_db_blocker):
    """pytest-django's live server thread on 127.0.0.1 (on SQLite it shares the in-memory test
    database connection; on PostgreSQL it has its own and sees committed rows)."""
    from pytest_django.live_server_helper import LiveServer

    with django_db_blocker.unblock():
        server = LiveServer("127.0.0.1")
        server._live_server_modified_settings.enable()
        yield server
        server._live_server_modified_settings.disable()
        server.stop()
        _end_server_sessions()


def _end_server_sessions():
    """The server's request threads are daemons: one still holding a keep-alive socket keeps its
    PostgreSQL session, and the test database could then not be dropped. End those sessions."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


class Committed:
    """Committed rows for one browser test, removed at its end."""

    def __init__(self, city):
        from chengguan.cases.models import Case
        from chengguan.notify.models import Notification

        self.city = city
        self.started = dt.datetime.now(dt.UTC)
        self.case_floor = Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        self.notification_floor = (
            Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        )

    def people(self):
        from chengguan.org.models import Person

        return {k: Person.objects.get(pk=p.pk) for k, p in self.city.people.items()}

    def person(self, name: str):
        return self.people()[name]

    def case(self, status="reported", **kwargs):
        return make_case(self.city, self.people(), status, **kwargs)

    def clean(self):
        from django_tasks_db.models import DBTaskResult

        from chengguan.cases.models import Case, IdempotencyRecord
        from chengguan.notify.models import Notification

        IdempotencyRecord.objects.filter(case__pk__gt=self.case_floor).delete()
        Case.objects.filter(pk__gt=self.case_floor).update(duplicate_of=None)
        Case.objects.filter(pk__gt=self.case_floor).delete()
        Notification.objects.filter(pk__gt=self.notification_floor).delete()
        DBTaskResult.objects.filter(enqueued_at__gte=self.started).delete()


@pytest.fixture
def committed(live_server, city, django_db_blocker):
    with django_db_blocker.unblock():
        data = Committed(city)
        try:
            yield data
        finally:
            data.clean()


# --- browser ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium, one per module.

    While Playwright's sync API runs, its event loop counts as running in this thread and Django
    refuses ORM calls from it (SynchronousOnlyOperation); the calls here are plain synchronous
    code, so DJANGO_ALLOW_ASYNC_UNSAFE is set for the browser's lifetime only, and Playwright is
    stopped after each module so the rest of the suite runs without it."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run ./run install (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-domain-reliability",
                "--disable-sync",
                "--no-first-run",
                "--no-default-browser-check",
            ],
        )
        yield browser
        browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class NetworkGuard:
    """Every request of every page of the test; requests leaving the machine are aborted."""

    def __init__(self):
        self.requests: list[str] = []
        self.blocked: list[str] = []

    def route(self, route):
        url = route.request.url
        if is_local(url):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")

    def record(self, request):
        self.requests.append(request.url)


@pytest.fixture
def network_guard():
    guard = NetworkGuard()
    yield guard
    outside = sorted({u for u in guard.requests + guard.blocked if not is_local(u)})
    assert not outside, "requests to non-local addresses:\n" + "\n".join(outside)


@pytest.fixture
def new_page(browser, live_server, network_guard, committed):
    contexts = []

    def make(*, width=1280, height=900, locale="zh-CN", mobile=False, bypass_csp=True):
        # Playwright evaluates string predicates (page.wait_for_function("…")) with eval, which
        # the pages' Content-Security-Policy forbids: pages bypass it unless asked not to. The
        # policy itself is tested with bypass_csp=False in tests/security/test_browser.py.
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": width, "height": height},
            locale=locale,
            is_mobile=mobile,
            has_touch=mobile,
            service_workers="block",
            bypass_csp=bypass_csp,
        )
        context.set_default_timeout(15_000)
        context.route("**/*", network_guard.route)
        context.on("request", network_guard.record)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def login():
    def do(page, username: str, password: str = PASSWORD):
        page.goto("/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.click("form.form button[type=submit]")
        if "/login/otp/" in page.url or "/account/two-factor/" in page.url:
            _second_factor(page, username)
        return page

    return do


def _second_factor(page, username: str) -> None:
    """The administrators' one-time code, from their authenticator (made here when they have none)."""
    from chengguan.org import twofactor
    from chengguan.org.models import Person
    from tests.conftest import verified_device

    device = verified_device(Person.objects.get(username=username))
    if "/account/two-factor/" in page.url:  # no device when the page was drawn: ask again
        page.goto(page.url.replace("/account/two-factor/", "/login/otp/"))
    page.fill("input[name=token]", twofactor.current_code(device))
    with page.expect_navigation():
        page.click("form.form button[type=submit]")


@pytest.fixture
def login_as(live_server, city):
    """A session for the persona as a cookie (no login form): for tests about other pages."""

    def do(page, username: str):
        from chengguan.org.models import Person

        client = Client()
        client.force_login(Person.objects.get(username=username))
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
        )
        return page

    return do


@pytest.fixture
def screenshot():
    def take(page, name: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / (re.sub(r"[^\w.-]+", "-", name).strip("-") + ".png")
        page.screenshot(path=str(path), full_page=True)
        _shots.append(path)
        return path

    return take


def pytest_terminal_summary(terminalreporter):
    if _shots:
        terminalreporter.write_sep("-", f"screenshots ({len(_shots)}) in {SCREENSHOT_DIR}")
        for path in _shots:
            terminalreporter.write_line(f"  {path.name}")
