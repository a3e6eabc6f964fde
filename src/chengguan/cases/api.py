"""Cases over HTTP: list, detail, create (idempotent), and one POST per transition."""

from __future__ import annotations

import datetime as dt
import io

from django.db import transaction
from django.http import FileResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from chengguan.core.errors import Invalid
from chengguan.core.schemas import Int64, errors

from . import ledger, selectors, services
from .choices import CaseAction
from .schemas import CaseCreatedOut, CaseDetailOut, CaseIn, CasePage, LedgerPage, TransitionIn

router = Router(tags=["cases"])
# 413: a photo or a body over the size limit
ERRORS = errors(400, 401, 403, 404, 409, 413, 422)


class CaseFilter(Schema):
    status: str | None = None
    minor_class_id: Int64 | None = None
    district_id: Int64 | None = None
    street_id: Int64 | None = None
    community_id: Int64 | None = None
    grid_id: Int64 | None = None
    department_id: Int64 | None = None
    source: str | None = None
    overdue: bool | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    bbox: str | None = None
    q: str | None = None
    limit: Int64 = 50
    offset: Int64 = 0


@router.get("/", response={200: CasePage, **ERRORS})
def list_cases(request, filters: Query[CaseFilter]):
    if not 1 <= filters.limit <= 500 or filters.offset < 0:
        raise Invalid("bad_page", _("limit 应在 1–500 之间，offset 不能为负 · bad limit/offset"))
    params = filters.dict(exclude={"limit", "offset"})
    qs = selectors.case_list(request.user, **params).order_by("-created_at", "-id")
    return {
        "count": qs.count(),
        "limit": filters.limit,
        "offset": filters.offset,
        "items": list(qs[filters.offset : filters.offset + filters.limit]),
    }


def _detail(user, case_id):
    case = selectors.access_case(user, case_id)
    case.actions = selectors.allowed_actions(user, case)
    return case


def _with_duplicates(case):
    case.possible_duplicates = [
        {
            "id": c.pk,
            "number": c.number,
            "status": c.status,
            "distance_m": round(d, 1),
            "created_at": c.created_at,
        }
        for c, d in selectors.duplicate_candidates(case.minor_class, case.lon, case.lat, exclude_id=case.pk)
    ]
    return case


def _report(request, payload: CaseIn, photos):
    from .photos import ingest_photo

    ingested = [ingest_photo(f, filename=f.name) for f in photos]
    data = services.CaseInput(**payload.dict(), photos=ingested)
    key = request.headers.get("Idempotency-Key")
    case, created = services.case_report(request.user, data, idempotency_key=key)
    return Status(201 if created else 200, _with_duplicates(case))


@router.post("/", response={200: CaseCreatedOut, 201: CaseCreatedOut, **ERRORS})
def create_case(request, payload: CaseIn):
    """Report a problem. Send an `Idempotency-Key` header to make retries safe."""
    return _report(request, payload, [])


@router.post("/with-photos", response={200: CaseCreatedOut, 201: CaseCreatedOut, **ERRORS})
def create_case_with_photos(request, payload: Form[CaseIn], photos: File[list[UploadedFile]] = None):
    """Report a problem with photos (multipart/form-data, field `photos`, repeatable)."""
    return _report(request, payload, photos or [])


class LedgerFilter(Schema):
    scope: str = "open"
    district_id: Int64 | None = None
    street_id: Int64 | None = None
    community_id: Int64 | None = None
    grid_id: Int64 | None = None
    department_id: Int64 | None = None
    minor_class_id: Int64 | None = None
    overdue: bool | None = None
    found_from: dt.date | dt.datetime | None = None
    found_to: dt.date | dt.datetime | None = None
    written_off: bool | None = None


@router.get("/ledger", response={200: LedgerPage, **ERRORS})
def ledger_list(request, filters: Query[LedgerFilter], limit: Int64 = 50, offset: Int64 = 0):
    """The problem ledger (台账): open cases, suspended ones (挂账) or all, with filters."""
    if not 1 <= limit <= 500 or offset < 0:
        raise Invalid("bad_page", _("limit 应在 1–500 之间，offset 不能为负 · bad limit/offset"))
    rows = ledger.ledger_rows(request.user, **filters.dict())
    return {
        "count": rows.count(),
        "limit": limit,
        "offset": offset,
        "items": list(ledger.ledger_records(rows[offset : offset + limit])),
    }


@router.get("/ledger.xlsx", response={200: None, **ERRORS})
def ledger_export(request, filters: Query[LedgerFilter]):
    """The ledger as the Excel workbook a bureau hands upward (a sheet of cases and a summary)."""
    data = ledger.ledger_xlsx(request.user, **filters.dict())
    return FileResponse(
        io.BytesIO(data),
        as_attachment=True,
        filename=ledger.ledger_filename(),
        content_type=ledger.XLSX_CONTENT_TYPE,
    )


@router.get("/{case_id}", response={200: CaseDetailOut, **ERRORS})
def get_case(request, case_id: Int64):
    return _detail(request.user, case_id)


def _version(request, body: TransitionIn):
    if body.version is not None:
        return body.version
    header = request.headers.get("If-Match", "").strip().strip('"').removeprefix("W/").strip('"')
    return header or None


def _run(request, case_id: Int64, action: str, body: TransitionIn, photos=()):
    user, version = request.user, _version(request, body)
    from .photos import ingest_photo

    ingested = [ingest_photo(f, filename=f.name) for f in photos]
    with transaction.atomic():
        match action:
            case CaseAction.ACCEPT:
                services.case_accept(user, case_id, version=version, note=body.note)
            case CaseAction.VERIFY:
                services.case_verify(user, case_id, version=version, note=body.note, photos=ingested)
            case CaseAction.REGISTER:
                services.case_register(user, case_id, version=version, note=body.note)
            case CaseAction.REJECT:
                services.case_reject(user, case_id, version=version, reason=body.reason or body.note)
            case CaseAction.VOID:
                services.case_void(user, case_id, version=version, reason=body.reason or body.note)
            case CaseAction.DUPLICATE:
                services.case_mark_duplicate(
                    user, case_id, version=version, original_id=body.original_id, note=body.note
                )
            case CaseAction.DISPATCH:
                services.case_dispatch(
                    user,
                    case_id,
                    version=version,
                    department_id=body.department_id,
                    cohandler_ids=body.cohandler_ids,
                    note=body.note,
                )
            case CaseAction.SIGN:
                services.case_sign(user, case_id, version=version, note=body.note)
            case CaseAction.RETURN:
                services.case_return(user, case_id, version=version, reason=body.reason or body.note)
            case CaseAction.HANDLE:
                services.case_handle(
                    user, case_id, version=version, result=body.result or body.note, photos=ingested
                )
            case CaseAction.CHECK_PASS | CaseAction.CHECK_FAIL:
                services.case_check(
                    user,
                    case_id,
                    version=version,
                    passed=action == CaseAction.CHECK_PASS,
                    note=body.note or body.reason,
                    photos=ingested,
                )
            case CaseAction.CLOSE:
                services.case_close(user, case_id, version=version, note=body.note)
            case CaseAction.REOPEN:
                services.case_reopen(user, case_id, version=version, reason=body.reason or body.note)
            case CaseAction.WRITE_OFF:
                services.case_write_off(user, case_id, version=version, note=body.note)
            case CaseAction.EXTEND_REQUEST:
                services.case_request_extension(
                    user,
                    case_id,
                    version=version,
                    amount=body.amount,
                    unit=body.unit,
                    reason=body.reason or body.note,
                )
            case CaseAction.EXTEND_APPROVE | CaseAction.EXTEND_DENY:
                services.case_decide_extension(
                    user,
                    case_id,
                    version=version,
                    approve=action == CaseAction.EXTEND_APPROVE,
                    note=body.note,
                )
            case CaseAction.SUSPEND_REQUEST:
                services.case_request_suspension(
                    user,
                    case_id,
                    version=version,
                    planned_fix_date=body.planned_fix_date,
                    reason=body.reason or body.note,
                )
            case CaseAction.SUSPEND_APPROVE | CaseAction.SUSPEND_DENY:
                services.case_decide_suspension(
                    user,
                    case_id,
                    version=version,
                    approve=action == CaseAction.SUSPEND_APPROVE,
                    note=body.note,
                )
            case CaseAction.COHANDLER_SIGN:
                services.cohandler_sign(user, case_id, version=version, note=body.note)
            case CaseAction.COHANDLER_FEEDBACK:
                services.cohandler_feedback(user, case_id, version=version, result=body.result or body.note)
            case CaseAction.COHANDLER_RELEASE:
                services.cohandler_release(
                    user, case_id, version=version, task_id=body.task_id, reason=body.reason or body.note
                )
            case _:
                raise Invalid("unknown_action", _("未知操作 %s · unknown action") % action)
    return _detail(user, case_id)


@router.post("/{case_id}/{action}", response={200: CaseDetailOut, **ERRORS})
def transition(request, case_id: Int64, action: str, body: TransitionIn):
    """Take one step of the workflow. `action` is one of the CaseAction values; send the case's
    `version` (or an `If-Match` header): a stale version gets 409."""
    return _run(request, case_id, action, body)


@router.post("/{case_id}/{action}/with-photos", response={200: CaseDetailOut, **ERRORS})
def transition_with_photos(
    request, case_id: Int64, action: str, body: Form[TransitionIn], photos: File[list[UploadedFile]] = None
):
    return _run(request, case_id, action, body, photos or [])
