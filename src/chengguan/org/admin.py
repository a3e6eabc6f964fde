from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from chengguan.core.admin import ChokepointAdmin

from .models import Department, Person, Region, RoleGrant


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
    search_fields = ("username", "full_name", "phone")
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
    readonly_fields = ("last_login", "date_joined")

    @admin.display(description=_("角色"))
    def role_list(self, obj):
        return "、".join(str(r) for r in obj.roles.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("roles").select_related("department")
