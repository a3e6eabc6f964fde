"""Evaluation records: per-day aggregates, scoring configuration, published snapshots.

* `DailyCounter` — (day, kind, object, counter) → n: how many events of a kind happened that
  local day for that object (reports, on-time handlings, closures…). A period's counts are sums.
* `DailyGauge` — (day, kind, object, counter) → n: a state at the END of a day (how many stages
  were open and overdue at midnight). Never summed: a period reads the gauge of its last day.
* `SettledDay` — a day whose rows were rebuilt from the raw case rows once it was over (exact);
  `FoldCursor` — how far the incremental fold has read the case events (today's figures).
* `ScoreScheme` (+ weights and count bands) and `GradeScale` (+ cut-offs): configuration with an
  effective date; a period is scored with the records in force on its first day.
* `Snapshot` (+ figures and scores): a published period, versioned; figures are never changed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from chengguan.core.models import AuditedModel

from .choices import CounterKind, Grade, ObjectType, Span, Transform


class CounterRow(models.Model):
    """A count of one counter of one evaluated object over some days (which days: the subclass)."""

    kind = models.CharField(_("对象类型"), max_length=12, choices=CounterKind.choices)
    object_id = models.IntegerField(_("对象编号"))
    counter = models.CharField(_("计数项"), max_length=32)
    n = models.IntegerField(_("数量"), default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.days_label()} {self.kind}:{self.object_id} {self.counter}={self.n}"

    def days_label(self) -> str:
        return str(self.day)


class DailyCounter(CounterRow):
    day = models.DateField(_("日期"))

    class Meta:
        verbose_name = _("日计数")
        verbose_name_plural = _("日计数")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "day", "object_id", "counter"], name="unique_daily_counter"
            )
        ]
        # A few objects over a run of days (one object's page, the people of a role, a person's
        # area) read their own rows, not every object's rows of those days.
        indexes = [models.Index(fields=["kind", "object_id", "day"], name="daily_counter_by_object")]


class DailyGauge(CounterRow):
    day = models.DateField(_("日期"))

    class Meta:
        verbose_name = _("日终状态")
        verbose_name_plural = _("日终状态")
        constraints = [
            models.UniqueConstraint(fields=["kind", "day", "object_id", "counter"], name="unique_daily_gauge")
        ]


class SettledDay(models.Model):
    day = models.DateField(_("日期"), primary_key=True)
    settled_at = models.DateTimeField(_("结算时间"))
    events = models.PositiveIntegerField(_("事件数"), default=0)

    class Meta:
        verbose_name = _("已结算日")
        verbose_name_plural = _("已结算日")
        ordering = ["-day"]

    def __str__(self) -> str:
        return str(self.day)


class Rollup(models.Model):
    """A block of days (a month, or a dekad: days 1–10, 11–20, 21–end) every day of which is
    settled, with the sums of its day counters (RollupCounter). Written in the transaction that
    settles its last day, replaced whenever one of its days is settled again; a period's counts
    read the blocks it covers whole and the day rows of the rest (selectors.read_counts)."""

    span = models.CharField(_("跨度"), max_length=8, choices=Span.choices)
    first_day = models.DateField(_("开始日期"))
    last_day = models.DateField(_("结束日期"))
    rolled_at = models.DateTimeField(_("汇总时间"))

    class Meta:
        verbose_name = _("汇总块")
        verbose_name_plural = _("汇总块")
        constraints = [models.UniqueConstraint(fields=["span", "first_day"], name="unique_rollup")]

    def __str__(self) -> str:
        return f"{self.span} {self.first_day}..{self.last_day}"


class RollupCounter(CounterRow):
    # indexed as the leading column of unique_rollup_counter
    rollup = models.ForeignKey(
        Rollup, on_delete=models.CASCADE, related_name="counters", verbose_name=_("汇总块"), db_index=False
    )

    class Meta:
        verbose_name = _("汇总计数")
        verbose_name_plural = _("汇总计数")
        constraints = [
            models.UniqueConstraint(
                fields=["rollup", "kind", "object_id", "counter"], name="unique_rollup_counter"
            )
        ]

    def days_label(self) -> str:
        return str(self.rollup)


class FoldCursor(models.Model):
    """One row: the id of the last case event folded into today's counters (the watermark)."""

    last_event_id = models.BigIntegerField(_("已汇总事件"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("汇总游标")
        verbose_name_plural = _("汇总游标")

    def __str__(self) -> str:
        return str(self.last_event_id)


# --- configuration ---------------------------------------------------------------------------------


class ScoreScheme(AuditedModel):
    """The composite score of one object type from a date on: weighted component scores."""

    object_type = models.CharField(_("评价对象"), max_length=16, choices=ObjectType.choices)
    effective_from = models.DateField(_("生效日期"))
    name = models.CharField(_("名称"), max_length=100)
    basis = models.TextField(_("依据"), blank=True)

    class Meta:
        verbose_name = _("评分方案")
        verbose_name_plural = _("评分方案")
        ordering = ["object_type", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["object_type", "effective_from"], name="unique_scheme_per_date")
        ]

    def __str__(self) -> str:
        return f"{self.get_object_type_display()} {self.effective_from} {self.name}"


class ScoreWeight(AuditedModel):
    scheme = models.ForeignKey(
        ScoreScheme, verbose_name=_("评分方案"), on_delete=models.CASCADE, related_name="weights"
    )
    indicator = models.CharField(_("指标"), max_length=32)
    weight = models.DecimalField(_("权重"), max_digits=6, decimal_places=2)
    transform = models.CharField(_("计分方式"), max_length=16, choices=Transform.choices)

    class Meta:
        verbose_name = _("指标权重")
        verbose_name_plural = _("指标权重")
        ordering = ["scheme", "id"]
        constraints = [models.UniqueConstraint(fields=["scheme", "indicator"], name="unique_weight")]

    def __str__(self) -> str:
        return f"{self.indicator} {self.weight}"


class ScoreBand(AuditedModel):
    """A count score band: a count ≥ `lower` earns `score` (the highest band reached wins; below
    every band: 0)."""

    scheme = models.ForeignKey(
        ScoreScheme, verbose_name=_("评分方案"), on_delete=models.CASCADE, related_name="bands"
    )
    indicator = models.CharField(_("指标"), max_length=32)
    lower = models.PositiveIntegerField(_("下限（含）"))
    score = models.DecimalField(_("分值"), max_digits=6, decimal_places=2)

    class Meta:
        verbose_name = _("数量分档")
        verbose_name_plural = _("数量分档")
        ordering = ["scheme", "indicator", "-lower"]
        constraints = [models.UniqueConstraint(fields=["scheme", "indicator", "lower"], name="unique_band")]

    def __str__(self) -> str:
        return f"{self.indicator} ≥{self.lower} → {self.score}"


class GradeScale(AuditedModel):
    effective_from = models.DateField(_("生效日期"), unique=True)
    name = models.CharField(_("名称"), max_length=100)

    class Meta:
        verbose_name = _("等级标准")
        verbose_name_plural = _("等级标准")
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        return f"{self.effective_from} {self.name}"


class GradeCutoff(AuditedModel):
    """A score ≥ `min_score` earns `grade` (the highest cut-off reached wins)."""

    scale = models.ForeignKey(
        GradeScale, verbose_name=_("等级标准"), on_delete=models.CASCADE, related_name="cutoffs"
    )
    grade = models.CharField(_("等级"), max_length=1, choices=Grade.choices)
    min_score = models.DecimalField(_("最低分"), max_digits=6, decimal_places=2)

    class Meta:
        verbose_name = _("等级分数线")
        verbose_name_plural = _("等级分数线")
        ordering = ["scale", "-min_score"]
        constraints = [models.UniqueConstraint(fields=["scale", "grade"], name="unique_grade_cutoff")]

    def __str__(self) -> str:
        return f"{self.grade} ≥{self.min_score}"


# --- snapshots ----------------------------------------------------------------------------------------


class Snapshot(AuditedModel):
    """A published period: one version of its figures. A recompute adds the next version and
    marks this one superseded; figures are never changed or deleted."""

    period = models.CharField(_("期间"), max_length=32, db_index=True)
    first_day = models.DateField(_("开始日期"))
    last_day = models.DateField(_("结束日期"))
    version = models.PositiveIntegerField(_("版本"))
    current = models.BooleanField(_("当前版本"), default=True)
    published_at = models.DateTimeField(_("发布时间"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发布人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.TextField(_("说明"), blank=True)
    config = models.JSONField(_("所用评分配置"), default=dict, blank=True)

    class Meta:
        verbose_name = _("评价快照")
        verbose_name_plural = _("评价快照")
        ordering = ["-first_day", "period", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["period", "version"], name="unique_snapshot_version"),
            models.UniqueConstraint(
                fields=["period"], condition=models.Q(current=True), name="one_current_snapshot"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} v{self.version}"


class _FrozenQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("published figures are never changed")

    def delete(self):
        raise PermissionError("published figures are never deleted")


class _FrozenModel(models.Model):
    objects = _FrozenQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("published figures are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("published figures are never deleted")


class SnapshotFigure(_FrozenModel):
    snapshot = models.ForeignKey(
        Snapshot, verbose_name=_("快照"), on_delete=models.PROTECT, related_name="figures"
    )
    object_type = models.CharField(_("评价对象"), max_length=16, choices=ObjectType.choices)
    object_id = models.IntegerField(_("对象编号"))
    indicator = models.CharField(_("指标"), max_length=32)
    numerator = models.IntegerField(_("分子"))
    denominator = models.IntegerField(_("分母"), null=True)  # None: a count
    value = models.DecimalField(_("数值"), max_digits=14, decimal_places=6, null=True)

    class Meta:
        verbose_name = _("快照指标")
        verbose_name_plural = _("快照指标")
        indexes = [models.Index(fields=["snapshot", "object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.snapshot} {self.object_type}:{self.object_id} {self.indicator}"


class SnapshotScore(_FrozenModel):
    snapshot = models.ForeignKey(
        Snapshot, verbose_name=_("快照"), on_delete=models.PROTECT, related_name="scores"
    )
    object_type = models.CharField(_("评价对象"), max_length=16, choices=ObjectType.choices)
    object_id = models.IntegerField(_("对象编号"))
    object_name = models.CharField(_("对象名称"), max_length=200)
    score = models.DecimalField(_("综合得分"), max_digits=6, decimal_places=2, null=True)
    grade = models.CharField(_("等级"), max_length=1, blank=True)
    rank = models.PositiveIntegerField(_("排名"), null=True)

    class Meta:
        verbose_name = _("快照得分")
        verbose_name_plural = _("快照得分")
        indexes = [models.Index(fields=["snapshot", "object_type", "rank"])]

    def __str__(self) -> str:
        return f"{self.snapshot} {self.object_type}:{self.object_id} {self.score}"


class SnapshotCase(_FrozenModel):
    """What one case counted in a published period's report overview — 受理, 立案, 结案, 按期结案,
    and open and overdue at the period's end — with its source and kind (事件/部件) as they were
    then. The report of a published period splits its totals from these rows, never from today's
    cases (a case reclassified later does not move between the published splits)."""

    snapshot = models.ForeignKey(
        Snapshot, verbose_name=_("快照"), on_delete=models.PROTECT, related_name="cases"
    )
    case_id = models.BigIntegerField(_("案件编号"))
    source = models.CharField(_("来源"), max_length=16)
    kind = models.CharField(_("类型"), max_length=16)
    accepted = models.PositiveSmallIntegerField(_("受理"), default=0)
    registered = models.PositiveSmallIntegerField(_("立案"), default=0)
    closed = models.PositiveSmallIntegerField(_("结案"), default=0)
    closed_on_time = models.PositiveSmallIntegerField(_("按期结案"), default=0)
    overdue_open = models.PositiveSmallIntegerField(_("期末超期未结"), default=0)

    class Meta:
        verbose_name = _("快照案件")
        verbose_name_plural = _("快照案件")
        indexes = [models.Index(fields=["snapshot", "case_id"])]

    def __str__(self) -> str:
        return f"{self.snapshot} case {self.case_id}"
