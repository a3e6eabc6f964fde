"""Evaluated objects, counter kinds, indicators and period kinds.

The precise definition of every indicator (which stages and events make its numerator and its
denominator) is in docs/evaluation.md; `indicators.py` states them as data.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ObjectType(models.TextChoices):
    """What is evaluated: four roles (people), departments and four levels of region."""

    INSPECTOR = "inspector", _("监督员")
    OPERATOR = "operator", _("受理员")
    SHIFT_LEADER = "shift_leader", _("值班长")
    DISPATCHER = "dispatcher", _("派遣员")
    DEPARTMENT = "department", _("专业部门")
    GRID = "grid", _("单元网格")
    COMMUNITY = "community", _("社区")
    STREET = "street", _("街道")
    DISTRICT = "district", _("区/县")


PERSON_TYPES = (ObjectType.INSPECTOR, ObjectType.OPERATOR, ObjectType.SHIFT_LEADER, ObjectType.DISPATCHER)
REGION_TYPES = (ObjectType.GRID, ObjectType.COMMUNITY, ObjectType.STREET, ObjectType.DISTRICT)


class Span(models.TextChoices):
    """The blocks of settled days whose counters are summed ahead (models.Rollup)."""

    DEKAD = "dekad", _("旬")
    MONTH = "month", _("月")


class CounterKind(models.TextChoices):
    """Whom a counter row belongs to. People share one kind: the role indicators read the
    counters of the person's own actions (a person holding two roles has one set of counters)."""

    PERSON = "person", _("人员")
    DEPARTMENT = "department", _("部门")
    GRID = "grid", _("单元网格")
    COMMUNITY = "community", _("社区")
    STREET = "street", _("街道")
    DISTRICT = "district", _("区/县")


class PeriodKind(models.TextChoices):
    DAY = "day", _("日")
    MONTH = "month", _("月")
    QUARTER = "quarter", _("季度")
    YEAR = "year", _("年")
    CUSTOM = "custom", _("自定义")


class Transform(models.TextChoices):
    """How an indicator's value becomes a 0–100 component score."""

    RATE = "rate", _("比率×100")
    INVERSE_RATE = "inverse_rate", _("(1−比率)×100")
    BANDS = "bands", _("数量分档")


class Grade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"
    E = "E", "E"
