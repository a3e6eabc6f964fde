"""The Content-Security-Policy in a real browser: logging in (password and the one-time code) and
the pages most full of scripts — the case detail with its map, the command wall with htmx polling,
the admin — run with no CSP violation and no console error."""

from __future__ import annotations

import pytest

from chengguan.cases.choices import CaseStatus

pytestmark = pytest.mark.browser


class Console:
    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, message):
        if message.type == "error" or "Content Security Policy" in message.text:
            self.errors.append(message.text)

    def violations(self, page) -> list[str]:
        return self.errors + page.evaluate("window.__csp || []")


WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':' + e.lineNumber));
"""


def test_login_and_pages_run_under_the_policy(new_page, login, committed, live_server):
    page = new_page(bypass_csp=False)
    page.add_init_script(WATCH)
    console = Console(page)
    case = committed.case(CaseStatus.DISPATCHED)
    login(page, "leader")
    assert "/command/" in page.url
    page.wait_for_timeout(500)
    assert console.violations(page) == []
    response = page.goto(f"/cases/{case.pk}/")
    assert response.status == 200 and "Content-Security-Policy" in {
        k.title(): v for k, v in response.headers.items()
    }
    page.wait_for_selector("#case-map[data-ready='1']")
    assert console.violations(page) == []
    # The watch itself works: an inline style is blocked and reported.
    page.evaluate("""document.body.insertAdjacentHTML('beforeend', '<p style="color: red">x</p>')""")
    page.wait_for_timeout(200)
    assert any("style-src" in v for v in console.violations(page))


def test_an_administrator_logs_in_with_the_code_and_the_admin_runs_under_the_policy(new_page, login):
    page = new_page(bypass_csp=False)
    page.add_init_script(WATCH)
    console = Console(page)
    login(page, "secadmin")
    assert page.url.endswith("/admin/")
    page.goto("/admin/org/person/")
    page.wait_for_selector("#result_list")
    assert console.violations(page) == []


def test_the_enrolment_page_draws_its_qr_code_under_the_policy(new_page, login_as):
    page = new_page(bypass_csp=False)
    page.add_init_script(WATCH)
    console = Console(page)
    login_as(page, "dispatcher_a")
    page.goto("/account/two-factor/")
    assert page.locator("figure.qr svg").count() == 1
    assert console.violations(page) == []


def test_the_phone_and_public_pages_run_under_the_policy(new_page, login_as):
    """The pages with the most script: the inspector's report (IndexedDB drafts, camera, map) and
    the public report and map."""
    page = new_page(width=360, height=780, mobile=True, bypass_csp=False)
    page.add_init_script(WATCH)
    console = Console(page)
    for path in ("/public/report/", "/public/map/", "/public/lookup/"):
        assert page.goto(path).status == 200
        page.wait_for_load_state("networkidle")
    login_as(page, "inspector_a")
    assert page.goto("/inspector/report/").status == 200
    page.wait_for_load_state("networkidle")
    assert console.violations(page) == []
