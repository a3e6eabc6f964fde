"""Evaluation in the admin: the scoring configuration (edited by the system administrator,
audited) and the published snapshots (read-only: a correction is a recompute, never an edit)."""

from django.contrib import admin

from chengguan.core.admin import ChokepointAdmin

from .models import GradeCutoff, GradeScale, ScoreBand, ScoreScheme, ScoreWeight, Snapshot


class WeightInline(admin.TabularInline):
    model = ScoreWeight
    extra = 0


class BandInline(admin.TabularInline):
    model = ScoreBand
    extra = 0


class CutoffInline(admin.TabularInline):
    model = GradeCutoff
    extra = 0


@admin.register(ScoreScheme)
class ScoreSchemeAdmin(ChokepointAdmin):
    list_display = ("object_type", "effective_from", "name")
    list_filter = ("object_type",)
    inlines = [WeightInline, BandInline]


@admin.register(GradeScale)
class GradeScaleAdmin(ChokepointAdmin):
    list_display = ("effective_from", "name")
    inlines = [CutoffInline]


@admin.register(Snapshot)
class SnapshotAdmin(ChokepointAdmin):
    list_display = ("period", "version", "current", "published_at", "published_by", "reason")
    list_filter = ("current",)
    search_fields = ("period",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Snapshot._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
