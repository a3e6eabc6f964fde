"""Grid assessment services: who may do what, bad input leaves nothing behind, score arithmetic
with known answers, a finding becomes one case, and the weight in the composite score."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from chengguan.assessment import selectors, services
from chengguan.assessment.choices import Level, RecordStatus
from chengguan.assessment.models import (
    AssessmentRecord,
    AssessmentWeight,
    Checklist,
    ChecklistItem,
    Finding,
    FindingPhoto,
)
from chengguan.cases.choices import CaseSource, CaseStatus
from chengguan.cases.models import Case
from chengguan.cases.photos import PhotoError
from chengguan.core.errors import Conflict, Invalid
from chengguan.core.permissions import NotFound, visible
from chengguan.evaluation import scoring
from chengguan.evaluation import selectors as evaluation
from chengguan.evaluation import services as evaluation_services
from chengguan.evaluation.choices import ObjectType
from chengguan.evaluation.periods import parse_period
from chengguan.org.choices import Role
from tests.conftest import make_person

from .conftest import jpeg, make_plan

pytestmark = pytest.mark.django_db
CST = ZoneInfo("Asia/Shanghai")


def assessed(s, person, grid, codes, *, submit=True):
    record, _ = services.record_start(s.people[person], s.plan.pk, grid.pk)
    for code in codes:
        services.finding_set(s.people[person], record.pk, s.item(code).pk, note=f"{code} 现场")
    if submit:
        record, _ = services.record_submit(s.people[person], record.pk)
    return record


# --- score arithmetic ------------------------------------------------------------------------------------


def test_score_is_100_minus_the_deductions_of_the_ticked_items(assess):
    # A01 暴露垃圾 2 + A02 积存垃圾渣土 3 + B04 非机动车乱停放 0.5 = 5.5
    record = assessed(assess, "assessor_1", assess.grids[0], ["A01", "A02", "B04"])
    assert (record.status, record.deductions, record.score) == (
        RecordStatus.SUBMITTED,
        Decimal("5.5"),
        Decimal("94.5"),
    )
    clean = assessed(assess, "assessor_2", assess.grids[1], [])
    assert (clean.deductions, clean.score) == (Decimal(0), Decimal(100))


def test_score_is_never_below_zero(assess):
    heavy = Checklist.objects.create(code="HEAVY", name="重扣", effective_from=dt.date(2000, 1, 1))
    for code, points in [("H1", 60), ("H2", 45)]:
        ChecklistItem.objects.create(
            checklist=heavy, code=code, category="cleanliness", name=code, deduction=points
        )
    plan = make_plan(assess.people["office_a"], assess.team, heavy, [], grids=[assess.grids[0]])
    person = assess.people["assessor_1"]
    record, _ = services.record_start(person, plan.pk, assess.grids[0].pk)
    for item in heavy.items.all():
        services.finding_set(person, record.pk, item.pk)
    record, _ = services.record_submit(person, record.pk)
    assert (record.deductions, record.score) == (Decimal(105), Decimal(0))
    assert services.score_of([Decimal("99.9")]) == Decimal("0.1")


def test_the_deduction_is_the_items_when_ticked(assess):
    person = assess.people["assessor_1"]
    record, _ = services.record_start(person, assess.plan.pk, assess.grids[0].pk)
    services.finding_set(person, record.pk, assess.item("A02").pk)
    ChecklistItem.objects.filter(pk=assess.item("A02").pk).update(deduction=10)
    record, _ = services.record_submit(person, record.pk)
    assert record.score == Decimal(97)


def test_scores_per_grid_community_street_with_known_answers(assess, city):
    g1, g2 = assess.grids[0], next(g for g in assess.grids if g.community_id != assess.grids[0].community_id)
    assessed(assess, "assessor_1", g1, ["A01"])  # 98
    assessed(assess, "assessor_2", g1, ["A02", "A03"])  # 96 → grid g1: 97
    assessed(assess, "assessor_1", g2, ["C01", "F02", "B04"])  # 93.5 → grid g2: 93.5
    draft = assessed(assess, "assessor_2", g2, ["A01"], submit=False)  # a draft does not count
    assert draft.status == RecordStatus.DRAFT
    today = assess.plan.first_day + dt.timedelta(days=1)
    grids = selectors.score_map(Level.GRID, today, today)
    assert grids == {g1.pk: (Decimal("97.00"), 2, 1), g2.pk: (Decimal("93.50"), 1, 1)}
    communities = selectors.score_map(Level.COMMUNITY, today, today)
    assert communities == {
        g1.community_id: (Decimal("97.00"), 2, 1),
        g2.community_id: (Decimal("93.50"), 1, 1),
    }
    # The street: the mean of its grids (each grid once), not of the three records (95.83).
    street = selectors.score_map(Level.STREET, today, today)
    assert street == {city.street_a.pk: (Decimal("95.25"), 3, 2)}
    assert selectors.score_map(Level.STREET, today + dt.timedelta(days=1), today + dt.timedelta(days=9)) == {}


def test_scores_are_read_by_the_rectification_office_of_the_place(assess, city):
    assessed(assess, "assessor_1", assess.grids[0], ["A01"])
    today = assess.plan.first_day + dt.timedelta(days=1)
    office_a = selectors.scores(assess.people["office_a"], Level.STREET, today, today)
    assert [(r.object_id, r.score) for r in office_a] == [(city.street_a.pk, Decimal("98.00"))]
    office_b = selectors.scores(assess.people["office_b"], Level.STREET, today, today)
    assert [(r.object_id, r.score) for r in office_b] == [(city.street_b.pk, None)]
    assert selectors.scores(assess.people["leader"], Level.GRID, today, today)[0].score == Decimal("98.00")
    for nobody in ("assessor_1", "inspector_a", "dispatcher_a", "outsider"):
        assert selectors.scores(assess.people[nobody], Level.STREET, today, today) == []


# --- permissions and bad input ------------------------------------------------------------------------------


def test_only_the_plans_team_members_start_records(assess):
    for name, error in [
        ("assessor_x", PermissionDenied),  # an assessor, not in the team
        ("inspector_a", PermissionDenied),  # no assessor role
        ("office_b", PermissionDenied),
        ("outsider", PermissionDenied),
    ]:
        with pytest.raises(error):
            services.record_start(assess.people[name], assess.plan.pk, assess.grids[0].pk)
    assert not AssessmentRecord.objects.exists()


def test_a_grid_outside_the_plan_and_a_plan_not_running_are_refused(assess, city):
    person = assess.people["assessor_1"]
    from chengguan.grid.models import UnitGrid

    other = UnitGrid.objects.filter(street=city.street_b).first()
    with pytest.raises(Invalid) as exc:
        services.record_start(person, assess.plan.pk, other.pk)
    assert exc.value.code == "unknown_grid"
    with pytest.raises(Invalid):
        services.record_start(person, assess.plan.pk, "abc")
    later = make_plan(
        assess.people["office_a"],
        assess.team,
        assess.checklist,
        [city.street_a],
        first=assess.plan.last_day + dt.timedelta(days=5),
        last=assess.plan.last_day + dt.timedelta(days=9),
    )
    with pytest.raises(Conflict) as exc:
        services.record_start(person, later.pk, assess.grids[0].pk)
    assert exc.value.code == "plan_not_running"
    assert not AssessmentRecord.objects.exists()


def test_starting_twice_gives_the_same_open_record(assess):
    person = assess.people["assessor_1"]
    first, created = services.record_start(person, assess.plan.pk, assess.grids[0].pk)
    again, created_again = services.record_start(person, assess.plan.pk, assess.grids[0].pk)
    assert (created, created_again, again.pk) == (True, False, first.pk)
    services.record_submit(person, first.pk)
    third, created_third = services.record_start(person, assess.plan.pk, assess.grids[0].pk)
    assert created_third and third.pk != first.pk


def test_only_the_records_assessor_changes_it_and_not_after_submission(assess, city):
    record = assessed(assess, "assessor_1", assess.grids[0], ["A01"], submit=False)
    with pytest.raises(PermissionDenied):  # a team member, not the record's assessor
        services.finding_set(assess.people["assessor_2"], record.pk, assess.item("A02").pk)
    with pytest.raises(PermissionDenied):  # the rectification office reads, it does not assess
        services.finding_set(assess.people["office_a"], record.pk, assess.item("A02").pk)
    stranger = make_person("assessor_b", [Role.ASSESSOR], regions=[city.street_b])
    with pytest.raises(NotFound):  # outside the team and the jurisdiction: not found
        services.finding_set(stranger, record.pk, assess.item("A02").pk)
    services.record_submit(assess.people["assessor_1"], record.pk)
    with pytest.raises(Conflict):
        services.finding_set(assess.people["assessor_1"], record.pk, assess.item("A02").pk)
    with pytest.raises(Conflict):
        services.finding_remove(assess.people["assessor_1"], record.pk, assess.item("A01").pk)
    again, now = services.record_submit(assess.people["assessor_1"], record.pk)
    assert not now and again.score == Decimal(98)
    assert list(record.findings.values_list("item__code", flat=True)) == ["A01"]


def test_bad_input_writes_nothing(assess):
    person = assess.people["assessor_1"]
    record, _ = services.record_start(person, assess.plan.pk, assess.grids[0].pk)
    foreign = Checklist.objects.create(code="OTHER", name="别的", effective_from=dt.date(2000, 1, 1))
    stray = ChecklistItem.objects.create(
        checklist=foreign, code="Z1", category="cleanliness", name="Z", deduction=1
    )
    with pytest.raises(Invalid) as exc:
        services.finding_set(person, record.pk, stray.pk)
    assert exc.value.code == "unknown_item"
    with pytest.raises(Invalid) as exc:
        services.finding_set(person, record.pk, assess.item("A01").pk, note="长" * 501)
    assert exc.value.code == "note_too_long"
    with pytest.raises(Invalid) as exc:
        services.finding_set(person, record.pk, assess.item("A01").pk, lon=112.9)
    assert exc.value.code == "bad_location"
    with pytest.raises(PhotoError):
        services.finding_set(person, record.pk, assess.item("A01").pk, photos=[b"not a photo"])
    with pytest.raises(Invalid) as exc:
        services.finding_set(person, record.pk, assess.item("A01").pk, photos=[jpeg()] * 7)
    assert exc.value.code == "too_many_photos"
    assert not Finding.objects.exists() and not FindingPhoto.objects.exists()


def test_a_finding_keeps_its_photos_and_unticking_removes_it(assess):
    person = assess.people["assessor_1"]
    record, _ = services.record_start(person, assess.plan.pk, assess.grids[0].pk)
    finding, created = services.finding_set(
        person, record.pk, assess.item("A01").pk, note="路边", photos=[jpeg()]
    )
    again, created_again = services.finding_set(
        person, record.pk, assess.item("A01").pk, photos=[jpeg(colour=(1, 2, 3))]
    )
    assert (created, created_again, again.pk) == (True, False, finding.pk)
    again.refresh_from_db()
    assert again.note == "路边" and again.photos.count() == 2
    services.finding_remove(person, record.pk, assess.item("A01").pk)
    assert not Finding.objects.exists() and not FindingPhoto.objects.exists()


def test_plans_only_over_places_in_the_makers_jurisdiction(assess, city):
    with pytest.raises(Invalid) as exc:
        make_plan(assess.people["office_a"], assess.team, assess.checklist, [city.street_b])
    assert exc.value.code == "unknown_place"
    with pytest.raises(Invalid) as exc:
        make_plan(
            assess.people["office_a"],
            assess.team,
            assess.checklist,
            [city.street_a],
            first=dt.date(2026, 3, 2),
            last=dt.date(2026, 3, 1),
        )
    assert exc.value.code == "bad_days"
    with pytest.raises(PermissionDenied):
        make_plan(assess.people["assessor_1"], assess.team, assess.checklist, [city.street_a])
    assert visible(assess.people["office_b"], type(assess.plan)).count() == 0
    assert visible(assess.people["assessor_2"], type(assess.plan)).get() == assess.plan
    assert len(selectors.plan_grids(assess.plan)) == len(assess.grids)


# --- a finding becomes a case ------------------------------------------------------------------------------


def test_a_finding_becomes_one_case_linked_both_ways(assess):
    person = assess.people["assessor_1"]
    record, _ = services.record_start(person, assess.plan.pk, assess.grids[0].pk)
    finding, _ = services.finding_set(
        person, record.pk, assess.item("A01").pk, note="路口东侧", photos=[jpeg()]
    )
    case, created = services.finding_report(person, finding.pk)
    again, created_again = services.finding_report(person, finding.pk)
    by_teammate, created_by_teammate = services.finding_report(assess.people["assessor_2"], finding.pk)
    assert created and not created_again and not created_by_teammate
    assert again.pk == case.pk == by_teammate.pk and Case.objects.count() == 1
    case.refresh_from_db()
    finding.refresh_from_db()
    assert finding.case_id == case.pk and case.assessment_finding.pk == finding.pk
    assert case.source == CaseSource.ASSESSMENT and case.status == CaseStatus.REPORTED
    assert case.minor_class.name == "暴露垃圾" and case.grid_id == assess.grids[0].pk
    assert "暴露垃圾" in case.description and "路口东侧" in case.description
    assert case.photos.count() == 1 and case.reporter_id == person.pk
    with pytest.raises(Conflict):  # a finding that became a case stays ticked
        services.finding_remove(person, record.pk, assess.item("A01").pk)


def test_who_may_turn_a_finding_into_a_case(assess):
    record = assessed(assess, "assessor_1", assess.grids[0], ["A01"])
    finding = record.findings.get()
    for name, error in [
        ("office_a", PermissionDenied),
        ("assessor_x", PermissionDenied),
        ("inspector_a", PermissionDenied),
    ]:
        with pytest.raises(error):
            services.finding_report(assess.people[name], finding.pk)
    with pytest.raises(NotFound):
        services.finding_report(assess.people["assessor_1"], 999_999)
    assert not Case.objects.exists()


def test_an_item_without_a_case_class_asks_for_one(assess):
    item = assess.item("A01")
    ChecklistItem.objects.filter(pk=item.pk).update(case_code="")
    record = assessed(assess, "assessor_1", assess.grids[0], ["A01"])
    finding = record.findings.get()
    with pytest.raises(Invalid) as exc:
        services.finding_report(assess.people["assessor_1"], finding.pk)
    assert exc.value.code == "unknown_class" and not Case.objects.exists()
    from tests.cases.factories import minor

    case, created = services.finding_report(
        assess.people["assessor_1"], finding.pk, minor_class_id=minor("道路不洁").pk
    )
    assert created and case.minor_class.name == "道路不洁"


# --- the weight in composite scores -------------------------------------------------------------------------


def test_with_extras_blends_by_share():
    extra = scoring.ExtraComponent("assessment", Decimal("0.2"), {1: Decimal(90)})
    assert scoring.with_extras(Decimal(80), 1, [extra]) == Decimal("82.00")  # 0.8×80 + 0.2×90
    assert scoring.with_extras(Decimal(80), 2, [extra]) == Decimal(80)  # not assessed: unchanged
    assert scoring.with_extras(None, 1, [extra]) == Decimal("90.00")  # nothing else to score
    assert scoring.with_extras(None, 2, [extra]) is None


def at(*args):
    return dt.datetime(*args, tzinfo=CST)


def test_the_weight_in_force_on_the_periods_first_day_counts_in_the_region_score(assess, city):
    """No cases: the case composite of a region is 0 (立案数 below every band), so its score is
    exactly the weight × the assessment score: 20 % × 94 in March, 50 % × 94 in April."""
    evaluation_services.load_scoring()
    AssessmentWeight.objects.create(level=Level.STREET, effective_from=dt.date(2026, 4, 1), weight=50)
    person = assess.people["assessor_1"]
    for when in (at(2026, 3, 10, 9), at(2026, 4, 10, 9)):
        with time_machine.travel(when, tick=False):
            plan = make_plan(assess.people["office_a"], assess.team, assess.checklist, [city.street_a])
            record, _ = services.record_start(person, plan.pk, assess.grids[0].pk)
            for code in ("A01", "A04", "E02"):  # 2 + 2 + 2
                services.finding_set(person, record.pk, assess.item(code).pk)
            services.record_submit(person, record.pk)
    with time_machine.travel(at(2026, 5, 2, 9), tick=False):
        for period, expected, weight_from in [
            ("2026-03", Decimal("18.80"), "2000-01-01"),
            ("2026-04", Decimal("47.00"), "2026-04-01"),
        ]:
            rows = evaluation.compute(
                ObjectType.STREET, parse_period(period), evaluation.objects_of(ObjectType.STREET)
            )
            config = evaluation.score(rows, ObjectType.STREET, parse_period(period))
            scored = {r.object_id: r.score for r in rows}
            assert scored[city.street_a.pk] == expected
            assert scored[city.street_b.pk] == Decimal("0.00")  # not assessed: the case composite alone
            assert config["extras"]["assessment"]["effective_from"] == weight_from
        # A published month keeps its score and the weight it used.
        snapshot = evaluation_services.publish_period(parse_period("2026-03"))
        frozen = snapshot.scores.get(object_type=ObjectType.STREET, object_id=city.street_a.pk)
        assert (
            frozen.score == Decimal("18.80")
            and snapshot.config["street"]["extras"]["assessment"]["share"] == "0.20"
        )
