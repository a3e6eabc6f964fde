from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Schema
from pydantic import Field

from chengguan.core.schemas import Int64, ObjectIn


class ItemOut(Schema):
    id: int
    code: str
    category: str
    name: str
    standard: str
    deduction: Decimal


class ChecklistOut(Schema):
    id: int
    code: str
    name: str
    effective_from: dt.date
    local_default: bool
    items: list[ItemOut]


class PlanIn(ObjectIn):
    name: str
    team_id: Int64
    checklist_id: Int64
    first_day: dt.date
    last_day: dt.date
    grid_ids: list[Int64] = []
    region_ids: list[Int64] = Field([], description="communities or streets: all their grids")
    note: str = ""


class PlanOut(Schema):
    id: int
    name: str
    team_id: int
    checklist_id: int
    first_day: dt.date
    last_day: dt.date
    grid_ids: list[int]
    region_ids: list[int]


class RecordStartIn(ObjectIn):
    plan_id: Int64
    grid_id: Int64


class FindingIn(ObjectIn):
    item_id: Int64
    note: str = ""
    lon: float | None = None
    lat: float | None = None


class SubmitIn(ObjectIn):
    note: str = ""


class FindingOut(Schema):
    id: int
    item_id: int
    item_code: str
    item_name: str
    deduction: Decimal
    note: str
    photos: int
    case_id: int | None
    case_number: str | None


class RecordOut(Schema):
    id: int
    plan_id: int
    grid_id: int
    grid_code: str
    assessor_id: int
    status: str
    day: dt.date
    deductions: Decimal | None
    score: Decimal | None
    findings: list[FindingOut]


class ReportIn(ObjectIn):
    minor_class_id: Int64 | None = Field(None, description="the case class; default: the item's")


class CaseLinkOut(Schema):
    finding_id: int
    case_id: int
    case_number: str
    created: bool


class ScoreOut(Schema):
    object_id: int
    name: str
    code: str
    score: Decimal | None
    records: int
    grids: int


class ScoresOut(Schema):
    level: str
    first_day: dt.date
    last_day: dt.date
    items: list[ScoreOut]
