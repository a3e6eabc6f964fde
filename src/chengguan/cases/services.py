"""Everything that changes a case. One function per transition of the workflow table.

Each transition: finds the case through the permission chokepoint (outside the person's
jurisdiction: not found), checks the role and the table (wrong state: 409), locks the row and
refuses a stale version (409), then in one transaction changes the case, ends the current
stage (freezing whether it was on time), starts the next one with its deadline from the
catalogue on the working-time calendar, writes a typed CaseEvent and queues notifications.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chengguan.catalog import selectors as catalog_selectors
from chengguan.catalog.choices import Stage, TimeUnit
from chengguan.core import calendar, clock, geo
from chengguan.core.errors import Conflict, Invalid
from chengguan.core.permissions import NotFound, acting_department_ids, can, covers_place, visible
from chengguan.grid import selectors as grid_selectors
from chengguan.org.choices import Role
from chengguan.org.models import Department

from . import notifications, routing
from .choices import (
    STATUS_STAGE,
    TRANSITIONS,
    CaseAction,
    CaseSource,
    CaseStatus,
    PhotoKind,
    RequestKind,
    RequestStatus,
    TaskRole,
    TaskStatus,
    Urgency,
)
from .models import (
    Case,
    CaseEvent,
    CaseNumberCounter,
    CasePhoto,
    CaseRequest,
    CaseStage,
    CaseTask,
    IdempotencyRecord,
)
from .photos import removed_unless_committed, store_photo

MAX_DESCRIPTION = 4000
# Sources whose reports an inspector must verify on site before registration.
NEEDS_VERIFICATION = frozenset({CaseSource.PUBLIC, CaseSource.HOTLINE, CaseSource.MEDIA, CaseSource.OPEN311})
STAFF_SOURCES = {
    CaseSource.INSPECTOR: {Role.INSPECTOR},
    CaseSource.PATROL: {Role.INSPECTOR, Role.OPERATOR, Role.SHIFT_LEADER},
    CaseSource.HOTLINE: {Role.OPERATOR, Role.SHIFT_LEADER},
    CaseSource.VIDEO: {Role.OPERATOR, Role.SHIFT_LEADER},
    CaseSource.LEADER: {Role.LEADER, Role.SHIFT_LEADER, Role.OPERATOR},
    CaseSource.MEDIA: {Role.OPERATOR, Role.SHIFT_LEADER, Role.LEADER},
    CaseSource.ASSESSMENT: {Role.ASSESSOR},
}


def now() -> dt.datetime:
    return clock.now()


# --- intake ---------------------------------------------------------------------------------------


@dataclass
class CaseInput:
    source: str
    minor_class_id: int
    description: str
    lon: float
    lat: float
    crs: str = geo.WGS84
    urgency: str = Urgency.NORMAL
    address: str = ""
    reporter_name: str = ""
    reporter_phone: str = ""
    photos: list = field(default_factory=list)  # IngestedPhoto objects (cases.photos)

    def fingerprint(self) -> str:
        body = {k: v for k, v in self.__dict__.items() if k != "photos"}
        body["photos"] = [getattr(p, "sha256", str(p)) for p in self.photos]
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _validate_intake(actor, data: CaseInput):
    if data.source not in CaseSource.values:
        raise Invalid("bad_source", _("未知来源 %s · unknown source") % data.source)
    if data.source in STAFF_SOURCES:
        if actor is None or not actor.has_role(*STAFF_SOURCES[data.source]):
            raise PermissionDenied(_("您的角色不能以该来源上报 · your role cannot report from this source"))
    elif actor is not None and not can(actor, "report", Case):
        # A public or Open311 report made by a person (the staff API): the role table's
        # `cases.report_case` (the public pages and Open311 report without a person).
        raise PermissionDenied(_("您的角色不能以该来源上报 · your role cannot report from this source"))
    if data.urgency not in Urgency.values:
        raise Invalid("bad_urgency", _("紧急程度应为 normal 或 urgent · urgency must be normal or urgent"))
    description = (data.description or "").strip()
    if not description:
        raise Invalid("description_required", _("请填写问题描述 · a description is required"))
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(
            "description_too_long",
            _("问题描述不能超过 %(n)d 字（现有 %(m)d 字）· description too long")
            % {"n": MAX_DESCRIPTION, "m": len(description)},
        )
    minor = catalog_selectors.active_minor_class(data.minor_class_id)
    if minor is None:
        raise Invalid("unknown_class", _("未知或已停用的问题类别 %s · unknown class") % data.minor_class_id)
    try:
        location = grid_selectors.locate(data.lon, data.lat, data.crs)
    except (geo.CRSError, TypeError, ValueError) as exc:
        raise Invalid("bad_location", str(exc)) from None
    if not location.inside:
        raise Invalid(
            "outside_city",
            _("该位置不在本市范围内 · the location is outside the city"),
            detail={"lon": data.lon, "lat": data.lat},
        )
    if minor.photo_required and not data.photos:
        raise Invalid(
            "photo_required", _("“%s”类问题上报须附照片 · this class requires a photo") % minor.name
        )
    if data.source == CaseSource.INSPECTOR:
        chain = [p["id"] for p in (location.community, location.street, location.district) if p]
        if not covers_place(actor, chain):
            raise Invalid("outside_jurisdiction", _("该位置不在您的责任区域内 · outside your area"))
    return minor, location, description


def _next_number(at: dt.datetime) -> tuple[int, str]:
    """The next number of the year, `yyyymm` + a six-digit sequence (gapless: a rolled-back
    intake gives its number back). One UPDATE … RETURNING: the year's counter row stays locked
    until commit, so every other intake of the year waits from here to the caller's COMMIT: the
    caller takes its number after everything else it writes (`_create_case`)."""
    local = timezone.localtime(at)
    qn = connection.ops.quote_name
    sql = (
        f"UPDATE {qn(CaseNumberCounter._meta.db_table)} SET {qn('last')} = {qn('last')} + 1 "
        f"WHERE {qn('year')} = %s RETURNING {qn('last')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [local.year])
        row = cursor.fetchone()
        if row is None:  # the year's first case: make its counter (a concurrent maker wins quietly)
            CaseNumberCounter.objects.get_or_create(year=local.year)
            cursor.execute(sql, [local.year])
            row = cursor.fetchone()
    return local.year, f"{local.year}{local.month:02d}{row[0]:06d}"


def case_report(actor, data: CaseInput, *, idempotency_key: str | None = None) -> tuple[Case, bool]:
    """Create a case (上报). Returns (case, created). With an idempotency key, the same key and
    the same body give back the same case; the same key with another body is refused."""
    if idempotency_key is not None:
        if actor is None:
            raise Invalid("idempotency_needs_user", _("幂等键需要登录用户 · Idempotency-Key needs a user"))
        key = idempotency_key.strip()
        if not key or len(key) > 128:
            raise Invalid("bad_idempotency_key", _("Idempotency-Key 应为 1–128 个字符"))
        fingerprint = data.fingerprint()
        existing = _idempotent_existing(actor, key, fingerprint)
        if existing is not None:  # a retry of a request that went through
            return existing, False
        try:
            with removed_unless_committed(), transaction.atomic():
                return _create_case(actor, data, idempotency=(key, fingerprint)), True
        except IntegrityError:
            existing = _idempotent_existing(actor, key, fingerprint)
            if existing is None:
                raise
            return existing, False
    with removed_unless_committed(), transaction.atomic():
        return _create_case(actor, data), True


def _idempotent_existing(actor, key: str, fingerprint: str) -> Case | None:
    # Usually there is none: the two columns that decide, and the case only for a retry.
    record = (
        IdempotencyRecord.objects.filter(person=actor, key=key).values_list("body_hash", "case_id").first()
    )
    if record is None:
        return None
    body_hash, case_id = record
    if body_hash != fingerprint:
        raise Invalid(
            "idempotency_mismatch",
            _("同一 Idempotency-Key 已用于内容不同的请求 · the key was used with a different body"),
        )
    return Case.objects.select_related("minor_class").get(pk=case_id)


def _create_case(actor, data: CaseInput, idempotency: tuple[str, str] | None = None) -> Case:
    """Write a reported case, its stage, event, notification and (with `idempotency`, a key and the
    body's fingerprint) its idempotency record, inside the caller's transaction."""
    minor, location, description = _validate_intake(actor, data)
    at = now()
    case = Case(
        year=timezone.localtime(at).year,
        number=None,  # taken last, see below
        source=data.source,
        minor_class=minor,
        urgency=data.urgency,
        description=description,
        address=(data.address or "").strip()[:255],
        lon=location.lon,
        lat=location.lat,
        original_crs=geo.normalise_crs(data.crs),
        original_lon=float(data.lon),
        original_lat=float(data.lat),
        grid_id=location.grid["id"] if location.grid else None,
        community_id=location.community["id"] if location.community else None,
        street_id=location.street["id"],
        district_id=location.district["id"],
        reporter=actor if actor is not None and actor.is_authenticated else None,
        reporter_name=(data.reporter_name or "").strip()[:50],
        reporter_phone=(data.reporter_phone or "").strip()[:20],
        status=CaseStatus.REPORTED,
        created_at=at,
    )
    stage, limit, deadline = _stage_deadline(case, CaseStatus.REPORTED, at)
    case.stage_deadline = deadline
    case.save()
    _record_stage(case, stage, CaseStatus.REPORTED, at, limit, deadline)
    event = _event(case, CaseAction.REPORT, actor, "", CaseStatus.REPORTED, at, data={"source": data.source})
    _attach_photos(case, event, data.photos, PhotoKind.BEFORE, actor, at)
    message = notifications.case_message(case, event)  # who is told; the title names the number
    if idempotency is not None:
        # A concurrent request with the same key waits on the unique index until this commits,
        # then rolls its own case back (and its photo files with it) and finds this one.
        key, fingerprint = idempotency
        IdempotencyRecord.objects.create(person=actor, key=key, body_hash=fingerprint, case=case)
    # The year's counter row stays locked from the number to the commit, and every other intake
    # of the year waits for it: the number comes last, and only what needs it follows it.
    case.year, case.number = _next_number(at)
    Case.objects.filter(pk=case.pk).update(number=case.number)
    if message is not None:
        message.queue()
    case._places = {k: getattr(location, k) for k in ("grid", "community", "street", "district")}
    return case


def _attach_photos(case, event, photos, kind, actor, at):
    """Store the photos and their rows. The caller runs inside `removed_unless_committed`."""
    if not photos:
        return
    for photo in photos:
        image, thumb = store_photo(photo)
        gps = photo.gps or (None, None)
        CasePhoto.objects.create(
            case=case,
            event=event,
            kind=kind,
            image=image,
            thumbnail=thumb,
            width=photo.width,
            height=photo.height,
            sha256=photo.sha256,
            taken_at=photo.taken_at,
            exif_lon=gps[0],
            exif_lat=gps[1],
            uploaded_by=actor if actor is not None and actor.is_authenticated else None,
            uploaded_at=at,
        )


# --- stages and events ------------------------------------------------------------------------------


def _limit(case: Case, stage: str):
    # The active catalogue's classes come with their limits loaded; a case of an older one asks.
    minor = catalog_selectors.active_minor_class(case.minor_class_id) or case.minor_class
    limit = minor.limit(stage, case.urgency)
    if limit is None:
        raise Conflict(
            "no_time_limit",
            _("类别“%(c)s”缺少“%(s)s”环节时限，请管理员补充 · missing time limit")
            % {"c": case.minor_class.name, "s": Stage(stage).label},
        )
    return limit


def _stage_deadline(case: Case, status: str, at: dt.datetime):
    """(stage, limit, deadline) of the timed stage a case enters with `status`."""
    stage = STATUS_STAGE[status]
    limit = _limit(case, stage)
    return stage, limit, calendar.add_working_time(at, limit.amount, limit.unit)


def _record_stage(case, stage, status, at, limit, deadline, department=None) -> CaseStage:
    return CaseStage.objects.create(
        case=case,
        stage=stage,
        status=status,
        department=department,
        started_at=at,
        deadline=deadline,
        limit_amount=limit.amount,
        limit_unit=limit.unit,
    )


def _enter_stage(case: Case, status: str, at: dt.datetime, department=None) -> CaseStage | None:
    case.overdue = False
    if status not in STATUS_STAGE:
        case.stage_deadline = None
        return None
    stage, limit, deadline = _stage_deadline(case, status, at)
    case.stage_deadline = deadline
    return _record_stage(case, stage, status, at, limit, deadline, department)


def _end_stage(case: Case, at: dt.datetime, action: str, *, counts: bool = True) -> None:
    """End the open stage; `counts=False` (suspension) leaves it out of on-time statistics."""
    for stage in CaseStage.objects.filter(case=case, ended_at__isnull=True):
        stage.ended_at = at
        stage.ended_by = action
        stage.on_time = (at <= stage.deadline) if counts else None
        stage.save(update_fields=["ended_at", "ended_by", "on_time"])


def _open_stage(case: Case) -> CaseStage | None:
    return CaseStage.objects.filter(case=case, ended_at__isnull=True).order_by("-started_at").first()


def _event(
    case, action, actor, from_status, to_status, at, *, note="", data=None, department=None
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=(str(actor) if actor is not None and actor.is_authenticated else ""),
        department=department,
        at=at,
        from_status=from_status,
        to_status=to_status,
        note=note,
        data=data or {},
    )


# --- the transition frame ---------------------------------------------------------------------------


class _Transition:
    """Find, check and lock the case; the caller changes it; `commit()` writes status, event, version."""

    def __init__(self, actor, case_id, action: str, version):
        self.actor = actor
        self.action = action
        self.rule = TRANSITIONS[action]
        self.at = now()
        # Visible? (404; the row is locked through the chokepoint) Then: does a role grant it? (403)
        qs = visible(actor, Case).select_for_update(of=("self",)).select_related("minor_class")
        try:
            self.case = qs.get(pk=case_id)
        except (Case.DoesNotExist, ValueError, TypeError):
            raise NotFound() from None
        if not can(actor, action, Case):
            raise PermissionDenied(
                _("您的角色不能执行“%s” · your role cannot do this") % CaseAction(action).label
            )
        try:
            expected = int(version)
        except (TypeError, ValueError):
            raise Invalid(
                "version_required", _("请提供案件版本号 version · the case version is required")
            ) from None
        if expected != self.case.version:
            raise Conflict(
                "stale_version",
                _(
                    "案件已被他人处理（当前版本 %(v)d，状态“%(s)s”），请刷新后再操作 · "
                    "the case changed, reload it"
                )
                % {"v": self.case.version, "s": self.case.get_status_display()},
                detail={"version": self.case.version, "status": self.case.status},
            )
        if self.case.status not in self.rule.sources:
            raise Conflict(
                "invalid_state",
                _("案件当前状态“%(s)s”不能执行“%(a)s” · not allowed in this state")
                % {"s": self.case.get_status_display(), "a": CaseAction(action).label},
                detail={"status": self.case.status},
            )
        self.from_status = self.case.status

    def department_task(self, role: str | None = None) -> CaseTask:
        """The current task of the actor's department (lead by default)."""
        departments = acting_department_ids(self.actor)
        tasks = CaseTask.objects.select_for_update().filter(
            case=self.case, current=True, department_id__in=departments
        )
        if role:
            tasks = tasks.filter(role=role)
        task = tasks.order_by("id").first()
        if task is None:
            what = _("主办") if role == TaskRole.LEAD else _("协办") if role == TaskRole.CO else ""
            raise PermissionDenied(
                _("您的部门不是本案的%s部门 · your department has no such task on this case") % what
            )
        return task

    def commit(self, to_status: str | None, *, note="", data=None, department=None) -> Case:
        target = to_status or self.case.status
        self.case.status = target
        self.case.version += 1
        self.case.save()
        event = _event(
            self.case,
            self.action,
            self.actor,
            self.from_status,
            target,
            self.at,
            note=note,
            data=data,
            department=department,
        )
        self.event = event
        notifications.case_event(self.case, event)
        return self.case


def _require(text: str, code: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise Invalid(code, message)
    if len(text) > MAX_DESCRIPTION:
        raise Invalid("note_too_long", _("说明不能超过 %d 字 · text too long") % MAX_DESCRIPTION)
    return text


def _move(t: _Transition, to_status: str, *, department=None) -> None:
    """End the current stage and start the one of `to_status`."""
    _end_stage(t.case, t.at, t.action)
    _enter_stage(t.case, to_status, t.at, department=department)


# --- intake decisions -------------------------------------------------------------------------------


@transaction.atomic
def case_accept(actor, case_id, *, version, note="") -> Case:
    """受理: the operator takes the report in; public reports go to an inspector to verify."""
    t = _Transition(actor, case_id, CaseAction.ACCEPT, version)
    target = CaseStatus.VERIFYING if t.case.source in NEEDS_VERIFICATION else CaseStatus.TO_REGISTER
    _move(t, target)
    return t.commit(target, note=note)


@removed_unless_committed()  # photo files go if the transaction rolls back
@transaction.atomic
def case_verify(actor, case_id, *, version, note="", photos=()) -> Case:
    """核实: the inspector confirms the problem on site."""
    t = _Transition(actor, case_id, CaseAction.VERIFY, version)
    _move(t, CaseStatus.TO_REGISTER)
    case = t.commit(CaseStatus.TO_REGISTER, note=note)
    _attach_photos(case, t.event, photos, PhotoKind.CHECK, actor, t.at)
    return case


@transaction.atomic
def case_register(actor, case_id, *, version, note="") -> Case:
    """立案: the shift leader accepts the case for handling."""
    t = _Transition(actor, case_id, CaseAction.REGISTER, version)
    t.case.registered_at = t.at
    _move(t, CaseStatus.TO_DISPATCH)
    return t.commit(CaseStatus.TO_DISPATCH, note=note)


@transaction.atomic
def case_reject(actor, case_id, *, version, reason) -> Case:
    """不予立案 (with the reason)."""
    t = _Transition(actor, case_id, CaseAction.REJECT, version)
    reason = _require(reason, "reason_required", _("请填写不予立案的理由 · a reason is required"))
    _move(t, CaseStatus.REJECTED)
    t.case.closed_at = t.at
    return t.commit(CaseStatus.REJECTED, note=reason)


@transaction.atomic
def case_void(actor, case_id, *, version, reason) -> Case:
    """作废 (with the reason): a registered case that should not have been registered. Its
    dispatch stage ends without an on-time record; 准确立案率 counts it against the registrant."""
    t = _Transition(actor, case_id, CaseAction.VOID, version)
    reason = _require(reason, "reason_required", _("请填写作废的理由 · a reason is required"))
    _end_stage(t.case, t.at, t.action, counts=False)
    _enter_stage(t.case, CaseStatus.VOIDED, t.at)
    t.case.closed_at = t.at
    return t.commit(CaseStatus.VOIDED, note=reason)


@transaction.atomic
def case_mark_duplicate(actor, case_id, *, version, original_id, note="") -> Case:
    """Link a report to the case it repeats; its reporter then follows the original."""
    t = _Transition(actor, case_id, CaseAction.DUPLICATE, version)
    try:
        original = visible(actor, Case).get(pk=original_id)
    except (Case.DoesNotExist, ValueError, TypeError):
        raise Invalid(
            "unknown_original", _("找不到原案件 %s · original case not found") % original_id
        ) from None
    if original.pk == t.case.pk or original.status == CaseStatus.DUPLICATE:
        raise Invalid("bad_original", _("原案件不能是本案或另一个重复案件 · pick the original case"))
    t.case.duplicate_of = original
    t.case.closed_at = t.at
    _move(t, CaseStatus.DUPLICATE)
    return t.commit(CaseStatus.DUPLICATE, note=note, data={"original": original.number})


# --- dispatch and handling --------------------------------------------------------------------------


@transaction.atomic
def case_dispatch(actor, case_id, *, version, department_id=None, cohandler_ids=(), note="") -> Case:
    """派遣: to the lead department (from the routing rules unless chosen) and any co-handlers."""
    t = _Transition(actor, case_id, CaseAction.DISPATCH, version)
    case = t.case
    if department_id is None:
        lead = routing.route(case.minor_class, case.street, case.district)
        if lead is None:
            raise Invalid("no_route", _("没有适用的派遣规则，请选择处置部门 · choose a department"))
    else:
        lead = Department.objects.filter(pk=department_id, active=True).first()
        if lead is None:
            raise Invalid(
                "unknown_department", _("处置部门 %s 不存在或已停用 · unknown department") % department_id
            )
    cohandler_ids = list(dict.fromkeys(int(i) for i in cohandler_ids))
    if lead.pk in cohandler_ids:
        raise Invalid("lead_is_cohandler", _("主办部门不能同时是协办部门 · the lead cannot also co-handle"))
    cohandlers = list(Department.objects.filter(pk__in=cohandler_ids, active=True))
    if len(cohandlers) != len(cohandler_ids):
        missing = set(cohandler_ids) - {d.pk for d in cohandlers}
        raise Invalid(
            "unknown_department", _("协办部门不存在或已停用：%s · unknown department") % sorted(missing)
        )
    CaseTask.objects.filter(case=case, current=True).update(current=False)
    _end_stage(case, t.at, t.action)
    stage = _enter_stage(case, CaseStatus.DISPATCHED, t.at, department=lead)
    for department, role in [(lead, TaskRole.LEAD), *((d, TaskRole.CO) for d in cohandlers)]:
        CaseTask.objects.create(
            case=case,
            department=department,
            role=role,
            status=TaskStatus.DISPATCHED,
            dispatched_at=t.at,
            deadline=stage.deadline,
        )
    case.lead_department = lead
    return t.commit(
        CaseStatus.DISPATCHED,
        note=note,
        department=lead,
        data={"lead": lead.pk, "cohandlers": [d.pk for d in cohandlers]},
    )


@transaction.atomic
def case_sign(actor, case_id, *, version, note="") -> Case:
    """签收: the lead department takes the case on (the handling clock has run since dispatch)."""
    t = _Transition(actor, case_id, CaseAction.SIGN, version)
    task = t.department_task(TaskRole.LEAD)
    task.status, task.signed_at = TaskStatus.SIGNED, t.at
    task.save(update_fields=["status", "signed_at"])
    return t.commit(CaseStatus.HANDLING, note=note, department=task.department)


@transaction.atomic
def case_return(actor, case_id, *, version, reason) -> Case:
    """回退: the lead department sends the case back to the dispatcher (not theirs to handle)."""
    t = _Transition(actor, case_id, CaseAction.RETURN, version)
    reason = _require(reason, "reason_required", _("请填写回退理由 · a reason is required"))
    task = t.department_task(TaskRole.LEAD)
    task.status = TaskStatus.RETURNED
    task.save(update_fields=["status"])
    CaseTask.objects.filter(case=t.case, current=True).update(current=False)
    t.case.lead_department = None
    _move(t, CaseStatus.TO_DISPATCH)
    return t.commit(CaseStatus.TO_DISPATCH, note=reason, department=task.department)


@removed_unless_committed()  # photo files go if the transaction rolls back
@transaction.atomic
def case_handle(actor, case_id, *, version, result, photos=()) -> Case:
    """处置反馈: the lead department reports the result; every co-handler must have fed back
    or been released first."""
    t = _Transition(actor, case_id, CaseAction.HANDLE, version)
    result = _require(result, "result_required", _("请填写处置结果 · the result is required"))
    task = t.department_task(TaskRole.LEAD)
    pending = list(
        CaseTask.objects.filter(case=t.case, current=True, role=TaskRole.CO)
        .exclude(status__in=[TaskStatus.DONE, TaskStatus.RELEASED])
        .select_related("department")
    )
    if pending:
        names = "、".join(p.department.name for p in pending)
        raise Conflict(
            "cohandlers_pending",
            _("协办部门尚未反馈：%s · co-handlers have not fed back") % names,
            detail={"departments": [p.department_id for p in pending]},
        )
    task.status, task.done_at, task.result = TaskStatus.DONE, t.at, result
    task.on_time = t.at <= task.deadline
    task.save(update_fields=["status", "done_at", "result", "on_time"])
    _move(t, CaseStatus.TO_CHECK)
    case = t.commit(CaseStatus.TO_CHECK, note=result, department=task.department)
    _attach_photos(case, t.event, photos, PhotoKind.AFTER, actor, t.at)
    return case


@removed_unless_committed()  # photo files go if the transaction rolls back
@transaction.atomic
def case_check(actor, case_id, *, version, passed: bool, note="", photos=()) -> Case:
    """核查: the inspector checks on site; a failed check sends the case back for rework (返工)."""
    action = CaseAction.CHECK_PASS if passed else CaseAction.CHECK_FAIL
    t = _Transition(actor, case_id, action, version)
    if passed:
        _move(t, CaseStatus.TO_CLOSE)
        case = t.commit(CaseStatus.TO_CLOSE, note=note)
    else:
        note = _require(note, "reason_required", _("请说明核查不通过的原因 · say why the check failed"))
        t.case.rework_count += 1
        _end_stage(t.case, t.at, t.action)
        stage = _enter_stage(t.case, CaseStatus.HANDLING, t.at, department=t.case.lead_department)
        lead = (
            CaseTask.objects.select_for_update().filter(case=t.case, current=True, role=TaskRole.LEAD).first()
        )
        if lead is not None:
            lead.status, lead.done_at, lead.on_time, lead.deadline = (
                TaskStatus.SIGNED,
                None,
                None,
                stage.deadline,
            )
            lead.save(update_fields=["status", "done_at", "on_time", "deadline"])
        case = t.commit(
            CaseStatus.HANDLING,
            note=note,
            data={"rework": t.case.rework_count},
            department=t.case.lead_department,
        )
    _attach_photos(case, t.event, photos, PhotoKind.CHECK, actor, t.at)
    return case


@transaction.atomic
def case_close(actor, case_id, *, version, note="") -> Case:
    """结案."""
    t = _Transition(actor, case_id, CaseAction.CLOSE, version)
    t.case.closed_at = t.at
    _move(t, CaseStatus.CLOSED)
    return t.commit(CaseStatus.CLOSED, note=note)


@transaction.atomic
def case_reopen(actor, case_id, *, version, reason) -> Case:
    """重新办理: a closed or suspended case goes back to the dispatcher."""
    t = _Transition(actor, case_id, CaseAction.REOPEN, version)
    reason = _require(reason, "reason_required", _("请填写重新办理的理由 · a reason is required"))
    CaseTask.objects.filter(case=t.case, current=True).update(current=False)
    t.case.closed_at = t.case.written_off_at = t.case.planned_fix_date = None
    t.case.lead_department = None
    _move(t, CaseStatus.TO_DISPATCH)
    return t.commit(CaseStatus.TO_DISPATCH, note=reason)


# --- co-handling (协办) ----------------------------------------------------------------------------


@transaction.atomic
def cohandler_sign(actor, case_id, *, version, note="") -> Case:
    t = _Transition(actor, case_id, CaseAction.COHANDLER_SIGN, version)
    task = t.department_task(TaskRole.CO)
    if task.status != TaskStatus.DISPATCHED:
        raise Conflict("invalid_state", _("协办任务已签收 · the co-handling task is already signed"))
    task.status, task.signed_at = TaskStatus.SIGNED, t.at
    task.save(update_fields=["status", "signed_at"])
    return t.commit(None, note=note, department=task.department, data={"task": task.pk})


@transaction.atomic
def cohandler_feedback(actor, case_id, *, version, result) -> Case:
    t = _Transition(actor, case_id, CaseAction.COHANDLER_FEEDBACK, version)
    result = _require(result, "result_required", _("请填写协办反馈 · the feedback is required"))
    task = t.department_task(TaskRole.CO)
    if task.status in (TaskStatus.DONE, TaskStatus.RELEASED):
        raise Conflict("invalid_state", _("协办任务已完成 · the co-handling task is finished"))
    task.status, task.done_at, task.result = TaskStatus.DONE, t.at, result
    task.signed_at = task.signed_at or t.at
    task.on_time = t.at <= task.deadline
    task.save(update_fields=["status", "done_at", "result", "on_time", "signed_at"])
    return t.commit(None, note=result, department=task.department, data={"task": task.pk})


@transaction.atomic
def cohandler_release(actor, case_id, *, version, task_id, reason) -> Case:
    t = _Transition(actor, case_id, CaseAction.COHANDLER_RELEASE, version)
    reason = _require(reason, "reason_required", _("请填写解除协办的理由 · a reason is required"))
    task = (
        CaseTask.objects.select_for_update()
        .filter(pk=task_id, case=t.case, current=True, role=TaskRole.CO)
        .first()
    )
    if task is None:
        raise Invalid("unknown_task", _("本案没有该协办任务 · no such co-handling task"))
    if task.status in (TaskStatus.DONE, TaskStatus.RELEASED):
        raise Conflict("invalid_state", _("协办任务已完成 · the co-handling task is finished"))
    task.status = TaskStatus.RELEASED
    task.save(update_fields=["status"])
    return t.commit(None, note=reason, department=task.department, data={"task": task.pk})


# --- extension (延期) and suspension to the ledger (挂账) ------------------------------------------


def _amount(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise Invalid("bad_amount", _("延期时长应为正数 · the extension must be a positive number")) from None
    if not amount.is_finite() or amount <= 0 or amount > 1000:
        raise Invalid("bad_amount", _("延期时长应在 0–1000 之间 · the extension must be between 0 and 1000"))
    return amount


@transaction.atomic
def case_request_extension(actor, case_id, *, version, amount, unit, reason) -> CaseRequest:
    t = _Transition(actor, case_id, CaseAction.EXTEND_REQUEST, version)
    reason = _require(reason, "reason_required", _("请填写延期理由 · a reason is required"))
    if unit not in TimeUnit.values:
        raise Invalid("bad_unit", _("时限单位应为 %s · bad unit") % ", ".join(TimeUnit.values))
    task = t.department_task(TaskRole.LEAD)
    if CaseRequest.objects.filter(
        case=t.case, kind=RequestKind.EXTENSION, status=RequestStatus.PENDING
    ).exists():
        raise Conflict("request_pending", _("已有待审批的延期申请 · an extension request is pending"))
    request = CaseRequest.objects.create(
        case=t.case,
        kind=RequestKind.EXTENSION,
        department=task.department,
        requested_by=actor,
        requested_at=t.at,
        reason=reason,
        amount=_amount(amount),
        unit=unit,
    )
    t.commit(
        None,
        note=reason,
        department=task.department,
        data={"request": request.pk, "amount": str(request.amount), "unit": unit},
    )
    return request


def _decide_pending(t: _Transition, kind: str, approve: bool, note: str) -> CaseRequest:
    """Lock the case's pending request of `kind` and record the decision."""
    request = (
        CaseRequest.objects.select_for_update()
        .filter(case=t.case, kind=kind, status=RequestStatus.PENDING)
        .first()
    )
    if request is None:
        message = {
            RequestKind.EXTENSION: _("没有待审批的延期申请 · no pending extension request"),
            RequestKind.SUSPENSION: _("没有待审批的挂账申请 · no pending suspension request"),
        }[kind]
        raise Conflict("no_pending_request", message)
    request.status = RequestStatus.APPROVED if approve else RequestStatus.DENIED
    request.decided_by, request.decided_at, request.decision_note = t.actor, t.at, note
    request.save()
    return request


@transaction.atomic
def case_decide_extension(actor, case_id, *, version, approve: bool, note="") -> Case:
    action = CaseAction.EXTEND_APPROVE if approve else CaseAction.EXTEND_DENY
    t = _Transition(actor, case_id, action, version)
    request = _decide_pending(t, RequestKind.EXTENSION, approve, note)
    data = {"request": request.pk}
    if approve:
        stage = _open_stage(t.case)
        old = stage.deadline
        new = calendar.add_working_time(old, request.amount, request.unit)
        stage.deadline = new
        stage.save(update_fields=["deadline"])
        CaseTask.objects.filter(case=t.case, current=True, role=TaskRole.LEAD).update(deadline=new)
        t.case.stage_deadline = new
        t.case.overdue = new < t.at
        data.update(old_deadline=old.isoformat(), new_deadline=new.isoformat())
    return t.commit(None, note=note, data=data, department=request.department)


@transaction.atomic
def case_request_suspension(actor, case_id, *, version, planned_fix_date, reason) -> CaseRequest:
    t = _Transition(actor, case_id, CaseAction.SUSPEND_REQUEST, version)
    reason = _require(reason, "reason_required", _("请填写挂账理由 · a reason is required"))
    if isinstance(planned_fix_date, str):
        try:
            planned_fix_date = dt.date.fromisoformat(planned_fix_date)
        except ValueError:
            raise Invalid("bad_date", _("计划整改日期格式应为 YYYY-MM-DD · bad date")) from None
    if not isinstance(planned_fix_date, dt.date) or planned_fix_date <= timezone.localdate(t.at):
        raise Invalid("bad_date", _("计划整改日期应晚于今天 · the planned fix date must be in the future"))
    task = t.department_task(TaskRole.LEAD)
    if CaseRequest.objects.filter(
        case=t.case, kind=RequestKind.SUSPENSION, status=RequestStatus.PENDING
    ).exists():
        raise Conflict("request_pending", _("已有待审批的挂账申请 · a suspension request is pending"))
    request = CaseRequest.objects.create(
        case=t.case,
        kind=RequestKind.SUSPENSION,
        department=task.department,
        requested_by=actor,
        requested_at=t.at,
        reason=reason,
        planned_fix_date=planned_fix_date,
    )
    t.commit(
        None,
        note=reason,
        department=task.department,
        data={"request": request.pk, "planned_fix_date": planned_fix_date.isoformat()},
    )
    return request


@transaction.atomic
def case_decide_suspension(actor, case_id, *, version, approve: bool, note="") -> Case:
    action = CaseAction.SUSPEND_APPROVE if approve else CaseAction.SUSPEND_DENY
    t = _Transition(actor, case_id, action, version)
    request = _decide_pending(t, RequestKind.SUSPENSION, approve, note)
    if not approve:
        return t.commit(None, note=note, data={"request": request.pk}, department=request.department)
    # Approved suspensions leave the active queue and the on-time statistics (as the standard does).
    _end_stage(t.case, t.at, t.action, counts=False)
    t.case.stage_deadline = None
    t.case.overdue = False
    t.case.planned_fix_date = request.planned_fix_date
    return t.commit(
        CaseStatus.SUSPENDED,
        note=note,
        department=request.department,
        data={"request": request.pk, "planned_fix_date": request.planned_fix_date.isoformat()},
    )


@transaction.atomic
def case_write_off(actor, case_id, *, version, note) -> Case:
    """销号: a ledger item checked fixed is closed."""
    t = _Transition(actor, case_id, CaseAction.WRITE_OFF, version)
    note = _require(note, "note_required", _("请填写核查整改情况 · say how the fix was checked"))
    t.case.written_off_at = t.case.closed_at = t.at
    t.case.stage_deadline = None
    return t.commit(CaseStatus.CLOSED, note=note)


TRANSITION_SERVICES = {
    CaseAction.ACCEPT: case_accept,
    CaseAction.VERIFY: case_verify,
    CaseAction.REGISTER: case_register,
    CaseAction.REJECT: case_reject,
    CaseAction.DUPLICATE: case_mark_duplicate,
    CaseAction.DISPATCH: case_dispatch,
    CaseAction.SIGN: case_sign,
    CaseAction.RETURN: case_return,
    CaseAction.HANDLE: case_handle,
    CaseAction.CLOSE: case_close,
    CaseAction.REOPEN: case_reopen,
    CaseAction.WRITE_OFF: case_write_off,
    CaseAction.COHANDLER_SIGN: cohandler_sign,
    CaseAction.COHANDLER_FEEDBACK: cohandler_feedback,
    CaseAction.COHANDLER_RELEASE: cohandler_release,
}
