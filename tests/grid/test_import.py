"""Importing boundaries: good files land whole; every kind of bad input is refused with a
message naming the feature, and nothing is written."""

import json

import pytest
import shapely
from django.core.management import call_command
from django.core.management.base import CommandError

from chengguan.demo.city import synthesize
from chengguan.grid import services
from chengguan.grid.geometry import to_geojson
from chengguan.org.choices import RegionLevel
from chengguan.org.models import Region

pytestmark = pytest.mark.django_db


def fc(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def feature(code, name, geom):
    return {"type": "Feature", "properties": {"code": code, "name": name}, "geometry": to_geojson(geom)}


SQUARE = shapely.box(120.0, 30.0, 120.02, 30.02)


@pytest.fixture
def district():
    services.region_import(fc(feature("330199", "测试区", SQUARE)), RegionLevel.DISTRICT)
    return Region.objects.get(code="330199")


def refused(source, level, *expected):
    before = Region.objects.count()
    with pytest.raises(services.GridError) as exc:
        services.region_import(source, level)
    text = "\n".join(exc.value.messages)
    for fragment in expected:
        assert fragment in text, text
    assert Region.objects.count() == before, "nothing may be written"
    return text


def test_import_creates_and_updates_with_area(district):
    assert district.area_m2 == pytest.approx(2224 * 1919, rel=0.02)  # ~0.02° × 0.02° at 30°N
    services.region_import(fc(feature("330199", "改名区", SQUARE)), RegionLevel.DISTRICT)
    district.refresh_from_db()
    assert district.name == "改名区"
    assert Region.objects.filter(code="330199").count() == 1


def test_parent_from_code_prefix_and_spatially(district):
    left = shapely.box(120.0, 30.0, 120.01, 30.02)
    services.region_import(fc(feature("330199001", "甲街道", left)), RegionLevel.STREET)
    assert Region.objects.get(code="330199001").parent == district
    # A code that does not nest (another county's prefix) finds its parent by location.
    right = shapely.box(120.01, 30.0, 120.02, 30.02)
    services.region_import(fc(feature("330188002", "乙街道", right)), RegionLevel.STREET)
    assert Region.objects.get(code="330188002").parent == district


def test_code_of_wrong_length(district):
    refused(fc(feature("33019900", "坏街道", SQUARE)), RegionLevel.STREET, "#1 33019900", "9 位数字")


def test_code_outside_its_parent(district):
    far = shapely.box(121.0, 31.0, 121.01, 31.01)
    refused(fc(feature("330199001", "远街道", far)), RegionLevel.STREET, "330199001", "范围之外")


def test_no_parent_at_all(district):
    far = shapely.box(121.0, 31.0, 121.01, 31.01)
    refused(fc(feature("440199001", "无主街道", far)), RegionLevel.STREET, "440199001", "找不到上级区域")


def test_self_intersecting_bow_tie_is_refused_and_names_the_feature():
    bow = {
        "type": "Polygon",
        "coordinates": [[[120, 30], [120.01, 30.01], [120.01, 30], [120, 30.01], [120, 30]]],
    }
    source = fc({"type": "Feature", "properties": {"code": "330177", "name": "蝴蝶区"}, "geometry": bow})
    refused(source, RegionLevel.DISTRICT, "#1 330177", "自相交")


def test_safe_repair_is_applied_and_reported():
    # A ring with a duplicated spike back along itself is invalid; both standard repairs agree.
    ring = [
        [120, 30],
        [120.01, 30],
        [120.01, 30.01],
        [120.005, 30.01],
        [120.005, 30.02],
        [120.005, 30.01],
        [120, 30.01],
        [120, 30],
    ]
    source = fc(
        {
            "type": "Feature",
            "properties": {"code": "330166", "name": "修复区"},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
    )
    report = services.region_import(source, RegionLevel.DISTRICT)
    assert report.repaired and "330166" in report.repaired[0]
    assert shapely.geometry.shape(Region.objects.get(code="330166").geometry).is_valid


def test_empty_polygon_and_wrong_type_and_out_of_range():
    source = fc(
        {
            "type": "Feature",
            "properties": {"code": "330101", "name": "空"},
            "geometry": {"type": "Polygon", "coordinates": []},
        },
        {
            "type": "Feature",
            "properties": {"code": "330102", "name": "点"},
            "geometry": {"type": "Point", "coordinates": [120, 30]},
        },
        {
            "type": "Feature",
            "properties": {"code": "330103", "name": "越界"},
            "geometry": to_geojson(shapely.box(200, 30, 201, 31)),
        },
        {"type": "Feature", "properties": {"code": "330104"}, "geometry": to_geojson(SQUARE)},
        {"type": "Feature", "properties": {"name": "无编码"}, "geometry": to_geojson(SQUARE)},
    )
    text = refused(source, RegionLevel.DISTRICT, "#1 330101", "#2 330102", "#3 330103", "#4 330104", "#5")
    assert "为空" in text and "Polygon" in text and "超出范围" in text and "名称" in text and "编码" in text


def test_all_or_nothing_one_bad_feature_blocks_the_file(district):
    good = shapely.box(120.0, 30.0, 120.01, 30.02)
    source = fc(feature("330199001", "好街道", good), feature("330199", "坏", good))
    refused(source, RegionLevel.STREET, "#2 330199")
    assert not Region.objects.filter(code="330199001").exists()


def test_duplicate_codes_in_one_file():
    refused(
        fc(feature("330155", "一", SQUARE), feature("330155", "二", SQUARE)), RegionLevel.DISTRICT, "编码重复"
    )


def test_malformed_json_and_not_a_feature_collection(tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    refused(str(bad), RegionLevel.DISTRICT, "GeoJSON 格式错误", "第 1 行")
    refused({"type": "Feature"}, RegionLevel.DISTRICT, "FeatureCollection")
    refused(str(tmp_path / "missing.geojson"), RegionLevel.DISTRICT, "文件不存在")


def test_overlaps_and_gaps_between_siblings_are_reported(district):
    a = shapely.box(120.0, 30.0, 120.012, 30.02)  # overlaps b by 0.002°
    b = shapely.box(120.010, 30.0, 120.018, 30.02)  # leaves a gap 120.018–120.02
    report = services.region_import(
        fc(feature("330199001", "甲", a), feature("330199002", "乙", b)), RegionLevel.STREET
    )
    assert len(report.overlaps) == 1
    code_a, code_b, overlap_m2 = report.overlaps[0]
    assert {code_a, code_b} == {"330199001", "330199002"}
    assert overlap_m2 == pytest.approx(193 * 2219, rel=0.03)
    assert len(report.gaps) == 1 and report.gaps[0][1] == pytest.approx(193 * 2219, rel=0.03)
    assert any("重叠" in line for line in report.lines()) and any("空隙" in line for line in report.lines())


def test_custom_fields_and_command(tmp_path, capsys):
    city = synthesize(
        seed=3,
        radius_m=500,
        street_names=["一街道"],
        communities_per_street=2,
        fine_cells=40,
        district_code="330144",
    )
    data = city.geojson("district")
    for f in data["features"]:
        f["properties"] = {"DM": f["properties"]["code"], "MC": f["properties"]["name"]}
    path = tmp_path / "d.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    call_command(
        "grid", "import", str(path), "--level", "district", "--code-field", "DM", "--name-field", "MC"
    )
    assert Region.objects.filter(code="330144").exists()
    with pytest.raises(CommandError, match="缺少编码字段"):
        call_command("grid", "import", str(path), "--level", "district")
