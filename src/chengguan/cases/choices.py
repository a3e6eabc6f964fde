"""Case statuses, sources, actions and the allowed-transition table.

The table is the single statement of the workflow: which action, by which role, takes a case
from which status to which. Services refuse anything not in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from chengguan.catalog.choices import Stage, Urgency  # noqa: F401  (one urgency for classes and cases)
from chengguan.org.choices import Role


class CaseSource(models.TextChoices):
    INSPECTOR = "inspector", _("监督员上报")
    PUBLIC = "public", _("公众举报")
    HOTLINE = "hotline", _("12319 热线")
    VIDEO = "video", _("视频监控")
    LEADER = "leader", _("领导交办")
    MEDIA = "media", _("媒体曝光")
    PATROL = "patrol", _("巡查发现")
    OPEN311 = "open311", _("第三方系统")
    ASSESSMENT = "assessment", _("网格考核")  # a finding of the grid assessment team (assessment app)


class CaseStatus(models.TextChoices):
    REPORTED = "reported", _("待受理")
    VERIFYING = "verifying", _("待核实")
    TO_REGISTER = "to_register", _("待立案")
    TO_DISPATCH = "to_dispatch", _("待派遣")
    DISPATCHED = "dispatched", _("待签收")
    HANDLING = "handling", _("处置中")
    TO_CHECK = "to_check", _("待核查")
    TO_CLOSE = "to_close", _("待结案")
    SUSPENDED = "suspended", _("挂账")
    CLOSED = "closed", _("已结案")
    REJECTED = "rejected", _("不予立案")
    DUPLICATE = "duplicate", _("重复案件")
    VOIDED = "voided", _("已作废")


OPEN_STATUSES = frozenset(
    {
        CaseStatus.REPORTED,
        CaseStatus.VERIFYING,
        CaseStatus.TO_REGISTER,
        CaseStatus.TO_DISPATCH,
        CaseStatus.DISPATCHED,
        CaseStatus.HANDLING,
        CaseStatus.TO_CHECK,
        CaseStatus.TO_CLOSE,
    }
)
FINAL_STATUSES = frozenset({CaseStatus.CLOSED, CaseStatus.REJECTED, CaseStatus.DUPLICATE, CaseStatus.VOIDED})

# The timed stage a case is in while it has each status (its deadline comes from the catalogue).
# Verification on site uses the check limit: both are the inspector's field visit.
STATUS_STAGE: dict[str, str] = {
    CaseStatus.REPORTED: Stage.ACCEPT,
    CaseStatus.VERIFYING: Stage.CHECK,
    CaseStatus.TO_REGISTER: Stage.REGISTER,
    CaseStatus.TO_DISPATCH: Stage.DISPATCH,
    CaseStatus.DISPATCHED: Stage.HANDLE,
    CaseStatus.HANDLING: Stage.HANDLE,
    CaseStatus.TO_CHECK: Stage.CHECK,
    CaseStatus.TO_CLOSE: Stage.CLOSE,
}


class CaseAction(models.TextChoices):
    REPORT = "report", _("上报")
    ACCEPT = "accept", _("受理")
    VERIFY = "verify", _("核实")
    REGISTER = "register", _("立案")
    REJECT = "reject", _("不予立案")
    DUPLICATE = "duplicate", _("标记重复")
    VOID = "void", _("作废")
    DISPATCH = "dispatch", _("派遣")
    SIGN = "sign", _("签收")
    RETURN = "return", _("回退")
    HANDLE = "handle", _("处置反馈")
    CHECK_PASS = "check_pass", _("核查通过")
    CHECK_FAIL = "check_fail", _("核查不通过（返工）")
    CLOSE = "close", _("结案")
    EXTEND_REQUEST = "extend_request", _("申请延期")
    EXTEND_APPROVE = "extend_approve", _("批准延期")
    EXTEND_DENY = "extend_deny", _("驳回延期")
    SUSPEND_REQUEST = "suspend_request", _("申请挂账")
    SUSPEND_APPROVE = "suspend_approve", _("批准挂账")
    SUSPEND_DENY = "suspend_deny", _("驳回挂账")
    WRITE_OFF = "write_off", _("销号")
    REOPEN = "reopen", _("重新办理")
    COHANDLER_SIGN = "cohandler_sign", _("协办签收")
    COHANDLER_FEEDBACK = "cohandler_feedback", _("协办反馈")
    COHANDLER_RELEASE = "cohandler_release", _("解除协办")


@dataclass(frozen=True)
class Transition:
    action: str
    roles: frozenset[str]
    sources: frozenset[str]
    target: str | None  # None: the status does not change (requests, approvals, co-handling)
    department_actor: bool = False  # acted by the handling department (jurisdiction by department)


def _t(action, roles, sources, target, department_actor=False) -> Transition:
    return Transition(action, frozenset(roles), frozenset(sources), target, department_actor)


S = CaseStatus
R = Role
TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in [
        _t(CaseAction.ACCEPT, {R.OPERATOR}, {S.REPORTED}, None),  # → to_register or verifying by source
        _t(CaseAction.VERIFY, {R.INSPECTOR}, {S.VERIFYING}, S.TO_REGISTER),
        _t(CaseAction.REGISTER, {R.SHIFT_LEADER}, {S.TO_REGISTER}, S.TO_DISPATCH),
        _t(
            CaseAction.REJECT,
            {R.OPERATOR, R.SHIFT_LEADER},
            {S.REPORTED, S.VERIFYING, S.TO_REGISTER},
            S.REJECTED,
        ),
        _t(
            CaseAction.DUPLICATE,
            {R.OPERATOR, R.SHIFT_LEADER},
            {S.REPORTED, S.VERIFYING, S.TO_REGISTER},
            S.DUPLICATE,
        ),
        # 作废: a registered case found not to meet the conditions for registration (立案条件), e.g.
        # returned by the department as not real or not a city-management matter; it counts
        # against the registering shift leader's 准确立案率.
        _t(CaseAction.VOID, {R.SHIFT_LEADER}, {S.TO_DISPATCH}, S.VOIDED),
        _t(CaseAction.DISPATCH, {R.DISPATCHER}, {S.TO_DISPATCH}, S.DISPATCHED),
        _t(CaseAction.SIGN, {R.HANDLER}, {S.DISPATCHED}, S.HANDLING, department_actor=True),
        _t(CaseAction.RETURN, {R.HANDLER}, {S.DISPATCHED}, S.TO_DISPATCH, department_actor=True),
        _t(CaseAction.HANDLE, {R.HANDLER}, {S.HANDLING}, S.TO_CHECK, department_actor=True),
        _t(CaseAction.CHECK_PASS, {R.INSPECTOR}, {S.TO_CHECK}, S.TO_CLOSE),
        _t(CaseAction.CHECK_FAIL, {R.INSPECTOR}, {S.TO_CHECK}, S.HANDLING),
        _t(CaseAction.CLOSE, {R.SHIFT_LEADER}, {S.TO_CLOSE}, S.CLOSED),
        _t(CaseAction.EXTEND_REQUEST, {R.HANDLER}, {S.HANDLING}, None, department_actor=True),
        _t(CaseAction.EXTEND_APPROVE, {R.SHIFT_LEADER, R.LEADER}, {S.HANDLING}, None),
        _t(CaseAction.EXTEND_DENY, {R.SHIFT_LEADER, R.LEADER}, {S.HANDLING}, None),
        _t(CaseAction.SUSPEND_REQUEST, {R.HANDLER}, {S.HANDLING}, None, department_actor=True),
        _t(CaseAction.SUSPEND_APPROVE, {R.LEADER, R.SHIFT_LEADER}, {S.HANDLING}, S.SUSPENDED),
        _t(CaseAction.SUSPEND_DENY, {R.LEADER, R.SHIFT_LEADER}, {S.HANDLING}, None),
        _t(CaseAction.WRITE_OFF, {R.SHIFT_LEADER}, {S.SUSPENDED}, S.CLOSED),
        _t(CaseAction.REOPEN, {R.SHIFT_LEADER}, {S.CLOSED, S.SUSPENDED}, S.TO_DISPATCH),
        _t(CaseAction.COHANDLER_SIGN, {R.HANDLER}, {S.DISPATCHED, S.HANDLING}, None, department_actor=True),
        _t(
            CaseAction.COHANDLER_FEEDBACK,
            {R.HANDLER},
            {S.DISPATCHED, S.HANDLING},
            None,
            department_actor=True,
        ),
        _t(CaseAction.COHANDLER_RELEASE, {R.DISPATCHER}, {S.DISPATCHED, S.HANDLING}, None),
    ]
}


class TaskRole(models.TextChoices):
    LEAD = "lead", _("主办")
    CO = "co", _("协办")


class TaskStatus(models.TextChoices):
    DISPATCHED = "dispatched", _("待签收")
    SIGNED = "signed", _("处置中")
    DONE = "done", _("已反馈")
    RELEASED = "released", _("已解除")
    RETURNED = "returned", _("已回退")


class RequestKind(models.TextChoices):
    EXTENSION = "extension", _("延期")
    SUSPENSION = "suspension", _("挂账")


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    DENIED = "denied", _("已驳回")


class PhotoKind(models.TextChoices):
    BEFORE = "before", _("处置前")
    AFTER = "after", _("处置后")
    CHECK = "check", _("核查")
