"""The outbox in the back office: read-only lists of notifications and periodic job schedules, through
the permission chokepoint (a person outside the city-wide scope sees only their own)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from chengguan.core.admin import ChokepointAdmin

from .choices import DeliveryState
from .models import Notification, PeriodicSchedule


class ReadOnlyMixin:
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeliveryStateFilter(admin.SimpleListFilter):
    title = _("发送状态")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return DeliveryState.choices

    def queryset(self, request, queryset):
        value = self.value()
        if value == DeliveryState.SENT:
            return queryset.filter(sent_at__isnull=False)
        if value == DeliveryState.FAILED:
            return queryset.filter(failed_at__isnull=False)
        if value == DeliveryState.PENDING:
            return queryset.filter(sent_at__isnull=True, failed_at__isnull=True)
        return queryset


@admin.register(Notification)
class NotificationAdmin(ReadOnlyMixin, ChokepointAdmin):
    list_display = (
        "created_at",
        "recipient",
        "channel",
        "kind",
        "title",
        "state_label",
        "attempts",
        "sent_at",
        "read_at",
    )
    list_filter = ("channel", DeliveryStateFilter, "kind")
    search_fields = ("title", "kind", "dedupe_key", "recipient__username", "recipient__full_name")
    list_select_related = ("recipient",)
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")

    @admin.display(description=_("发送状态"))
    def state_label(self, obj) -> str:
        return str(DeliveryState(obj.state).label)


@admin.register(PeriodicSchedule)
class PeriodicScheduleAdmin(ReadOnlyMixin, ChokepointAdmin):
    list_display = ("name", "next_run_at", "last_enqueued_at")
