"""The evaluation report a bureau sends upward (综合评价月报), as Excel and as PDF in Chinese.

`build_report(user, period)` reads everything once, through the permission chokepoint:

* one table per object type the person may see (districts, streets, communities, grids,
  departments, then the four roles): rank, name, composite score, grade and every indicator,
  exactly the rows of the rankings page (`selectors.ranking`: the published snapshot of a
  published period, the live aggregates otherwise — the report says which);
* an overview (概况) in the form of the monthly report of the reference (standards.md §5, the
  天门 example): 受理, 立案, 应结案, 结案 (rate), 按期结案 (rate), in total, by source and by
  事件/部件. The total's 立案 … 按期结案 are the top region rows' figures (the same numbers as
  the region table); 受理 and the splits are counted from the case rows with the very counting
  rules of the aggregates (`counters.tally_event_query`, `counters.gauge_rows`), so on live data
  the splits add up to the total. A published period reads them from the snapshot's per-case rows
  (`SnapshotCase`, written at publication with each case's source and kind as they were), so
  they never move; only a snapshot published before those rows existed recounts them from
  today's cases, and the report says so.

`report_xlsx(report)` writes the workbook (a sheet per object type, numbers as numbers, rates as
percentages with their numerator and denominator beside them); `report_pdf(report)` the PDF
(A4 landscape, reportlab's built-in CJK CID font STSong-Light — no system font — with a bar
chart of the region scores and the same tables). Both are written in Chinese whatever the
reader's language: the form goes upward.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from chengguan.cases.choices import CaseSource
from chengguan.cases.models import Case
from chengguan.catalog.choices import ClassKind
from chengguan.core import clock
from chengguan.core.permissions import visible

from . import counters, rebuild, selectors
from .choices import REGION_TYPES, CounterKind, ObjectType
from .indicators import INDICATORS, Indicator
from .models import SnapshotCase
from .periods import Period

REPORT_LANGUAGE = "zh-hans"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_CONTENT_TYPE = "application/pdf"
# The order of the sheets and sections: regions top-down, departments, then the roles.
TYPE_ORDER = (
    ObjectType.DISTRICT,
    ObjectType.STREET,
    ObjectType.COMMUNITY,
    ObjectType.GRID,
    ObjectType.DEPARTMENT,
    ObjectType.INSPECTOR,
    ObjectType.OPERATOR,
    ObjectType.SHIFT_LEADER,
    ObjectType.DISPATCHER,
)
CENT = Decimal("0.01")
DASH = "—"
FONT = "STSong-Light"


# --- formatting: one way to write a figure, for the page, the PDF and the checks -----------------------


def percent(value: Decimal | None) -> str:
    if value is None:
        return DASH
    return f"{(Decimal(value) * 100).quantize(CENT, rounding=ROUND_HALF_UP)}%"


def rate_of(numerator: int, denominator: int) -> Decimal | None:
    return selectors.Figure(numerator, denominator).value


def format_figure(fig: selectors.Figure | None) -> str:
    if fig is None:
        return DASH
    if fig.denominator is None:
        return str(fig.numerator)
    return percent(fig.value)


def format_score(score: Decimal | None) -> str:
    return DASH if score is None else str(Decimal(score).quantize(CENT, rounding=ROUND_HALF_UP))


def format_rank(rank: int | None) -> str:
    return DASH if rank is None else str(rank)


# --- the report's data ---------------------------------------------------------------------------------


@dataclass
class Section:
    object_type: str
    label: str
    indicators: tuple[Indicator, ...]
    rows: list[selectors.ObjectFigures]


@dataclass
class OverviewRow:
    label: str
    accepted: int | None
    registered: int
    due: int  # 应结案: closed + open and overdue after registration at period end
    closed: int
    closed_on_time: int

    @property
    def close_rate(self) -> Decimal | None:
        return rate_of(self.closed, self.due)

    @property
    def close_on_time_rate(self) -> Decimal | None:
        return rate_of(self.closed_on_time, self.due)


@dataclass
class Report:
    period: Period
    generated_at: dt.datetime
    sections: list[Section]
    snapshot: object | None  # the published Snapshot, or None for live figures
    total: OverviewRow | None = None
    by_source: list[OverviewRow] = field(default_factory=list)
    splits_recounted: bool = False  # a published period's splits counted from today's rows
    by_kind: list[OverviewRow] = field(default_factory=list)

    @property
    def published(self) -> bool:
        return self.snapshot is not None

    def section(self, object_type: str) -> Section | None:
        return next((s for s in self.sections if s.object_type == object_type), None)


def period_title(period: Period) -> str:
    first, last = period.first, period.last
    if period.kind == "month":
        return _("%(y)d年%(m)d月") % {"y": first.year, "m": first.month}
    if period.kind == "quarter":
        return _("%(y)d年第%(q)d季度") % {"y": first.year, "q": (first.month - 1) // 3 + 1}
    if period.kind == "year":
        return _("%(y)d年") % {"y": first.year}
    if period.kind == "day":
        return first.isoformat()
    return f"{first.isoformat()} – {last.isoformat()}"


def source_line(report: Report) -> str:
    if report.snapshot is None:
        return _("实时数据（未发布，数字可能变化）")
    s = report.snapshot
    line = _("已发布 第 %(v)d 版，发布于 %(at)s") % {
        "v": s.version,
        "at": timezone.localtime(s.published_at).strftime("%Y-%m-%d %H:%M"),
    }
    if report.splits_recounted:
        line += _("；受理数及按来源、类型的分项按当前案件数据统计")
    return line


def _top_region_rows(report_sections: list[Section]) -> list[selectors.ObjectFigures]:
    for object_type in (ObjectType.DISTRICT, ObjectType.STREET, ObjectType.COMMUNITY, ObjectType.GRID):
        section = next((s for s in report_sections if s.object_type == object_type), None)
        if section and section.rows:
            return section.rows
    return []


FACT_CHUNK = 5000  # case ids per query when reading the cases' source and kind


def _overview_counts(cases, period: Period, now: dt.datetime | None, *, every_case: bool = False):
    """Per case of `cases` (a queryset): the 受理, 立案, 结案, 按期结案 it counts in the period and
    whether it is open and overdue after registration at the period's end; and its (source, kind).
    `every_case` (a snapshot: all cases) counts set-based in SQL on PostgreSQL (rebuild.py), the
    overdue ones too when the period is over."""
    per_case: dict[int, Counter] = {}
    if every_case and rebuild.supported():
        for case_id, counter, n in rebuild.case_overview(period.first, period.last):
            per_case.setdefault(case_id, Counter())[counter] += n
    else:
        q = Q(at__gte=counters.midnight(period.first), at__lt=counters.day_end(period.last))
        if not every_case:
            q &= Q(case__in=cases.values("pk"))
        for _day, kind, _obj, counter, case_id in counters.tally_event_query(q):
            if (kind == CounterKind.PERSON and counter == "accepted") or (
                kind == CounterKind.DISTRICT and counter in ("registered", "closed", "closed_on_time")
            ):
                per_case.setdefault(case_id, Counter())[counter] += 1
    at = selectors.gauge_instant(period, now)
    if every_case and rebuild.supported() and at == counters.day_end(period.last):
        overdue = rebuild.overdue_cases(period.last)
    else:
        overdue = {
            case_id
            for kind, _obj, counter, case_id in counters.gauge_rows(at)
            if kind == CounterKind.DISTRICT and counter == "oo_case"
        }
    if overdue and not every_case:
        overdue = set(cases.filter(pk__in=overdue).values_list("pk", flat=True))
    for case_id in overdue:
        per_case.setdefault(case_id, Counter())["oo_case"] += 1
    facts: dict[int, tuple[str, str]] = {}
    ids = sorted(per_case)
    for i in range(0, len(ids), FACT_CHUNK):
        facts.update(
            (pk, (source, kind))
            for pk, source, kind in Case.objects.filter(pk__in=ids[i : i + FACT_CHUNK]).values_list(
                "pk", "source", "minor_class__major__kind"
            )
        )
    return per_case, facts


SNAPSHOT_CASE_FIELDS = (
    "case_id",
    "source",
    "kind",
    "accepted",
    "registered",
    "closed",
    "closed_on_time",
    "overdue_open",
)


def snapshot_case_rows(period: Period, now: dt.datetime) -> list[tuple]:
    """Every case's overview counts of the period, city-wide, as `SNAPSHOT_CASE_FIELDS` tuples:
    what a published period keeps so its report's splits never move (services.publish_period)."""
    per_case, facts = _overview_counts(Case.objects.all(), period, now, every_case=True)
    return [
        (
            case_id,
            *facts.get(case_id, ("", "")),
            counts["accepted"],
            counts["registered"],
            counts["closed"],
            counts["closed_on_time"],
            counts["oo_case"],
        )
        for case_id, counts in sorted(per_case.items())
    ]


def _published_counts(user, snapshot) -> tuple[dict[int, Counter], dict[int, tuple[str, str]]] | None:
    """The same as `_overview_counts`, read from the published snapshot (the person's cases only);
    None for a snapshot published before it kept per-case rows."""
    if not SnapshotCase.objects.filter(snapshot=snapshot).exists():
        return None
    rows = SnapshotCase.objects.filter(snapshot=snapshot, case_id__in=visible(user, Case).values("pk"))
    per_case, facts = {}, {}
    for row in rows.values_list(*SNAPSHOT_CASE_FIELDS):
        case_id, source, kind, accepted, registered, closed, on_time, overdue = row
        per_case[case_id] = Counter(
            accepted=accepted, registered=registered, closed=closed, closed_on_time=on_time, oo_case=overdue
        )
        facts[case_id] = (source, kind)
    return per_case, facts


def _row(label, counts: Counter) -> OverviewRow:
    return OverviewRow(
        label=label,
        accepted=counts["accepted"],
        registered=counts["registered"],
        due=counts["closed"] + counts["oo_case"],
        closed=counts["closed"],
        closed_on_time=counts["closed_on_time"],
    )


def _overview(report: Report, user, now) -> None:
    published = _published_counts(user, report.snapshot) if report.snapshot is not None else None
    report.splits_recounted = report.snapshot is not None and published is None
    if published is not None:
        per_case, facts = published
    else:
        per_case, facts = _overview_counts(visible(user, Case), report.period, now)
    sources: dict[str, Counter] = {}
    kinds: dict[str, Counter] = {}
    everything = Counter()
    for case_id, counts in per_case.items():
        source, kind = facts.get(case_id, ("", ""))
        sources.setdefault(source, Counter()).update(counts)
        kinds.setdefault(kind, Counter()).update(counts)
        everything.update(counts)
    report.by_source = [
        _row(str(label), sources[value]) for value, label in CaseSource.choices if value in sources
    ]
    report.by_kind = [_row(str(label), kinds.get(value, Counter())) for value, label in ClassKind.choices]
    # The total of the region figures (published or live), as the region table shows them.
    top = _top_region_rows(report.sections)
    if top:
        total = Counter()
        for row in top:
            total["registered"] += row.figures["registered"].numerator
            total["closed"] += row.figures["close_rate"].numerator
            total["closed_on_time"] += row.figures["close_on_time_rate"].numerator
            total["due"] += row.figures["close_rate"].denominator or 0
        report.total = OverviewRow(
            _("合计"),
            everything["accepted"],
            total["registered"],
            total["due"],
            total["closed"],
            total["closed_on_time"],
        )
    else:
        report.total = _row(_("合计"), everything)


def build_report(user, period: Period, *, now: dt.datetime | None = None) -> Report:
    """Everything the report shows, read once for the person (their jurisdiction only)."""
    now = now or clock.now()
    sections, snapshot = [], None
    for object_type in TYPE_ORDER:
        rows, snap = selectors.ranking(user, object_type, period, now=now)
        snapshot = snapshot or snap
        if rows:
            sections.append(
                Section(object_type, str(ObjectType(object_type).label), INDICATORS[object_type], rows)
            )
    report = Report(period=period, generated_at=now, sections=sections, snapshot=snapshot)
    _overview(report, user, now)
    return report


def report_filename(report: Report, ext: str) -> str:
    return f"evaluation-{report.period.key}.{ext}"


# --- Excel ----------------------------------------------------------------------------------------------


def _title(report: Report) -> str:
    return _("城市管理综合评价报告 %(period)s") % {"period": period_title(report.period)}


def _section_headers(section: Section) -> list[str]:
    headers = [_("排名"), _("名称"), _("综合得分"), _("等级")]
    for ind in section.indicators:
        headers.append(str(ind.label))
        if ind.is_rate:
            headers += [
                _("%(label)s·分子") % {"label": ind.label},
                _("%(label)s·分母") % {"label": ind.label},
            ]
    return headers


def overview_headers() -> list[str]:
    return [
        _("分类"),
        _("受理"),
        _("立案"),
        _("应结案"),
        _("结案"),
        _("结案率"),
        _("按期结案"),
        _("按期结案率"),
    ]


def overview_rows(report: Report) -> list[tuple[str, list[OverviewRow]]]:
    groups = [("", [report.total] if report.total else [])]
    if report.by_source:
        groups.append((_("按来源"), report.by_source))
    groups.append((_("按类型"), report.by_kind))
    return groups


def report_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    with translation.override(REPORT_LANGUAGE):
        wb = Workbook()
        bold = Font(bold=True)
        ws = wb.active
        ws.title = _("概况")
        ws.append([_title(report)])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append([_("期间"), report.period.key, report.period.first, report.period.last])
        ws.append([_("数据"), source_line(report)])
        ws.append([_("生成时间"), timezone.localtime(report.generated_at).strftime("%Y-%m-%d %H:%M")])
        ws.append([])
        ws.append(overview_headers())
        for cell in ws[ws.max_row]:
            cell.font = bold
        for group, rows in overview_rows(report):
            if group:
                ws.append([group])
                ws.cell(ws.max_row, 1).font = bold
            for r in rows:
                ws.append(
                    [
                        r.label,
                        r.accepted,
                        r.registered,
                        r.due,
                        r.closed,
                        r.close_rate,
                        r.closed_on_time,
                        r.close_on_time_rate,
                    ]
                )
                for col in (6, 8):
                    ws.cell(ws.max_row, col).number_format = "0.00%"
        if report.published:
            ws.append([])
            ws.append([_("按来源、按类型的分项按案件记录计算（发布版本不含分项）")])
        ws.column_dimensions["A"].width = 16
        for col in range(2, 9):
            ws.column_dimensions[get_column_letter(col)].width = 11

        for section in report.sections:
            sheet = wb.create_sheet(section.label.replace("/", "-"))
            sheet.append([f"{_title(report)} · {section.label}"])
            sheet["A1"].font = Font(bold=True, size=13)
            sheet.append([source_line(report)])
            sheet.append(_section_headers(section))
            for cell in sheet[3]:
                cell.font = bold
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            for row in section.rows:
                values = [row.rank, row.name, row.score, row.grade or None]
                formats = {}
                for ind in section.indicators:
                    fig = row.figures.get(ind.code)
                    if ind.is_rate:
                        formats[len(values) + 1] = "0.00%"
                        values += [
                            fig.value if fig else None,
                            fig.numerator if fig else None,
                            fig.denominator if fig else None,
                        ]
                    else:
                        values.append(fig.numerator if fig else None)
                sheet.append(values)
                for col, fmt in formats.items():
                    sheet.cell(sheet.max_row, col).number_format = fmt
                sheet.cell(sheet.max_row, 3).number_format = "0.00"
            sheet.freeze_panes = "C4"
            sheet.column_dimensions["B"].width = 22
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()


# --- PDF ------------------------------------------------------------------------------------------------


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _score_chart(section: Section, width: float, height: float):
    """A bar chart of the composite scores of a section's objects (at most 30, by rank)."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    rows = [r for r in section.rows if r.score is not None][:30]
    drawing = Drawing(width, height)
    drawing.add(
        String(
            0,
            height - 14,
            _("%(type)s综合得分") % {"type": section.label},
            fontName=FONT,
            fontSize=11,
        )
    )
    if not rows:
        return drawing
    chart = VerticalBarChart()
    chart.x, chart.y = 36, 48
    chart.width, chart.height = width - 50, height - 80
    chart.data = [[float(r.score) for r in rows]]
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labels.fontName = FONT
    chart.categoryAxis.categoryNames = [r.name[:8] for r in rows]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.angle = 30 if len(rows) > 8 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(rows) > 8 else "n"
    chart.bars[0].fillColor = colors.HexColor("#2f6fb0")
    chart.barLabels.fontName = FONT
    chart.barLabels.fontSize = 7
    chart.barLabelFormat = "%.2f"
    chart.barLabels.nudge = 6
    drawing.add(chart)
    return drawing


def report_pdf(report: Report) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import LongTable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, TableStyle

    _register_font()
    with translation.override(REPORT_LANGUAGE):
        title_style = ParagraphStyle("t", fontName=FONT, fontSize=16, leading=22, spaceAfter=6)
        h_style = ParagraphStyle("h", fontName=FONT, fontSize=12, leading=16, spaceBefore=8, spaceAfter=4)
        body = ParagraphStyle("b", fontName=FONT, fontSize=9, leading=13)
        cell = ParagraphStyle("c", fontName=FONT, fontSize=7.5, leading=9.5)
        grid_style = TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
            ]
        )
        out = io.BytesIO()
        pagesize = landscape(A4)
        doc = SimpleDocTemplate(
            out,
            pagesize=pagesize,
            leftMargin=12 * mm,
            rightMargin=12 * mm,
            topMargin=12 * mm,
            bottomMargin=12 * mm,
            title=_title(report),
            author=_("城管"),
        )
        story = [
            Paragraph(_title(report), title_style),
            Paragraph(
                f"{_('期间')}：{report.period.key}（{report.period.first} – {report.period.last}）", body
            ),
            Paragraph(f"{_('数据')}：{source_line(report)}", body),
            Paragraph(
                f"{_('生成时间')}：{timezone.localtime(report.generated_at).strftime('%Y-%m-%d %H:%M')}", body
            ),
            Paragraph(_("概况"), h_style),
        ]
        table = [overview_headers()]
        for group, rows in overview_rows(report):
            if group:
                table.append([group] + [""] * 7)
            for r in rows:
                table.append(
                    [
                        r.label,
                        str(r.accepted if r.accepted is not None else DASH),
                        str(r.registered),
                        str(r.due),
                        str(r.closed),
                        percent(r.close_rate),
                        str(r.closed_on_time),
                        percent(r.close_on_time_rate),
                    ]
                )
        overview = LongTable(table, repeatRows=1, hAlign="LEFT")
        overview.setStyle(grid_style)
        story.append(overview)
        if report.published:
            story.append(Paragraph(_("按来源、按类型的分项按案件记录计算（发布版本不含分项）"), body))
        chart_section = next(
            (
                s
                for s in report.sections
                if s.object_type in (ObjectType.STREET, ObjectType.COMMUNITY) and s.rows
            ),
            None,
        ) or next((s for s in report.sections if s.object_type in REGION_TYPES and s.rows), None)
        if chart_section is not None:
            story += [Spacer(1, 6 * mm), _score_chart(chart_section, pagesize[0] - 24 * mm, 70 * mm)]
        for section in report.sections:
            story += [PageBreak(), Paragraph(section.label, h_style)]
            headers = [_("排名"), _("名称"), _("综合得分"), _("等级")] + [
                Paragraph(str(i.label), cell) for i in section.indicators
            ]
            data = [headers]
            for row in section.rows:
                data.append(
                    [
                        format_rank(row.rank),
                        Paragraph(row.name, cell),
                        format_score(row.score),
                        row.grade or DASH,
                    ]
                    + [_pdf_figure(row.figures.get(i.code)) for i in section.indicators]
                )
            t = LongTable(data, repeatRows=1, hAlign="LEFT")
            t.setStyle(grid_style)
            story.append(t)
        doc.build(story)
        return out.getvalue()


def _pdf_figure(fig) -> str:
    if fig is None or fig.denominator is None:
        return format_figure(fig)
    return f"{format_figure(fig)} ({fig.numerator}/{fig.denominator})"
