"""The operator / shift leader / dispatcher desk through Django's test client: queues by role and
jurisdiction, counts, filters (a bad value is shown, never a 500), bulk actions (each case its own
service call with its version; stale ones reported, the others done), approvals from a row, and
query counts that do not grow with the number of cases."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chengguan.cases import routing, selectors, services
from chengguan.cases.choices import CaseStatus, RequestStatus
from chengguan.cases.models import Case, CaseRequest, RoutingRule
from tests.cases.factories import make_case, minor

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


def tabs(response) -> dict[str, int]:
    found = re.findall(
        r'data-queue="([a-z_]+)"[^>]*>\s*[^<]*<span class="count" data-count="(\d+)"', html(response)
    )
    return {key: int(n) for key, n in found}


def rows(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-row data-case-id="(\d+)"', html(response))]


def messages_of(response) -> list[str]:
    return re.findall(r'<li class="msg msg-\w+">(.*?)</li>', html(response), re.S)


# --- queues by role and jurisdiction -------------------------------------------------------------------


def test_each_desk_role_sees_its_own_queues(client_for, people):
    expected = {
        "operator_a": ["reported"],
        "shiftlead_a": ["to_register", "to_check", "to_close", "extension", "suspension"],
        "dispatcher_a": ["to_dispatch"],
    }
    for name, queues in expected.items():
        client = client_for(people[name])
        first = client.get("/desk/")
        assert first.status_code == 302 and first["Location"] == f"/desk/{queues[0]}/"
        page = client.get(first["Location"])
        assert page.status_code == 200 and list(tabs(page)) == queues, name
        for other in {"reported", "to_register", "to_dispatch", "to_close", "extension"} - set(queues):
            assert client.get(f"/desk/{other}/").status_code == 404, (name, other)


def test_people_without_a_desk_role_get_not_found(client_for, people):
    for name in ("inspector_a", "handler_a", "outsider", "auditor"):
        assert client_for(people[name]).get("/desk/").status_code == 404, name
        assert client_for(people[name]).get("/desk/reported/").status_code == 404, name
    assert client_for(people["operator_a"]).get("/desk/nonsense/").status_code == 404


def test_a_queue_holds_only_the_cases_of_the_persons_jurisdiction(city, client_for, people):
    case = make_case(city, people, CaseStatus.REPORTED)
    mine = client_for(people["operator_a"]).get("/desk/reported/")
    assert case.pk in rows(mine) and tabs(mine)["reported"] >= 1
    other = client_for(people["operator_b"]).get("/desk/reported/")
    assert other.status_code == 200 and case.pk not in rows(other) and case.number not in html(other)
    assert tabs(other)["reported"] == Case.objects.filter(status="reported", street=city.street_b).count()


def test_counts_match_the_queues(city, client_for, people):
    make_case(city, people, CaseStatus.TO_REGISTER)
    make_case(city, people, CaseStatus.TO_CLOSE)
    handling = make_case(city, people, CaseStatus.HANDLING)
    services.case_request_extension(
        people["handler_a"],
        handling.pk,
        version=handling.version,
        amount=2,
        unit="work_day",
        reason="材料未到",
    )
    client = client_for(people["shiftlead_a"])
    counts = tabs(client.get("/desk/to_register/"))
    for key, n in counts.items():
        page = client.get(f"/desk/{key}/")
        assert len(rows(page)) == n, key
    assert counts["extension"] >= 1 and handling.pk in rows(client.get("/desk/extension/"))
    assert handling.pk not in rows(client.get("/desk/suspension/"))


def test_the_shift_leader_follows_the_check_queue_without_acting_on_it(city, client_for, people):
    case = make_case(city, people, CaseStatus.TO_CHECK)
    page = client_for(people["shiftlead_a"]).get("/desk/to_check/")
    assert case.pk in rows(page)
    assert 'name="case"' not in html(page) and "批量" not in html(page)
    assert "本队列供跟踪" in html(page)


# --- filters ----------------------------------------------------------------------------------------


def test_filters_narrow_the_queue(city, client_for, people):
    garbage = make_case(city, people, CaseStatus.REPORTED, description="桥下堆放垃圾")
    other = make_case(city, people, CaseStatus.REPORTED, cls="道路不洁", description="路面油污")
    hotline = make_case(city, people, CaseStatus.REPORTED, source="hotline", description="热线反映")
    client = client_for(people["operator_a"])
    by_text = rows(client.get("/desk/reported/", {"q": "桥下"}))
    assert garbage.pk in by_text and other.pk not in by_text
    assert rows(client.get("/desk/reported/", {"q": other.number})) == [other.pk]
    by_class = rows(client.get("/desk/reported/", {"minor_class_id": minor("道路不洁").pk}))
    assert other.pk in by_class and garbage.pk not in by_class
    by_source = rows(client.get("/desk/reported/", {"source": "hotline"}))
    assert hotline.pk in by_source and garbage.pk not in by_source
    by_street = rows(client.get("/desk/reported/", {"street_id": city.street_a.pk}))
    assert {garbage.pk, other.pk, hotline.pk} <= set(by_street)
    Case.objects.filter(pk=garbage.pk).update(overdue=True)
    late = rows(client.get("/desk/reported/", {"overdue": "1"}))
    assert garbage.pk in late and other.pk not in late
    on_time = rows(client.get("/desk/reported/", {"overdue": "0"}))
    assert garbage.pk not in on_time


def test_a_bad_filter_value_is_shown_next_to_its_field_and_ignored(city, client_for, people):
    case = make_case(city, people, CaseStatus.REPORTED)
    client = client_for(people["operator_a"])
    page = client.get("/desk/reported/", {"street_id": "999999", "source": "bogus", "page": "x"})
    assert page.status_code == 200 and case.pk in rows(page)
    assert html(page).count('class="field invalid"') == 2
    # A street outside the person's jurisdiction is not a choice either.
    page = client.get("/desk/reported/", {"street_id": city.street_b.pk})
    assert page.status_code == 200 and case.pk in rows(page) and 'class="error"' in html(page)


# --- bulk actions -----------------------------------------------------------------------------------


def test_bulk_accept_does_each_case_and_reports_a_stale_one(city, client_for, people):
    a, b, c = (make_case(city, people, CaseStatus.REPORTED) for _ in range(3))
    # Someone else accepts b after the page was read: its version on the page is stale.
    services.case_accept(people["operator_a"], b.pk, version=b.version)
    client = client_for(people["operator_a"])
    response = client.post(
        "/desk/reported/bulk/",
        {"case": [f"{a.pk}:{a.version}", f"{b.pk}:{b.version}", f"{c.pk}:{c.version}"], "query": "q=x"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/desk/reported/?q=x"
    statuses = dict(Case.objects.filter(pk__in=[a.pk, b.pk, c.pk]).values_list("pk", "status"))
    assert statuses == {a.pk: "to_register", b.pk: "to_register", c.pk: "to_register"}
    text = " ".join(messages_of(response))
    assert "已受理 2 件" in text and a.number in text and c.number in text
    assert f"{b.number} 未能受理" in text and "已被他人处理" in text
    assert Case.objects.get(pk=b.pk).version == b.version + 1  # b was not touched twice


def test_bulk_actions_on_cases_outside_the_jurisdiction_change_nothing(city, client_for, people):
    case = make_case(city, people, CaseStatus.REPORTED)
    response = client_for(people["operator_b"]).post(
        "/desk/reported/bulk/", {"case": [f"{case.pk}:{case.version}"]}, follow=True
    )
    assert Case.objects.get(pk=case.pk).status == "reported"
    text = " ".join(messages_of(response))
    assert f"#{case.pk} 未能受理" in text and case.number not in text


def test_bulk_action_without_the_role_or_without_a_selection(city, client_for, people):
    case = make_case(city, people, CaseStatus.TO_REGISTER)
    # The operator has no 待立案 queue; the shift leader's 待核查 queue has no bulk action.
    assert (
        client_for(people["operator_a"])
        .post("/desk/to_register/bulk/", {"case": [f"{case.pk}:{case.version}"]})
        .status_code
        == 404
    )
    assert client_for(people["shiftlead_a"]).post("/desk/to_check/bulk/", {"case": []}).status_code == 403
    assert Case.objects.get(pk=case.pk).status == "to_register"
    client = client_for(people["shiftlead_a"])
    empty = client.post("/desk/to_register/bulk/", {}, follow=True)
    assert "请先勾选案件" in " ".join(messages_of(empty))
    garbled = client.post("/desk/to_register/bulk/", {"case": ["abc", f"{case.pk}"]}, follow=True)
    assert "无法识别" in " ".join(messages_of(garbled))
    assert Case.objects.get(pk=case.pk).status == "to_register"
    assert client.get("/desk/to_register/bulk/").status_code == 405


def test_bulk_dispatch_sends_each_case_to_its_routed_department(city, client_for, people):
    RoutingRule.objects.create(minor_class=minor("暴露垃圾"), region=city.street_a, department=city.dept_a)
    RoutingRule.objects.create(minor_class=minor("道路不洁"), region=city.street_a, department=city.dept_b)
    garbage = make_case(city, people, CaseStatus.TO_DISPATCH)
    cover = make_case(city, people, CaseStatus.TO_DISPATCH, cls="道路不洁")
    stale = make_case(city, people, CaseStatus.TO_DISPATCH)
    client = client_for(people["dispatcher_a"])
    page = client.get("/desk/to_dispatch/")
    assert re.search(rf'data-case-id="{garbage.pk}".*?<td class="routed">甲中队</td>', html(page), re.S)
    assert re.search(rf'data-case-id="{cover.pk}".*?<td class="routed">公安乙</td>', html(page), re.S)
    response = client.post(
        "/desk/to_dispatch/bulk/",
        {
            "case": [
                f"{garbage.pk}:{garbage.version}",
                f"{cover.pk}:{cover.version}",
                f"{stale.pk}:{stale.version - 1}",
            ]
        },
        follow=True,
    )
    leads = dict(
        Case.objects.filter(pk__in=[garbage.pk, cover.pk, stale.pk]).values_list("pk", "lead_department")
    )
    assert leads == {garbage.pk: city.dept_a.pk, cover.pk: city.dept_b.pk, stale.pk: None}
    assert Case.objects.get(pk=stale.pk).status == "to_dispatch"
    text = " ".join(messages_of(response))
    assert "已派遣 2 件" in text and f"{stale.number} 未能派遣" in text


def test_the_routing_preview_agrees_with_the_router(city, people):
    RoutingRule.objects.create(minor_class=minor("道路不洁"), region=city.district, department=city.dept_b)
    cases = [
        make_case(city, people, CaseStatus.TO_DISPATCH),
        make_case(city, people, CaseStatus.TO_DISPATCH, cls="道路不洁"),
    ]
    rows_ = list(selectors.desk_rows(people["dispatcher_a"], selectors.DESK_QUEUE_BY_KEY["to_dispatch"]))
    preview = selectors.routed_departments(rows_)
    for case in rows_:
        assert preview[case.pk] == routing.route(case.minor_class, case.street, case.district), case.number
    assert preview[cases[1].pk] == city.dept_b  # the district's rule for the class


# --- approvals from a row ---------------------------------------------------------------------------


def _extension_case(city, people):
    case = make_case(city, people, CaseStatus.HANDLING)
    services.case_request_extension(
        people["handler_a"], case.pk, version=case.version, amount=1, unit="work_day", reason="等待配件"
    )
    return Case.objects.get(pk=case.pk)


def test_an_extension_is_approved_from_its_row_and_the_page_comes_back(city, client_for, people):
    case = _extension_case(city, people)
    client = client_for(people["shiftlead_a"])
    page = client.get("/desk/extension/")
    assert "等待配件" in html(page) and f'action="/work/cases/{case.pk}/extend_approve/"' in html(page)
    response = client.post(
        f"/work/cases/{case.pk}/extend_approve/",
        {"version": case.version, "note": "同意", "next": "/desk/extension/"},
    )
    assert response.status_code == 302 and response["Location"] == "/desk/extension/"
    request = CaseRequest.objects.get(case=case)
    assert request.status == RequestStatus.APPROVED and request.decision_note == "同意"
    assert case.pk not in rows(client.get("/desk/extension/"))


def test_a_stale_row_form_says_so_and_shows_the_case_as_it_is(city, client_for, people):
    case = _extension_case(city, people)
    services.case_decide_extension(people["leader"], case.pk, version=case.version, approve=False)
    response = client_for(people["shiftlead_a"]).post(
        f"/work/cases/{case.pk}/extend_approve/", {"version": case.version, "next": "/desk/extension/"}
    )
    assert response.status_code == 409 and "其他人已先处理了这个案件" in html(response)
    assert CaseRequest.objects.get(case=case).status == RequestStatus.DENIED


def test_a_row_action_goes_back_only_to_this_site(city, client_for, people):
    case = make_case(city, people, CaseStatus.REPORTED)
    response = client_for(people["operator_a"]).post(
        f"/work/cases/{case.pk}/accept/", {"version": case.version, "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    assert (
        client_for(people["operator_b"])
        .post(f"/work/cases/{case.pk}/reject/", {"version": case.version + 1, "reason": "x"})
        .status_code
        == 404
    )
    assert client_for(people["operator_a"]).post(f"/work/cases/{case.pk}/nonsense/", {}).status_code == 404


# --- query counts -------------------------------------------------------------------------------------


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


QUEUE_PERSONS = {
    "reported": ("operator_a", CaseStatus.REPORTED),
    "to_register": ("shiftlead_a", CaseStatus.TO_REGISTER),
    "to_dispatch": ("dispatcher_a", CaseStatus.TO_DISPATCH),
    "to_check": ("shiftlead_a", CaseStatus.TO_CHECK),
    "to_close": ("shiftlead_a", CaseStatus.TO_CLOSE),
    "extension": ("shiftlead_a", "extension"),
}


def _make(city, people, status):
    if status == "extension":
        return _extension_case(city, people)
    return make_case(city, people, status)


@pytest.mark.parametrize("queue", sorted(QUEUE_PERSONS))
def test_queue_queries_do_not_grow_with_the_number_of_cases(
    city, people, client_for, django_assert_max_num_queries, queue
):
    name, status = QUEUE_PERSONS[queue]
    client = client_for(people[name])
    _make(city, people, status)
    few = count_queries(client, f"/desk/{queue}/")
    for _ in range(6):
        _make(city, people, status)
    many = count_queries(client, f"/desk/{queue}/")
    assert many == few
    with django_assert_max_num_queries(20):
        client.get(f"/desk/{queue}/")
