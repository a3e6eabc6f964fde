from django.contrib import admin

from chengguan.core.admin import ChokepointAdmin

from .models import GridLattice, GridResponsibility, UnitGrid


class GridResponsibilityInline(admin.TabularInline):
    model = GridResponsibility
    extra = 0
    raw_id_fields = ("person",)


@admin.register(UnitGrid)
class UnitGridAdmin(ChokepointAdmin):
    list_display = ("code", "community", "street", "district", "area_m2", "generated")
    list_filter = ("generated", "street", "district")
    search_fields = ("code", "community__name", "community__code")
    readonly_fields = ("street", "district", "area_m2", "geometry", "generated")
    raw_id_fields = ("community",)
    inlines = [GridResponsibilityInline]
    list_select_related = ("community", "street", "district")


@admin.register(GridResponsibility)
class GridResponsibilityAdmin(ChokepointAdmin):
    list_display = ("grid", "duty", "person")
    list_filter = ("duty",)
    search_fields = ("grid__code", "person__username", "person__full_name")
    raw_id_fields = ("grid", "person")
    list_select_related = ("grid", "person")


@admin.register(GridLattice)
class GridLatticeAdmin(ChokepointAdmin):
    list_display = ("cell_m", "x0", "y0", "dx", "dy", "created_at")
    readonly_fields = ("cell_m", "x0", "y0", "dx", "dy")
