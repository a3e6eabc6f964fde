"""Grid assessment records (网格化检查考核, mission M2a).

* `AssessmentTeam` — the assessment team (考核组): its members inspect grids on a plan.
* `Checklist` + `ChecklistItem` — configuration: what is checked and how many points each failed
  item deducts (loaded from a fixture, edited in the admin).
* `AssessmentPlan` — which grids (listed, or every grid of the communities and streets named),
  between which days, by which team, with which checklist.
* `AssessmentRecord` — one grid inspected by one team member: the items failed (`Finding`, each
  with its note and photos) and, once submitted, the score = 100 − the deductions, at least 0.
* `Finding` — one failed item; one action turns it into a case (`case`, linked both ways:
  `case.assessment_finding`).
* `AssessmentWeight` — configuration with an effective date: the share of the assessment score
  in a region's composite evaluation score.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from chengguan.core.models import AuditedModel

from .choices import ItemCategory, Level, RecordStatus


class AssessmentTeam(AuditedModel):
    name = models.CharField(_("名称"), max_length=100, unique=True)
    region = models.ForeignKey(
        "org.Region",
        verbose_name=_("负责区域"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("留空表示全市"),
    )
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("组长"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("成员"), blank=True, related_name="assessment_teams"
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("考核组")
        verbose_name_plural = _("考核组")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Checklist(AuditedModel):
    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    effective_from = models.DateField(_("生效日期"))
    basis = models.TextField(_("依据"), blank=True)
    local_default = models.BooleanField(
        _("本地默认"), default=False, help_text=_("参考清单：扣分值为本地默认值，启用前请按本地规定核对")
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("考核清单")
        verbose_name_plural = _("考核清单")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class ChecklistItem(AuditedModel):
    checklist = models.ForeignKey(
        Checklist, verbose_name=_("考核清单"), on_delete=models.CASCADE, related_name="items"
    )
    code = models.CharField(_("编码"), max_length=16)
    category = models.CharField(_("类别"), max_length=16, choices=ItemCategory.choices)
    name = models.CharField(_("检查项"), max_length=100)
    standard = models.TextField(_("标准"), blank=True)
    deduction = models.DecimalField(
        _("扣分"),
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    # The case class a finding of this item is reported as (CJ/T 214 kind and 4-digit code),
    # looked up in the active catalogue when the case is made.
    case_kind = models.CharField(_("案件大类类型"), max_length=16, blank=True)
    case_code = models.CharField(_("案件小类代码"), max_length=8, blank=True)
    order = models.PositiveIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("考核项")
        verbose_name_plural = _("考核项")
        ordering = ["checklist", "order", "code"]
        constraints = [models.UniqueConstraint(fields=["checklist", "code"], name="unique_checklist_item")]

    def __str__(self) -> str:
        return f"{self.code} {self.name} (−{self.deduction})"


class AssessmentPlan(AuditedModel):
    name = models.CharField(_("名称"), max_length=100)
    team = models.ForeignKey(
        AssessmentTeam, verbose_name=_("考核组"), on_delete=models.PROTECT, related_name="plans"
    )
    checklist = models.ForeignKey(
        Checklist, verbose_name=_("考核清单"), on_delete=models.PROTECT, related_name="plans"
    )
    first_day = models.DateField(_("开始日期"))
    last_day = models.DateField(_("结束日期"))
    grids = models.ManyToManyField("grid.UnitGrid", verbose_name=_("网格"), blank=True, related_name="+")
    regions = models.ManyToManyField(
        "org.Region",
        verbose_name=_("社区/街道"),
        blank=True,
        related_name="+",
        help_text=_("这些社区或街道的全部网格"),
    )
    note = models.TextField(_("说明"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("制定人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("考核计划")
        verbose_name_plural = _("考核计划")
        ordering = ["-first_day", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(last_day__gte=models.F("first_day")), name="plan_days_in_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.first_day}–{self.last_day})"


class AssessmentRecord(AuditedModel):
    plan = models.ForeignKey(
        AssessmentPlan, verbose_name=_("考核计划"), on_delete=models.PROTECT, related_name="records"
    )
    grid = models.ForeignKey(
        "grid.UnitGrid", verbose_name=_("网格"), on_delete=models.PROTECT, related_name="+"
    )
    # The grid's places, copied when the record starts (scores per level read them directly).
    community = models.ForeignKey(
        "org.Region", verbose_name=_("社区"), on_delete=models.PROTECT, related_name="+", editable=False
    )
    street = models.ForeignKey(
        "org.Region", verbose_name=_("街道"), on_delete=models.PROTECT, related_name="+", editable=False
    )
    district = models.ForeignKey(
        "org.Region", verbose_name=_("区/县"), on_delete=models.PROTECT, related_name="+", editable=False
    )
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("考核员"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=RecordStatus.choices, default=RecordStatus.DRAFT
    )
    day = models.DateField(_("检查日期"), db_index=True)
    started_at = models.DateTimeField(_("开始时间"))
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    deductions = models.DecimalField(_("扣分合计"), max_digits=6, decimal_places=1, null=True, blank=True)
    score = models.DecimalField(_("得分"), max_digits=5, decimal_places=1, null=True, blank=True)
    note = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("考核记录")
        verbose_name_plural = _("考核记录")
        ordering = ["-started_at", "-id"]
        constraints = [
            # A double tap on "start" gives back the open record instead of a second one.
            models.UniqueConstraint(
                fields=["plan", "grid", "assessor"],
                condition=Q(status="draft"),
                name="one_open_record_per_grid",
            )
        ]
        indexes = [models.Index(fields=["status", "day"], name="assessment_status_day")]

    def __str__(self) -> str:
        return f"{self.grid_id} {self.day} {self.get_status_display()}"


class Finding(AuditedModel):
    record = models.ForeignKey(
        AssessmentRecord, verbose_name=_("考核记录"), on_delete=models.CASCADE, related_name="findings"
    )
    item = models.ForeignKey(
        ChecklistItem, verbose_name=_("考核项"), on_delete=models.PROTECT, related_name="+"
    )
    # Copied from the item when ticked: a later change of the checklist does not move past scores.
    deduction = models.DecimalField(_("扣分"), max_digits=4, decimal_places=1)
    note = models.TextField(_("情况说明"), blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    case = models.OneToOneField(
        "cases.Case",
        verbose_name=_("案件"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assessment_finding",
    )

    class Meta:
        verbose_name = _("扣分项")
        verbose_name_plural = _("扣分项")
        ordering = ["record", "item__order", "id"]
        constraints = [models.UniqueConstraint(fields=["record", "item"], name="one_finding_per_item")]

    def __str__(self) -> str:
        return f"{self.item} {self.note[:20]}"


class FindingPhoto(models.Model):
    finding = models.ForeignKey(
        Finding, verbose_name=_("扣分项"), on_delete=models.CASCADE, related_name="photos"
    )
    image = models.CharField(_("图片"), max_length=255)
    thumbnail = models.CharField(_("缩略图"), max_length=255)
    width = models.PositiveIntegerField(_("宽"))
    height = models.PositiveIntegerField(_("高"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    taken_at = models.DateTimeField(_("拍摄时间"), null=True, blank=True)
    uploaded_at = models.DateTimeField(_("上传时间"))

    class Meta:
        verbose_name = _("扣分项照片")
        verbose_name_plural = _("扣分项照片")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.image


class AssessmentWeight(AuditedModel):
    """From `effective_from` on, the assessment score takes `weight` % of the composite score of
    the objects of `level` (the case indicators' composite takes the rest)."""

    level = models.CharField(_("评价对象"), max_length=16, choices=Level.choices)
    effective_from = models.DateField(_("生效日期"))
    weight = models.DecimalField(
        _("权重（%）"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    basis = models.TextField(_("依据"), blank=True)

    class Meta:
        verbose_name = _("考核权重")
        verbose_name_plural = _("考核权重")
        ordering = ["level", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["level", "effective_from"], name="unique_assessment_weight")
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.effective_from} {self.weight}%"
