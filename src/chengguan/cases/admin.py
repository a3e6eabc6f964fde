"""Cases in the admin: read-only (a case changes only through its workflow services); routing
rules are configuration an administrator edits."""

from django.contrib import admin

from chengguan.core.admin import ChokepointAdmin

from .models import Case, CaseEvent, CaseRequest, CaseStage, CaseTask, RoutingRule


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EventInline(_ReadOnlyInline):
    model = CaseEvent
    fields = ("at", "action", "actor_name", "from_status", "to_status", "note")
    readonly_fields = fields


class StageInline(_ReadOnlyInline):
    model = CaseStage
    fields = ("stage", "status", "started_at", "deadline", "ended_at", "on_time")
    readonly_fields = fields


class TaskInline(_ReadOnlyInline):
    model = CaseTask
    fields = ("department", "role", "status", "deadline", "signed_at", "done_at", "on_time", "current")
    readonly_fields = fields


class RequestInline(_ReadOnlyInline):
    model = CaseRequest
    fields = ("kind", "status", "department", "requested_at", "reason", "planned_fix_date", "decided_at")
    readonly_fields = fields


@admin.register(Case)
class CaseAdmin(ChokepointAdmin):
    list_display = (
        "number",
        "minor_class",
        "status",
        "street",
        "lead_department",
        "stage_deadline",
        "overdue",
        "created_at",
    )
    list_filter = ("status", "source", "overdue", "urgency", "street")
    search_fields = ("number", "description", "address")
    date_hierarchy = "created_at"
    list_select_related = ("minor_class", "street", "lead_department")
    inlines = [StageInline, TaskInline, RequestInline, EventInline]
    exclude = ("reporter_name", "reporter_phone")  # personal data stays out of the admin

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Case._meta.fields if f.name not in self.exclude]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RoutingRule)
class RoutingRuleAdmin(ChokepointAdmin):
    list_display = ("minor_class", "region", "department", "note")
    list_filter = ("department",)
    raw_id_fields = ("minor_class", "region", "department")
