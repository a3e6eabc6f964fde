"""Publishing freezes a period; later edits do not move it; a recompute is audited and keeps the
previous version. Composite scores use the configuration in force on the period's first day."""

import datetime as dt
from decimal import Decimal

import pytest

from chengguan.cases import services as case_services
from chengguan.cases.models import Case
from chengguan.core.errors import Conflict, Invalid
from chengguan.core.models import AuditLog
from chengguan.evaluation import selectors, services
from chengguan.evaluation.models import ScoreScheme, ScoreWeight, Snapshot, SnapshotFigure
from chengguan.evaluation.periods import parse_period
from chengguan.org.choices import RegionLevel
from chengguan.org.models import Region
from tests.cases.factories import point_in

from .conftest import at

pytestmark = pytest.mark.django_db
MARCH = parse_period("2026-03")
STEPS = [
    ("deadline", "accept"),
    ("deadline", "register"),
    ("deadline", "dispatch"),
    ("deadline", "sign"),
    ("deadline", "handle"),
    ("deadline", "check", {"passed": True}),
    ("deadline", "close"),
]


@pytest.fixture
def march(city, people, drive):
    """Two cases closed in March in street A, one on time, one late at every stage; the
    reference scoring configuration."""
    services.load_scoring()
    on_time = drive.through(drive.report(at(2026, 3, 3, 9, 0)), STEPS)
    late = drive.through(
        drive.report(at(2026, 3, 3, 9, 0)),
        [("late" if w == "deadline" and a != "sign" else w, a, *r) for w, a, *r in STEPS],
    )
    drive.clock.move_to(at(2026, 4, 2, 9, 0))
    services.fold_events()  # the minute job: the live figures are up to date
    return on_time, late


def street_figures(snapshot_or_none, street_id):
    if snapshot_or_none is None:
        rows = selectors.compute("street", MARCH, [(street_id, "")])
    else:
        rows = selectors.snapshot_figures(snapshot_or_none, "street", [street_id])
    return {k: (f.numerator, f.denominator) for k, f in rows[0].figures.items()}


def test_a_published_month_does_not_move_and_a_recompute_is_audited_and_versioned(city, people, march):
    _on_time, late = march
    leader = people["leader"]
    v1 = services.publish_period(MARCH, actor=leader)
    assert (v1.version, v1.current, v1.published_by) == (1, True, leader)
    published = street_figures(v1, city.street_a.pk)
    assert published["registered"] == (2, None) and published["close_on_time_rate"] == (1, 2)

    # Later: the late case's place is corrected to street B, and it is reopened in April.
    case_services.case_reopen(people["shiftlead_a"], late.pk, version=late.version, reason="群众再次反映")
    community_b = Region.objects.filter(level=RegionLevel.COMMUNITY, parent=city.street_b).first()
    Case.objects.filter(pk=late.pk).update(
        street=city.street_b, community=community_b, grid=None, lon=point_in(city.street_b)[0]
    )
    for day in MARCH.days():
        services.settle_day(day)  # the nightly job run again over March
    assert street_figures(None, city.street_a.pk)["registered"] == (1, None)  # the live aggregates moved
    rows, snapshot = selectors.period_figures(leader, "street", MARCH)
    assert snapshot == v1
    assert {r.object_id: r.figures["registered"].numerator for r in rows}[
        city.street_a.pk
    ] == 2  # not the month
    with pytest.raises(PermissionError):
        SnapshotFigure.objects.filter(snapshot=v1).update(numerator=0)
    with pytest.raises(Conflict):
        services.publish_period(MARCH, actor=leader)

    with pytest.raises(Invalid):
        services.recompute_period(MARCH, actor=leader, reason=" ")
    v2 = services.recompute_period(MARCH, actor=leader, reason="案件地址更正")
    v1.refresh_from_db()
    assert (v1.current, v2.current, v2.version, v2.reason) == (False, True, 2, "案件地址更正")
    assert street_figures(v1, city.street_a.pk) == published  # the previous version is kept whole
    assert street_figures(v2, city.street_a.pk)["registered"] == (1, None)
    assert street_figures(v2, city.street_b.pk)["registered"] == (1, None)
    assert list(Snapshot.objects.filter(period="2026-03").values_list("version", flat=True)) == [2, 1]
    log = AuditLog.objects.filter(model="evaluation.Snapshot")
    recompute = log.get(object_id=str(v2.pk), changes__has_key="recompute")
    assert recompute.actor_id == leader.pk
    assert recompute.changes["recompute"]["reason"] == "案件地址更正"
    assert recompute.changes["recompute"]["from_version"] == 1
    assert recompute.changes["recompute"]["figures_changed"] > 0
    assert log.filter(object_id=str(v1.pk), action="update").exists()  # v1 marked superseded
    assert log.filter(object_id=str(v2.pk), action="create").exists()


def test_an_open_period_cannot_be_published(city, march):
    with pytest.raises(Conflict):
        services.publish_period(parse_period("2026-04"))
    with pytest.raises(Conflict):
        services.recompute_period(MARCH, actor=None, reason="x")  # nothing published yet


def test_composite_score_grade_and_the_configuration_in_force(city, people, march):
    rows = selectors.live_figures("department", MARCH)
    dept_a = next(r for r in rows if r.object_id == city.dept_a.pk)
    # 立案数 2 → below every band: 0 × 10; 结案率 100 % × 30; 按期处置率 50 % × 30; 返工率 0 → 100 × 30.
    assert dept_a.score == Decimal("75.00") and dept_a.grade == "B" and dept_a.rank == 1
    dept_b = next(r for r in rows if r.object_id == city.dept_b.pk)
    assert dept_b.figures["close_rate"].value is None
    assert dept_b.score == Decimal("0.00") and dept_b.grade == "E"  # only the count component: 0
    v1 = services.publish_period(MARCH, actor=people["leader"])

    # A scheme from 15 March does not apply to March (in force on the first day); one from
    # 1 March does, for a live reading and a recompute, never for the published version.
    for effective, weight in (
        (dt.date(2026, 3, 15), "rework_rate"),
        (dt.date(2026, 3, 1), "handle_on_time_rate"),
    ):
        scheme = ScoreScheme.objects.create(object_type="department", effective_from=effective, name=weight)
        ScoreWeight.objects.create(scheme=scheme, indicator=weight, weight=100, transform="rate")
        if effective.day == 15:
            again = selectors.live_figures("department", MARCH)
            assert next(r for r in again if r.object_id == city.dept_a.pk).score == Decimal("75.00")
    again = selectors.live_figures("department", MARCH)
    assert next(r for r in again if r.object_id == city.dept_a.pk).score == Decimal("50.00")
    published = selectors.snapshot_figures(v1, "department", [city.dept_a.pk])[0]
    assert published.score == Decimal("75.00") and published.grade == "B"
    v2 = services.recompute_period(MARCH, actor=people["leader"], reason="新评分方案")
    assert selectors.snapshot_figures(v2, "department", [city.dept_a.pk])[0].score == Decimal("50.00")
    assert v2.config["department"]["scheme_effective_from"] == "2026-03-01"
    assert v1.config["department"]["scheme_effective_from"] == "2000-01-01"
