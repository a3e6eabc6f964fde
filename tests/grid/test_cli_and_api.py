"""The grid command line and API: locate (one point, a CSV batch), export, generate errors."""

import csv
import json

import pytest
import shapely
from django.core.management import call_command
from django.core.management.base import CommandError
from shapely.geometry import shape

from chengguan.core import geo
from chengguan.grid import services
from chengguan.grid.models import UnitGrid

pytestmark = pytest.mark.django_db


@pytest.fixture
def inner_grid(city):
    return UnitGrid.objects.filter(area_m2__gt=9900).order_by("code").first()


def test_locate_inside_prints_all_levels(inner_grid, capsys):
    p = shape(inner_grid.geometry).centroid
    call_command("grid", "locate", str(p.x), str(p.y))
    out = capsys.readouterr().out
    assert f"grid: {inner_grid.code}" in out
    assert (
        inner_grid.community.code in out and inner_grid.street.name in out and inner_grid.district.name in out
    )


def test_locate_outside_exits_non_zero(city, capsys):
    with pytest.raises(SystemExit) as exc:
        call_command("grid", "locate", "100.0", "20.0")
    assert exc.value.code == 3
    assert "outside" in capsys.readouterr().err


def test_locate_gcj02_json(inner_grid, capsys):
    p = shape(inner_grid.geometry).centroid
    gx, gy = geo.wgs84_to_gcj02(p.x, p.y)
    call_command("grid", "locate", str(float(gx)), str(float(gy)), "--crs", "gcj02", "--json")
    data = json.loads(capsys.readouterr().out)
    assert data["grid"]["code"] == inner_grid.code and data["inside"] is True


def test_locate_unknown_crs_and_out_of_range(city):
    with pytest.raises(CommandError, match="未知坐标系"):
        call_command("grid", "locate", "112.9", "28.2", "--crs", "mars")
    with pytest.raises(CommandError, match=r"out of range"):
        call_command("grid", "locate", "212.9", "28.2")
    with pytest.raises(CommandError, match="LON LAT"):
        call_command("grid", "locate")


def test_locate_csv_batch(inner_grid, tmp_path):
    p = shape(inner_grid.geometry).centroid
    src = tmp_path / "in.csv"
    src.write_text(f"id,lon,lat\na,{p.x},{p.y}\nb,100.0,20.0\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    call_command("grid", "locate", "--input", str(src), "--output", str(out))
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows[0]["id"] == "a" and rows[0]["grid"] == inner_grid.code
    assert (
        rows[0]["community"] == inner_grid.community.code and rows[0]["district"] == inner_grid.district.code
    )
    assert rows[1]["grid"] == "" and rows[1]["district"] == ""


def test_locate_csv_errors_name_the_column_or_row(city, tmp_path):
    missing = tmp_path / "m.csv"
    missing.write_text("x,y\n1,2\n", encoding="utf-8")
    with pytest.raises(CommandError, match="lon、lat"):
        call_command("grid", "locate", "--input", str(missing))
    bad = tmp_path / "b.csv"
    bad.write_text("lon,lat\n112.9,28.2\nabc,28.2\n", encoding="utf-8")
    with pytest.raises(CommandError, match="第 3 行"):
        call_command("grid", "locate", "--input", str(bad))
    with pytest.raises(CommandError, match="文件不存在"):
        call_command("grid", "locate", "--input", str(tmp_path / "nope.csv"))


def test_export_every_level(city, tmp_path):
    for level, expected in [
        ("grid", UnitGrid.objects.count()),
        ("community", 6),
        ("street", 2),
        ("district", 1),
    ]:
        out = tmp_path / f"{level}.geojson"
        call_command("grid", "export", "--level", level, str(out))
        data = json.loads(out.read_text(encoding="utf-8"))
        assert data["type"] == "FeatureCollection" and len(data["features"]) == expected
        assert all(shape(f["geometry"]).is_valid for f in data["features"])


def test_generate_refuses_bad_settings_and_skips_existing(city, settings):
    with pytest.raises(services.GridError, match="10–2000"):
        services.grids_generate(cell_m=5)
    settings.GRID_CODE_LENGTH = 13
    with pytest.raises(services.GridError, match="14 或 15"):
        services.grids_generate()
    settings.GRID_CODE_LENGTH = 15
    before = UnitGrid.objects.count()
    report = services.grids_generate()
    assert report.grids == 0 and len(report.skipped) == 6 and UnitGrid.objects.count() == before
    with pytest.raises(services.GridError, match="不存在"):
        services.grids_generate(community_code="999999999999")


def test_generate_replace_and_14_digit_capacity(city, settings):
    community = city.street_a.children.order_by("code").first()
    settings.GRID_CODE_LENGTH = 14
    count = UnitGrid.objects.filter(community=community).count()
    if count >= 100:
        with pytest.raises(services.GridError, match="容量"):
            services.grids_generate(community_code=community.code, replace=True)
        assert UnitGrid.objects.filter(community=community).count() == count  # rolled back
    report = services.grids_generate(community_code=community.code, replace=True, cell_m=250)
    grids = list(UnitGrid.objects.filter(community=community).order_by("code"))
    assert report.grids == len(grids) and all(len(g.code) == 14 for g in grids)
    assert sum(g.area_m2 for g in grids) == pytest.approx(community.area_m2, rel=1e-3)


def test_api_locate(client_for, people, inner_grid):
    client = client_for(people["inspector_a"])
    p = shape(inner_grid.geometry).centroid
    r = client.get("/api/v1/grid/locate", {"lon": p.x, "lat": p.y})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["inside"] and body["grid"]["code"] == inner_grid.code
    assert body["street"]["name"] == inner_grid.street.name
    bx, by = geo.wgs84_to_bd09(p.x, p.y)
    assert (
        client.get("/api/v1/grid/locate", {"lon": float(bx), "lat": float(by), "crs": "bd09"}).json()["grid"][
            "code"
        ]
        == inner_grid.code
    )
    out = client.get("/api/v1/grid/locate", {"lon": 100, "lat": 20}).json()
    assert out["inside"] is False and out["grid"] is None and out["message"]


def test_api_locate_bad_input(client_for, people, city):
    client = client_for(people["inspector_a"])
    r = client.get("/api/v1/grid/locate", {"lon": 112.9, "lat": 28.2, "crs": "mars"})
    assert r.status_code == 400 and "未知坐标系" in r.json()["message"]
    r = client.get("/api/v1/grid/locate", {"lon": 190, "lat": 28.2})
    assert r.status_code == 400
    r = client.get("/api/v1/grid/locate", {"lon": "abc", "lat": 28.2})
    assert r.status_code == 422 and r.json()["detail"]["errors"]
    r = client.get("/api/v1/grid/locate", {"lat": 28.2})
    assert r.status_code == 422


def test_api_requires_login(client, city):
    assert client.get("/api/v1/grid/locate", {"lon": 112.9, "lat": 28.2}).status_code == 401


def test_api_grid_list_and_detail_follow_jurisdiction(client_for, people, city):
    a = client_for(people["dispatcher_a"])
    listed = a.get("/api/v1/grid/grids", {"limit": 5000}).json()
    assert listed and {g["street_id"] for g in listed} == {city.street_a.pk}
    other = UnitGrid.objects.filter(street=city.street_b).first()
    assert a.get(f"/api/v1/grid/grids/{other.pk}").status_code == 404
    mine = UnitGrid.objects.filter(street=city.street_a).first()
    detail = a.get(f"/api/v1/grid/grids/{mine.pk}").json()
    assert detail["code"] == mine.code and shapely.geometry.shape(detail["geometry"]).is_valid
    assert a.get("/api/v1/grid/grids", {"limit": 0}).status_code == 400
