"""Base models, the audit log and the working-time calendar's configuration."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditedModel(models.Model):
    """Base of every registry record: timestamps, and every create/update/delete is audited."""

    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True


class AuditAction(models.TextChoices):
    CREATE = "create", _("新增")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")
    BULK = "bulk", _("批量操作")
    VIEW_PERSONAL = "view_personal", _("查看个人信息")
    EXPORT = "export", _("导出")
    LOGIN = "login", _("登录")
    LOGOUT = "logout", _("退出登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    DENIED = "denied", _("拒绝访问")
    OTP_ENROL = "otp_enrol", _("绑定验证器")
    OTP_VERIFIED = "otp_verified", _("动态验证码通过")
    OTP_FAILED = "otp_failed", _("动态验证码错误")
    OTP_REMOVED = "otp_removed", _("移除验证器")
    REAUTH = "reauth", _("重新验证身份")
    SESSION_END = "session_end", _("会话结束")


class AuditLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("the audit log is append-only")

    def delete(self):
        raise PermissionError("the audit log is append-only")


class AuditLog(models.Model):
    """Append-only change log of registry records: who, when, what (before → after), from where."""

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    actor_name = models.CharField(_("操作人账号"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=16, choices=AuditAction.choices)
    model = models.CharField(_("对象类型"), max_length=100, db_index=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    request_id = models.CharField(_("请求编号"), max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    via = models.CharField(_("来源"), max_length=64, blank=True)
    # SHA-256 of the row's content (core.audit.row_digest), set once when it is written; the seals
    # (AuditSeal) chain these digests, so a changed, removed or inserted row breaks the chain.
    digest = models.CharField(_("内容摘要"), max_length=64, blank=True, editable=False)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.model} {self.object_repr}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("the audit log is append-only")
        from .audit import row_digest

        if self.at is None:
            self.at = timezone.now()
        if self.ip:  # as the database will keep it (IPv6 normalised), so the digest matches
            self.ip = type(self)._meta.get_field("ip").get_prep_value(self.ip)
        self.digest = row_digest(self.__dict__)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("the audit log is append-only")


class AuditSeal(models.Model):
    """A seal over the audit log up to a row: the hash chain of every row's digest from the first
    (or from the seal before), its count, and an HMAC of both with a key the database does not
    hold (core.crypto.seal_mac), so the chain cannot be rewritten from the database alone.
    Written by `core.audit.seal()` (the worker, every minute), checked by `chengguan audit verify`."""

    upto_id = models.BigIntegerField(_("截至记录"), unique=True)
    rows = models.PositiveIntegerField(_("记录数"))
    chain = models.CharField(_("链值"), max_length=64)
    mac = models.CharField(_("签名"), max_length=64)
    sealed_at = models.DateTimeField(_("封存时间"))

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计封存")
        verbose_name_plural = _("审计封存")
        ordering = ["-upto_id"]

    def __str__(self) -> str:
        return f"≤{self.upto_id} {self.chain[:12]}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("audit seals are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit seals are append-only")


class CalendarDayKind(models.TextChoices):
    WORKDAY = "workday", _("工作日")
    HOLIDAY = "holiday", _("休息日")


class CalendarOverride(AuditedModel):
    """An administrator's decision about one day; it wins over the statutory calendar."""

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=16, choices=CalendarDayKind.choices)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("日历调整")
        verbose_name_plural = _("日历调整")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class WorkPeriod(AuditedModel):
    """One span of working hours in a working day (local time). None defined: settings.WORK_PERIODS."""

    start = models.TimeField(_("开始"))
    end = models.TimeField(_("结束"))

    class Meta:
        verbose_name = _("工作时段")
        verbose_name_plural = _("工作时段")
        ordering = ["start"]

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self) -> None:
        if self.start >= self.end:
            raise ValidationError({"end": _("结束时间必须晚于开始时间")})
        overlapping = WorkPeriod.objects.exclude(pk=self.pk).filter(start__lt=self.end, end__gt=self.start)
        if overlapping.exists():
            raise ValidationError(_("工作时段不能重叠"))
