"""Searching the catalogue: Chinese name, code prefix, pinyin; always through the chokepoint."""

from __future__ import annotations

import pytest

from chengguan.catalog import selectors, services
from chengguan.catalog.models import Catalog, MinorClass
from chengguan.core.permissions import NotFound

pytestmark = pytest.mark.django_db


def names(user, q, kind=None):
    return [m.name for m in selectors.minor_class_search(user, q, kind)]


MANHOLE_COVERS = [
    "上水井盖",
    "污水井盖",
    "雨水井盖",
    "电力井盖",
    "路灯井盖",
    "通讯井盖",
    "电视井盖",
    "网络井盖",
    "热力井盖",
    "燃气井盖",
    "公安井盖",
    "无主井盖",
]


def test_search_by_chinese_name(loaded, inspector):
    assert names(inspector, "井盖") == MANHOLE_COVERS
    assert names(inspector, " 占道 ") == [
        "占道广告牌",
        "占道施工",
        "占道经营",
        "占道促销",
        "占道废品收购",
        "占道洗车修车",
    ]


def test_search_by_code_prefix(loaded, inspector):
    assert names(inspector, "0101") == ["上水井盖", "私搭乱建"]  # component 0101 and event 0101
    assert names(inspector, "0101", "component") == ["上水井盖"]
    assert names(inspector, "0504", "event") == ["占道经营"]
    assert names(inspector, "011", "component") == [
        "热力井盖",
        "燃气井盖",
        "公安井盖",
        "无主井盖",
        "消防栓",
        "电力设施",
        "通信交接箱",
        "电线杆",
        "路灯",
        "地灯",
    ]
    majors = {(m.major.kind, m.major.code) for m in selectors.minor_class_search(inspector, "06")}
    assert majors == {("component", "06"), ("event", "06")}


def test_search_by_pinyin_initials_and_full_pinyin(loaded, inspector):
    assert names(inspector, "ssjg") == ["上水井盖"]
    assert set(names(inspector, "jg")) >= set(MANHOLE_COVERS)
    assert names(inspector, "JG") == names(inspector, "jg")
    assert names(inspector, "jinggai") == MANHOLE_COVERS
    assert names(inspector, "jing gai") == MANHOLE_COVERS
    assert names(inspector, "zdjy") == ["占道经营"]
    assert "露天烧烤" in names(inspector, "shaokao")
    assert "路灯" in names(inspector, "lu")  # a full syllable
    assert "绿地" in names(inspector, "lvdi")


def test_full_pinyin_matches_from_a_syllable_start_only(loaded, inspector):
    # "shang shui": "gs" spans two syllables and is nobody's initials here
    assert "上水井盖" not in names(inspector, "gs")
    assert "上水井盖" not in names(inspector, "hui")


def test_kind_filter_and_empty_query(loaded, inspector):
    everything = selectors.minor_class_search(inspector, "")
    assert everything.count() == MinorClass.objects.count()
    events = selectors.minor_class_search(inspector, "", "event")
    assert events.count() and all(m.major.kind == "event" for m in events)


def test_only_the_active_catalogue_and_active_classes(loaded, inspector, data):
    MinorClass.objects.filter(name="上水井盖").update(active=False)
    assert names(inspector, "ssjg") == []
    data["catalog"]["code"] = "LOCAL-2025"
    data["majors"][0]["minors"][0]["name"] = "供水井盖"
    services.catalog_load(data, activate=True)
    assert names(inspector, "gsjg") == ["供水井盖"]
    assert len(names(inspector, "井盖")) == len(MANHOLE_COVERS)  # not doubled by the old catalogue
    Catalog.objects.update(active=False)
    assert names(inspector, "井盖") == []


def test_no_role_no_results(loaded, outsider):
    assert names(outsider, "井盖") == []
    with pytest.raises(NotFound):
        selectors.access_minor_class(outsider, MinorClass.objects.get(name="上水井盖").pk)


def test_access_minor_class(loaded, inspector):
    cover = selectors.access_minor_class(inspector, MinorClass.objects.get(name="上水井盖").pk)
    assert cover.major.catalog.code == "CJT214-2007"
    assert len(cover.limits.all()) == 11
    with pytest.raises(NotFound):
        selectors.access_minor_class(inspector, 999999)
    with pytest.raises(NotFound):
        selectors.access_minor_class(inspector, "abc")


def test_active_catalog(db):
    assert selectors.active_catalog() is None
    services.catalog_load(services.DEFAULT_FIXTURE, activate=True)
    assert selectors.active_catalog().code == "CJT214-2007"
