from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Schema
from pydantic import Field

from chengguan.core.schemas import Int64, ObjectIn


class CaseIn(ObjectIn):
    source: str = Field(
        "inspector", description="inspector | public | hotline | video | leader | media | patrol"
    )
    minor_class_id: Int64
    description: str = Field(..., max_length=4000)
    lon: float
    lat: float
    crs: str = "wgs84"
    urgency: str = "normal"
    address: str = ""
    reporter_name: str = ""
    reporter_phone: str = ""


class PlaceOut(Schema):
    id: int
    code: str
    name: str | None = None


class TaskOut(Schema):
    id: int
    department_id: int
    department: str
    role: str
    status: str
    dispatched_at: dt.datetime
    deadline: dt.datetime
    signed_at: dt.datetime | None
    done_at: dt.datetime | None
    on_time: bool | None
    result: str
    current: bool

    @staticmethod
    def resolve_department(obj) -> str:
        return obj.department.name


class EventOut(Schema):
    id: int
    action: str
    actor_name: str
    department_id: int | None
    at: dt.datetime
    from_status: str
    to_status: str
    note: str
    data: dict


class StageOut(Schema):
    stage: str
    status: str
    started_at: dt.datetime
    deadline: dt.datetime
    ended_at: dt.datetime | None
    on_time: bool | None
    limit_amount: Decimal
    limit_unit: str


class RequestOut(Schema):
    id: int
    kind: str
    status: str
    department_id: int
    requested_at: dt.datetime
    reason: str
    amount: Decimal | None
    unit: str
    planned_fix_date: dt.date | None
    decided_at: dt.datetime | None
    decision_note: str


class PhotoOut(Schema):
    id: int
    kind: str
    image: str
    thumbnail: str
    width: int
    height: int
    uploaded_at: dt.datetime


class CaseOut(Schema):
    id: int
    number: str
    source: str
    minor_class_id: int
    minor_class: str
    urgency: str
    description: str
    address: str
    lon: float
    lat: float
    grid: PlaceOut | None
    community: PlaceOut | None
    street: PlaceOut
    district: PlaceOut
    status: str
    stage_deadline: dt.datetime | None
    overdue: bool
    lead_department_id: int | None
    duplicate_of_id: int | None
    rework_count: int
    planned_fix_date: dt.date | None
    created_at: dt.datetime
    registered_at: dt.datetime | None
    closed_at: dt.datetime | None
    version: int

    @staticmethod
    def resolve_minor_class(obj) -> str:
        return f"{obj.minor_class.full_code} {obj.minor_class.name}"

    # A case just reported carries its places as the locate index found them (`_places`): no
    # query to read back what was written a moment ago.
    @staticmethod
    def resolve_grid(obj):
        if hasattr(obj, "_places"):
            return obj._places["grid"]
        return {"id": obj.grid.pk, "code": obj.grid.code} if obj.grid_id else None

    @staticmethod
    def resolve_community(obj):
        return obj._places["community"] if hasattr(obj, "_places") else obj.community

    @staticmethod
    def resolve_street(obj):
        return obj._places["street"] if hasattr(obj, "_places") else obj.street

    @staticmethod
    def resolve_district(obj):
        return obj._places["district"] if hasattr(obj, "_places") else obj.district


class CaseDetailOut(CaseOut):
    events: list[EventOut]
    tasks: list[TaskOut]
    stages: list[StageOut]
    requests: list[RequestOut]
    photos: list[PhotoOut]
    actions: list[str]


class DuplicateOut(Schema):
    id: int
    number: str
    status: str
    distance_m: float
    created_at: dt.datetime


class CaseCreatedOut(CaseOut):
    possible_duplicates: list[DuplicateOut]


class CasePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[CaseOut]


class TransitionIn(ObjectIn):
    version: Int64 | None = Field(None, description="the case version read (or send If-Match)")
    note: str = ""
    reason: str = ""
    result: str = ""
    department_id: Int64 | None = None
    cohandler_ids: list[Int64] = []
    original_id: Int64 | None = None
    amount: Decimal | None = None
    unit: str = ""
    planned_fix_date: dt.date | None = None
    task_id: Int64 | None = None


class LedgerRowOut(Schema):
    id: int
    number: str
    major_class: str
    minor_class: str
    description: str
    address: str
    grid_code: str | None
    community: str | None
    street: str | None
    district: str | None
    created_at: dt.datetime
    source: str
    source_label: str
    stage_deadline: dt.datetime | None
    lead_department: str | None
    co_departments: list[str] | str
    status: str
    status_label: str
    overdue: bool
    suspension_reason: str | None
    planned_fix_date: dt.date | None
    written_off_at: dt.datetime | None
    working_hours: Decimal | None


class LedgerPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[LedgerRowOut]
