"""The landing redirect and each role's simple workbench (its open cases).

The workbenches here are placeholders the role pages replace: change the role's entry in
`nav.LANDING` and its `NAV` link when a real page exists.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from chengguan.cases import selectors as case_selectors
from chengguan.cases.choices import OPEN_STATUSES, TRANSITIONS
from chengguan.cases.models import Case
from chengguan.core.permissions import can
from chengguan.org.choices import Role

from ..deadlines import annotate_remaining
from ..nav import LANDING, NavItem, landing_url

WORKBENCH_LIMIT = 100
WORKBENCH_ROLES = [
    Role.INSPECTOR,
    Role.OPERATOR,
    Role.SHIFT_LEADER,
    Role.DISPATCHER,
    Role.HANDLER,
    Role.LEADER,
]


def statuses_for(role: str) -> list[str]:
    """The open statuses in which the role has something to do (from the transition table)."""
    found = {s for t in TRANSITIONS.values() if role in t.roles for s in t.sources}
    return sorted(found & OPEN_STATUSES)


@login_required
def landing(request):
    url = landing_url(request.user)
    if url is None:
        return render(request, "web/no_workbench.html")
    return redirect(url)


@login_required
def workbench(request, role: str):
    user = request.user
    if role not in WORKBENCH_ROLES or not user.has_role(role) or not can(user, "view", Case):
        raise Http404
    cases = case_selectors.case_list(user, status=",".join(statuses_for(role))).order_by(
        "stage_deadline", "id"
    )
    rows = list(cases[:WORKBENCH_LIMIT])
    annotate_remaining(rows)
    return render(
        request,
        "web/workbench.html",
        {
            "role": Role(role),
            "cases": rows,
            "count": cases.count() if len(rows) == WORKBENCH_LIMIT else len(rows),
            "limit": WORKBENCH_LIMIT,
            "active_nav": f"workbench:{role}",
        },
    )


def _workbench_link(role: str) -> NavItem:
    url_name, kwargs = LANDING[role]
    return NavItem(
        label=format_lazy(_("{role}工作台"), role=Role(role).label),
        url_name=url_name,
        kwargs=kwargs,
        allowed=lambda user, role=role: user.has_role(role) and can(user, "view", Case),
        order=10,
        key=f"workbench:{role}",
    )


NAV = [_workbench_link(role) for role in WORKBENCH_ROLES] + [
    NavItem(label=_("管理后台"), url_name="admin:index", allowed=lambda user: user.is_staff, order=900),
]

urlpatterns = [
    path("", landing, name="landing"),
    path("workbench/<slug:role>/", workbench, name="workbench"),
]
