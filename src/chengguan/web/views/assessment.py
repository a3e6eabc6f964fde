"""Grid assessment pages (网格化检查考核): the assessment team's phone pages (360 px) — my plans,
start a record for a grid, tick failed items with notes and photos, submit, turn a finding into a
case in one tap — and the rectification office's (整治办) desk pages: its plans (and a new one)
and the scores per grid, community and street. Plain forms (no script needed); every write is one service call."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chengguan.assessment import selectors, services
from chengguan.assessment.choices import ItemCategory, Level, RecordStatus
from chengguan.assessment.models import AssessmentPlan, AssessmentRecord, Finding, FindingPhoto
from chengguan.cases.photos import PhotoError, ingest_photo
from chengguan.core.errors import ServiceError
from chengguan.core.permissions import access, can
from chengguan.evaluation.periods import parse_period
from chengguan.org.choices import Role

from ..forms import PhotosField
from ..nav import NavItem

GRID_CHOICES = 500


def _is_assessor(user) -> bool:
    return user.has_role(Role.ASSESSOR) and can(user, "add", AssessmentRecord)


def _assessor(user) -> None:
    if not _is_assessor(user):
        raise PermissionDenied(_("只有考核员可以使用此页面"))


class FindingForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("情况说明"),
        required=False,
        max_length=services.MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    photos = PhotosField(label=gettext_lazy("现场照片"), required=False)


# --- the assessment team -------------------------------------------------------------------------------


@login_required
@require_GET
def plans(request):
    user = request.user
    _assessor(user)
    today = timezone.localdate()
    rows = []
    for plan in selectors.my_plans(user, today):
        running = plan.first_day <= today <= plan.last_day
        grids = list(selectors.plan_grids(plan).values_list("pk", "code")[:GRID_CHOICES]) if running else []
        rows.append({"plan": plan, "running": running, "grids": grids})
    return render(
        request,
        "web/assessment/plans.html",
        {
            "plans": rows,
            "records": selectors.my_records(user, 20),
            "active_nav": f"workbench:{Role.ASSESSOR}",
        },
    )


@login_required
@require_POST
def start(request, plan_id: int):
    user = request.user
    _assessor(user)
    try:
        record, created = services.record_start(user, plan_id, request.POST.get("grid"))
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("web:assessment_plans")
    if not created:
        messages.info(request, _("继续未提交的检查记录"))
    return redirect("web:assessment_record", pk=record.pk)


def _at_item(record_id: int, item_id: int) -> str:
    return reverse("web:assessment_record", args=[record_id]) + f"#item-{item_id}"


def _record_context(request, record, bound: dict | None = None) -> dict:
    """The record page: every checklist item by category with its finding and its form."""
    bound = bound or {}
    groups: dict[str, list] = {}
    total = Decimal(0)
    for item, finding in selectors.record_items(record):
        if finding is not None:
            total += finding.deduction
        form = bound.get(item.pk) or FindingForm(
            prefix=f"i{item.pk}", initial={"note": finding.note if finding else ""}
        )
        groups.setdefault(item.category, []).append({"item": item, "finding": finding, "form": form})
    labels = dict(ItemCategory.choices)
    return {
        "record": record,
        "groups": [(labels.get(c, c), rows) for c, rows in groups.items()],
        "deductions": total,
        "preview": services.score_of([total]),
        "editable": record.status == RecordStatus.DRAFT and record.assessor_id == request.user.pk,
        "may_report": can(request.user, "report", Finding),
        "active_nav": f"workbench:{Role.ASSESSOR}",
    }


@login_required
@require_GET
def record_page(request, pk: int):
    record = access(request.user, AssessmentRecord, pk)
    return render(request, "web/assessment/record.html", _record_context(request, record))


@login_required
@require_POST
def tick(request, pk: int, item_id: int):
    """Tick an item as failed (or update its note, add photos)."""
    user = request.user
    _assessor(user)
    record = access(user, AssessmentRecord, pk)
    form = FindingForm(request.POST, request.FILES, prefix=f"i{item_id}")
    if form.is_valid():
        try:
            photos = [ingest_photo(f, filename=f.name) for f in form.cleaned_data["photos"]]
            services.finding_set(user, record.pk, item_id, note=form.cleaned_data["note"], photos=photos)
        except PhotoError as exc:
            form.add_error("photos", exc.message)
        except ServiceError as exc:
            form.add_error("photos" if exc.code == "too_many_photos" else "note", exc.message)
        else:
            return redirect(_at_item(record.pk, item_id))
    context = _record_context(request, record, bound={int(item_id): form})
    return render(request, "web/assessment/record.html", context, status=422)


@login_required
@require_POST
def untick(request, pk: int, item_id: int):
    user = request.user
    _assessor(user)
    try:
        services.finding_remove(user, pk, item_id)
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("web:assessment_record", pk=pk)


@login_required
@require_POST
def submit(request, pk: int):
    user = request.user
    _assessor(user)
    try:
        record, now = services.record_submit(user, pk)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("web:assessment_record", pk=pk)
    if now:
        messages.success(request, _("已提交，得分 %(score)s") % {"score": record.score})
    return redirect("web:assessment_record", pk=pk)


@login_required
@require_POST
def report(request, finding_id: int):
    """A finding becomes a case in one tap (a second tap gives back the same case)."""
    user = request.user
    finding = access(user, Finding, finding_id)
    try:
        case, created = services.finding_report(user, finding.pk)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        text = _("已转为案件，编号 %(n)s") if created else _("该扣分项已是案件 %(n)s")
        messages.success(request, text % {"n": case.number})
    return redirect(_at_item(finding.record_id, finding.item_id))


@login_required
@require_GET
def photo(request, photo_id: int, size: str):
    """A finding's photo, for people who may see the finding."""
    item = access(request.user, FindingPhoto, photo_id)
    if size not in ("thumb", "full"):
        raise Http404
    try:
        handle = default_storage.open(item.thumbnail if size == "thumb" else item.image, "rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response


# --- the rectification office --------------------------------------------------------------------------------


LEVELS = [Level.GRID, Level.COMMUNITY, Level.STREET]


@login_required
@require_http_methods(["GET"])
def scores(request):
    user = request.user
    if not selectors.may_view_scores(user):
        raise PermissionDenied(_("您的角色不能查看考核得分"))
    level = request.GET.get("level") or Level.STREET
    if level not in Level.values:
        level = Level.STREET
    period_text = (request.GET.get("period") or "").strip() or timezone.localdate().strftime("%Y-%m")
    error = ""
    try:
        period = parse_period(period_text)
    except ServiceError as exc:
        error, period = exc.message, parse_period(timezone.localdate().strftime("%Y-%m"))
    rows = selectors.scores(user, level, period.first, period.last)
    status = 422 if error else 200
    return render(
        request,
        "web/assessment/scores.html",
        {
            "rows": rows,
            "level": level,
            "levels": [(v, Level(v).label) for v in LEVELS],
            "period": period,
            "period_text": period_text,
            "error": error,
            "active_nav": "assessment:scores",
        },
        status=status,
    )


def _may_score(user) -> bool:
    return selectors.may_view_scores(user)


# --- the rectification office's plans ---------------------------------------------------------------

MAX_GRID_CODES = 500


def _may_plan(user) -> bool:
    """The rectification office's page (the system administrator keeps plans in the admin)."""
    return user.has_role(Role.RECTIFICATION) and can(user, "add", AssessmentPlan)


class PlanForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("计划名称"), max_length=100)
    team = forms.TypedChoiceField(label=gettext_lazy("考核组"), coerce=int)
    checklist = forms.TypedChoiceField(label=gettext_lazy("考核清单"), coerce=int)
    first_day = forms.DateField(
        label=gettext_lazy("开始日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    last_day = forms.DateField(label=gettext_lazy("结束日期"), widget=forms.DateInput(attrs={"type": "date"}))
    regions = forms.TypedMultipleChoiceField(
        label=gettext_lazy("街道或社区"),
        coerce=int,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 10}),
        help_text=gettext_lazy("所选街道、社区的全部网格都在计划内；按住 Ctrl 可多选"),
    )
    grid_codes = forms.CharField(
        label=gettext_lazy("另加网格编码"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("逗号、空格或换行分隔"),
    )
    note = forms.CharField(
        label=gettext_lazy("说明"),
        required=False,
        max_length=services.MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    # The service's error codes → the field they are about.
    FIELDS = {
        "name_required": "name",
        "bad_days": "last_day",
        "unknown_team": "team",
        "unknown_checklist": "checklist",
        "no_grids": "regions",
        "unknown_place": "regions",
    }

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        choices = selectors.plan_choices(user)
        self.fields["team"].choices = choices["teams"]
        self.fields["checklist"].choices = choices["checklists"]
        self.fields["regions"].choices = choices["regions"]

    def clean_grid_codes(self) -> list[int]:
        codes = sorted(set(re.split(r"[\s,，、;；]+", self.cleaned_data["grid_codes"].strip())) - {""})
        if len(codes) > MAX_GRID_CODES:
            raise forms.ValidationError(_("一次最多 %(n)d 个网格编码") % {"n": MAX_GRID_CODES})
        found = selectors.grids_by_code(self.user, codes)
        unknown = [c for c in codes if c not in found]
        if unknown:
            raise forms.ValidationError(
                _("以下网格编码不存在或不在您的管辖范围内：%s") % "、".join(unknown[:10])
            )
        return [found[c] for c in codes]

    def submit(self):
        data = self.cleaned_data
        try:
            return services.plan_create(
                self.user,
                name=data["name"],
                team_id=data["team"],
                checklist_id=data["checklist"],
                first_day=data["first_day"],
                last_day=data["last_day"],
                grid_ids=data["grid_codes"],
                region_ids=data["regions"],
                note=data["note"],
            )
        except ServiceError as exc:
            self.add_error(self.FIELDS.get(exc.code), exc.message)
            return None


@login_required
@require_http_methods(["GET", "POST"])
def plan_list(request):
    """The rectification office's plans: the plans in its jurisdiction and a form for a new one."""
    user = request.user
    if not _may_plan(user):
        raise PermissionDenied(_("您的角色不能制定考核计划"))
    form = PlanForm(user, request.POST or None)
    status = 200
    if request.method == "POST":
        plan = form.submit() if form.is_valid() else None
        if plan is not None:
            messages.success(request, _("已制定考核计划“%s”") % plan.name)
            return redirect(reverse("web:assessment_plan_list") + f"#plan-{plan.pk}")
        status = 422
    return render(
        request,
        "web/assessment/plan_list.html",
        {"form": form, "plans": selectors.office_plans(user), "active_nav": "assessment:plan_list"},
        status=status,
    )


NAV = [
    NavItem(
        label=gettext_lazy("考核计划"),
        url_name="web:assessment_plans",
        allowed=_is_assessor,
        order=14,
        key=f"workbench:{Role.ASSESSOR}",
    ),
    NavItem(
        label=gettext_lazy("考核计划管理"),
        url_name="web:assessment_plan_list",
        allowed=_may_plan,
        order=59,
        key="assessment:plan_list",
    ),
    NavItem(
        label=gettext_lazy("考核得分"),
        url_name="web:assessment_scores",
        allowed=_may_score,
        order=60,
        key="assessment:scores",
    ),
]

urlpatterns = [
    path("assessment/", plans, name="assessment_plans"),
    path("assessment/plans/<int:plan_id>/start/", start, name="assessment_start"),
    path("assessment/records/<int:pk>/", record_page, name="assessment_record"),
    path("assessment/records/<int:pk>/items/<int:item_id>/", tick, name="assessment_tick"),
    path("assessment/records/<int:pk>/items/<int:item_id>/remove/", untick, name="assessment_untick"),
    path("assessment/records/<int:pk>/submit/", submit, name="assessment_submit"),
    path("assessment/findings/<int:finding_id>/case/", report, name="assessment_report"),
    path("assessment/photos/<int:photo_id>/<slug:size>/", photo, name="assessment_photo"),
    path("assessment/scores/", scores, name="assessment_scores"),
    path("assessment/plans/", plan_list, name="assessment_plan_list"),
]
