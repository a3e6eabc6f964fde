"""Admin for core records, and `ChokepointAdmin`: the base of every admin page in the project.

The admin asks the same chokepoint as the API and pages: the role table for actions (through
`RoleBackend`) and the jurisdiction policy for records, so an administrator of one street sees
that street's records and nothing else.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import AuditLog, AuditSeal, CalendarOverride, WorkPeriod
from .permissions import visible


class ChokepointAdmin(admin.ModelAdmin):
    """A ModelAdmin whose records and object permissions come from the permission chokepoint."""

    def get_queryset(self, request):
        return visible(request.user, self.model, "view", super().get_queryset(request))

    def _allowed(self, request, action: str, obj) -> bool:
        if not request.user.has_perm(f"{self.opts.app_label}.{action}_{self.opts.model_name}"):
            return False
        if obj is None:
            return True
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


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(ChokepointAdmin):
    list_display = ("date", "kind", "note")
    list_filter = ("kind",)
    date_hierarchy = "date"


@admin.register(WorkPeriod)
class WorkPeriodAdmin(ChokepointAdmin):
    list_display = ("start", "end")


admin.site.empty_value_display = _("（空）")
