from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Schema
from pydantic import Field

from chengguan.core.schemas import ObjectIn


class FigureOut(Schema):
    indicator: str
    label: str
    numerator: int
    denominator: int | None = Field(None, description="null for a count")
    value: Decimal | None = Field(
        None, description="numerator / denominator (0–1), or the count; null when nothing to count"
    )


class ObjectOut(Schema):
    object_type: str
    object_id: int
    name: str
    score: Decimal | None
    grade: str
    rank: int | None
    figures: list[FigureOut]


class SnapshotOut(Schema):
    id: int
    period: str
    first_day: dt.date
    last_day: dt.date
    version: int
    current: bool
    published_at: dt.datetime
    published_by: str | None = None
    reason: str
    config: dict


class FiguresOut(Schema):
    period: str
    first_day: dt.date
    last_day: dt.date
    object_type: str
    source: str = Field(description="published (a frozen snapshot) or live (from the day aggregates)")
    snapshot: SnapshotOut | None = None
    items: list[ObjectOut]


class CaseRef(Schema):
    id: int
    number: str
    n: int = Field(description="how many times the case counts in this term")


class TermOut(Schema):
    counter: str
    scope: str
    sign: int
    gauge: bool
    total: int
    cases: list[CaseRef]
    hidden: int = Field(description="counted cases outside your jurisdiction (not listed)")


class DrilldownOut(Schema):
    period: str
    object_type: str
    object_id: int
    indicator: str
    label: str
    numerator: int
    denominator: int | None
    published: FigureOut | None = None
    terms: dict[str, list[TermOut]]


class PublishIn(ObjectIn):
    period: str


class RecomputeIn(ObjectIn):
    period: str
    reason: str = Field(..., max_length=2000)
