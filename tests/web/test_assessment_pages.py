"""Grid assessment pages through the test client: who may use them, a whole assessment (start,
tick with a photo, a bad photo next to its field, submit, make a case twice = one case), the
landing of the two roles, and the rectification office's scores page."""

from __future__ import annotations

import io

import pytest

from chengguan.assessment.models import AssessmentRecord, Finding
from chengguan.cases.models import Case
from tests.assessment.conftest import build_setup, jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture
def assess(city, people, settings, tmp_path):
    return build_setup(city, people, settings, tmp_path)


def upload(data: bytes, name="scene.jpg"):
    f = io.BytesIO(data)
    f.name = name
    return f


def test_the_roles_land_on_their_pages_and_others_are_refused(assess, client_for):
    me = client_for(assess.people["assessor_1"])
    assert me.get("/").url == "/assessment/"
    assert client_for(assess.people["office_a"]).get("/").url == "/assessment/scores/"
    page = me.get("/assessment/")
    assert page.status_code == 200 and assess.plan.name in page.content.decode()
    assert assess.grids[0].code in page.content.decode()
    for name in ("inspector_a", "office_a", "outsider"):
        assert client_for(assess.people[name]).get("/assessment/").status_code == 403
    for name in ("assessor_1", "inspector_a", "dispatcher_a"):
        assert client_for(assess.people[name]).get("/assessment/scores/").status_code == 403


def test_an_assessment_on_the_phone_pages(assess, client_for):
    me = client_for(assess.people["assessor_1"])
    r = me.post(f"/assessment/plans/{assess.plan.pk}/start/", {"grid": assess.grids[0].pk})
    record = AssessmentRecord.objects.get()
    assert r.status_code == 302 and r.url == f"/assessment/records/{record.pk}/"
    again = me.post(f"/assessment/plans/{assess.plan.pk}/start/", {"grid": assess.grids[0].pk})
    assert again.url == r.url and AssessmentRecord.objects.count() == 1
    item = assess.item("A02")
    url = f"/assessment/records/{record.pk}/items/{item.pk}/"
    bad = me.post(url, {f"i{item.pk}-note": "墙角", f"i{item.pk}-photos": [upload(b"GIF89a fake", "x.gif")]})
    assert bad.status_code == 422 and "JPEG" in bad.content.decode() and not Finding.objects.exists()
    ok = me.post(url, {f"i{item.pk}-note": "墙角堆放", f"i{item.pk}-photos": [upload(jpeg())]})
    assert ok.status_code == 302 and ok.url.endswith(f"#item-{item.pk}")
    page = me.get(f"/assessment/records/{record.pk}/").content.decode()
    assert "墙角堆放" in page and "97" in page and "/assessment/photos/" in page
    photo_url = f"/assessment/photos/{Finding.objects.get().photos.get().pk}/thumb/"
    assert me.get(photo_url).status_code == 200
    assert client_for(assess.people["dispatcher_a"]).get(photo_url).status_code == 404
    assert me.post(f"/assessment/records/{record.pk}/submit/").status_code == 302
    record.refresh_from_db()
    assert str(record.score) == "97.0"
    finding = Finding.objects.get()
    first = me.post(f"/assessment/findings/{finding.pk}/case/")
    second = me.post(f"/assessment/findings/{finding.pk}/case/")
    assert first.status_code == second.status_code == 302 and Case.objects.count() == 1
    page = me.get(f"/assessment/records/{record.pk}/").content.decode()
    assert Case.objects.get().number in page


def test_the_scores_page_of_the_rectification_office(assess, client_for, city):
    me = client_for(assess.people["assessor_1"])
    me.post(f"/assessment/plans/{assess.plan.pk}/start/", {"grid": assess.grids[0].pk})
    record = AssessmentRecord.objects.get()
    me.post(f"/assessment/records/{record.pk}/items/{assess.item('C01').pk}/", {})
    me.post(f"/assessment/records/{record.pk}/submit/")
    office = client_for(assess.people["office_a"])
    day = record.day.isoformat()
    page = office.get("/assessment/scores/", {"level": "street", "period": day})
    assert page.status_code == 200
    body = page.content.decode()
    assert city.street_a.name in body and "97.00" in body and city.street_b.name not in body
    grid = office.get("/assessment/scores/", {"level": "grid", "period": day}).content.decode()
    assert assess.grids[0].code in grid
    wrong = office.get("/assessment/scores/", {"level": "street", "period": "2026-13"})
    assert wrong.status_code == 422 and 'role="alert"' in wrong.content.decode()


def test_the_rectification_office_makes_a_plan_on_its_page(assess, client_for, city):
    from chengguan.assessment.models import AssessmentPlan
    from chengguan.grid.models import UnitGrid

    office = client_for(assess.people["office_a"])
    page = office.get("/assessment/plans/")
    html = page.content.decode()
    assert page.status_code == 200 and assess.plan.name in html and city.street_a.name in html
    assert city.street_b.name not in html  # only its own jurisdiction is offered
    before = AssessmentPlan.objects.count()
    form = {
        "name": "四月复查",
        "team": assess.team.pk,
        "checklist": assess.checklist.pk,
        "first_day": "2026-04-01",
        "last_day": "2026-03-01",
        "regions": [city.street_a.pk],
    }
    bad = office.post("/assessment/plans/", form)
    assert bad.status_code == 422 and "结束日期不能早于开始日期" in bad.content.decode()
    other = UnitGrid.objects.filter(street=city.street_b).order_by("code").first()
    bad = office.post("/assessment/plans/", {**form, "last_day": "2026-04-30", "grid_codes": other.code})
    assert bad.status_code == 422 and other.code in bad.content.decode()
    assert AssessmentPlan.objects.count() == before  # nothing half-made
    extra = assess.grids[0]
    ok = office.post(
        "/assessment/plans/", {**form, "last_day": "2026-04-30", "grid_codes": f" {extra.code}，"}
    )
    plan = AssessmentPlan.objects.get(name="四月复查")
    assert ok.status_code == 302 and ok.url == f"/assessment/plans/#plan-{plan.pk}"
    assert [r.pk for r in plan.regions.all()] == [city.street_a.pk]
    assert [g.pk for g in plan.grids.all()] == [extra.pk] and plan.created_by == assess.people["office_a"]
    assert "四月复查" in office.get("/assessment/plans/").content.decode()
    # The other street's office neither sees it nor may plan in street A.
    other_office = client_for(assess.people["office_b"])
    assert "四月复查" not in other_office.get("/assessment/plans/").content.decode()
    refused = other_office.post("/assessment/plans/", {**form, "name": "越界", "last_day": "2026-04-30"})
    assert refused.status_code == 422 and not AssessmentPlan.objects.filter(name="越界").exists()
    for name in ("assessor_1", "inspector_a", "dispatcher_a", "sysadmin"):
        assert client_for(assess.people[name]).get("/assessment/plans/").status_code == 403
