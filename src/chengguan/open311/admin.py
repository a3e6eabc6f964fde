"""Open311 keys in the back office: listed, renamed and revoked here; issued on the command line
(`chengguan open311 key create NAME`), which shows the key once. The digest is never shown."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from chengguan.core.admin import ChokepointAdmin
from chengguan.core.permissions import visible

from .keys import key_revoke
from .models import Open311Key


@admin.register(Open311Key)
class Open311KeyAdmin(ChokepointAdmin):
    list_display = ("name", "prefix", "created_at", "last_used_at", "revoked_at", "submission_count")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("prefix", "name")
    fields = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(submission_total=Count("submissions"))

    @admin.display(description=_("上报案件数"), ordering="submission_total")
    def submission_count(self, obj):
        return obj.submission_total

    def has_add_permission(self, request):
        return False  # the key could only be shown through the session: issue keys on the CLI

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the record stays for the audit trail and its cases

    @admin.action(description=_("撤销 · revoke"), permissions=["change"])
    def revoke(self, request, queryset):
        chosen = visible(request.user, Open311Key, "change", queryset).filter(revoked_at__isnull=True)
        count = 0
        for key in chosen:
            key_revoke(key)
            count += 1
        self.message_user(
            request,
            _("已撤销 %(count)d 个密钥 · %(count)d key(s) revoked") % {"count": count},
            messages.SUCCESS,
        )
