"""The inspector's pages (监督员), mobile first (360 px): report a problem, my reports, and the
verify/check tasks (核实/核查) of their area, each opening the case detail with its actions.

The report page works as a plain form; with JavaScript (static/web/report.js) it searches classes
in Chinese and pinyin, picks the position on the map or from the phone's location, and keeps each
report as a draft in the browser (IndexedDB, photos included) until the server has it, so a lost
connection loses nothing: drafts are sent again when the phone is back online. Each draft carries
its own idempotency key, so however often it is sent it makes one case.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from chengguan.cases import selectors as case_selectors
from chengguan.cases.choices import CaseStatus
from chengguan.cases.models import Case
from chengguan.catalog import selectors as catalog_selectors
from chengguan.core.permissions import can
from chengguan.org.choices import Role

from ..deadlines import annotate_remaining
from ..forms_report import InspectorReportForm
from ..nav import NavItem

LIST_LIMIT = 100
CLASS_RESULTS = 30


def _inspector(user) -> None:
    if not (user.has_role(Role.INSPECTOR) and can(user, "view", Case)):
        raise PermissionDenied(_("只有监督员可以使用此页面"))


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def report_texts() -> dict:
    """The messages static/web/report.js shows, in the person's language."""
    return {
        "chosen": _("已选：%(name)s"),
        "noClass": _("没有找到匹配的类别，换个说法试试"),
        "pickClass": _("请选择问题类别"),
        "pickPlace": _("请在地图上点选问题位置，或点“使用我的位置”"),
        "describe": _("请填写问题描述"),
        "place": _("位置：%(lon)s, %(lat)s"),
        "locating": _("正在定位…"),
        "locateFailed": _("无法获取位置，请在地图上点选"),
        "locateHttps": _("浏览器只在 HTTPS 页面提供定位，请在地图上点选"),
        "photos": _("已选择 %(n)s 张照片"),
        "sending": _("正在提交…"),
        "sent": _("已上报，案件编号 %(number)s"),
        "again": _("这份上报已提交过，案件编号 %(number)s"),
        "offline": _("网络不可用：已保存为草稿，联网后自动发送"),
        "login": _("登录已过期：请重新登录，草稿会在登录后发送"),
        "retry": _("服务器暂时无法处理，草稿已保存，稍后自动重试"),
        "fix": _("请修改标出的内容后再提交"),
        "pending": _("待发送"),
        "invalid": _("无法发送"),
        "remove": _("删除"),
        "untitled": _("未选类别"),
    }


def report_config(request) -> dict:
    """Settings of static/web/report.js (a JSON <script>, no inline code)."""
    return {
        "texts": report_texts(),
        "classesUrl": reverse("web:inspector_classes"),
        "submitUrl": reverse("web:inspector_report"),
        "reportsUrl": reverse("web:inspector_reports"),
        "drafts": True,
        "owner": request.user.get_username(),
        "boundaries": "street",
    }


@login_required
@require_http_methods(["GET", "POST"])
def report(request):
    user = request.user
    _inspector(user)
    classes = catalog_selectors.minor_class_search(user)
    if request.method == "POST":
        form = InspectorReportForm(request.POST, request.FILES, classes=classes)
        result = form.submit(user)
        if result is not None:
            case, created = result
            url = reverse("web:case_detail", args=[case.pk])
            if wants_json(request):
                return JsonResponse(
                    {"number": case.number, "url": url, "created": created}, status=201 if created else 200
                )
            messages.success(request, _("已上报，案件编号 %(n)s") % {"n": case.number})
            return redirect("web:inspector_reports")
        if wants_json(request):
            return JsonResponse({"errors": form.errors_json()}, status=422)
        status = 422
    else:
        form = InspectorReportForm(classes=classes, initial={"idempotency_key": uuid.uuid4().hex})
        status = 200
    context = {"form": form, "report_config": report_config(request), "active_nav": "inspector:report"}
    return render(request, "web/inspector/report.html", context, status=status)


@login_required
@require_GET
def classes(request):
    """`?q=` classes matching a Chinese name, pinyin (initials or full) or a code, for the picker."""
    _inspector(request.user)
    q = (request.GET.get("q") or "").strip()[:50]
    found = catalog_selectors.minor_class_search(request.user, q)[:CLASS_RESULTS]
    return JsonResponse({"results": [class_json(m) for m in found]})


def class_json(minor) -> dict:
    return {
        "id": minor.pk,
        "name": minor.name,
        "major": minor.major.name,
        "code": minor.full_code,
        "photo_required": minor.photo_required,
    }


@login_required
@require_GET
def my_reports(request):
    user = request.user
    _inspector(user)
    cases = case_selectors.inspector_reports(user)
    rows = list(cases[:LIST_LIMIT])
    return render(
        request,
        "web/inspector/reports.html",
        {
            "cases": rows,
            "count": cases.count() if len(rows) == LIST_LIMIT else len(rows),
            "limit": LIST_LIMIT,
            "report_config": report_config(request),
            "active_nav": "inspector:reports",
        },
    )


@login_required
@require_GET
def tasks(request):
    """The inspector's queue: cases to verify (核实) and to check (核查) in their area."""
    user = request.user
    _inspector(user)
    queue = case_selectors.inspector_tasks(user)
    verify = list(queue.filter(status=CaseStatus.VERIFYING)[:LIST_LIMIT])
    check = list(queue.filter(status=CaseStatus.TO_CHECK)[:LIST_LIMIT])
    annotate_remaining(verify + check)
    return render(
        request,
        "web/inspector/tasks.html",
        {
            "verify": verify,
            "check": check,
            "report_config": report_config(request),
            "active_nav": f"workbench:{Role.INSPECTOR}",
        },
    )


def _is_inspector(user) -> bool:
    return user.has_role(Role.INSPECTOR) and can(user, "view", Case)


NAV = [
    NavItem(
        label=gettext_lazy("上报问题"),
        url_name="web:inspector_report",
        allowed=_is_inspector,
        order=11,
        key="inspector:report",
    ),
    NavItem(
        label=gettext_lazy("我的上报"),
        url_name="web:inspector_reports",
        allowed=_is_inspector,
        order=12,
        key="inspector:reports",
    ),
]

urlpatterns = [
    path("inspector/", tasks, name="inspector_tasks"),
    path("inspector/report/", report, name="inspector_report"),
    path("inspector/reports/", my_reports, name="inspector_reports"),
    path("inspector/classes.json", classes, name="inspector_classes"),
]
