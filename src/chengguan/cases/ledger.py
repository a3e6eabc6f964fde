"""The problem ledger (问题库/台账, mission M2(b)): every problem kept on a list until it is fixed
and verified, then written off (销号).

Three reads, all through the permission chokepoint (`visible(user, Case)`):

* `ledger_rows(user, scope=…, <filters>)`: the cases of the ledger, ordered by discovery time,
  with everything a row shows loaded in a fixed number of queries;
* `ledger_summary(rows)`: counts by street, community and lead department (the sheet's second tab);
* `ledger_records(rows)`: one plain dict per case (the JSON rows and the Excel rows are the same);
* `ledger_xlsx(user, **filters)`: the Excel workbook a bureau hands upward.

Scopes: "open" is the active queue (OPEN_STATUSES); "suspended" is 挂账 (approved suspensions,
waiting for their planned fix); "all" adds the closed cases, among them those written off
(`written_off_at` set). Rejected reports and duplicates are not problems and never appear.

Overdue (是否超期) is the state of the current stage now: an open case whose recorded `overdue`
flag is set or whose stage deadline has passed. Suspended and closed cases are not overdue (a
suspension stops the clock, as the standard says). The filter, the column and the summary use
the same definition and the same instant.

The workbook carries no personal data of reporters (names, phones are never loaded; mobile
numbers typed into free text are masked) and no formula: text that a spreadsheet would read as a
formula (=, +, -, @, tab, CR) is written as an explicit string with Excel's quote prefix.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from copy import copy
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from chengguan.catalog.models import MinorClass
from chengguan.core import calendar as work_calendar
from chengguan.core.errors import Invalid
from chengguan.core.permissions import visible
from chengguan.grid.models import UnitGrid
from chengguan.org.models import Department, Region

from .choices import OPEN_STATUSES, CaseSource, CaseStatus, RequestKind, RequestStatus, TaskRole, TaskStatus
from .models import Case, CaseRequest, CaseTask

__all__ = [
    "LEDGER_COLUMNS",
    "SCOPES",
    "WRITTEN_OFF",
    "XLSX_CONTENT_TYPE",
    "ledger_filename",
    "ledger_records",
    "ledger_rows",
    "ledger_summary",
    "ledger_xlsx",
    "mask_phones",
    "overdue_q",
]

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

SCOPES: dict[str, frozenset[str]] = {
    "open": frozenset(OPEN_STATUSES),
    "suspended": frozenset({CaseStatus.SUSPENDED}),
    "all": frozenset(OPEN_STATUSES | {CaseStatus.SUSPENDED, CaseStatus.CLOSED}),
}
SCOPE_LABELS = {"open": gettext_lazy("在办"), "suspended": gettext_lazy("挂账"), "all": gettext_lazy("全部")}

# Rows are read in chunks (streamed, memory bounded): up to CHUNK rows cost one query for the
# cases and one per prefetch; a larger export costs that again per CHUNK rows.
CHUNK = 2000

LOCAL_DATETIME = "yyyy-mm-dd hh:mm"
LOCAL_DATE = "yyyy-mm-dd"

# (header, width in characters, kind). Headers are UI text, translated when the sheet is written.
LEDGER_COLUMNS: list[tuple] = [
    (gettext_lazy("序号"), 6, "int"),
    (gettext_lazy("案件编号"), 15, "text"),
    (gettext_lazy("大类"), 12, "text"),
    (gettext_lazy("小类"), 14, "text"),
    (gettext_lazy("问题描述"), 40, "wrap"),
    (gettext_lazy("地址"), 28, "wrap"),
    (gettext_lazy("单元网格"), 17, "text"),
    (gettext_lazy("社区"), 12, "text"),
    (gettext_lazy("街道"), 12, "text"),
    (gettext_lazy("发现时间"), 17, "datetime"),
    (gettext_lazy("来源"), 12, "text"),
    (gettext_lazy("当前环节时限"), 17, "datetime"),
    (gettext_lazy("主办部门"), 14, "text"),
    (gettext_lazy("协办部门"), 18, "wrap"),
    (gettext_lazy("状态"), 10, "text"),
    (gettext_lazy("是否超期"), 9, "text"),
    (gettext_lazy("挂账原因"), 28, "wrap"),
    (gettext_lazy("计划整改日期"), 13, "date"),
    (gettext_lazy("销号时间"), 17, "datetime"),
    (gettext_lazy("已用工作时"), 11, "hours"),
]
_RECORD_KEYS = [
    None,  # 序号: the row's position
    "number",
    "major_class",
    "minor_class",
    "description",
    "address",
    "grid_code",
    "community",
    "street",
    "created_at",
    "source_label",
    "stage_deadline",
    "lead_department",
    "co_departments",
    "status_label",
    "overdue",
    "suspension_reason",
    "planned_fix_date",
    "written_off_at",
    "working_hours",
]


# --- rows ---------------------------------------------------------------------------------------


def overdue_q(now: dt.datetime) -> Q:
    """Open cases whose current stage is overdue at `now` (recorded flag, or deadline passed)."""
    return Q(status__in=OPEN_STATUSES) & (Q(overdue=True) | Q(stage_deadline__lt=now))


def _ledger_qs() -> QuerySet:
    return (
        Case.objects.select_related(
            "minor_class__major", "grid", "community", "street", "district", "lead_department"
        )
        # Boundaries are large and reporters' details are personal: neither is loaded.
        .defer(
            "reporter_name",
            "reporter_phone",
            "grid__geometry",
            "community__geometry",
            "street__geometry",
            "district__geometry",
        )
        .prefetch_related(
            Prefetch("tasks", queryset=_cohandlers_qs(), to_attr="ledger_cohandlers"),
            Prefetch("requests", queryset=_suspensions_qs(), to_attr="ledger_suspensions"),
        )
    )


def _cohandlers_qs() -> QuerySet:
    """The co-handling departments still on the case (released ones are not)."""
    return (
        CaseTask.objects.filter(current=True, role=TaskRole.CO)
        .exclude(status=TaskStatus.RELEASED)
        .select_related("department")
        .order_by("id")
    )


def _suspensions_qs() -> QuerySet:
    """Approved suspensions (挂账), latest first: the first one's reason is the ledger's."""
    return CaseRequest.objects.filter(kind=RequestKind.SUSPENSION, status=RequestStatus.APPROVED).order_by(
        "-decided_at", "-id"
    )


def _tz():
    """The bureau's local time (settings.TIME_ZONE, Asia/Shanghai), whatever zone a request activated."""
    return timezone.get_default_timezone()


def _aware(value: dt.datetime) -> dt.datetime:
    return timezone.make_aware(value, _tz()) if timezone.is_naive(value) else value


def _bound(value, name: str, *, end: bool) -> dt.datetime | None:
    """A date means the whole local day (found_to inclusive); a datetime is taken as it is."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value) if len(value) == 10 else dt.datetime.fromisoformat(value)
        except ValueError:
            raise Invalid(
                "bad_date", _("%(name)s 应为日期或时间（ISO 8601） · bad date") % {"name": name}
            ) from None
    if isinstance(value, dt.datetime):
        return _aware(value)
    if isinstance(value, dt.date):
        day = value + dt.timedelta(days=1) if end else value
        return timezone.make_aware(dt.datetime.combine(day, dt.time(0)), _tz())
    raise Invalid("bad_date", _("%(name)s 应为日期或时间（ISO 8601） · bad date") % {"name": name})


def _scope_statuses(scope: str) -> frozenset[str]:
    try:
        return SCOPES[scope]
    except (KeyError, TypeError):
        raise Invalid(
            "bad_scope",
            _("范围应为 %(allowed)s 之一 · scope must be one of %(allowed)s")
            % {"allowed": ", ".join(SCOPES)},
        ) from None


def ledger_rows(
    user,
    *,
    scope: str = "open",
    district_id=None,
    street_id=None,
    community_id=None,
    grid_id=None,
    department_id=None,
    minor_class_id=None,
    overdue: bool | None = None,
    found_from=None,
    found_to=None,
    written_off: bool | None = None,
    now: dt.datetime | None = None,
) -> QuerySet:
    """The ledger's cases this person may see, oldest first.

    department_id: cases in which the department has a current task (lead or co-handler);
    found_from/found_to: discovery time (created_at), dates inclusive (local days) or datetimes
    (from inclusive, to exclusive); overdue: see the module docstring (evaluated at `now`);
    written_off: True for cases written off (销号), False for the others.
    """
    statuses = _scope_statuses(scope)
    now = now or timezone.now()
    qs = visible(user, Case, queryset=_ledger_qs()).filter(status__in=statuses)
    for name, value in (
        ("district_id", district_id),
        ("street_id", street_id),
        ("community_id", community_id),
        ("grid_id", grid_id),
        ("minor_class_id", minor_class_id),
    ):
        if value not in (None, ""):
            qs = qs.filter(**{name: value})
    if department_id not in (None, ""):
        qs = qs.filter(
            pk__in=CaseTask.objects.filter(department_id=department_id, current=True).values("case")
        )
    if overdue is not None:
        qs = qs.filter(overdue_q(now)) if overdue else qs.exclude(overdue_q(now))
    start, end = _bound(found_from, "found_from", end=False), _bound(found_to, "found_to", end=True)
    if start is not None:
        qs = qs.filter(created_at__gte=start)
    if end is not None:
        qs = qs.filter(created_at__lt=end)
    if written_off is not None:
        qs = qs.filter(written_off_at__isnull=not written_off)
    return qs.order_by("created_at", "id")


# --- summary ------------------------------------------------------------------------------------


def _counts(now: dt.datetime) -> dict:
    return {
        "open": Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        "suspended": Count("pk", filter=Q(status=CaseStatus.SUSPENDED)),
        "overdue": Count("pk", filter=overdue_q(now)),
        "written_off": Count("pk", filter=Q(written_off_at__isnull=False)),
        "total": Count("pk"),
    }


def _sort_key(item: dict):
    return (item["code"] is None, item["code"] or "", item["id"] or 0)


def ledger_summary(rows: QuerySet, *, now: dt.datetime | None = None) -> list[dict]:
    """Counts of the ledger's rows by street, by community and by lead department (3 queries).

    Each item: level ("street", "community", "department"), id, code, name, street (the
    community's street, else ""), open, suspended, overdue, written_off, total. Cases without a
    community or not yet dispatched (no lead department) are counted under id None.
    """
    now = now or timezone.now()
    base = rows.prefetch_related(None).order_by()
    out: list[dict] = []
    groups = (
        ("street", "street_id", "street__code", "street__name", None),
        ("community", "community_id", "community__code", "community__name", "street__name"),
        ("department", "lead_department_id", "lead_department__code", "lead_department__name", None),
    )
    for level, key, code, name, parent in groups:
        fields = [key, code, name, *([parent] if parent else [])]
        items = []
        for row in base.values(*fields).annotate(**_counts(now)):
            items.append(
                {
                    "level": level,
                    "id": row[key],
                    "code": row[code],
                    "name": row[name] or "",
                    "street": (row[parent] or "") if parent else "",
                    **{k: row[k] for k in ("open", "suspended", "overdue", "written_off", "total")},
                }
            )
        out.extend(sorted(items, key=_sort_key))
    return out


# --- records ------------------------------------------------------------------------------------

_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


def mask_phones(text: str) -> str:
    """Mask mainland mobile numbers in free text (138****0000): exports carry no reporter phones."""
    return _MOBILE.sub(r"\1****\2", text or "")


class _WorkingClock:
    """Working time from many instants to one `now`, with one walk of the calendar for a whole
    sheet: whole days are summed once, backwards from today, and reused for every case."""

    def __init__(self, now: dt.datetime, calendar=None):
        self.calendar = calendar or work_calendar.get_calendar()
        self.now = now
        self.tz = self.calendar.tz
        self.today = now.astimezone(self.tz).date()
        self._first: dt.date | None = None  # earliest day whose suffix is known
        self._suffix: dict[dt.date, dt.timedelta] = {}  # working time of whole days [day, today)
        self._head: dt.timedelta | None = None

    def _midnight(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(0), tzinfo=self.tz)

    def _extend(self, day: dt.date) -> None:
        if self._first is None:
            self.calendar.prefetch(day, self.today)  # one query for every row of a sorted sheet
            self._first, self._suffix[self.today] = self.today, dt.timedelta(0)
        elif day < self._first:
            self.calendar.prefetch(day, self._first)
        while self._first > day:
            previous = self._first - dt.timedelta(days=1)
            whole = sum((hi - lo for lo, hi in self.calendar.work_intervals(previous)), dt.timedelta(0))
            self._suffix[previous] = self._suffix[self._first] + whole
            self._first = previous

    def elapsed(self, start: dt.datetime) -> dt.timedelta:
        if start >= self.now:
            return dt.timedelta(0)
        day = start.astimezone(self.tz).date()
        self._extend(min(day, self.today))
        if day >= self.today:
            return self.calendar.between(start, self.now)
        if self._head is None:
            self._head = self.calendar.between(self._midnight(self.today), self.now)
        next_day = day + dt.timedelta(days=1)
        tail = self.calendar.between(start, self._midnight(next_day))
        return tail + self._suffix[next_day] + self._head

    def hours(self, start: dt.datetime) -> Decimal:
        seconds = Decimal(self.elapsed(start) // dt.timedelta(microseconds=1)) / Decimal(3_600_000_000)
        return seconds.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


WRITTEN_OFF = "written_off"  # the ledger's status of a closed case written off (已销号)


def _labels() -> dict[str, dict[str, str]]:
    """Choice labels in the active language, translated once per export, not once per cell."""
    return {
        "source": {value: str(label) for value, label in CaseSource.choices},
        "status": {
            **{value: str(label) for value, label in CaseStatus.choices},
            WRITTEN_OFF: str(_("已销号")),
        },
    }


def _record(case: Case, now: dt.datetime, clock: _WorkingClock, labels: dict) -> dict:
    is_open = case.status in OPEN_STATUSES
    written_off = case.written_off_at is not None
    # Loaded by ledger_rows(); a case from elsewhere costs two queries, and is still right.
    suspensions = getattr(case, "ledger_suspensions", None)
    if suspensions is None:
        suspensions = list(_suspensions_qs().filter(case=case))
    cohandlers = getattr(case, "ledger_cohandlers", None)
    if cohandlers is None:
        cohandlers = list(_cohandlers_qs().filter(case=case))
    ledger_item = case.status == CaseStatus.SUSPENDED or written_off
    return {
        "id": case.pk,
        "number": case.number,
        "major_class": case.minor_class.major.name,
        "minor_class": case.minor_class.name,
        "description": mask_phones(case.description),
        "address": mask_phones(case.address),
        "grid_code": case.grid.code if case.grid_id else "",
        "community": case.community.name if case.community_id else "",
        "street": case.street.name,
        "district": case.district.name,
        "created_at": case.created_at,
        "source": case.source,
        "source_label": labels["source"].get(case.source, case.source),
        "stage_deadline": case.stage_deadline,
        "lead_department": case.lead_department.name if case.lead_department_id else "",
        "co_departments": [t.department.name for t in cohandlers],
        "status": case.status,
        "status_label": labels["status"][WRITTEN_OFF if written_off else case.status],
        "overdue": is_open
        and (case.overdue or (case.stage_deadline is not None and case.stage_deadline < now)),
        "suspension_reason": mask_phones(suspensions[0].reason) if ledger_item and suspensions else "",
        "planned_fix_date": case.planned_fix_date,
        "written_off_at": case.written_off_at,
        "working_hours": clock.hours(case.created_at) if is_open else None,
    }


def ledger_records(rows: Iterable[Case], *, now: dt.datetime | None = None) -> Iterator[dict]:
    """One dict per case (streamed): the data of a ledger row, for JSON and for the sheet.

    Keys: id, number, major_class, minor_class, description, address, grid_code, community,
    street, district, created_at, source, source_label, stage_deadline, lead_department,
    co_departments (list), status, status_label ("已销号" when written off), overdue (bool),
    suspension_reason, planned_fix_date, written_off_at, working_hours (Decimal, 1 place; open
    cases only, else None). Datetimes are aware (UTC); free text has mobile numbers masked.
    """
    now = now or timezone.now()
    clock, labels = _WorkingClock(now), _labels()
    source = rows.iterator(chunk_size=CHUNK) if isinstance(rows, QuerySet) else rows
    for case in source:
        yield _record(case, now, clock, labels)


# --- the workbook -------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_TOP = Alignment(vertical="top")
_STYLES = {
    "title": {
        "font": Font(bold=True, size=16),
        "alignment": Alignment(horizontal="center", vertical="center"),
    },
    "meta": {"alignment": Alignment(horizontal="left", vertical="center", wrap_text=True)},
    "header": {
        "font": Font(bold=True),
        "fill": PatternFill("solid", fgColor="DDEBF7"),
        "alignment": Alignment(horizontal="center", vertical="center", wrap_text=True),
        "border": _BORDER,
    },
    "total": {"font": Font(bold=True), "border": _BORDER},
    "text": {"alignment": _TOP, "border": _BORDER},
    "wrap": {"alignment": Alignment(horizontal="left", vertical="top", wrap_text=True), "border": _BORDER},
    "int": {"alignment": _TOP, "border": _BORDER},
    "datetime": {"alignment": _TOP, "border": _BORDER, "number_format": LOCAL_DATETIME},
    "date": {"alignment": _TOP, "border": _BORDER, "number_format": LOCAL_DATE},
    "hours": {"alignment": _TOP, "border": _BORDER, "number_format": "0.0"},
}


class _Cells:
    """Cells of one write-only sheet. Each style is registered with the workbook once and copied
    into every cell (openpyxl's idiom), which is several times faster than assigning fonts,
    borders and alignments cell by cell."""

    def __init__(self, ws):
        self.ws = ws
        self.styles = {}
        for name, spec in _STYLES.items():
            proto = WriteOnlyCell(ws)
            for attr, value in spec.items():
                setattr(proto, attr, value)
            self.styles[name] = proto._style

    def text(self, value, style: str = "text") -> WriteOnlyCell:
        """A text cell: illegal XML characters dropped, and never a formula."""
        text = ILLEGAL_CHARACTERS_RE.sub("", str(value)) if value is not None else None
        cell = WriteOnlyCell(self.ws)
        cell.value = text or None  # an empty cell, not an empty inline string
        cell._style = copy(self.styles[style])
        if text and text.startswith(_FORMULA_START):
            # An explicit string, marked as Excel marks text typed after an apostrophe.
            cell.data_type = "s"
            cell.quotePrefix = True
        return cell

    def value(self, value, style: str = "int") -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws, value=value)
        cell._style = copy(self.styles[style])
        return cell


def _local(value: dt.datetime | None) -> dt.datetime | None:
    """Naive local time to the second: Excel has no time zones."""
    if value is None:
        return None
    return timezone.localtime(value, _tz()).replace(tzinfo=None, microsecond=0)


def _yes_no(value: bool | None) -> str:
    return _("是") if value else _("否")


def _filter_text(user, scope: str, filters: dict) -> str:
    """The filters applied, in words (names looked up through the chokepoint, else the id)."""
    parts = [_("范围：%s") % SCOPE_LABELS[scope]]
    region_ids = [filters[k] for k in ("district_id", "street_id", "community_id") if filters.get(k)]
    regions = visible(user, Region).in_bulk(region_ids) if region_ids else {}
    lookups = (
        ("district_id", _("区/县"), lambda pk: regions.get(int(pk))),
        ("street_id", _("街道"), lambda pk: regions.get(int(pk))),
        ("community_id", _("社区"), lambda pk: regions.get(int(pk))),
        ("grid_id", _("单元网格"), lambda pk: visible(user, UnitGrid).filter(pk=pk).first()),
        ("department_id", _("部门"), lambda pk: visible(user, Department).filter(pk=pk).first()),
        ("minor_class_id", _("小类"), lambda pk: visible(user, MinorClass).filter(pk=pk).first()),
    )
    for key, label, find in lookups:
        pk = filters.get(key)
        if pk in (None, ""):
            continue
        try:
            obj = find(pk)
        except (TypeError, ValueError):
            obj = None
        name = obj.name if hasattr(obj, "name") else str(obj) if obj is not None else f"#{pk}"
        parts.append(_("%(label)s：%(value)s") % {"label": label, "value": name})
    for key, label in (("overdue", _("是否超期")), ("written_off", _("已销号"))):
        if filters.get(key) is not None:
            parts.append(_("%(label)s：%(value)s") % {"label": label, "value": _yes_no(filters[key])})
    found_from, found_to = filters.get("found_from"), filters.get("found_to")
    if found_from or found_to:
        parts.append(
            _("发现时间：%(from)s 至 %(to)s")
            % {"from": _date_words(found_from) or "…", "to": _date_words(found_to) or "…"}
        )
    return _("；").join(parts)


def _date_words(value) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, dt.datetime):
        return timezone.localtime(_aware(value), _tz()).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _title(user, rows: QuerySet, filters: dict) -> str:
    names = list(
        Region.objects.filter(pk__in=rows.prefetch_related(None).order_by().values("district_id"))
        .order_by("code")
        .values_list("name", flat=True)
    )
    if not names and filters.get("district_id"):
        names = list(visible(user, Region).filter(pk=filters["district_id"]).values_list("name", flat=True))
    if not names:
        return _("问题台账")
    if len(names) > 3:
        return _("城市管理问题台账")
    return _("%(district)s城市管理问题台账") % {"district": "、".join(names)}


def ledger_filename(now: dt.datetime | None = None) -> str:
    """问题台账-20260501-0930.xlsx (local time); non-ASCII, so send it as Django's FileResponse does."""
    stamp = timezone.localtime(now or timezone.now(), _tz()).strftime("%Y%m%d-%H%M")
    return f"{_('问题台账')}-{stamp}.xlsx"


def _write_ledger_sheet(ws, user, rows: QuerySet, filters: dict, scope: str, now: dt.datetime) -> None:
    last = get_column_letter(len(LEDGER_COLUMNS))
    for index, (_header, width, _kind) in enumerate(LEDGER_COLUMNS, 1):
        ws.column_dimensions[get_column_letter(index)].width = width
    for row in (1, 2, 3):
        ws.row_dimensions[row].height = 30
    # A write-only sheet writes its views and properties with the first row: set them before.
    ws.freeze_panes = "C4"  # the header rows and the case number stay in view
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    cells = _Cells(ws)
    meta = _("导出时间：%(at)s　共 %(n)d 件　筛选条件：%(filters)s") % {
        "at": timezone.localtime(now, _tz()).strftime("%Y-%m-%d %H:%M"),
        "n": rows.count(),
        "filters": _filter_text(user, scope, filters),
    }
    ws.append([cells.text(_title(user, rows, filters), "title")])
    ws.append([cells.text(meta, "meta")])
    ws.append([cells.text(str(header), "header") for header, _width, _kind in LEDGER_COLUMNS])
    ws.merged_cells.add(f"A1:{last}1")
    ws.merged_cells.add(f"A2:{last}2")
    ws.print_title_rows = "3:3"

    yes, no = _("是"), _("否")
    columns = list(zip(_RECORD_KEYS, (kind for _header, _width, kind in LEDGER_COLUMNS), strict=True))
    count = 0
    for count, record in enumerate(ledger_records(rows, now=now), 1):
        row = []
        for key, kind in columns:
            value = count if key is None else record[key]
            if kind == "int":
                row.append(cells.value(value))
            elif kind == "datetime":
                row.append(cells.value(_local(value), kind))
            elif kind == "date":
                row.append(cells.value(value, kind))
            elif kind == "hours":
                row.append(cells.value(None if value is None else float(value), kind))
            elif key == "overdue":
                row.append(cells.text(yes if value else no))
            elif key == "co_departments":
                row.append(cells.text("、".join(value), kind))
            else:
                row.append(cells.text(value, kind))
        ws.append(row)
    ws.auto_filter.ref = f"A3:{last}{3 + count}"


_SUMMARY_COLUMNS = [
    (gettext_lazy("类别"), 10),
    (gettext_lazy("名称"), 20),
    (gettext_lazy("所属街道"), 14),
    (gettext_lazy("在办"), 8),
    (gettext_lazy("挂账"), 8),
    (gettext_lazy("超期"), 8),
    (gettext_lazy("已销号"), 8),
    (gettext_lazy("合计"), 8),
]
_LEVEL_LABELS = {
    "street": gettext_lazy("街道"),
    "community": gettext_lazy("社区"),
    "department": gettext_lazy("主办部门"),
}
_COUNT_KEYS = ("open", "suspended", "overdue", "written_off", "total")


def _write_summary_sheet(ws, summary: list[dict], now: dt.datetime) -> None:
    last = get_column_letter(len(_SUMMARY_COLUMNS))
    for index, (_header, width) in enumerate(_SUMMARY_COLUMNS, 1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.row_dimensions[1].height = 30
    ws.freeze_panes = "A4"
    cells = _Cells(ws)
    ws.append([cells.text(_("问题台账汇总"), "title")])
    ws.append(
        [cells.text(_("导出时间：%s") % timezone.localtime(now, _tz()).strftime("%Y-%m-%d %H:%M"), "meta")]
    )
    ws.append([cells.text(str(header), "header") for header, _width in _SUMMARY_COLUMNS])
    ws.merged_cells.add(f"A1:{last}1")
    ws.merged_cells.add(f"A2:{last}2")
    unnamed = {
        "street": gettext_lazy("（无街道）"),
        "community": gettext_lazy("（无社区）"),
        "department": gettext_lazy("（未派遣）"),
    }
    for item in summary:
        name = item["name"] if item["id"] is not None else str(unnamed[item["level"]])
        ws.append(
            [
                cells.text(str(_LEVEL_LABELS[item["level"]])),
                cells.text(name),
                cells.text(item["street"]),
                *(cells.value(item[k]) for k in _COUNT_KEYS),
            ]
        )
    streets = [item for item in summary if item["level"] == "street"]
    ws.append(
        [
            cells.text(_("合计"), "total"),
            cells.text(None, "total"),
            cells.text(None, "total"),
            *(cells.value(sum(item[k] for item in streets), "total") for k in _COUNT_KEYS),
        ]
    )


def ledger_xlsx(user, **filters) -> bytes:
    """The ledger as an Excel workbook (streamed, write-only): sheet 1 the rows, sheet 2 "汇总".

    `filters` are ledger_rows()'s keywords (scope, district_id, …, written_off, now). Headers
    follow the active language; times are local (settings.TIME_ZONE), naive, yyyy-mm-dd hh:mm.
    """
    now = filters.pop("now", None) or timezone.now()
    scope = filters.pop("scope", "open")
    rows = ledger_rows(user, scope=scope, now=now, **filters)
    workbook = Workbook(write_only=True)
    _write_ledger_sheet(workbook.create_sheet(_("问题台账")), user, rows, filters, scope, now)
    _write_summary_sheet(workbook.create_sheet(_("汇总")), ledger_summary(rows, now=now), now)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
