"""Components and events (部件/事件): versioned classes, their conditions and stage time limits."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from chengguan.core.models import AuditedModel
from chengguan.org.choices import DepartmentKind

from .choices import ClassKind, LimitBasis, Stage, TimeUnit, Urgency


class Catalog(AuditedModel):
    """One version of a classification standard (CJ/T 214-2007, GB/T 30428.2, a local edition)."""

    code = models.CharField(_("目录编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    standard = models.CharField(_("依据标准"), max_length=100)
    version = models.CharField(_("版本"), max_length=20)
    effective_from = models.DateField(_("生效日期"))
    active = models.BooleanField(_("当前使用"), default=False, help_text=_("新案件使用当前目录"))
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("分类目录")
        verbose_name_plural = _("分类目录")
        ordering = ["-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=models.Q(active=True), name="one_active_catalog"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


class MajorClass(AuditedModel):
    catalog = models.ForeignKey(
        Catalog, verbose_name=_("分类目录"), on_delete=models.CASCADE, related_name="majors"
    )
    kind = models.CharField(_("部件/事件"), max_length=16, choices=ClassKind.choices)
    code = models.CharField(_("大类代码"), max_length=2, validators=[RegexValidator(r"^\d{2}$")])
    name = models.CharField(_("大类名称"), max_length=50)

    class Meta:
        verbose_name = _("大类")
        verbose_name_plural = _("大类")
        ordering = ["catalog", "kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["catalog", "kind", "code"], name="unique_major_code"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.code} {self.name}"


class MinorClass(AuditedModel):
    """A minor class: what may be registered, when it is closed, how long each stage may take."""

    major = models.ForeignKey(
        MajorClass, verbose_name=_("大类"), on_delete=models.CASCADE, related_name="minors"
    )
    code = models.CharField(
        _("小类代码"), max_length=3, validators=[RegexValidator(r"^\d{2,3}$", _("小类代码为 2 或 3 位数字"))]
    )
    name = models.CharField(_("小类名称"), max_length=50)
    pinyin = models.CharField(
        _("拼音"), max_length=200, blank=True, help_text=_("拼音首字母和全拼，用于按拼音搜索")
    )
    registration_condition = models.TextField(_("立案条件"))
    closure_condition = models.TextField(_("结案条件"))
    default_department_kind = models.CharField(
        _("默认处置部门类型"), max_length=32, choices=DepartmentKind.choices
    )
    photo_required = models.BooleanField(_("上报须附照片"), default=False)
    duplicate_radius_m = models.PositiveIntegerField(
        _("查重半径 (m)"), default=50, help_text=_("受理时提示此半径内、近 7 天同类未结案件")
    )
    local_extension = models.BooleanField(_("本地扩展"), default=False)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("小类")
        verbose_name_plural = _("小类")
        ordering = ["major__catalog", "major__kind", "major__code", "code"]
        constraints = [models.UniqueConstraint(fields=["major", "code"], name="unique_minor_code")]

    def __str__(self) -> str:
        return f"{self.full_code} {self.name}"

    @property
    def full_code(self) -> str:
        return f"{self.major.code}{self.code}"

    def limit(self, stage: str, urgency: str = Urgency.NORMAL) -> StageLimit | None:
        """The limit for a stage; an urgent case without its own urgent limit uses the normal one."""
        limits = {(x.stage, x.urgency): x for x in self.limits.all()}
        return limits.get((stage, urgency)) or limits.get((stage, Urgency.NORMAL))


class StageLimit(AuditedModel):
    minor = models.ForeignKey(
        MinorClass, verbose_name=_("小类"), on_delete=models.CASCADE, related_name="limits"
    )
    stage = models.CharField(_("环节"), max_length=16, choices=Stage.choices)
    urgency = models.CharField(_("紧急程度"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL)
    amount = models.DecimalField(
        _("时限"), max_digits=8, decimal_places=2, validators=[MinValueValidator(0.01)]
    )
    unit = models.CharField(_("单位"), max_length=16, choices=TimeUnit.choices)
    basis = models.CharField(
        _("依据"), max_length=16, choices=LimitBasis.choices, default=LimitBasis.LOCAL_DEFAULT
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("环节时限")
        verbose_name_plural = _("环节时限")
        ordering = ["minor", "urgency", "stage"]
        constraints = [
            models.UniqueConstraint(fields=["minor", "stage", "urgency"], name="unique_stage_limit"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="stage_limit_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} {self.amount:g} {self.get_unit_display()}"

    def clean(self) -> None:
        if self.amount is not None and self.amount <= 0:
            raise ValidationError({"amount": _("时限必须大于 0")})
