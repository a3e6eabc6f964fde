"""Grid assessment (网格化检查考核): categories of checklist items, record states, scored levels."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ItemCategory(models.TextChoices):
    """What a checklist item is about (the usual chapters of a grid assessment checklist)."""

    CLEANLINESS = "cleanliness", _("环境卫生")
    STREET_ORDER = "street_order", _("街面秩序")
    FACILITIES = "facilities", _("市政设施")
    GREENERY = "greenery", _("园林绿化")
    ADVERTISING = "advertising", _("广告招牌")
    CONSTRUCTION = "construction", _("施工管理")


class RecordStatus(models.TextChoices):
    DRAFT = "draft", _("检查中")
    SUBMITTED = "submitted", _("已提交")


class Level(models.TextChoices):
    """The levels an assessment score is given for (and that its weight is configured for)."""

    GRID = "grid", _("单元网格")
    COMMUNITY = "community", _("社区")
    STREET = "street", _("街道")
    DISTRICT = "district", _("区/县")
