from django.db import models
from django.utils.translation import gettext_lazy as _


class ClassKind(models.TextChoices):
    COMPONENT = "component", _("部件")
    EVENT = "event", _("事件")


class Stage(models.TextChoices):
    """The timed stages of a case (CJ/T 315 / GB/T 30428.8 nodes)."""

    ACCEPT = "accept", _("受理")
    REGISTER = "register", _("立案")
    DISPATCH = "dispatch", _("派遣")
    HANDLE = "handle", _("处置")
    CHECK = "check", _("核查")
    CLOSE = "close", _("结案")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")


class TimeUnit(models.TextChoices):
    WORK_HOUR = "work_hour", _("工作时")
    WORK_DAY = "work_day", _("工作日")
    HOUR = "hour", _("自然小时")
    MINUTE = "minute", _("自然分钟")


class LimitBasis(models.TextChoices):
    """Where a time limit comes from, so a bureau knows which values to confirm locally."""

    REFERENCE = "reference", _("参考其他城市标准")
    LOCAL_DEFAULT = "local_default", _("本地默认值(待确认)")
    LOCAL = "local", _("本地规定")
