"""Writes of the core registries beyond the admin's one record at a time: a year's holiday schedule
(the State Council's 放假安排: days off and 调休 make-up working days) loaded into the calendar
overrides (日历调整) from a file, for a year the `chinesecalendar` package does not know yet.

A schedule file is CSV (UTF-8, with or without the BOM Excel writes) with a header row::

    date,kind,note
    2027-01-01,holiday,元旦
    2027-02-07,workday,春节调休上班

or JSON, a list of ``{"date": "2027-01-01", "kind": "holiday", "note": "元旦"}``. `kind` is
``holiday`` (休息日, 休, 放假) or ``workday`` (工作日, 班, 上班); `note` is optional. The whole file is
checked first and every problem reported with its line; only a valid file is written, in one
transaction, each override audited like an edit in the admin.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .errors import InvalidFile
from .models import CalendarDayKind, CalendarOverride

KIND_WORDS = {
    "holiday": CalendarDayKind.HOLIDAY,
    "休息日": CalendarDayKind.HOLIDAY,
    "休": CalendarDayKind.HOLIDAY,
    "放假": CalendarDayKind.HOLIDAY,
    "workday": CalendarDayKind.WORKDAY,
    "工作日": CalendarDayKind.WORKDAY,
    "班": CalendarDayKind.WORKDAY,
    "上班": CalendarDayKind.WORKDAY,
}
NOTE_MAX = CalendarOverride._meta.get_field("note").max_length
MAX_DAYS = 1000  # a schedule is a few dozen days a year
MAX_BYTES = 256 * 1024
EXTRA = "__extra__"  # where csv puts the cells of a row longer than the header
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)  # fromisoformat alone also takes 20270101, 2027-W01-1


class ScheduleError(InvalidFile):
    """A schedule file that cannot be loaded; `messages` lists every problem (Chinese · English)."""


@dataclass(frozen=True)
class ScheduleDay:
    date: dt.date
    kind: str
    note: str = ""


@dataclass(frozen=True)
class ScheduleResult:
    created: int
    updated: int
    unchanged: int
    years: tuple[int, ...]


def _rows(data: bytes, name: str) -> list[tuple[str, dict]]:
    """(where, row) of every entry of the file, `where` naming its line (CSV) or item (JSON)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScheduleError([_("文件不是 UTF-8 编码 · the file is not UTF-8")]) from None
    if "\x00" in text:
        raise ScheduleError([_("文件含有空字符（NUL），不是文本文件 · the file holds NUL characters")])
    if name.lower().endswith(".json"):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScheduleError(
                [_("JSON 格式错误（第 %(line)d 行）· invalid JSON") % {"line": exc.lineno}]
            ) from None
        except (ValueError, RecursionError):  # a number of thousands of digits, nesting too deep
            raise ScheduleError([_("JSON 格式错误 · invalid JSON")]) from None
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ScheduleError([_("JSON 文件应为对象列表 · a JSON schedule is a list of objects")])
        return [(_("第 %d 项") % (i + 1), item) for i, item in enumerate(items)]
    # newline="": the csv module reads \r\n, \n and a lone \r (Excel's "CSV (Macintosh)") itself
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey=EXTRA, strict=True)
    rows = []
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        if "date" not in header or "kind" not in header:
            raise ScheduleError(
                [
                    _(
                        "CSV 文件第一行应为表头 date,kind,note · the first line must be the header date,kind,note"
                    )
                ]
            )
        reader.fieldnames = header
        for row in reader:
            if any(str(v or "").strip() for v in row.values()):
                rows.append((_("第 %d 行") % reader.line_num, row))
    except csv.Error as exc:  # a field over the csv module's limit, a stray quote…
        raise ScheduleError([_("CSV 格式错误：%s · invalid CSV") % exc]) from None
    return rows


def schedule_read(path: Path | str) -> list[ScheduleDay]:
    """The days of a schedule file, checked; ScheduleError lists every problem."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ScheduleError(
            [
                _("无法读取文件 %(path)s：%(error)s · cannot read the file")
                % {"path": path, "error": exc.strerror or exc}
            ]
        ) from None
    return schedule_parse(data, path.name)


def schedule_parse(data: bytes, name: str) -> list[ScheduleDay]:
    """The days of a schedule given as the file's bytes (JSON when `name` ends in .json, else CSV),
    checked; ScheduleError lists every problem."""
    if len(data) > MAX_BYTES:
        raise ScheduleError([_("文件过大：最多 %d KB · the file is too large") % (MAX_BYTES // 1024)])
    errors: list[str] = []
    days: list[ScheduleDay] = []
    seen: dict[dt.date, str] = {}
    rows = _rows(data, name)
    if not rows:
        raise ScheduleError([_("文件中没有任何日期 · the file lists no day")])
    if len(rows) > MAX_DAYS:
        raise ScheduleError([_("文件过大：最多 %d 天 · too many days") % MAX_DAYS])
    for where, row in rows:
        if row.get(EXTRA):
            errors.append(_("%(where)s：列数多于表头 · more columns than the header") % {"where": where})
            continue
        if any(not isinstance(row.get(k), str | None) for k in ("date", "kind", "note")):
            errors.append(
                _("%(where)s：date、kind、note 应为文字 · the values must be text") % {"where": where}
            )
            continue
        raw_date = (row.get("date") or "").strip()
        raw_kind = (row.get("kind") or "").strip()
        note = (row.get("note") or "").strip()
        try:
            if not ISO_DATE.fullmatch(raw_date):
                raise ValueError(raw_date)
            day = dt.date.fromisoformat(raw_date)
        except ValueError:
            errors.append(
                _("%(where)s：日期“%(value)s”应为 YYYY-MM-DD · bad date")
                % {"where": where, "value": raw_date}
            )
            continue
        kind = KIND_WORDS.get(raw_kind.lower())
        if kind is None:
            errors.append(
                _("%(where)s：类型“%(value)s”应为 holiday（休息日）或 workday（工作日）· bad kind")
                % {"where": where, "value": raw_kind}
            )
            continue
        if len(note) > NOTE_MAX:
            errors.append(_("%(where)s：说明超过 %(n)d 字 · note too long") % {"where": where, "n": NOTE_MAX})
            continue
        if day in seen:
            errors.append(
                _("%(where)s：%(date)s 已在%(first)s出现 · the date is listed twice")
                % {"where": where, "date": day.isoformat(), "first": seen[day]}
            )
            continue
        seen[day] = where
        days.append(ScheduleDay(day, kind, note))
    if errors:
        raise ScheduleError(errors)
    return sorted(days, key=lambda d: d.date)


def schedule_load(days: list[ScheduleDay]) -> ScheduleResult:
    """Write the days as calendar overrides, in one transaction: a new date is added, a date with
    another kind or note is updated, the same is left alone. Each change is audited (the caller
    names who and how with `context.acting`)."""
    try:
        return _load(days)
    except IntegrityError:  # another load added one of these dates in the meantime
        raise ScheduleError(
            [
                _(
                    "载入时日历调整被同时修改，未写入任何内容，请重试 · the overrides changed meanwhile; nothing written, try again"
                )
            ]
        ) from None


def _load(days: list[ScheduleDay]) -> ScheduleResult:
    created = updated = unchanged = 0
    with transaction.atomic():
        existing = {
            o.date: o
            for o in CalendarOverride.objects.select_for_update().filter(date__in=[d.date for d in days])
        }
        for day in days:
            override = existing.get(day.date)
            if override is None:
                CalendarOverride.objects.create(date=day.date, kind=day.kind, note=day.note)
                created += 1
            elif (override.kind, override.note) != (day.kind, day.note):
                override.kind, override.note = day.kind, day.note
                override.save(update_fields=["kind", "note", "updated_at"])
                updated += 1
            else:
                unchanged += 1
    return ScheduleResult(created, updated, unchanged, tuple(sorted({d.date.year for d in days})))
