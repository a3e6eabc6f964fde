"""The problem ledger page and its Excel export through Django's test client: rows through the
chokepoint, filters (a bad one shown next to its field), the export of the same filters."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from chengguan.cases.choices import CaseStatus
from chengguan.cases.ledger import XLSX_CONTENT_TYPE
from tests.cases.factories import make_case

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


def rows(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr(?: class="overdue")? data-case-id="(\d+)"', html(response))]


def test_the_ledger_lists_open_and_suspended_problems_with_filters(city, client_for, people):
    open_case = make_case(city, people, CaseStatus.HANDLING)
    suspended = make_case(city, people, CaseStatus.SUSPENDED)
    client = client_for(people["shiftlead_a"])
    page = client.get("/ledger/")
    assert page.status_code == 200 and open_case.pk in rows(page) and suspended.pk not in rows(page)
    assert 'href="/ledger/export.xlsx"' in html(page)
    ledger = client.get("/ledger/", {"scope": "suspended"})
    assert (
        suspended.pk in rows(ledger) and open_case.pk not in rows(ledger) and "需列入改造计划" in html(ledger)
    )
    assert 'href="/ledger/export.xlsx?scope=suspended"' in html(ledger)
    by_department = rows(client.get("/ledger/", {"department_id": city.dept_b.pk}))
    assert open_case.pk not in by_department


def test_another_streets_person_sees_none_of_it(city, client_for, people):
    case = make_case(city, people, CaseStatus.HANDLING)
    page = client_for(people["shiftlead_b"]).get("/ledger/")
    assert page.status_code == 200 and case.pk not in rows(page) and case.number not in html(page)
    for name in ("inspector_a", "outsider", "auditor"):
        assert client_for(people[name]).get("/ledger/").status_code == 404, name


def test_bad_filters_are_shown_and_the_export_waits_for_them(city, client_for, people):
    case = make_case(city, people, CaseStatus.HANDLING)
    client = client_for(people["shiftlead_a"])
    page = client.get("/ledger/", {"found_from": "2026-13-40", "scope": "everything"})
    assert (
        page.status_code == 200 and html(page).count('class="field invalid"') == 2 and case.pk in rows(page)
    )
    backwards = client.get("/ledger/", {"found_from": "2026-05-02", "found_to": "2026-05-01"})
    assert "结束日期不能早于开始日期" in html(backwards)
    export = client.get("/ledger/export.xlsx", {"found_from": "nonsense"})
    assert export.status_code == 302 and export["Location"].startswith("/ledger/?")


def test_the_export_is_the_ledger_of_the_same_filters(city, client_for, people):
    case = make_case(city, people, CaseStatus.HANDLING)
    response = client_for(people["shiftlead_a"]).get("/ledger/export.xlsx", {"scope": "open"})
    assert response.status_code == 200 and response["Content-Type"] == XLSX_CONTENT_TYPE
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    numbers = [row[1] for row in book.worksheets[0].iter_rows(min_row=4, values_only=True)]
    assert case.number in numbers


def test_the_ledger_queries_do_not_grow_with_its_rows(
    city, people, client_for, django_assert_max_num_queries
):
    client = client_for(people["shiftlead_a"])
    make_case(city, people, CaseStatus.HANDLING, cohandler=city.dept_b)
    for _ in range(4):
        make_case(city, people, CaseStatus.DISPATCHED)
    with django_assert_max_num_queries(20):
        assert client.get("/ledger/").status_code == 200
