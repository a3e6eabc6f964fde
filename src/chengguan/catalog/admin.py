"""Back office for the catalogue. Every page goes through the permission chokepoint
(`ChokepointAdmin`); writes that need rules go through the services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from chengguan.core.admin import ChokepointAdmin
from chengguan.core.permissions import visible

from . import selectors, services
from .models import Catalog, MajorClass, MinorClass, StageLimit


@admin.register(Catalog)
class CatalogAdmin(ChokepointAdmin):
    list_display = ("code", "name", "standard", "version", "effective_from", "active")
    list_filter = ("active",)
    search_fields = ("code", "name", "standard")
    # One catalogue is active at a time: switched by the action below, never by ticking a box.
    readonly_fields = ("active", "created_at", "updated_at")
    actions = ["activate"]

    @admin.action(description=_("设为当前目录"), permissions=["change"])
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("请只选择一个目录 · select exactly one catalogue"), messages.ERROR)
            return
        catalog = queryset.get()
        services.catalog_activate(catalog)
        self.message_user(request, _("“{catalog}”已设为当前目录").format(catalog=catalog), messages.SUCCESS)


class MinorClassInline(admin.TabularInline):
    model = MinorClass
    fields = ("code", "name", "default_department_kind", "local_extension", "active")
    show_change_link = True
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return visible(request.user, MinorClass, "view", super().get_queryset(request))

    def has_add_permission(self, request, obj=None):
        # New minor classes are added on their own page, where the pinyin key is computed.
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MajorClass)
class MajorClassAdmin(ChokepointAdmin):
    list_display = ("catalog", "kind", "code", "name")
    list_display_links = ("code", "name")
    list_filter = ("catalog", "kind")
    search_fields = ("code", "name")
    list_select_related = ("catalog",)
    inlines = [MinorClassInline]


class StageLimitInline(admin.TabularInline):
    """The limits of one minor class, answered by the chokepoint like the parent page."""

    model = StageLimit
    fields = ("stage", "urgency", "amount", "unit", "basis", "note")
    extra = 0

    def get_queryset(self, request):
        return visible(request.user, StageLimit, "view", super().get_queryset(request))

    def _allowed(self, request, action: str, obj) -> bool:
        if not request.user.has_perm(f"catalog.{action}_stagelimit"):
            return False
        return obj is None or visible(request.user, MinorClass, "change").filter(pk=obj.pk).exists()

    def has_add_permission(self, request, obj=None):
        return self._allowed(request, "add", obj)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, "change", obj)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, "delete", obj)


@admin.register(MinorClass)
class MinorClassAdmin(ChokepointAdmin):
    list_display = (
        "full_code",
        "name",
        "kind",
        "major",
        "default_department_kind",
        "local_extension",
        "active",
    )
    list_display_links = ("full_code", "name")
    list_filter = (
        "major__kind",
        "major__catalog",
        "major",
        "default_department_kind",
        "local_extension",
        "active",
    )
    search_fields = ("name", "code", "pinyin", "major__code")
    search_help_text = _("按名称、代码（如 0101）或拼音（如 jg、jinggai）搜索")
    list_select_related = ("major__catalog",)
    readonly_fields = ("pinyin", "created_at", "updated_at")
    fields = (
        "major",
        "code",
        "name",
        "pinyin",
        "registration_condition",
        "closure_condition",
        "default_department_kind",
        "local_extension",
        "active",
        "created_at",
        "updated_at",
    )
    inlines = [StageLimitInline]

    @admin.display(description=_("编码"), ordering="major__code")
    def full_code(self, obj):
        return obj.full_code

    @admin.display(description=_("部件/事件"), ordering="major__kind")
    def kind(self, obj):
        return obj.major.get_kind_display()

    def get_search_results(self, request, queryset, search_term):
        # Besides the field search, the catalogue's own matching: full code prefix ("0101") and
        # pinyin from a syllable start ("jinggai"), the same rules as the API.
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip():
            results = results | queryset.filter(selectors.minor_class_q(search_term))
        return results, may_have_duplicates

    def save_model(self, request, obj, form, change):
        services.minor_class_save(obj)


@admin.register(StageLimit)
class StageLimitAdmin(ChokepointAdmin):
    list_display = ("minor", "stage", "urgency", "amount", "unit", "basis", "note")
    list_filter = ("stage", "urgency", "unit", "basis", "minor__major__kind", "minor__major__catalog")
    search_fields = ("minor__name", "minor__pinyin", "note")
    list_select_related = ("minor__major",)
    autocomplete_fields = ("minor",)
