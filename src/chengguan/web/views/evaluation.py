"""Evaluation pages (综合评价): rankings per object type and period with a bar chart, drill-down
district → street → community → grid → the cases behind each figure, trends over months, and
the report (Excel, PDF) of the period.

Reads go through `evaluation.selectors` (the published snapshot of a published period, the live
aggregates otherwise, only objects in the person's jurisdiction); the cases behind a figure
through `selectors.drilldown` (the counting rules of the aggregates, cases outside the
jurisdiction counted, not listed). Leaders and shift leaders read evaluation (`can(user, "view",
SnapshotScore)`); anyone else gets "not found". Charts are SVG drawn by the templates from the
coordinates computed here: no script, no network.
"""

from __future__ import annotations

import io

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from chengguan.core import clock
from chengguan.core.errors import ServiceError
from chengguan.core.permissions import can
from chengguan.evaluation import counters, reports, selectors
from chengguan.evaluation.choices import PERSON_TYPES, REGION_TYPES, ObjectType, PeriodKind
from chengguan.evaluation.indicators import INDICATORS, indicator
from chengguan.evaluation.models import SnapshotFigure, SnapshotScore
from chengguan.evaluation.periods import Period, month_of, parse_period

from ..nav import NavItem

DEFAULT_TYPE = ObjectType.STREET
CHART_BARS = 40
TREND_MONTHS = 12
SERIES_COLOURS = ("#1f5fa8", "#d9822b", "#2e8b57", "#b03a48", "#7b5ea7", "#4a8fa0", "#8c6d1f", "#555")
# What each counter of an indicator's terms counts (docs/evaluation.md §2).
COUNTER_LABELS = {
    "reported": gettext_lazy("上报数"),
    "report_registered": gettext_lazy("上报后立案数"),
    "registered": gettext_lazy("立案数"),
    "registered_by_others": gettext_lazy("其他渠道发现并立案数"),
    "registered_by_inspector": gettext_lazy("监督员上报立案数"),
    "accepted": gettext_lazy("受理数"),
    "dispatched": gettext_lazy("派遣数"),
    "dispatch_returned": gettext_lazy("派遣后被回退数"),
    "register_voided": gettext_lazy("立案后作废数"),
    "assigned": gettext_lazy("派遣给本部门的任务数"),
    "handled": gettext_lazy("处置数"),
    "handled_lead": gettext_lazy("主办处置数"),
    "handled_on_time": gettext_lazy("按期处置数"),
    "reworked": gettext_lazy("返工数"),
    "closed": gettext_lazy("结案数"),
    "closed_on_time": gettext_lazy("按期结案数"),
    "extended": gettext_lazy("延期数"),
    "suspended": gettext_lazy("挂账数"),
    "oo_case": gettext_lazy("期末超期未结案件"),
    "oo_task": gettext_lazy("期末超期未处置任务"),
}
STAGE_LABELS = {
    "accept": gettext_lazy("受理"),
    "verify": gettext_lazy("核实"),
    "register": gettext_lazy("立案"),
    "dispatch": gettext_lazy("派遣"),
    "check": gettext_lazy("核查"),
    "close": gettext_lazy("结案"),
}


def counter_label(counter: str) -> str:
    if counter in COUNTER_LABELS:
        return str(COUNTER_LABELS[counter])
    for stage, label in STAGE_LABELS.items():
        if counter == f"{stage}_on_time":
            return _("按时%(stage)s数") % {"stage": label}
        if counter == f"{stage}_ended":
            return _("应%(stage)s数（已办结）") % {"stage": label}
        if counter == f"oo_{stage}":
            return _("期末超期未%(stage)s数") % {"stage": label}
    return counter


def _allowed(user) -> bool:
    """Reading figures and scores (leaders and shift leaders): the system administrator may see
    that snapshots exist (for the admin), not the figures."""
    return can(user, "view", SnapshotScore) and can(user, "view", SnapshotFigure)


def _require(user) -> None:
    if not _allowed(user):
        raise Http404


def _check_type(object_type: str) -> str:
    if object_type not in ObjectType.values:
        raise Http404
    return object_type


# --- the period picker -------------------------------------------------------------------------------


def _requested_period(request) -> Period:
    """The period asked for: `period=<key>` (links), or the picker's kind and fields; this month
    when nothing is asked. Raises Invalid with a message a person can act on."""
    g = request.GET
    if g.get("period"):
        return parse_period(g["period"])
    kind = g.get("kind")
    if not kind:
        return month_of(counters.local_day(clock.now()))
    text = {
        PeriodKind.DAY: g.get("day", ""),
        PeriodKind.MONTH: g.get("month", ""),
        PeriodKind.QUARTER: f"{g.get('year', '')}-Q{g.get('quarter', '')}",
        PeriodKind.YEAR: g.get("year", ""),
        PeriodKind.CUSTOM: f"{g.get('first', '')}..{g.get('last', '')}",
    }.get(kind, "")
    return parse_period(text)


def _picker(period: Period | None, request) -> dict:
    """The picker's fields, filled from the period shown (or from what was typed)."""
    if period is None:
        g = request.GET
        return {k: g.get(k, "") for k in ("kind", "day", "month", "year", "quarter", "first", "last")}
    first = period.first
    return {
        "kind": period.kind,
        "day": first.isoformat(),
        "month": f"{first.year}-{first.month:02d}",
        "year": first.year,
        "quarter": (first.month - 1) // 3 + 1,
        "first": first.isoformat(),
        "last": period.last.isoformat(),
    }


def _query(period: Period, **extra) -> str:
    return urlencode({"period": period.key, **{k: v for k, v in extra.items() if v}})


# --- rows and charts ------------------------------------------------------------------------------------


def _rows(object_type: str, rows, period: Period) -> list[dict]:
    q = _query(period)
    out = []
    for r in rows:
        cells = []
        for ind in INDICATORS[object_type]:
            fig = r.figures.get(ind.code)
            cells.append(
                {
                    "code": ind.code,
                    "text": reports.format_figure(fig),
                    "num": fig.numerator if fig else "",
                    "den": "" if fig is None or fig.denominator is None else fig.denominator,
                    "url": reverse("web:evaluation_figure", args=[object_type, r.object_id, ind.code])
                    + "?"
                    + q,
                }
            )
        out.append(
            {
                "id": r.object_id,
                "name": r.name,
                "rank": reports.format_rank(r.rank),
                "score": reports.format_score(r.score),
                "score_value": r.score,
                "grade": r.grade or reports.DASH,
                "url": reverse("web:evaluation_object", args=[object_type, r.object_id]) + "?" + q,
                "cells": cells,
            }
        )
    return out


def _bar_chart(rows: list[dict]) -> dict | None:
    """Horizontal bars of the composite scores (0–100), the first CHART_BARS by rank."""
    scored = [r for r in rows if r["score_value"] is not None][:CHART_BARS]
    if not scored:
        return None
    label_w, bar_w, row_h = 150, 480, 22
    bars = [
        {
            "y": i * row_h,
            "text_y": i * row_h + 15,
            "w": round(float(r["score_value"]) / 100 * bar_w, 1),
            "value_x": label_w + round(float(r["score_value"]) / 100 * bar_w, 1) + 6,
            "name": r["name"],
            "score": r["score"],
            "url": r["url"],
        }
        for i, r in enumerate(scored)
    ]
    ticks = [{"x": label_w + t / 100 * bar_w, "label": t} for t in range(0, 101, 20)]
    height = len(bars) * row_h
    return {
        "bars": bars,
        "ticks": ticks,
        "label_w": label_w,
        "width": label_w + bar_w + 60,
        "height": height + 24,
        "axis_y": height + 4,
        "tick_y": height + 18,
    }


def _trend_chart(object_type: str, trend) -> dict | None:
    """Lines over the months: the composite score and every rate (×100), on a 0–100 axis."""
    if not trend:
        return None
    left, top, w, h = 40, 10, 640, 220
    n = len(trend)
    step = w / max(n - 1, 1)

    def x(i):
        return round(left + i * step, 1)

    def y(v):
        return round(top + h - float(v) / 100 * h, 1)

    series = [("score", _("综合得分"), [row.score for _p, row, _s in trend])]
    for ind in INDICATORS[object_type]:
        if ind.is_rate:
            values = []
            for _p, row, _s in trend:
                fig = row.figures.get(ind.code)
                values.append(None if fig is None or fig.value is None else fig.value * 100)
            series.append((ind.code, str(ind.label), values))
    lines = []
    for k, (code, label, values) in enumerate(series):
        points = [(x(i), y(v), v) for i, v in enumerate(values) if v is not None]
        lines.append(
            {
                "code": code,
                "label": label,
                "colour": SERIES_COLOURS[k % len(SERIES_COLOURS)],
                "points": " ".join(f"{px},{py}" for px, py, _v in points),
                "dots": [{"x": px, "y": py, "value": f"{float(v):.2f}"} for px, py, v in points],
                "legend_y": 14 + k * 16,
            }
        )
    months = [{"x": x(i), "label": p.key, "published": s is not None} for i, (p, _row, s) in enumerate(trend)]
    grid = [{"y": y(v), "label": v} for v in range(0, 101, 25)]
    return {
        "lines": lines,
        "months": months,
        "grid": grid,
        "left": left,
        "right": left + w,
        "axis_y": top + h,
        "label_y": top + h + 16,
        "width": left + w + 200,
        "height": top + h + 30,
        "legend_x": left + w + 24,
    }


def _base_context(request, period, object_type, snapshot, live):
    return {
        "period": period,
        "period_title": reports.period_title(period) if period else "",
        "object_type": object_type,
        "object_types": [
            {"value": v, "label": label, "url": reverse("web:evaluation") + "?" + _query(period, type=v)}
            for v, label in ObjectType.choices
        ]
        if period
        else [],
        "snapshot": snapshot,
        "live": live,
        "picker": _picker(period, request),
        "kinds": PeriodKind.choices,
        "quarters": [1, 2, 3, 4],
        "active_nav": "evaluation",
    }


# --- pages ---------------------------------------------------------------------------------------------


@login_required
@require_GET
def rankings(request):
    user = request.user
    _require(user)
    object_type = request.GET.get("type") or DEFAULT_TYPE
    live = request.GET.get("live") == "1"
    try:
        period = _requested_period(request)
        object_type = selectors.check_object_type(object_type)
    except ServiceError as exc:
        return _bad_request(request, exc, object_type)
    ranked, snapshot = selectors.ranking(user, object_type, period, live=live)
    rows = _rows(object_type, ranked, period)
    context = _base_context(request, period, object_type, snapshot, live)
    context.update(
        {
            "indicators": INDICATORS[object_type],
            "rows": rows,
            "chart": _bar_chart(rows),
            "type_label": ObjectType(object_type).label,
            "published_exists": snapshot is not None
            or (live and selectors.current_snapshot(period) is not None),
            "live_url": reverse("web:evaluation") + "?" + _query(period, type=object_type, live="1"),
            "published_url": reverse("web:evaluation") + "?" + _query(period, type=object_type),
            "xlsx_url": reverse("web:evaluation_report_xlsx") + "?" + _query(period),
            "pdf_url": reverse("web:evaluation_report_pdf") + "?" + _query(period),
        }
    )
    return render(request, "web/evaluation/rankings.html", context)


def _bad_request(request, exc: ServiceError, object_type: str = DEFAULT_TYPE):
    """The rankings page with the message (bad period or object type) and no figures: 400."""
    context = _base_context(request, None, object_type, None, False)
    context["error"] = exc.message
    return render(request, "web/evaluation/rankings.html", context, status=400)


@login_required
@require_GET
def object_page(request, object_type: str, pk: int):
    """One object: its figures (each linking to its cases), the regions below it ranked, and its
    trend over the months."""
    user = request.user
    _require(user)
    _check_type(object_type)
    try:
        period = _requested_period(request)
    except ServiceError as exc:
        return _bad_request(request, exc, object_type)
    try:
        obj = selectors.access_object(user, object_type, pk)
    except ServiceError:
        raise Http404 from None
    ranked, snapshot = selectors.ranking(user, object_type, period)
    mine = [r for r in ranked if r.object_id == pk]
    row = _rows(object_type, mine, period)[0] if mine else None
    children = None
    child_type = selectors.CHILD_TYPE.get(object_type)
    if child_type:
        ids = set(selectors.child_ids(user, object_type, pk))
        child_ranked, _snap = selectors.ranking(user, child_type, period)
        child_rows = _rows(child_type, [r for r in child_ranked if r.object_id in ids], period)
        children = {
            "type": child_type,
            "label": ObjectType(child_type).label,
            "indicators": INDICATORS[child_type],
            "rows": child_rows,
            "chart": _bar_chart(child_rows),
        }
    trend = selectors.object_trend(user, object_type, pk, period, months=TREND_MONTHS)
    trend_rows = [
        {
            "period": p,
            "url": reverse("web:evaluation_object", args=[object_type, pk]) + "?" + _query(p),
            "published": s is not None,
            "version": s.version if s is not None else None,
            "score": reports.format_score(r.score),
            "grade": r.grade or reports.DASH,
            "cells": [reports.format_figure(r.figures.get(i.code)) for i in INDICATORS[object_type]],
        }
        for p, r, s in trend
    ]
    parents = []
    if object_type in REGION_TYPES:
        parents = [
            {"name": name, "url": reverse("web:evaluation_object", args=[t, i]) + "?" + _query(period)}
            for t, i, name in selectors.region_parents(obj)
        ]
    context = _base_context(request, period, object_type, snapshot, False)
    context.update(
        {
            "obj_name": mine[0].name if mine else str(obj),
            "obj_id": pk,
            "type_label": ObjectType(object_type).label,
            "indicators": INDICATORS[object_type],
            "row_list": [row] if row else [],
            "children": children,
            "trend_rows": trend_rows,
            "trend_chart": _trend_chart(object_type, trend),
            "parents": parents,
            "is_person": object_type in PERSON_TYPES,
            "back_url": reverse("web:evaluation") + "?" + _query(period, type=object_type),
        }
    )
    return render(request, "web/evaluation/object.html", context)


@login_required
@require_GET
def figure_page(request, object_type: str, pk: int, code: str):
    """The cases behind one figure: each term of its numerator and denominator with its cases."""
    user = request.user
    _require(user)
    _check_type(object_type)
    try:
        period = _requested_period(request)
    except ServiceError as exc:
        return _bad_request(request, exc, object_type)
    ind = indicator(object_type, code)
    if ind is None:
        raise Http404
    try:
        obj = selectors.access_object(user, object_type, pk)
        found = selectors.drilldown(user, object_type, pk, period, code)
    except ServiceError:
        raise Http404 from None
    snapshot = selectors.current_snapshot(period)
    published = None
    if snapshot is not None:
        rows = selectors.snapshot_figures(snapshot, object_type, [pk])
        if rows and code in rows[0].figures:
            fig = rows[0].figures[code]
            published = {"text": reports.format_figure(fig), "num": fig.numerator, "den": fig.denominator}
    live_fig = selectors.Figure(found["numerator"], found["denominator"])
    terms = []
    for part, part_label in (("numerator", _("分子")), ("denominator", _("分母"))):
        for t in found["terms"][part]:
            terms.append(
                {
                    "part": part,
                    "part_label": part_label,
                    "label": counter_label(t["counter"]),
                    "counter": t["counter"],
                    "sign": t["sign"],
                    "area": t["scope"] == "area",
                    "gauge": t["gauge"],
                    "total": t["total"],
                    "cases": t["cases"],
                    "hidden": t["hidden"],
                }
            )
    context = _base_context(request, period, object_type, snapshot, False)
    context.update(
        {
            "ind": ind,
            "obj_name": str(obj) if object_type in PERSON_TYPES else getattr(obj, "name", None) or obj.code,
            "obj_url": reverse("web:evaluation_object", args=[object_type, pk]) + "?" + _query(period),
            "type_label": ObjectType(object_type).label,
            "numerator": found["numerator"],
            "denominator": found["denominator"],
            "value": reports.format_figure(live_fig),
            "published": published,
            "differs": published is not None
            and (published["num"], published["den"]) != (found["numerator"], found["denominator"]),
            "terms": terms,
        }
    )
    return render(request, "web/evaluation/figure.html", context)


def _download(request, ext: str, write, content_type: str):
    _require(request.user)
    try:
        period = _requested_period(request)
    except ServiceError as exc:
        return _bad_request(request, exc)
    report = reports.build_report(request.user, period)
    return FileResponse(
        io.BytesIO(write(report)),
        as_attachment=True,
        filename=reports.report_filename(report, ext),
        content_type=content_type,
    )


@login_required
@require_GET
def report_xlsx(request):
    return _download(request, "xlsx", reports.report_xlsx, reports.XLSX_CONTENT_TYPE)


@login_required
@require_GET
def report_pdf(request):
    return _download(request, "pdf", reports.report_pdf, reports.PDF_CONTENT_TYPE)


NAV = [
    NavItem(
        label=gettext_lazy("综合评价"),
        url_name="web:evaluation",
        allowed=_allowed,
        order=85,
        key="evaluation",
    )
]

urlpatterns = [
    path("evaluation/", rankings, name="evaluation"),
    path("evaluation/report.xlsx", report_xlsx, name="evaluation_report_xlsx"),
    path("evaluation/report.pdf", report_pdf, name="evaluation_report_pdf"),
    path("evaluation/<str:object_type>/<int:pk>/", object_page, name="evaluation_object"),
    path("evaluation/<str:object_type>/<int:pk>/<str:code>/", figure_page, name="evaluation_figure"),
]
