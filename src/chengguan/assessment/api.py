"""Grid assessment over HTTP: checklists, plans, records (start, tick an item with photos,
submit), a finding turned into a case, and the scores per grid/community/street/district."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from chengguan.core.errors import Invalid
from chengguan.core.permissions import access, visible
from chengguan.core.schemas import Int64, errors
from chengguan.evaluation.periods import parse_period

from . import selectors, services
from .choices import Level
from .models import AssessmentPlan, AssessmentRecord, Checklist
from .schemas import (
    CaseLinkOut,
    ChecklistOut,
    FindingIn,
    PlanIn,
    PlanOut,
    RecordOut,
    RecordStartIn,
    ReportIn,
    ScoresOut,
    SubmitIn,
)

router = Router(tags=["assessment"])
ERRORS = errors(400, 401, 403, 404, 409, 413, 422)


def _plan_out(plan: AssessmentPlan) -> dict:
    return {
        "id": plan.pk,
        "name": plan.name,
        "team_id": plan.team_id,
        "checklist_id": plan.checklist_id,
        "first_day": plan.first_day,
        "last_day": plan.last_day,
        "grid_ids": sorted(plan.grids.values_list("pk", flat=True)),
        "region_ids": sorted(plan.regions.values_list("pk", flat=True)),
    }


def _record_out(record: AssessmentRecord) -> dict:
    findings = record.findings.select_related("item", "case").prefetch_related("photos")
    return {
        "id": record.pk,
        "plan_id": record.plan_id,
        "grid_id": record.grid_id,
        "grid_code": record.grid.code,
        "assessor_id": record.assessor_id,
        "status": record.status,
        "day": record.day,
        "deductions": record.deductions,
        "score": record.score,
        "findings": [
            {
                "id": f.pk,
                "item_id": f.item_id,
                "item_code": f.item.code,
                "item_name": f.item.name,
                "deduction": f.deduction,
                "note": f.note,
                "photos": len(f.photos.all()),
                "case_id": f.case_id,
                "case_number": f.case.number if f.case_id else None,
            }
            for f in findings
        ],
    }


@router.get("/checklists", response={200: list[ChecklistOut], **ERRORS})
def checklists(request):
    found = visible(request.user, Checklist).filter(active=True).prefetch_related("items")
    return [
        {
            "id": c.pk,
            "code": c.code,
            "name": c.name,
            "effective_from": c.effective_from,
            "local_default": c.local_default,
            "items": list(c.items.all()),
        }
        for c in found
    ]


@router.get("/plans", response={200: list[PlanOut], **ERRORS})
def plans(request):
    """Plans the person may see (their teams' plans; the rectification office's jurisdiction)."""
    return [
        _plan_out(p) for p in visible(request.user, AssessmentPlan).distinct().order_by("-first_day", "id")
    ]


@router.post("/plans", response={201: PlanOut, **ERRORS})
def plan_create(request, payload: PlanIn):
    plan = services.plan_create(request.user, **payload.dict())
    return Status(201, _plan_out(plan))


@router.post("/records", response={200: RecordOut, 201: RecordOut, **ERRORS})
def record_start(request, payload: RecordStartIn):
    """Start assessing a grid of a plan (the open record of that grid is given back: 200)."""
    record, created = services.record_start(request.user, payload.plan_id, payload.grid_id)
    return Status(201 if created else 200, _record_out(record))


@router.get("/records/{record_id}", response={200: RecordOut, **ERRORS})
def record_detail(request, record_id: Int64):
    return _record_out(access(request.user, AssessmentRecord, record_id))


@router.post("/records/{record_id}/findings", response={200: RecordOut, 201: RecordOut, **ERRORS})
def finding_set(request, record_id: Int64, payload: Form[FindingIn], photos: File[list[UploadedFile]] = None):
    """Tick an item as failed (multipart: `item_id`, `note`, optional `lon`/`lat`, `photos`
    repeatable); ticking it again updates the note and adds the photos."""
    _finding, created = services.finding_set(
        request.user,
        record_id,
        payload.item_id,
        note=payload.note,
        photos=photos or [],
        lon=payload.lon,
        lat=payload.lat,
    )
    return Status(201 if created else 200, _record_out(access(request.user, AssessmentRecord, record_id)))


@router.delete("/records/{record_id}/findings/{item_id}", response={200: RecordOut, **ERRORS})
def finding_remove(request, record_id: Int64, item_id: Int64):
    services.finding_remove(request.user, record_id, item_id)
    return _record_out(access(request.user, AssessmentRecord, record_id))


@router.post("/records/{record_id}/submit", response={200: RecordOut, **ERRORS})
def record_submit(request, record_id: Int64, payload: SubmitIn):
    record, _now = services.record_submit(request.user, record_id, note=payload.note)
    return _record_out(record)


@router.post("/findings/{finding_id}/case", response={200: CaseLinkOut, 201: CaseLinkOut, **ERRORS})
def finding_case(request, finding_id: Int64, payload: ReportIn):
    """Turn a finding into a case (one action; again: the same case, 200)."""
    case, created = services.finding_report(request.user, finding_id, minor_class_id=payload.minor_class_id)
    body = {"finding_id": finding_id, "case_id": case.pk, "case_number": case.number, "created": created}
    return Status(201 if created else 200, body)


@router.get("/scores", response={200: ScoresOut, **ERRORS})
def scores(request, level: str, period: str):
    """Scores per grid/community/street/district for a period (`2026-03`, `2026-Q1`, a day, a range)."""
    if not selectors.may_view_scores(request.user):
        raise PermissionDenied(_("您的角色不能查看考核得分 · your role cannot read the scores"))
    if level not in Level.values:
        raise Invalid("bad_level", _("未知层级 · unknown level"), detail={"allowed": list(Level.values)})
    span = parse_period(period)
    rows = selectors.scores(request.user, level, span.first, span.last)
    return {
        "level": level,
        "first_day": span.first,
        "last_day": span.last,
        "items": [r.__dict__ for r in rows],
    }
