"""The problem ledger (问题台账) page: the ledger's rows with its filters, a page at a time, the
summary counts, and the Excel export of the same filters (cases/ledger.py does the reading)."""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from chengguan.cases import ledger as case_ledger
from chengguan.cases.models import Case
from chengguan.core.errors import ServiceError
from chengguan.core.permissions import can
from chengguan.org.choices import Role

from ..forms_desk import LedgerFilterForm
from ..nav import NavItem

PAGE_SIZE = 50
LEDGER_ROLES = (Role.OPERATOR, Role.SHIFT_LEADER, Role.DISPATCHER, Role.LEADER, Role.HANDLER)


def _allowed(user) -> bool:
    return user.has_role(*LEDGER_ROLES) and can(user, "view", Case)


def _filters(request):
    if not _allowed(request.user):
        raise Http404
    form = LedgerFilterForm(request.GET, user=request.user)
    filters = form.filters()
    filters.setdefault("scope", "open")
    return form, filters


@login_required
@require_GET
def ledger_page(request):
    form, filters = _filters(request)
    rows = case_ledger.ledger_rows(request.user, **filters)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    records = list(case_ledger.ledger_records(page.object_list))
    streets = [s for s in case_ledger.ledger_summary(rows) if s["level"] == "street"]
    query = form.query()
    return render(
        request,
        "web/ledger/ledger.html",
        {
            "form": form,
            "records": records,
            "page": page,
            "streets": streets,
            "totals": {
                k: sum(s[k] for s in streets) for k in ("open", "suspended", "overdue", "written_off")
            },
            "query": query,
            "active_nav": "ledger",
        },
    )


@login_required
@require_GET
def ledger_export(request):
    form, filters = _filters(request)
    if form.is_bound and form.errors:
        messages.error(request, _("筛选条件有误，请修改后再导出"))
        return redirect(f"{reverse('web:ledger')}?{request.GET.urlencode()}")
    try:
        data = case_ledger.ledger_xlsx(request.user, **filters)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("web:ledger")
    return FileResponse(
        io.BytesIO(data),
        as_attachment=True,
        filename=case_ledger.ledger_filename(),
        content_type=case_ledger.XLSX_CONTENT_TYPE,
    )


NAV = [NavItem(label=_("问题台账"), url_name="web:ledger", allowed=_allowed, order=70, key="ledger")]

urlpatterns = [
    path("ledger/", ledger_page, name="ledger"),
    path("ledger/export.xlsx", ledger_export, name="ledger_export"),
]
