from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionLevel(models.TextChoices):
    DISTRICT = "district", _("区/县")
    STREET = "street", _("街道/镇/园区")
    COMMUNITY = "community", _("社区")


# Code length of each level: GB/T 2260 county (6) + GB/T 10114 street (3) + community (3).
REGION_CODE_LENGTH = {RegionLevel.DISTRICT: 6, RegionLevel.STREET: 9, RegionLevel.COMMUNITY: 12}
REGION_PARENT_LEVEL = {RegionLevel.STREET: RegionLevel.DISTRICT, RegionLevel.COMMUNITY: RegionLevel.STREET}


class RegionKind(models.TextChoices):
    DISTRICT = "district", _("区")
    COUNTY = "county", _("县")
    STREET = "street", _("街道")
    TOWN = "town", _("镇")
    PARK = "park", _("园区")
    COMMUNITY = "community", _("社区")
    VILLAGE = "village", _("村")


class DepartmentKind(models.TextChoices):
    COMMAND_CENTRE = "command_centre", _("监督指挥中心")
    CHENGGUAN_BUREAU = "chengguan_bureau", _("城管局")
    CHENGGUAN_SQUAD = "chengguan_squad", _("城管中队")
    POLICE = "police", _("公安")
    HOUSING = "housing", _("住建")
    LANDSCAPE = "landscape", _("园林")
    SANITATION = "sanitation", _("环卫")
    WATER = "water", _("水务")
    POWER = "power", _("电力")
    TELECOM = "telecom", _("通信")
    GAS = "gas", _("燃气")
    TRANSPORT = "transport", _("交通")
    MARKET = "market", _("市场监管")
    ECOLOGY = "ecology", _("生态环境")
    STREET_OFFICE = "street_office", _("街道办")
    COMMUNITY_COMMITTEE = "community_committee", _("社区居委会")
    CONTRACTOR = "contractor", _("外包单位")
    OTHER = "other", _("其他")


class Role(models.TextChoices):
    """The roles of the standard workflow, the three separated administrators (三权分立), and the
    grid assessment team and rectification office (整治办)."""

    INSPECTOR = "inspector", _("监督员")
    OPERATOR = "operator", _("受理员")
    SHIFT_LEADER = "shift_leader", _("值班长")
    DISPATCHER = "dispatcher", _("派遣员")
    HANDLER = "handler", _("处置人员")
    LEADER = "leader", _("领导")
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    SECURITY_ADMIN = "security_admin", _("安全管理员")
    AUDITOR = "auditor", _("审计员")
    # Grid assessment (网格化检查考核, M2a): the assessment team and the rectification office.
    ASSESSOR = "assessor", _("考核员")
    RECTIFICATION = "rectification", _("整治办")


class GridDuty(models.TextChoices):
    GRID_WORKER = "grid_worker", _("网格员")
    INSPECTOR = "inspector", _("监督员")
