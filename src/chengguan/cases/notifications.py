"""Who is told what when a case moves. Written to the notification outbox inside the
transition's transaction (chengguan.notify), so a rolled-back transition tells nobody, and each
event reaches each person once (a dedupe key per event and person)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils.translation import gettext as _

from chengguan.notify.services import Outbox, notify, outbox
from chengguan.org.choices import Role
from chengguan.org.models import Department, Person

from .choices import CaseAction, CaseStatus, Stage

if TYPE_CHECKING:
    from .models import Case

# The role that must act next when a case enters each status.
NEXT_ROLE = {
    CaseStatus.REPORTED: Role.OPERATOR,
    CaseStatus.VERIFYING: Role.INSPECTOR,
    CaseStatus.TO_REGISTER: Role.SHIFT_LEADER,
    CaseStatus.TO_DISPATCH: Role.DISPATCHER,
    CaseStatus.TO_CHECK: Role.INSPECTOR,
    CaseStatus.TO_CLOSE: Role.SHIFT_LEADER,
}
STAGE_ROLE = {
    Stage.ACCEPT: Role.OPERATOR,
    Stage.REGISTER: Role.SHIFT_LEADER,
    Stage.DISPATCH: Role.DISPATCHER,
    Stage.CHECK: Role.INSPECTOR,
    Stage.CLOSE: Role.SHIFT_LEADER,
}


def people_for_place(case, role: str):
    """People holding `role` whose jurisdiction covers the case's place (or the whole city); only
    their ids are read, which is all the outbox needs."""
    places = [pk for pk in (case.community_id, case.street_id, case.district_id) if pk]
    return (
        Person.objects.filter(is_active=True, roles__role=role)
        .filter(Q(citywide=True) | Q(regions__in=places))
        .only("pk")
        .distinct()
    )


def people_for_departments(department_ids, role: str = Role.HANDLER):
    departments = Department.objects.filter(pk__in=department_ids)
    cond = Q(pk__in=[])
    for d in departments:
        # Acting for the department or any department above it.
        ancestors = [int(x) for x in d.path.strip("/").split("/") if x]
        cond |= Q(departments__in=ancestors)
    return Person.objects.filter(is_active=True, roles__role=role).filter(cond).only("pk").distinct()


def _label(case) -> str:
    return f"{case.number} {case.minor_class.name}"


@dataclass
class CaseMessage:
    """One case event's notification: who is told is read when it is made, the title (which names
    the case by its number) is composed when it is queued, so an intake can take its number last."""

    case: Case
    outbox: Outbox
    title: Callable[[], str]
    body: str

    def queue(self) -> None:
        self.outbox.queue(
            title=self.title(), body=self.body, link=f"/cases/{self.case.pk}/", subject=self.case
        )


def _message(people, case, event, kind: str, title: Callable[[], str], body: str = "") -> CaseMessage:
    recipients = [person for person in people if person.pk != event.actor_id]  # not of their own action
    # The event was recorded in this transaction (each transition records its event, then tells):
    # no row of it can be queued yet, so the outbox need not look.
    rows = outbox(recipients, kind=kind, dedupe_key=f"case:{case.pk}:{kind}:{event.pk}", new_event=True)
    return CaseMessage(case, rows, title, body)


def case_event(case, event) -> None:
    """Queue the notifications for one case event, recorded in the caller's transaction."""
    message = case_message(case, event)
    if message is not None:
        message.queue()


def case_message(case, event) -> CaseMessage | None:
    """The notification one case event (recorded in the caller's transaction) makes, not queued
    yet: `.queue()` it in the same transaction. None: nobody is told."""
    action, status = event.action, event.to_status
    if action == CaseAction.DISPATCH:
        departments = [event.data.get("lead"), *event.data.get("cohandlers", [])]
        return _message(
            people_for_departments([d for d in departments if d]),
            case,
            event,
            "case_dispatched",
            lambda: _("新派遣案件：%s") % _label(case),
            case.description[:200],
        )
    if (
        action
        in (CaseAction.CHECK_FAIL, CaseAction.EXTEND_APPROVE, CaseAction.EXTEND_DENY, CaseAction.SUSPEND_DENY)
        and case.lead_department_id
    ):
        label = {
            CaseAction.CHECK_FAIL: _("核查不通过，请返工"),
            CaseAction.EXTEND_APPROVE: _("延期已批准"),
            CaseAction.EXTEND_DENY: _("延期被驳回"),
            CaseAction.SUSPEND_DENY: _("挂账被驳回"),
        }[action]
        return _message(
            people_for_departments([case.lead_department_id]),
            case,
            event,
            f"case_{action}",
            lambda: f"{label}：{_label(case)}",
            event.note,
        )
    if action in (CaseAction.EXTEND_REQUEST, CaseAction.SUSPEND_REQUEST):
        label = _("延期申请待审批") if action == CaseAction.EXTEND_REQUEST else _("挂账申请待审批")
        return _message(
            people_for_place(case, Role.SHIFT_LEADER),
            case,
            event,
            f"case_{action}",
            lambda: f"{label}：{_label(case)}",
            event.note,
        )
    if (
        status in (CaseStatus.CLOSED, CaseStatus.REJECTED, CaseStatus.DUPLICATE, CaseStatus.VOIDED)
        and case.reporter_id
    ):
        return _message(
            [case.reporter],
            case,
            event,
            f"case_{status}",
            lambda: _("您上报的案件%(n)s：%(s)s") % {"n": case.number, "s": CaseStatus(status).label},
            event.note,
        )
    role = NEXT_ROLE.get(status)
    if role is not None and status != event.from_status:
        return _message(
            people_for_place(case, role),
            case,
            event,
            f"case_{status}",
            lambda: _("%(s)s：%(c)s") % {"s": CaseStatus(status).label, "c": _label(case)},
            case.description[:200],
        )
    return None


def stage_overdue(case, stage, *, escalate: bool) -> None:
    """A stage passed its deadline: tell whoever must act; on escalation, tell the leaders."""
    title_case = _label(case)
    if escalate:
        people = people_for_place(case, Role.LEADER)
        kind, title = "case_escalated", _("案件超期未处理，请督办：%s") % title_case
    elif stage.stage == Stage.HANDLE and case.lead_department_id:
        people = people_for_departments([case.lead_department_id])
        kind, title = "case_overdue", _("案件已超期：%s") % title_case
    else:
        people = people_for_place(case, STAGE_ROLE.get(stage.stage, Role.SHIFT_LEADER))
        kind, title = "case_overdue", _("案件已超期：%s") % title_case
    notify(
        people,
        kind=kind,
        title=title,
        link=f"/cases/{case.pk}/",
        subject=case,
        dedupe_key=f"case:{case.pk}:{kind}:stage:{stage.pk}",
    )


def ledger_item_due(case, today) -> None:
    title = _("挂账案件已到计划整改日期：%(n)s %(c)s") % {"n": case.number, "c": case.minor_class.name}
    notify(
        people_for_place(case, Role.SHIFT_LEADER),
        kind="ledger_due",
        title=title,
        link=f"/cases/{case.pk}/",
        subject=case,
        dedupe_key=f"case:{case.pk}:ledger_due:{today.isoformat()}",
    )
