"""The shipped CJ/T 214-2007 catalogue: complete, well-formed, loadable."""

from __future__ import annotations

import re

import pytest

from chengguan.catalog import services
from chengguan.catalog.choices import ClassKind, LimitBasis, Stage, TimeUnit, Urgency
from chengguan.catalog.models import Catalog, MajorClass, MinorClass, StageLimit
from chengguan.org.choices import DepartmentKind

COMPONENT_MAJORS = {
    "01": "公用设施",
    "02": "道路交通",
    "03": "市容环境",
    "04": "园林绿化",
    "05": "房屋土地",
    "06": "其他设施",
}
EVENT_MAJORS = {
    "01": "市容环境",
    "02": "宣传广告",
    "03": "施工管理",
    "04": "突发事件",
    "05": "街面秩序",
    "06": "扩展事件",
}


@pytest.fixture(scope="module")
def spec() -> services.CatalogSpec:
    return services.catalog_validate(services.DEFAULT_FIXTURE)


def test_majors_follow_cjt214(spec):
    majors = {(m.kind, m.code): m.name for m in spec.majors}
    assert majors == {
        **{(ClassKind.COMPONENT, c): n for c, n in COMPONENT_MAJORS.items()},
        **{(ClassKind.EVENT, c): n for c, n in EVENT_MAJORS.items()},
    }


def test_enough_minor_classes_with_codes_unique_and_well_formed(spec):
    assert spec.minor_count >= 80
    full_codes = [(m.kind, m.code + n.code) for m in spec.majors for n in m.minors]
    assert len(full_codes) == len(set(full_codes))
    for major in spec.majors:
        assert re.fullmatch(r"\d{2}", major.code)
        for minor in major.minors:
            assert re.fullmatch(r"\d{2,3}", minor.code), minor
            assert minor.name and minor.registration_condition and minor.closure_condition
            assert minor.department_kind in DepartmentKind.values


def test_every_minor_has_six_normal_limits(spec):
    for major in spec.majors:
        for minor in major.minors:
            normal = {x.stage for x in minor.limits if x.urgency == Urgency.NORMAL}
            assert normal == set(Stage.values), minor.name
            for limit in minor.limits:
                assert limit.amount > 0 and limit.unit in TimeUnit.values and limit.basis in LimitBasis.values


def _minor(spec, kind, name):
    return next(n for m in spec.majors if m.kind == kind for n in m.minors if n.name == name)


def _limit(minor, stage="handle", urgency="normal"):
    return next(x for x in minor.limits if x.stage == stage and x.urgency == urgency)


@pytest.mark.parametrize(
    ("kind", "name", "amount", "unit", "city"),
    [
        ("event", "私搭乱建", 15, "work_day", "济源"),
        ("event", "暴露垃圾", 1, "work_day", "济源"),
        ("event", "积存垃圾渣土", 4, "work_day", "济源"),
        ("event", "道路不洁", 5, "work_hour", "济源"),
        ("event", "水域不洁", 15, "work_day", "济源"),
        ("event", "路面积水", 4, "work_hour", "另一城市"),
        ("component", "绿地", 5, "work_day", "另一城市"),
        ("component", "上水井盖", 6, "hour", "天津"),
        ("component", "燃气井盖", 6, "hour", "广州"),
    ],
)
def test_reference_limits_name_their_source(spec, kind, name, amount, unit, city):
    limit = _limit(_minor(spec, kind, name))
    assert (limit.amount, limit.unit, limit.basis) == (amount, unit, LimitBasis.REFERENCE)
    assert city in limit.note


def test_reference_basis_only_where_reference_gives_a_value(spec):
    reference = {
        n.name for m in spec.majors for n in m.minors for x in n.limits if x.basis == LimitBasis.REFERENCE
    }
    assert reference == {
        "私搭乱建",
        "暴露垃圾",
        "积存垃圾渣土",
        "道路不洁",
        "水域不洁",
        "路面积水",
        "绿地",
        "上水井盖",
        "污水井盖",
        "雨水井盖",
        "雨水箅子",
        "电力井盖",
        "路灯井盖",
        "通讯井盖",
        "电视井盖",
        "网络井盖",
        "热力井盖",
        "燃气井盖",
        "公安井盖",
        "无主井盖",
    }


def test_manhole_covers_are_urgent_capable(spec):
    cover = _minor(spec, "component", "污水井盖")
    assert _limit(cover, "handle", "urgent").amount < _limit(cover, "handle").amount
    assert {x.stage for x in cover.limits if x.urgency == Urgency.URGENT} >= {"accept", "dispatch", "handle"}


@pytest.mark.parametrize(
    ("kind", "name", "department"),
    [
        ("component", "上水井盖", "water"),
        ("component", "电力井盖", "power"),
        ("component", "路灯", "power"),
        ("component", "通讯井盖", "telecom"),
        ("component", "行道树", "landscape"),
        ("component", "绿地", "landscape"),
        ("event", "暴露垃圾", "sanitation"),
        ("event", "道路不洁", "sanitation"),
        ("event", "店外经营", "chengguan_squad"),
        ("event", "占道经营", "chengguan_squad"),
        ("event", "违规户外广告", "chengguan_squad"),
        ("event", "私搭乱建", "chengguan_squad"),
        ("event", "机动车乱停放", "police"),
    ],
)
def test_default_departments(spec, kind, name, department):
    assert _minor(spec, kind, name).department_kind == department


def test_only_event_major_06_is_a_local_extension(spec):
    flagged = {(m.kind, m.code) for m in spec.majors for n in m.minors if n.local_extension}
    assert flagged == {("event", "06")}


def test_real_class_names_are_present(spec):
    names = {n.name for m in spec.majors for n in m.minors}
    expected = (
        "上水井盖 污水井盖 雨水井盖 雨水箅子 电力井盖 路灯 通讯井盖 消防栓 报刊亭 停车场 公交站亭 过街天桥 "
        "交通标志牌 护栏 路名牌 公共厕所 垃圾箱 广告牌匾 古树名木 行道树 绿地 私搭乱建 暴露垃圾 积存垃圾渣土 "
        "道路不洁 水域不洁 非法小广告 施工扰民 工地扬尘 道路遗撒 无照经营游商 店外经营 占道经营 机动车乱停放 露天烧烤"
    ).split()
    assert set(expected) <= names


def test_shipped_fixture_loads(loaded, spec):
    catalog = Catalog.objects.get()
    assert catalog.active and catalog.code == spec.code
    assert MajorClass.objects.count() == 12
    assert MinorClass.objects.count() == spec.minor_count
    assert StageLimit.objects.count() == spec.limit_count
    cover = MinorClass.objects.get(major__kind="component", major__code="01", code="01")
    assert cover.name == "上水井盖" and cover.full_code == "0101"
    assert cover.pinyin == "ssjg shang shui jing gai"
    assert cover.limit("handle").amount == 6
    assert cover.limit("handle", "urgent").amount == 2
    assert cover.limit("close", "urgent") == cover.limit("close")  # falls back to the normal limit
