"""Grid assessment in a real browser at 360 px (Debian's chromium, Playwright): an assessor opens
their plan, starts a record for a grid, ticks two failed items (one with a photo from the
"camera"), submits, and turns a finding into a case with one tap; the rectification office reads
the score on its desk page. Every request stays on 127.0.0.1; screenshots of each step."""

from __future__ import annotations

import pytest
from PIL import Image

from chengguan.assessment import services
from chengguan.assessment.models import (
    AssessmentPlan,
    AssessmentRecord,
    AssessmentTeam,
    Checklist,
    Finding,
    FindingPhoto,
)
from chengguan.cases.choices import CaseSource
from chengguan.cases.models import Case
from chengguan.grid.models import UnitGrid
from chengguan.org.choices import Role
from chengguan.org.models import Person
from tests.assessment.conftest import make_plan
from tests.conftest import make_person

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "scene.jpg"
    Image.new("RGB", (640, 480), (150, 110, 60)).save(path, "JPEG")
    return path


@pytest.fixture
def plan(committed, city, django_db_blocker):
    """A committed team, checklist and plan over street A (removed after the test)."""
    with django_db_blocker.unblock():
        services.load_config()
        checklist = Checklist.objects.get(code="GRID-REF")
        assessor = make_person("assessor_web", [Role.ASSESSOR], regions=[city.street_a])
        office = make_person("office_web", [Role.RECTIFICATION], regions=[city.street_a])
        team = AssessmentTeam.objects.create(name="浏览器考核组", region=city.street_a)
        team.members.set([assessor])
        made = make_plan(office, team, checklist, [city.street_a])
    yield made
    with django_db_blocker.unblock():
        FindingPhoto.objects.all().delete()
        Finding.objects.all().delete()
        AssessmentRecord.objects.all().delete()
        AssessmentPlan.objects.all().delete()
        AssessmentTeam.objects.all().delete()
        Person.objects.filter(username__in=["assessor_web", "office_web"]).delete()


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


def test_an_assessment_with_a_photo_and_a_finding_turned_into_a_case_at_360px(
    new_page, login, plan, media, photo, screenshot, django_db_blocker
):
    page = login(new_page(width=PHONE_WIDTH, height=780, mobile=True), "assessor_web")
    assert page.url.endswith("/assessment/")
    assert fits_the_screen(page)
    screenshot(page, "assessment-plans-360")
    with django_db_blocker.unblock():
        grid = UnitGrid.objects.filter(street=plan.team.region).order_by("code")[1]
        checklist = plan.checklist
        a02, b02 = checklist.items.get(code="A02"), checklist.items.get(code="B02")
    page.select_option(f"#grid-{plan.pk}", str(grid.pk))
    page.click(f"#plan-{plan.pk} button[type=submit]")
    page.wait_for_selector("#record-score")
    assert grid.code in page.inner_text("h1")

    # A02 积存垃圾渣土 (−3) with a note and a photo from the camera.
    item = page.locator(f"#item-{a02.pk}")
    item.locator("summary").click()
    item.locator("textarea").fill("巷口积存建筑垃圾")
    item.locator("input[type=file]").set_input_files(str(photo))
    with page.expect_navigation():
        item.locator(".tick-form button[type=submit]").click()
    # B02 占道经营 (−2), a note only.
    item = page.locator(f"#item-{b02.pk}")
    item.locator("summary").click()
    item.locator("textarea").fill("水果摊占用人行道")
    with page.expect_navigation():
        item.locator(".tick-form button[type=submit]").click()
    assert "95" in page.inner_text("#record-score")
    assert page.locator(f"#item-{a02.pk} .thumbs img").count() == 1
    assert fits_the_screen(page)
    screenshot(page, "assessment-record-ticked-360")

    with page.expect_navigation():
        page.click("#submit-record")
    assert "95.0" in page.inner_text("#record-score")
    assert page.locator("#submit-record").count() == 0

    # One tap: the finding becomes a case, linked from the record.
    with page.expect_navigation():
        page.locator(f"#item-{a02.pk} .report-finding button").click()
    link = page.locator(f"#item-{a02.pk} .case-link a")
    assert link.count() == 1
    screenshot(page, "assessment-finding-case-360")
    with django_db_blocker.unblock():
        finding = Finding.objects.get(item=a02)
        case = Case.objects.get(pk=finding.case_id)
        assert case.source == CaseSource.ASSESSMENT and case.grid_id == grid.pk
        assert case.photos.count() == 1 and Case.objects.filter(assessment_finding__isnull=False).count() == 1
        record = AssessmentRecord.objects.get()
        assert str(record.score) == "95.0"
    assert case.number in link.inner_text()
    link.click()
    page.wait_for_url(f"**/cases/{case.pk}/")
    assert fits_the_screen(page)

    # The rectification office's desk page shows the street's score.
    desk = login(new_page(), "office_web")
    assert desk.url.endswith("/assessment/scores/")
    desk.goto(f"/assessment/scores/?level=street&period={record.day.isoformat()}")
    assert "95.00" in desk.inner_text("#scores")
    screenshot(desk, "assessment-scores-desk")
