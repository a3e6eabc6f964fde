"""The command centre's wall (指挥大屏, 1920×1080): the district map with its grids and the live
cases coloured by status and overdue; today's and this month's key figures; the departments with
the most overdue cases; the stream of recent events. The page refreshes itself: each panel is a
fragment htmx fetches again every 30 s (POLL_SECONDS), and the map reloads its cases as often.

Figures come from `cases.selectors` in a fixed number of queries whatever the number of cases."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from chengguan.cases import selectors
from chengguan.cases.choices import CaseAction, CaseStatus
from chengguan.cases.models import Case
from chengguan.core import clock
from chengguan.core.permissions import can
from chengguan.org.choices import Role

from ..nav import NavItem

POLL_SECONDS = 30  # at most this often: the wall must not load the server
COMMAND_ROLES = (Role.LEADER, Role.SHIFT_LEADER, Role.DISPATCHER, Role.OPERATOR)
EVENTS = 20
DEPARTMENTS = 8


def _allowed(user) -> bool:
    return user.has_role(*COMMAND_ROLES) and can(user, "view", Case)


def _check(user):
    if not _allowed(user):
        raise Http404


def _periods(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Start of today and of this month, in the bureau's local time (settings.TIME_ZONE)."""
    local = timezone.localtime(now, timezone.get_default_timezone())
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return day, day.replace(day=1)


def _figures(user) -> dict:
    now = clock.now()
    day, month = _periods(now)
    figures = selectors.command_figures(user, day_start=day, month_start=month, now=now)
    return {"figures": figures, "now": now}


def _departments(user) -> dict:
    rows = selectors.overdue_by_department(user, now=clock.now(), limit=DEPARTMENTS)
    top = max((r["overdue"] for r in rows), default=0)
    for r in rows:
        r["share"] = round(100 * r["overdue"] / top) if top else 0
    return {"departments": rows}


def _events(user) -> dict:
    actions = dict(CaseAction.choices)
    statuses = dict(CaseStatus.choices)
    events = selectors.recent_events(user, limit=EVENTS)
    for e in events:
        e.action_label = actions.get(e.action, e.action)
        e.status_label = statuses.get(e.case_status, e.case_status)
    return {"events": events}


PANELS = {"figures": _figures, "departments": _departments, "events": _events}


@login_required
@require_GET
def command(request):
    user = request.user
    _check(user)
    context = {"poll": POLL_SECONDS, "active_nav": "command"}
    for build in PANELS.values():
        context.update(build(user))
    return render(request, "web/command/wall.html", context)


@login_required
@require_GET
def panel(request, name: str):
    """One panel as a fragment (what htmx polls)."""
    user = request.user
    _check(user)
    build = PANELS.get(name)
    if build is None:
        raise Http404
    context = {"poll": POLL_SECONDS, **build(user)}
    return render(request, f"web/command/_{name}.html", context)


NAV = [NavItem(label=_("指挥大屏"), url_name="web:command", allowed=_allowed, order=7, key="command")]

urlpatterns = [
    path("command/", command, name="command"),
    path("command/panels/<slug:name>/", panel, name="command_panel"),
]
