"""Reads of the grid assessment: a person's plans and records, the grids of a plan, and the
scores per grid, community, street and district for a period (and the component they add to the
evaluation's composite scores).

**Scores.** A record's score is 100 − its deductions (at least 0). For a period (a range of days,
by the day the record was made): a grid's score is the mean of its submitted records' scores; a
community's, street's or district's is the mean of the scores of its grids assessed in the period
(each grid counts once however often it was assessed). Means are rounded to 0.01 (half up) at the
end; a place with no record in the period has no score.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, QuerySet

from chengguan.catalog import selectors as catalog_selectors
from chengguan.catalog.models import MinorClass
from chengguan.core.permissions import can, visible
from chengguan.grid.models import UnitGrid
from chengguan.org.choices import RegionLevel
from chengguan.org.models import Region

from .choices import Level, RecordStatus
from .models import (
    AssessmentPlan,
    AssessmentRecord,
    AssessmentTeam,
    AssessmentWeight,
    Checklist,
    ChecklistItem,
    Finding,
)

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def plan_grids(plan: AssessmentPlan) -> QuerySet:
    """The grids of a plan: those listed and every grid of the communities and streets listed."""
    regions = plan.regions.values("pk")
    return UnitGrid.objects.filter(
        Q(pk__in=plan.grids.values("pk")) | Q(community__in=regions) | Q(street__in=regions)
    ).order_by("code")


def my_plans(user, today: dt.date) -> QuerySet:
    """The active plans of the person's teams that have not ended, the running ones first."""
    return (
        visible(user, AssessmentPlan)
        .filter(team__members=user, active=True, last_day__gte=today)
        .select_related("team", "checklist")
        .distinct()
        .order_by("first_day", "id")
    )


def office_plans(user, limit: int = 100) -> list[AssessmentPlan]:
    """The plans the person may see (the rectification office: its jurisdiction), newest first,
    each with `submitted` records so far."""
    return list(
        visible(user, AssessmentPlan)
        .select_related("team", "checklist", "created_by")
        .prefetch_related("regions")
        .annotate(submitted=Count("records", filter=Q(records__status=RecordStatus.SUBMITTED)))
        .order_by("-first_day", "-id")[:limit]
    )


def plan_choices(user) -> dict[str, list[tuple[int, str]]]:
    """What a new plan can name: active teams and checklists, and the streets and communities in
    the person's jurisdiction (a street's communities follow it)."""
    regions = (
        visible(user, Region)
        .filter(level__in=[RegionLevel.STREET, RegionLevel.COMMUNITY])
        .order_by("path")
        .values_list("pk", "name", "level")
    )
    return {
        "teams": list(AssessmentTeam.objects.filter(active=True).order_by("name").values_list("pk", "name")),
        "checklists": list(Checklist.objects.filter(active=True).order_by("name").values_list("pk", "name")),
        "regions": [
            (pk, name if level == RegionLevel.STREET else f"\u3000{name}") for pk, name, level in regions
        ],
    }


def grids_by_code(user, codes) -> dict[str, int]:
    """Code → id of the grids in the person's jurisdiction among `codes`."""
    return dict(visible(user, UnitGrid).filter(code__in=list(codes)).values_list("code", "pk"))


def my_records(user, limit: int = 50) -> list[AssessmentRecord]:
    return list(
        visible(user, AssessmentRecord)
        .filter(assessor=user)
        .select_related("grid", "plan")
        .order_by("-started_at", "-id")[:limit]
    )


def record_items(record: AssessmentRecord) -> list[tuple[ChecklistItem, Finding | None]]:
    """Every item of the record's checklist with its finding (None: not failed), in order."""
    findings = {f.item_id: f for f in record.findings.select_related("case").prefetch_related("photos")}
    items = ChecklistItem.objects.filter(checklist_id=record.plan.checklist_id).order_by("order", "code")
    return [(item, findings.get(item.pk)) for item in items]


def item_case_class(item: ChecklistItem) -> MinorClass | None:
    """The active catalogue's class a finding of this item is reported as (None: none configured)."""
    if not item.case_kind or len(item.case_code) != 4:
        return None
    catalog = catalog_selectors.active_catalog()
    if catalog is None:
        return None
    pk = (
        MinorClass.objects.filter(
            major__catalog=catalog,
            major__kind=item.case_kind,
            major__code=item.case_code[:2],
            code=item.case_code[2:],
            active=True,
        )
        .values_list("pk", flat=True)
        .first()
    )
    return catalog_selectors.active_minor_class(pk) if pk else None


# --- scores ------------------------------------------------------------------------------------------------


def _mean(values) -> Decimal:
    values = list(values)
    return sum(values, Decimal(0)) / len(values)


def score_map(level: str, first: dt.date, last: dt.date, ids=None) -> dict[int, tuple[Decimal, int, int]]:
    """object id → (score, records, grids assessed) for the period, at one level; no user (the
    evaluation's composite reads it for every object). `ids`: a list or an id query."""
    rows = AssessmentRecord.objects.filter(status=RecordStatus.SUBMITTED, day__gte=first, day__lte=last)
    if ids is not None:
        key = "grid_id" if level == Level.GRID else f"{level}_id"
        rows = rows.filter(**{f"{key}__in": ids})
    per_grid: dict[int, list[Decimal]] = defaultdict(list)
    place: dict[int, int] = {}
    key = "grid_id" if level == Level.GRID else f"{level}_id"
    for grid_id, owner, score in rows.values_list("grid_id", key, "score"):
        per_grid[grid_id].append(score)
        place[grid_id] = owner
    grid_means = {g: _mean(s) for g, s in per_grid.items()}
    grouped: dict[int, list[int]] = defaultdict(list)
    for grid_id, owner in place.items():
        grouped[owner].append(grid_id)
    return {
        owner: (
            _mean(grid_means[g] for g in grids).quantize(CENT, rounding=ROUND_HALF_UP),
            sum(len(per_grid[g]) for g in grids),
            len(grids),
        )
        for owner, grids in grouped.items()
    }


def may_view_scores(user) -> bool:
    return can(user, "view_score", AssessmentRecord)


@dataclass
class ScoreRow:
    object_id: int
    name: str
    code: str
    score: Decimal | None
    records: int
    grids: int


def scores(user, level: str, first: dt.date, last: dt.date) -> list[ScoreRow]:
    """The scores of the places of a level in the person's jurisdiction, best first (places with
    no record in the period last). Only for roles granted `assessment.view_score`."""
    if not may_view_scores(user) or level not in Level.values:
        return []
    if level == Level.GRID:
        places = list(
            visible(user, UnitGrid)
            .filter(pk__in=AssessmentRecord.objects.filter(day__gte=first, day__lte=last).values("grid_id"))
            .values_list("pk", "code", "code")
        )
    else:
        places = list(visible(user, Region).filter(level=level).values_list("pk", "name", "code"))
    found = score_map(level, first, last, [pk for pk, _n, _c in places])
    rows = [ScoreRow(pk, name, code, *(found.get(pk) or (None, 0, 0))) for pk, name, code in places]
    rows.sort(key=lambda r: (r.score is None, -(r.score or 0), r.code))
    return rows


def weight_for(level: str, day: dt.date) -> AssessmentWeight | None:
    return (
        AssessmentWeight.objects.filter(level=level, effective_from__lte=day)
        .order_by("-effective_from")
        .first()
    )


def composite_component(object_type: str, first_day: dt.date, last_day: dt.date, ids):
    """The evaluation's extension point (evaluation.scoring): the assessment score of each region
    as a component of its composite, with the weight in force on the period's first day."""
    from chengguan.evaluation.scoring import ExtraComponent

    if object_type not in Level.values:
        return None
    weight = weight_for(object_type, first_day)
    if weight is None or not weight.weight:
        return None
    found = score_map(object_type, first_day, last_day, ids)
    return ExtraComponent(
        code="assessment",
        share=weight.weight / HUNDRED,
        scores={pk: score for pk, (score, _records, _grids) in found.items()},
        config={"weight_id": weight.pk, "effective_from": weight.effective_from.isoformat()},
    )
