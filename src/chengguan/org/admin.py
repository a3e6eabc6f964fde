import re

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from chengguan.core import audit
from chengguan.core.admin import ChokepointAdmin
from chengguan.core.masking import mask_phone
from chengguan.core.models import AuditAction
from chengguan.core.permissions import visible

from .models import ApiToken, Department, Person, Region, RoleGrant, UserSession, phone_index
from .sessions import end_session, end_sessions, session_label
from .tokens import token_revoke

PHONE_TERM = re.compile(r"^\+?[\d\s-]{7,24}$")


@admin.register(Region)
class RegionAdmin(ChokepointAdmin):
    list_display = ("code", "name", "level", "kind", "parent", "area_m2")
    list_filter = ("level", "kind")
    search_fields = ("code", "name")
    readonly_fields = ("area_m2", "geometry")
    raw_id_fields = ("parent",)


@admin.register(Department)
class DepartmentAdmin(ChokepointAdmin):
    list_display = ("code", "name", "kind", "parent", "region", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    raw_id_fields = ("parent", "region")


@admin.register(RoleGrant)
class RoleGrantAdmin(ChokepointAdmin):
    list_display = ("role", "__str__")

    def has_add_permission(self, request):
        return False  # roles are the fixed set of the standard workflow

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Person)
class PersonAdmin(ChokepointAdmin, UserAdmin):
    list_display = ("username", "full_name", "department", "role_list", "citywide", "is_active")
    list_filter = ("roles", "citywide", "is_active", "department__kind")
    # The phone is encrypted: a search term that is a phone number finds it by its keyed hash.
    search_fields = ("username", "full_name")
    filter_horizontal = ("roles", "regions", "departments")
    raw_id_fields = ("department",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("个人信息"), {"fields": ("full_name", "phone", "email", "department")}),
        (_("角色与管辖范围"), {"fields": ("roles", "citywide", "regions", "departments")}),
        (_("状态"), {"fields": ("is_active", "is_staff", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "full_name", "department", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined", "password_changed_at", "phone_masked")
    actions = ["end_all_sessions"]

    @admin.display(description=_("手机号"))
    def phone_masked(self, obj):
        return mask_phone(obj.phone) or "—"

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        # Those who may only look at a person see the phone masked.
        return [
            (name, {**opts, "fields": tuple("phone_masked" if f == "phone" else f for f in opts["fields"])})
            for name, opts in fieldsets
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        obj = (
            getattr(response, "context_data", {}).get("original")
            if hasattr(response, "context_data")
            else None
        )
        if (
            request.method == "GET"
            and obj is not None
            and obj.phone
            and self.has_change_permission(request, obj)
        ):
            # The change form shows the phone in full to whoever manages the person: audited.
            audit.write(
                AuditAction.VIEW_PERSONAL, Person._meta.label, obj.pk, str(obj), {"fields": ["phone"]}
            )
        return response

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if PHONE_TERM.match(search_term.strip()):
            results |= queryset.filter(phone_index=phone_index(search_term))
        return results, may_have_duplicates

    @admin.action(description=_("结束其全部登录会话 · end all their sessions"), permissions=["change"])
    def end_all_sessions(self, request, queryset):
        count = 0
        for person in visible(request.user, Person, "change", queryset):
            count += end_sessions(person, keep=request.session.session_key, reason="admin")
        self.message_user(
            request,
            _("已结束 %(count)d 个会话 · %(count)d session(s) ended") % {"count": count},
            messages.SUCCESS,
        )

    @admin.display(description=_("角色"))
    def role_list(self, obj):
        return "、".join(str(r) for r in obj.roles.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("roles").select_related("department")


@admin.register(ApiToken)
class ApiTokenAdmin(ChokepointAdmin):
    """Tokens are issued on the command line (`chengguan token create`), which shows the token once;
    here they are listed, renamed, given an expiry and revoked. The digest is never shown."""

    list_display = ("person", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), ("expires_at", admin.EmptyFieldListFilter))
    search_fields = ("prefix", "name", "person__username", "person__full_name")
    fields = ("person", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = ("person", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("person")

    def has_add_permission(self, request):
        return False  # the plaintext could only be shown through the session: issue tokens on the CLI

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the record stays for the audit trail

    @admin.action(description=_("撤销 · revoke"), permissions=["change"])
    def revoke(self, request, queryset):
        chosen = visible(request.user, ApiToken, "change", queryset).filter(revoked_at__isnull=True)
        count = 0
        for token in chosen:
            token_revoke(token)
            count += 1
        self.message_user(
            request,
            _("已撤销 %(count)d 个令牌 · %(count)d token(s) revoked") % {"count": count},
            messages.SUCCESS,
        )


@admin.register(UserSession)
class UserSessionAdmin(ChokepointAdmin):
    """Who is logged in, from where; the security administrator ends a session here (its person is
    logged out at their next request). The session key itself is never shown."""

    list_display = ("person", "label", "created_at", "ip", "user_agent")
    list_filter = ("created_at",)
    search_fields = ("person__username", "person__full_name", "ip")
    fields = ("person", "label", "created_at", "ip", "user_agent")
    readonly_fields = fields
    actions = ["end_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("person")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # ending deletes the session too: use the action below
        return actions

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("会话标识"))
    def label(self, obj):
        return session_label(obj.session_key)

    def delete_model(self, request, obj):
        end_session(obj.session_key, reason="admin")

    @admin.action(description=_("结束所选会话 · end the selected sessions"), permissions=["delete"])
    def end_selected(self, request, queryset):
        chosen = list(visible(request.user, UserSession, "delete", queryset))
        for row in chosen:
            end_session(row.session_key, reason="admin")
        self.message_user(
            request,
            _("已结束 %(count)d 个会话 · %(count)d session(s) ended") % {"count": len(chosen)},
            messages.SUCCESS,
        )
