"""The department inbox through Django's test client: the tasks of the person's departments only,
overdue first with the working time left, sign and return, handle with a photo, a co-handler's own
task, errors shown on the case page, and query counts."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from chengguan.cases.choices import CaseStatus, TaskRole, TaskStatus
from chengguan.cases.models import Case, CasePhoto, CaseTask
from tests.cases.factories import make_case

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


def rows(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-row data-case-id="(\d+)"', html(response))]


def counts(response) -> dict[str, int]:
    found = re.findall(r'data-tab="(\w+)"[^>]*>[^<]*<span class="count" data-count="(\d+)"', html(response))
    return {k: int(n) for k, n in found}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def png() -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 160, 80)).save(out, "PNG")
    out.seek(0)
    out.name = "after.png"
    return out


def test_the_handler_lands_on_the_inbox_and_sees_only_their_departments_tasks(city, client_for, people):
    case = make_case(city, people, CaseStatus.DISPATCHED)
    client = client_for(people["handler_a"])
    assert client.get("/department/")["Location"] == "/department/to_sign/"
    page = client.get("/department/to_sign/")
    assert case.pk in rows(page) and counts(page)["to_sign"] >= 1
    other = client_for(people["handler_b"]).get("/department/to_sign/")
    assert other.status_code == 200 and case.pk not in rows(other) and case.number not in html(other)
    for name in ("operator_a", "inspector_a", "outsider"):
        assert client_for(people[name]).get("/department/to_sign/").status_code == 404, name
    assert client.get("/department/nonsense/").status_code == 404


def test_overdue_tasks_come_first_with_the_time_left(city, client_for, people):
    soon = make_case(city, people, CaseStatus.DISPATCHED)
    late = make_case(city, people, CaseStatus.DISPATCHED)
    past = timezone.now() - dt.timedelta(days=3)
    CaseTask.objects.filter(case=late).update(deadline=past)
    Case.objects.filter(pk=late.pk).update(stage_deadline=past, overdue=True)
    page = client_for(people["handler_a"]).get("/department/to_sign/")
    order = rows(page)
    assert order.index(late.pk) < order.index(soon.pk)
    late_row = re.search(rf'data-case-id="{late.pk}".*?</tr>', html(page), re.S).group(0)
    assert 'class="overdue"' in late_row and "已超期" in late_row
    soon_row = re.search(rf'data-case-id="{soon.pk}".*?</tr>', html(page), re.S).group(0)
    assert "剩余" in soon_row


def test_sign_from_the_inbox_and_come_back(city, client_for, people):
    case = make_case(city, people, CaseStatus.DISPATCHED)
    client = client_for(people["handler_a"])
    response = client.post(
        f"/work/cases/{case.pk}/sign/", {"version": case.version, "next": "/department/to_sign/"}
    )
    assert response.status_code == 302 and response["Location"] == "/department/to_sign/"
    assert Case.objects.get(pk=case.pk).status == CaseStatus.HANDLING
    assert case.pk in rows(client.get("/department/handling/"))


def test_return_needs_a_reason_shown_next_to_its_field(city, client_for, people):
    case = make_case(city, people, CaseStatus.DISPATCHED)
    client = client_for(people["handler_a"])
    bad = client.post(f"/work/cases/{case.pk}/return/", {"version": case.version, "reason": " "})
    assert bad.status_code == 422 and "这个字段是必填项" in html(bad)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.DISPATCHED
    good = client.post(
        f"/work/cases/{case.pk}/return/",
        {"version": case.version, "reason": "不属本部门", "next": "/department/to_sign/"},
    )
    assert good.status_code == 302 and Case.objects.get(pk=case.pk).status == CaseStatus.TO_DISPATCH


def test_handle_with_a_photo_from_the_inbox(city, client_for, people, media):
    case = make_case(city, people, CaseStatus.HANDLING)
    client = client_for(people["handler_a"])
    page = client.get("/department/handling/")
    assert f'action="/work/cases/{case.pk}/handle/"' in html(
        page
    ) and 'enctype="multipart/form-data"' in html(page)
    response = client.post(
        f"/work/cases/{case.pk}/handle/",
        {"version": case.version, "result": "已清运", "photos": [png()], "next": "/department/handling/"},
    )
    assert response.status_code == 302, html(response)[:2000]
    assert Case.objects.get(pk=case.pk).status == CaseStatus.TO_CHECK
    assert CasePhoto.objects.filter(case=case, kind="after").count() == 1


def test_a_fake_photo_is_refused_with_a_message_and_nothing_changes(city, client_for, people, media):
    case = make_case(city, people, CaseStatus.HANDLING)
    fake = io.BytesIO(b"not an image at all")
    fake.name = "x.jpg"
    response = client_for(people["handler_a"]).post(
        f"/work/cases/{case.pk}/handle/", {"version": case.version, "result": "已清运", "photos": [fake]}
    )
    assert response.status_code == 422 and "x.jpg" in html(response)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.HANDLING


def test_a_co_handler_signs_and_feeds_back_its_own_task(city, client_for, people):
    case = make_case(city, people, CaseStatus.DISPATCHED, cohandler=city.dept_b)
    client = client_for(people["handler_b"])
    page = client.get("/department/cohandling/")
    assert case.pk in rows(page) and counts(page)["cohandling"] >= 1
    assert case.pk not in rows(client.get("/department/to_sign/"))  # the lead's task is not theirs
    response = client.post(
        f"/work/cases/{case.pk}/cohandler_sign/", {"version": case.version, "next": "/department/cohandling/"}
    )
    assert response.status_code == 302
    task = CaseTask.objects.get(case=case, role=TaskRole.CO, current=True)
    assert task.status == TaskStatus.SIGNED
    case.refresh_from_db()
    response = client.post(
        f"/work/cases/{case.pk}/cohandler_feedback/",
        {"version": case.version, "result": "已配合封控", "next": "/department/cohandling/"},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.result == "已配合封控"
    assert case.pk not in rows(client.get("/department/cohandling/"))


def test_another_departments_handler_cannot_act_on_the_task(city, client_for, people):
    case = make_case(city, people, CaseStatus.DISPATCHED)
    response = client_for(people["handler_b"]).post(f"/work/cases/{case.pk}/sign/", {"version": case.version})
    assert response.status_code == 404
    assert Case.objects.get(pk=case.pk).status == CaseStatus.DISPATCHED


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "tab,status", [("to_sign", CaseStatus.DISPATCHED), ("handling", CaseStatus.HANDLING)]
)
def test_inbox_queries_do_not_grow_with_the_number_of_tasks(
    city, people, client_for, django_assert_max_num_queries, tab, status
):
    client = client_for(people["handler_a"])
    make_case(city, people, status)
    few = count_queries(client, f"/department/{tab}/")
    for _ in range(5):
        make_case(city, people, status)
    assert count_queries(client, f"/department/{tab}/") == few
    with django_assert_max_num_queries(15):
        client.get(f"/department/{tab}/")
