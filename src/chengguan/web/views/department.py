"""The department inbox (处置部门): 待签收, 处置中 and 协办 tasks of the departments the person acts
for, the earliest deadline (so the overdue ones) first, with the working time left; accept (签收)
or return (回退), feed back the handling with photos (处置反馈), and a co-handler's own task
(协办签收, 协办反馈). Each row's form posts to `row_action` (views/desk.py), which calls the one
service of the action and comes back here."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from chengguan.cases import selectors
from chengguan.cases.choices import CaseAction, TaskStatus
from chengguan.cases.models import Case
from chengguan.core import calendar as work_calendar
from chengguan.core.permissions import acting_department_ids, can
from chengguan.org.choices import Role

from ..deadlines import remaining
from ..forms import BUTTONS, MAX_PHOTOS
from ..nav import NavItem

PAGE_SIZE = 50
TABS = {
    "to_sign": _("待签收"),
    "handling": _("处置中"),
    "cohandling": _("协办任务"),
}


def _allowed(user) -> bool:
    return user.has_role(Role.HANDLER) and can(user, "view", Case) and bool(acting_department_ids(user))


def _row_actions(tab: str, task) -> list[str]:
    """The actions a row offers (the services still check role, department and state)."""
    if tab == "to_sign":
        return [CaseAction.SIGN, CaseAction.RETURN]
    if tab == "handling":
        return [CaseAction.HANDLE]
    if task.status == TaskStatus.DISPATCHED:
        return [CaseAction.COHANDLER_SIGN, CaseAction.COHANDLER_FEEDBACK]
    return [CaseAction.COHANDLER_FEEDBACK]


@login_required
@require_GET
def inbox_home(request):
    return redirect("web:department_inbox", tab="to_sign")


@login_required
@require_GET
def inbox(request, tab: str):
    user = request.user
    if tab not in TABS or not _allowed(user):
        raise Http404
    counts = selectors.inbox_counts(user)
    page = Paginator(selectors.inbox_tasks(user, tab), PAGE_SIZE).get_page(request.GET.get("page"))
    tasks = list(page.object_list)
    cal = work_calendar.get_calendar()
    for task in tasks:
        # The lead's deadline is the case's stage deadline (an approved extension moves it).
        deadline = task.case.stage_deadline if task.role == "lead" else task.deadline
        task.remaining = remaining(deadline, calendar=cal)
        task.shown_deadline = deadline
        task.row_actions = [(a, BUTTONS[a]) for a in _row_actions(tab, task)]
    return render(
        request,
        "web/department/inbox.html",
        {
            "tab": tab,
            "tabs": [(key, label, counts[key]) for key, label in TABS.items()],
            "tasks": tasks,
            "page": page,
            "max_photos": MAX_PHOTOS,
            "active_nav": "department",
        },
    )


NAV = [NavItem(label=_("部门收件箱"), url_name="web:department", allowed=_allowed, order=6, key="department")]

urlpatterns = [
    path("department/", inbox_home, name="department"),
    path("department/<slug:tab>/", inbox, name="department_inbox"),
]
