"""One table is both the outbox and the in-app inbox.

A service that changes something writes `Notification` rows in its own transaction (see
`services.notify`); the worker delivers each row on its channel and stamps `sent_at` in the
transaction that claimed the row, so a row is delivered once (see `services.deliver_pending`).
Rows of the "inbox" channel are the person's inbox: `read_at` marks them read.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import ChannelName, DeliveryState


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接收人"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    channel = models.CharField(_("渠道"), max_length=16, choices=ChannelName.choices)
    kind = models.CharField(_("类型"), max_length=64, help_text=_("业务事件代码，如 case_dispatched"))
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    link = models.CharField(_("链接"), max_length=300, blank=True, help_text=_("站内路径，如 /cases/123/"))
    subject_type = models.CharField(
        _("关联对象类型"), max_length=64, blank=True, help_text=_("模型标签，如 cases.Case")
    )
    subject_id = models.BigIntegerField(_("关联对象编号"), null=True, blank=True)
    dedupe_key = models.CharField(
        _("去重键"),
        max_length=255,
        unique=True,
        null=True,
        blank=True,
        help_text=_("同一业务事件、接收人和渠道只入队一次"),
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    send_after = models.DateTimeField(_("最早发送时间"), default=timezone.now)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    failed_at = models.DateTimeField(_("放弃时间"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("失败次数"), default=0)
    last_error = models.TextField(_("最近错误"), blank=True)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sender's claim: unsent, not given up, due (WHERE … ORDER BY send_after).
            models.Index(
                fields=["send_after", "id"],
                name="notify_due_idx",
                condition=Q(sent_at__isnull=True, failed_at__isnull=True),
            ),
            # The inbox: one person's rows of one channel, newest first.
            models.Index(fields=["recipient", "channel", "-created_at"], name="notify_inbox_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.recipient_id} ({self.channel})"

    @property
    def state(self) -> str:
        if self.sent_at is not None:
            return DeliveryState.SENT
        if self.failed_at is not None:
            return DeliveryState.FAILED
        return DeliveryState.PENDING

    @property
    def reference(self) -> str:
        """The idempotency reference handed to external providers: stable across retries of this
        row, so a provider that deduplicates on it delivers a retried message once."""
        return f"cg-notify-{self.pk}"


class PeriodicSchedule(models.Model):
    """When each registered periodic job (see `periodic.py`) is next due. One row per job, claimed
    with a row lock, so several workers enqueue each due job once."""

    name = models.CharField(_("任务名称"), max_length=100, unique=True)
    next_run_at = models.DateTimeField(_("下次运行时间"))
    last_enqueued_at = models.DateTimeField(_("上次入队时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("定时任务")
        verbose_name_plural = _("定时任务")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
