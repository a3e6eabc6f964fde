"""The case: one record per problem, whatever its source, and everything that happens to it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chengguan.catalog.choices import Stage, TimeUnit
from chengguan.catalog.models import MinorClass
from chengguan.core.fields import EncryptedTextField
from chengguan.grid.models import UnitGrid
from chengguan.org.models import Department, Region

from .choices import (
    CaseSource,
    CaseStatus,
    PhotoKind,
    RequestKind,
    RequestStatus,
    TaskRole,
    TaskStatus,
    Urgency,
)


class Case(models.Model):
    """A problem in public space (案件). Its status changes only through cases.services."""

    # NULL only inside the intake's own transaction: the number is taken last, just before the
    # commit (cases.services: the year's counter stays locked from the number to the commit).
    number = models.CharField(_("案件编号"), max_length=20, unique=True, null=True)  # noqa: DJ001
    year = models.PositiveSmallIntegerField(_("年度"), db_index=True)
    source = models.CharField(_("来源"), max_length=16, choices=CaseSource.choices)
    # Indexed by Meta.indexes (minor_class, status, created_at), as `status` by (status, stage_deadline).
    minor_class = models.ForeignKey(
        MinorClass, verbose_name=_("小类"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    urgency = models.CharField(_("紧急程度"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    description = models.TextField(_("问题描述"), max_length=4000)
    address = models.CharField(_("地址"), max_length=255, blank=True)
    lon = models.FloatField(_("经度 (WGS-84)"))
    lat = models.FloatField(_("纬度 (WGS-84)"))
    original_crs = models.CharField(_("原始坐标系"), max_length=8, default="wgs84")
    original_lon = models.FloatField(_("原始经度"))
    original_lat = models.FloatField(_("原始纬度"))
    grid = models.ForeignKey(
        UnitGrid,
        verbose_name=_("单元网格"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
    )
    community = models.ForeignKey(
        Region, verbose_name=_("社区"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    street = models.ForeignKey(Region, verbose_name=_("街道"), on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey(Region, verbose_name=_("区/县"), on_delete=models.PROTECT, related_name="+")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上报人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_cases",
    )
    # A member of the public's contact details: personal data, encrypted at rest, shown masked.
    reporter_name = EncryptedTextField(_("举报人姓名"), max_length=50, blank=True)
    reporter_phone = EncryptedTextField(_("举报人电话"), max_length=20, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=CaseStatus.choices, editable=False)
    stage_deadline = models.DateTimeField(
        _("当前环节时限"), null=True, blank=True, db_index=True, editable=False
    )
    overdue = models.BooleanField(_("已超期"), default=False, db_index=True, editable=False)
    lead_department = models.ForeignKey(
        Department,
        verbose_name=_("主办部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("重复于"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
        editable=False,
    )
    rework_count = models.PositiveSmallIntegerField(_("返工次数"), default=0, editable=False)
    planned_fix_date = models.DateField(_("计划整改日期"), null=True, blank=True, editable=False)
    written_off_at = models.DateTimeField(_("销号时间"), null=True, blank=True, editable=False)
    registered_at = models.DateTimeField(_("立案时间"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    created_at = models.DateTimeField(_("上报时间"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        ordering = ["-created_at"]
        # Every index is written on each intake and transition: no index another one's leading
        # columns already serve, and none of the pattern (LIKE) indexes Django adds to an indexed
        # CharField on PostgreSQL where nothing filters by pattern (source, status).
        indexes = [
            models.Index(fields=["status", "stage_deadline"]),
            models.Index(fields=["minor_class", "status", "created_at"]),
            models.Index(fields=["lon", "lat"]),
            models.Index(fields=["source"], name="cases_case_source_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class CaseNumberCounter(models.Model):
    """The last sequence number used in a year (row-locked while a number is taken)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class CaseEvent(models.Model):
    """A typed domain event: one per transition, for the timeline, statistics and notifications."""

    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("操作"), max_length=24, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(_("操作人姓名"), max_length=100, blank=True)
    department = models.ForeignKey(
        Department, verbose_name=_("部门"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("时间"), db_index=True)
    from_status = models.CharField(_("原状态"), max_length=16, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, blank=True)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(_("数据"), default=dict, blank=True)

    class Meta:
        verbose_name = _("案件事件")
        verbose_name_plural = _("案件事件")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case} {self.action} {self.at:%Y-%m-%d %H:%M}"


class CaseStage(models.Model):
    """One stretch of a case in a timed stage: its deadline, and whether it ended on time.

    `on_time` is written once, when the stage ends, and never recomputed (last month's figures
    do not move when the calendar or the limits change).
    """

    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="stages")
    stage = models.CharField(_("环节"), max_length=16, choices=Stage.choices)
    status = models.CharField(_("状态"), max_length=16, choices=CaseStatus.choices)
    department = models.ForeignKey(
        Department, verbose_name=_("部门"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(_("开始"))
    deadline = models.DateTimeField(_("时限"))
    limit_amount = models.DecimalField(_("时限数值"), max_digits=8, decimal_places=2)
    limit_unit = models.CharField(_("时限单位"), max_length=16, choices=TimeUnit.choices)
    ended_at = models.DateTimeField(_("结束"), null=True, blank=True)
    ended_by = models.CharField(_("结束操作"), max_length=24, blank=True)
    on_time = models.BooleanField(_("按时"), null=True)
    overdue_flagged_at = models.DateTimeField(_("超期标记时间"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("超期上报领导时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("案件环节")
        verbose_name_plural = _("案件环节")
        ordering = ["started_at", "id"]
        indexes = [models.Index(fields=["ended_at", "deadline"])]

    def __str__(self) -> str:
        return f"{self.case} {self.get_stage_display()}"


class CaseTask(models.Model):
    """A department's part in a case: the lead (主办) or a co-handler (协办), each with its own deadline."""

    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="tasks")
    department = models.ForeignKey(
        Department, verbose_name=_("部门"), on_delete=models.PROTECT, related_name="tasks"
    )
    role = models.CharField(_("角色"), max_length=8, choices=TaskRole.choices)
    status = models.CharField(_("状态"), max_length=16, choices=TaskStatus.choices)
    dispatched_at = models.DateTimeField(_("派遣时间"))
    deadline = models.DateTimeField(_("处置时限"))
    signed_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    done_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    on_time = models.BooleanField(_("按期"), null=True)
    result = models.TextField(_("处置结果"), blank=True)
    current = models.BooleanField(
        _("当前有效"), default=True, help_text=_("回退或重新派遣后，旧任务不再有效")
    )

    class Meta:
        verbose_name = _("处置任务")
        verbose_name_plural = _("处置任务")
        ordering = ["case", "-role", "id"]
        indexes = [models.Index(fields=["department", "current", "status"])]

    def __str__(self) -> str:
        return f"{self.case} {self.get_role_display()} {self.department}"


class CaseRequest(models.Model):
    """A request for an extension (延期) or a suspension to the problem ledger (挂账), and its decision."""

    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="requests")
    kind = models.CharField(_("类型"), max_length=16, choices=RequestKind.choices)
    status = models.CharField(
        _("状态"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    department = models.ForeignKey(
        Department, verbose_name=_("申请部门"), on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("申请时间"))
    reason = models.TextField(_("理由"))
    amount = models.DecimalField(_("延长时限"), max_digits=8, decimal_places=2, null=True, blank=True)
    unit = models.CharField(_("单位"), max_length=16, choices=TimeUnit.choices, blank=True)
    planned_fix_date = models.DateField(_("计划整改日期"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审批人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.TextField(_("审批意见"), blank=True)

    class Meta:
        verbose_name = _("延期/挂账申请")
        verbose_name_plural = _("延期/挂账申请")
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=models.Q(status="pending"),
                name="one_pending_request_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.get_kind_display()} {self.get_status_display()}"


class CasePhoto(models.Model):
    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="photos")
    event = models.ForeignKey(
        CaseEvent,
        verbose_name=_("事件"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="photos",
    )
    kind = models.CharField(_("类型"), max_length=8, choices=PhotoKind.choices)
    image = models.CharField(_("图片"), max_length=255)
    thumbnail = models.CharField(_("缩略图"), max_length=255)
    width = models.PositiveIntegerField(_("宽"))
    height = models.PositiveIntegerField(_("高"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    taken_at = models.DateTimeField(_("拍摄时间"), null=True, blank=True)
    # The photo's own EXIF location, kept privately (never shown on public pages).
    exif_lon = models.FloatField(_("拍摄经度"), null=True, blank=True)
    exif_lat = models.FloatField(_("拍摄纬度"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("上传时间"))

    class Meta:
        verbose_name = _("案件照片")
        verbose_name_plural = _("案件照片")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.case} {self.get_kind_display()}"


class RoutingRule(models.Model):
    """Which department handles a class of problem in a region (most specific rule wins)."""

    minor_class = models.ForeignKey(
        MinorClass,
        verbose_name=_("小类"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("空：所有小类"),
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("区域"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("街道或区；空：全市"),
    )
    department = models.ForeignKey(
        Department, verbose_name=_("处置部门"), on_delete=models.CASCADE, related_name="+"
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("派遣规则")
        verbose_name_plural = _("派遣规则")
        # One rule per (class or any) × (region or anywhere); spelled out because SQLite has no
        # NULLS NOT DISTINCT.
        constraints = [
            models.UniqueConstraint(
                fields=["minor_class", "region"],
                name="unique_routing_rule",
                condition=models.Q(minor_class__isnull=False, region__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["minor_class"],
                name="unique_routing_rule_class_anywhere",
                condition=models.Q(region__isnull=True, minor_class__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["region"],
                name="unique_routing_rule_any_class",
                condition=models.Q(minor_class__isnull=True, region__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["department"],
                name="unique_routing_rule_default",
                condition=models.Q(minor_class__isnull=True, region__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.minor_class or '*'} @ {self.region or '*'} → {self.department}"


class IdempotencyRecord(models.Model):
    """A create request's Idempotency-Key: the same key and body give the same case."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=128)
    body_hash = models.CharField(max_length=64)
    case = models.ForeignKey(Case, null=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "key"], name="unique_idempotency_key")]

    def __str__(self) -> str:
        return self.key
