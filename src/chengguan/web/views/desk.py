"""The desk of the operator (受理员), shift leader (值班长) and dispatcher (派遣员): their queues with
counts — 待受理, 待立案, 待派遣, 待核查, 待结案 and the approvals of 延期 and 挂账 — filters, bulk
actions (each case through its own service call with the version the page showed; failures are
reported case by case and never undo the others), the selected case on a map, and keys (j/k, Enter).

`row_action` is the one-case action of a list row (an approval on the desk, a sign or a feedback in
the department inbox): the case detail's forms, coming back to the list when done.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from chengguan.cases import selectors, services
from chengguan.cases.choices import CaseAction
from chengguan.cases.models import Case
from chengguan.core.errors import Conflict, ServiceError
from chengguan.core.permissions import NotFound, can, visible
from chengguan.org.choices import Role

from ..deadlines import annotate_remaining
from ..forms import ACTION_FORMS, BUTTONS
from ..forms_desk import DeskFilterForm, parse_selection
from ..nav import NavItem
from .cases import detail_context

PAGE_SIZE = 50
MAX_BULK = 200
DESK_ROLES = (Role.OPERATOR, Role.SHIFT_LEADER, Role.DISPATCHER)

# The one service of each bulk action: called once per selected case, with that case's version.
BULK_SERVICES = {
    CaseAction.ACCEPT: services.case_accept,
    CaseAction.REGISTER: services.case_register,
    CaseAction.DISPATCH: services.case_dispatch,  # to the department the routing rules give
    CaseAction.CLOSE: services.case_close,
}


def _queue_or_404(user, key: str):
    queue = selectors.DESK_QUEUE_BY_KEY.get(key)
    if queue is None or not _desk_allowed(user) or not queue.allows(user):
        raise Http404
    return queue


@login_required
@require_GET
def desk(request):
    """The first queue this person may use."""
    if not _desk_allowed(request.user):
        raise Http404
    queues = selectors.desk_queues(request.user)
    return redirect("web:desk_queue", key=queues[0].key)


@login_required
@require_GET
def desk_queue(request, key: str):
    user = request.user
    queue = _queue_or_404(user, key)
    queues = selectors.desk_queues(user)
    counts = selectors.desk_counts(user, queues)
    form = DeskFilterForm(request.GET, user=user)
    rows_qs = selectors.desk_rows(user, queue, **form.filters())
    page = Paginator(rows_qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    annotate_remaining(rows)
    routed = selectors.routed_departments(rows) if queue.bulk == CaseAction.DISPATCH else {}
    for row in rows:
        row.routed = routed.get(row.pk)
        row.pending = (getattr(row, "desk_requests", None) or [None])[0]
    query = form.query()
    return render(
        request,
        "web/desk/queue.html",
        {
            "queue": queue,
            "tabs": [(q, counts[q.key]) for q in queues],
            "form": form,
            "rows": rows,
            "page": page,
            "query": query,
            "page_query": QueryDict(query, mutable=True),
            "acts": queue.acts(user),
            "bulk_label": BUTTONS.get(queue.bulk) if queue.bulk else None,
            "decisions": _decisions(queue),
            "points": _points(rows),
            "active_nav": "desk",
        },
    )


def _decisions(queue) -> list[tuple[str, str]]:
    """The approve/deny actions of an approval queue: [(action, button label)]."""
    if queue.request_kind is None:
        return []
    if queue.key == "extension":
        actions = (CaseAction.EXTEND_APPROVE, CaseAction.EXTEND_DENY)
    else:
        actions = (CaseAction.SUSPEND_APPROVE, CaseAction.SUSPEND_DENY)
    return [(str(a), BUTTONS[a]) for a in actions]


def _points(rows) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                "properties": {"id": r.pk, "number": r.number, "status": r.status, "overdue": r.overdue},
            }
            for r in rows
        ],
    }


@login_required
@require_POST
def desk_bulk(request, key: str):
    """One action on the selected cases: each through its own service call (its own transaction),
    with the version the page showed; what failed is said case by case, the rest stays done."""
    user = request.user
    queue = _queue_or_404(user, key)
    back = reverse("web:desk_queue", kwargs={"key": queue.key})
    query = QueryDict(request.POST.get("query", "")).urlencode()
    back_url = f"{back}?{query}" if query else back
    if queue.bulk is None or not can(user, queue.bulk, Case):
        raise PermissionDenied
    pairs, bad = parse_selection(request.POST.getlist("case"))
    if bad:
        messages.error(request, _("选择的案件无法识别，请刷新页面后重试"))
    if not pairs:
        if not bad:
            messages.warning(request, _("请先勾选案件"))
        return redirect(back_url)
    if len(pairs) > MAX_BULK:
        messages.error(request, _("一次最多处理 %(n)d 件，请减少勾选") % {"n": MAX_BULK})
        return redirect(back_url)
    numbers = dict(visible(user, Case).filter(pk__in=[pk for pk, _v in pairs]).values_list("pk", "number"))
    service = BULK_SERVICES[queue.bulk]
    done, failed = [], []
    for pk, version in pairs:
        number = numbers.get(pk, f"#{pk}")
        try:
            service(user, pk, version=version)
        except ServiceError as exc:
            failed.append((number, exc.message))
        except NotFound:
            failed.append((number, _("案件不存在或不在您的管辖范围内")))
        except PermissionDenied as exc:
            failed.append((number, str(exc) or _("无权执行此操作")))
        else:
            done.append(number)
    label = BUTTONS[queue.bulk]
    if done:
        messages.success(
            request,
            _("已%(action)s %(n)d 件：%(numbers)s")
            % {"action": label, "n": len(done), "numbers": "、".join(done)},
        )
    for number, message in failed:
        messages.error(
            request,
            _("%(number)s 未能%(action)s：%(message)s")
            % {
                "number": number,
                "action": label,
                "message": message,
            },
        )
    return redirect(back_url)


@login_required
@require_POST
def row_action(request, pk: int, action: str):
    """One action on one case from a list row; back to the list (`next`) when done. A form with
    errors or a stale one shows the case detail, with the errors or the case as it is now."""
    form_class = ACTION_FORMS.get(action)
    if form_class is None:
        raise Http404
    case = selectors.access_case_page(request.user, pk)
    data, files = _prefixed(request.POST, action), _prefixed(request.FILES, action)
    form = form_class(data, files, case=case, user=request.user)
    try:
        done = form.submit()
    except Conflict as exc:
        case = selectors.access_case_page(request.user, pk)
        return render(
            request, "web/cases/detail.html", detail_context(request, case, conflict=exc.message), status=409
        )
    if not done:
        return render(request, "web/cases/detail.html", detail_context(request, case, bound=form), status=422)
    messages.success(
        request, _("%(number)s 已完成“%(action)s”") % {"number": case.number, "action": form.label}
    )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("web:case_detail", args=[pk])
    return redirect(target)


def _prefixed(values, action: str):
    """A row's fields are named plainly (version, note, result, photos); the case detail's forms
    carry the action as prefix, so a form with errors shows on the detail page as it would there."""
    out = values.copy()
    out.clear()
    for key, items in values.lists():
        if key not in ("csrfmiddlewaretoken", "next"):
            out.setlist(f"{action}-{key}", items)
    return out


def _desk_allowed(user) -> bool:
    return user.has_role(*DESK_ROLES) and can(user, "view", Case) and bool(selectors.desk_queues(user))


NAV = [
    NavItem(label=gettext_lazy("受理派遣台"), url_name="web:desk", allowed=_desk_allowed, order=5, key="desk")
]

urlpatterns = [
    path("desk/", desk, name="desk"),
    path("desk/<slug:key>/", desk_queue, name="desk_queue"),
    path("desk/<slug:key>/bulk/", desk_bulk, name="desk_bulk"),
    path("work/cases/<int:pk>/<slug:action>/", row_action, name="row_action"),
]
