"""Periods: a day, a month, a quarter, a year or a custom range of local days, written as

2026-03-05     a day
2026-03        a month
2026-Q1        a quarter
2026           a year
2026-01-10..2026-04-09   a custom range (both days included)
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from chengguan.core.errors import Invalid

from .choices import PeriodKind, Span

MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    key: str
    kind: str
    first: dt.date
    last: dt.date  # included

    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def _month_end(year: int, month: int) -> dt.date:
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def parse_period(text: str) -> Period:
    text = (text or "").strip()
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})\.\.(\d{4})-(\d{2})-(\d{2})", text):
            first = dt.date(*map(int, m.groups()[:3]))
            last = dt.date(*map(int, m.groups()[3:]))
            if last < first:
                raise ValueError
            if (last - first).days + 1 > MAX_DAYS:
                raise Invalid(
                    "period_too_long",
                    _("自定义期间不能超过 %d 天 · a custom period is at most that many days") % MAX_DAYS,
                )
            return Period(f"{first.isoformat()}..{last.isoformat()}", PeriodKind.CUSTOM, first, last)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = dt.date.fromisoformat(text)
            return Period(text, PeriodKind.DAY, day, day)
        if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
            year, month = int(m[1]), int(m[2])
            return Period(text, PeriodKind.MONTH, dt.date(year, month, 1), _month_end(year, month))
        if m := re.fullmatch(r"(\d{4})-Q([1-4])", text, flags=re.IGNORECASE):
            year, q = int(m[1]), int(m[2])
            return Period(
                f"{year}-Q{q}", PeriodKind.QUARTER, dt.date(year, 3 * q - 2, 1), _month_end(year, 3 * q)
            )
        if re.fullmatch(r"\d{4}", text):
            year = int(text)
            return Period(text, PeriodKind.YEAR, dt.date(year, 1, 1), dt.date(year, 12, 31))
    except ValueError:
        pass
    raise Invalid(
        "bad_period",
        _("期间格式应为 2026-03-05、2026-03、2026-Q1、2026 或 2026-01-10..2026-04-09 · bad period"),
        detail={"period": text},
    )


def month_of(day: dt.date) -> Period:
    return parse_period(f"{day.year}-{day.month:02d}")


def quarter_of(day: dt.date) -> Period:
    return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


def year_of(day: dt.date) -> Period:
    return parse_period(str(day.year))


def blocks_of(day: dt.date) -> tuple[tuple[str, dt.date, dt.date], ...]:
    """The roll-up blocks (models.Rollup) a day is in, as (span, first day, last day): its dekad
    (旬: days 1–10, 11–20, 21 to the month's end) and its month."""
    month_end = _month_end(day.year, day.month)
    start = min((day.day - 1) // 10, 2) * 10 + 1
    dekad_last = month_end if start == 21 else day.replace(day=start + 9)
    return (
        (Span.DEKAD, day.replace(day=start), dekad_last),
        (Span.MONTH, day.replace(day=1), month_end),
    )
