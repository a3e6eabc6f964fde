from django.db import models
from django.utils.translation import gettext_lazy as _


class ChannelName(models.TextChoices):
    """The built-in channels. A deployment may register more (NOTIFY_CHANNEL_CLASSES); the column
    accepts any registered name, these are the ones the admin labels."""

    INBOX = "inbox", _("站内消息")
    LOG = "log", _("日志")
    SMS = "sms", _("短信")
    EMAIL = "email", _("电子邮件")


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")
