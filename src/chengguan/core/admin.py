"""Admin for core records, and `ChokepointAdmin`: the base of every admin page in the project.

The admin asks the same chokepoint as the API and pages: the role table for actions (through
`RoleBackend`) and the jurisdiction policy for records, so an administrator of one street sees
that street's records and nothing else.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from . import services
from .calendar import WEEKDAY_NAMES
from .models import AuditLog, AuditSeal, CalendarDayKind, CalendarOverride, WorkPeriod
from .permissions import scope_allows, visible


class ChokepointAdmin(admin.ModelAdmin):
    """A ModelAdmin whose records and object permissions come from the permission chokepoint."""

    def get_queryset(self, request):
        return visible(request.user, self.model, "view", super().get_queryset(request))

    def _allowed(self, request, action: str, obj) -> bool:
        if not request.user.has_perm(f"{self.opts.app_label}.{action}_{self.opts.model_name}"):
            return False
        if obj is None:  # adding one, the list's actions: a shared registry only city-wide
            # (a superuser passes has_perm without a role, as Django has it: the bootstrap account)
            return request.user.is_superuser or scope_allows(request.user, action, self.model)
        return visible(request.user, self.model, action).filter(pk=obj.pk).exists()

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, "view", obj) or self._allowed(request, "change", obj)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, "change", obj)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, "delete", obj)

    def has_add_permission(self, request):
        return self._allowed(request, "add", None)


@admin.register(AuditLog)
class AuditLogAdmin(ChokepointAdmin):
    list_display = (
        "at",
        "actor_name",
        "action",
        "model",
        "object_id",
        "object_repr",
        "ip",
        "request_id",
        "digest",
    )
    list_filter = ("action", "model", "via")
    search_fields = ("actor_name", "object_repr", "object_id", "request_id")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditSeal)
class AuditSealAdmin(ChokepointAdmin):
    list_display = ("upto_id", "rows", "chain", "sealed_at")
    date_hierarchy = "sealed_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ScheduleUploadForm(forms.Form):
    """A schedule file, or (loading what was just checked) the same file's text sent back."""

    schedule = forms.FileField(
        label=_("放假安排文件"),
        required=False,
        help_text=_("CSV（表头 date,kind,note，UTF-8）或 JSON；kind 为 holiday/休息日 或 workday/工作日"),
    )
    content = forms.CharField(widget=forms.HiddenInput, required=False, strip=False)
    filename = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean(self):
        data = super().clean()
        if not data.get("schedule") and not data.get("content"):
            raise forms.ValidationError(_("请选择放假安排文件"))
        return data

    def schedule_bytes(self) -> tuple[bytes, str]:
        upload = self.cleaned_data.get("schedule")
        if upload:
            return upload.read(services.MAX_BYTES + 1), upload.name
        return self.cleaned_data["content"].encode(), self.cleaned_data.get("filename") or "schedule.csv"


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(ChokepointAdmin):
    list_display = ("date", "kind", "note")
    list_filter = ("kind",)
    date_hierarchy = "date"
    change_list_template = "admin/core/calendaroverride/change_list.html"

    def can_import(self, request) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {**(extra_context or {}), "can_import": self.can_import(request)}
        )

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="core_calendaroverride_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """Check a year's holiday schedule file and show its days, or load it (core.services)."""
        if not self.can_import(request):
            raise PermissionDenied
        days, problems, checked = None, [], None
        form = ScheduleUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data, name = form.schedule_bytes()
            try:
                days = services.schedule_parse(data, name)
                result = services.schedule_load(days) if "load" in request.POST else None
            except services.ScheduleError as exc:
                days, problems, result = None, exc.messages, None
            if days is not None:  # checked: the same text can be loaded without choosing the file again
                checked = ScheduleUploadForm(initial={"content": data.decode("utf-8-sig"), "filename": name})
            if result is not None:
                self.message_user(
                    request,
                    _("已载入 %(n)d 天：新增 %(created)d，修改 %(updated)d，未变 %(unchanged)d")
                    % {
                        "n": len(days),
                        "created": result.created,
                        "updated": result.updated,
                        "unchanged": result.unchanged,
                    },
                    messages.SUCCESS,
                )
                return redirect(
                    reverse("admin:core_calendaroverride_changelist") + f"?date__year={result.years[0]}"
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("导入放假安排"),
            "form": form,
            "checked": checked,
            "problems": problems,
            "days": [
                (d, WEEKDAY_NAMES[d.date.weekday()], d.kind == CalendarDayKind.WORKDAY) for d in days or ()
            ],
        }
        return TemplateResponse(request, "admin/core/calendaroverride/import.html", context)


@admin.register(WorkPeriod)
class WorkPeriodAdmin(ChokepointAdmin):
    list_display = ("start", "end")


admin.site.empty_value_display = _("（空）")
