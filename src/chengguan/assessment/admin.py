"""Grid assessment in the admin: teams, checklists (with their items), weights and plans are
maintained by the system administrator (audited); records and findings are read here and written
only through the services (the phone pages and the API)."""

from django.contrib import admin

from chengguan.core.admin import ChokepointAdmin

from .models import (
    AssessmentPlan,
    AssessmentRecord,
    AssessmentTeam,
    AssessmentWeight,
    Checklist,
    ChecklistItem,
    Finding,
)


class ItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0


@admin.register(Checklist)
class ChecklistAdmin(ChokepointAdmin):
    list_display = ("code", "name", "effective_from", "local_default", "active")
    inlines = [ItemInline]


@admin.register(AssessmentTeam)
class AssessmentTeamAdmin(ChokepointAdmin):
    list_display = ("name", "region", "leader", "active")
    filter_horizontal = ("members",)
    raw_id_fields = ("leader",)


@admin.register(AssessmentWeight)
class AssessmentWeightAdmin(ChokepointAdmin):
    list_display = ("level", "effective_from", "weight")
    list_filter = ("level",)


@admin.register(AssessmentPlan)
class AssessmentPlanAdmin(ChokepointAdmin):
    list_display = ("name", "team", "checklist", "first_day", "last_day", "active")
    list_filter = ("team", "active")
    raw_id_fields = ("grids", "regions", "created_by")


class FindingInline(admin.TabularInline):
    model = Finding
    extra = 0
    fields = ("item", "deduction", "note", "case")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AssessmentRecord)
class AssessmentRecordAdmin(ChokepointAdmin):
    list_display = ("grid", "day", "assessor", "status", "score")
    list_filter = ("status",)
    date_hierarchy = "day"
    inlines = [FindingInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
