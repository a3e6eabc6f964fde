"""Evaluation over HTTP: the indicators of every object of a type for a period, rankings, the
cases behind a figure, and the published snapshots (publish; an audited recompute)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from ninja import Router, Status

from chengguan.core.permissions import can
from chengguan.core.schemas import Int64, errors

from . import selectors, services
from .indicators import INDICATORS
from .models import Snapshot, SnapshotFigure, SnapshotScore
from .periods import parse_period
from .schemas import DrilldownOut, FiguresOut, PublishIn, RecomputeIn, SnapshotOut

router = Router(tags=["evaluation"])
ERRORS = errors(400, 401, 403, 404, 409, 413, 422)


def _require(user, action: str) -> None:
    if not can(user, action, Snapshot):
        raise PermissionDenied(_("您的角色不能查看或管理综合评价 · your role cannot do this"))


def _require_figures(user) -> None:
    """Figures and scores: those granted them (leaders, shift leaders), as on the pages; the system
    administrator keeps the scoring configuration and the snapshot list, not the figures (三权分立)."""
    if not (can(user, "view", SnapshotFigure) and can(user, "view", SnapshotScore)):
        raise PermissionDenied(_("您的角色不能查看或管理综合评价 · your role cannot do this"))


def _figure_out(object_type, code, fig):
    ind = next(i for i in INDICATORS[object_type] if i.code == code)
    return {
        "indicator": code,
        "label": str(ind.label),
        "numerator": fig.numerator,
        "denominator": fig.denominator,
        "value": fig.value,
    }


def _snapshot_out(s: Snapshot | None):
    if s is None:
        return None
    return {
        "id": s.pk,
        "period": s.period,
        "first_day": s.first_day,
        "last_day": s.last_day,
        "version": s.version,
        "current": s.current,
        "published_at": s.published_at,
        "published_by": str(s.published_by) if s.published_by_id else None,
        "reason": s.reason,
        "config": s.config,
    }


def _figures_response(object_type, period, rows, snapshot):
    return {
        "period": period.key,
        "first_day": period.first,
        "last_day": period.last,
        "object_type": object_type,
        "source": "published" if snapshot else "live",
        "snapshot": _snapshot_out(snapshot),
        "items": [
            {
                "object_type": r.object_type,
                "object_id": r.object_id,
                "name": r.name,
                "score": r.score,
                "grade": r.grade,
                "rank": r.rank,
                "figures": [
                    _figure_out(object_type, i.code, r.figures[i.code])
                    for i in INDICATORS[object_type]
                    if i.code in r.figures
                ],
            }
            for r in rows
        ],
    }


@router.get("/indicators", response={200: FiguresOut, **ERRORS})
def indicators(request, object_type: str, period: str, live: bool = False):
    """Every object of the type in your jurisdiction: its indicators, composite score and grade.
    A published period answers with its current snapshot unless `live=true`."""
    _require_figures(request.user)
    p = parse_period(period)
    rows, snapshot = selectors.period_figures(
        request.user, selectors.check_object_type(object_type), p, live=live
    )
    return _figures_response(object_type, p, rows, snapshot)


@router.get("/rankings", response={200: FiguresOut, **ERRORS})
def rankings(request, object_type: str, period: str, live: bool = False):
    """The same figures ordered by rank (highest composite score first; unscored last)."""
    _require_figures(request.user)
    p = parse_period(period)
    rows, snapshot = selectors.ranking(request.user, selectors.check_object_type(object_type), p, live=live)
    return _figures_response(object_type, p, rows, snapshot)


@router.get("/drilldown", response={200: DrilldownOut, **ERRORS})
def drilldown(request, object_type: str, object_id: Int64, period: str, indicator: str):
    """The cases behind one figure: each term of its numerator and denominator with its cases."""
    _require_figures(request.user)
    p = parse_period(period)
    found = selectors.drilldown(request.user, object_type, object_id, p, indicator)
    published = None
    snapshot = selectors.current_snapshot(p)
    if snapshot is not None:
        rows = selectors.snapshot_figures(snapshot, object_type, [object_id])
        if rows and indicator in rows[0].figures:
            published = _figure_out(object_type, indicator, rows[0].figures[indicator])
    return {
        "period": p.key,
        "object_type": object_type,
        "object_id": object_id,
        "indicator": found["indicator"],
        "label": found["label"],
        "numerator": found["numerator"],
        "denominator": found["denominator"],
        "published": published,
        "terms": found["terms"],
    }


@router.get("/snapshots", response={200: list[SnapshotOut], **ERRORS})
def snapshots(request, period: str):
    """Every version published for a period, newest first."""
    _require(request.user, "view")
    p = parse_period(period)
    return [_snapshot_out(s) for s in Snapshot.objects.filter(period=p.key).order_by("-version")]


@router.post("/snapshots", response={201: SnapshotOut, **ERRORS})
def publish(request, payload: PublishIn):
    """Publish a finished period (version 1)."""
    _require(request.user, "publish")
    snapshot = services.publish_period(parse_period(payload.period), actor=request.user)
    return Status(201, _snapshot_out(snapshot))


@router.post("/snapshots/recompute", response={201: SnapshotOut, **ERRORS})
def recompute(request, payload: RecomputeIn):
    """Recompute a published period from the case rows: the next version, with the reason; the
    previous version is kept and the action is in the audit log."""
    _require(request.user, "recompute")
    snapshot = services.recompute_period(
        parse_period(payload.period), actor=request.user, reason=payload.reason
    )
    return Status(201, _snapshot_out(snapshot))
