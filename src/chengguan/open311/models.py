"""Open311 integration keys, and which key filed which case."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from chengguan.cases.models import Case
from chengguan.core.models import AuditedModel


class Open311Key(AuditedModel):
    """The `api_key` of one integrating system (a 12345 hotline platform, a citizen app…).

    Only the SHA-256 digest of the key is stored: the key itself is printed once by
    `chengguan open311 key create` and can never be shown again. `prefix` (its first 12
    characters) names it in lists and in the audit log. Issue and revoke keys through
    `chengguan.open311.keys`, never by writing these fields.
    """

    name = models.CharField(_("接入系统"), max_length=100)
    prefix = models.CharField(_("密钥前缀"), max_length=12, unique=True, editable=False)
    digest = models.CharField(_("密钥摘要 (SHA-256)"), max_length=64, unique=True, editable=False)
    last_used_at = models.DateTimeField(_("最近使用时间"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("Open311 接口密钥")
        verbose_name_plural = _("Open311 接口密钥")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… {self.name}"


class Open311Submission(models.Model):
    """A case filed through POST requests, and the key that filed it (to trace an abused key)."""

    key = models.ForeignKey(
        Open311Key, verbose_name=_("Open311 接口密钥"), on_delete=models.PROTECT, related_name="submissions"
    )
    case = models.OneToOneField(
        Case, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="open311_submission"
    )
    created_at = models.DateTimeField(_("上报时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("Open311 上报记录")
        verbose_name_plural = _("Open311 上报记录")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.key.prefix} → {self.case.number}"
