"""`chengguan grid import|generate|export|locate`: boundaries and unit grids from the command line."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from chengguan.core import context, geo
from chengguan.core.management.subcommands import subcommands
from chengguan.org.choices import RegionLevel

from ... import selectors, services

EXIT_OUTSIDE = 3


class Command(BaseCommand):
    help = "Unit grids and boundaries: import, generate, export, locate. 单元网格：导入、生成、导出、定位。"

    def add_arguments(self, parser):
        sub = subcommands(parser, dest="action", required=True)
        p = sub.add_parser("import", help="import district/street/community boundaries from GeoJSON")
        p.add_argument("file")
        p.add_argument("--level", required=True, choices=RegionLevel.values)
        p.add_argument("--code-field", default="code")
        p.add_argument("--name-field", default="name")

        p = sub.add_parser("generate", help="generate unit grids (万米单元网格) over communities")
        p.add_argument(
            "--cell", type=float, default=None, help="cell side in metres (default GRID_CELL_METRES=100)"
        )
        p.add_argument("--community", default=None, help="only this community code")
        p.add_argument("--sliver", type=float, default=None, help="merge pieces smaller than this (m²)")
        p.add_argument(
            "--replace", action="store_true", help="regenerate communities that already have grids"
        )

        p = sub.add_parser("export", help="export grids or regions as GeoJSON")
        p.add_argument("--level", required=True, choices=["grid", *RegionLevel.values])
        p.add_argument("out", help="output file, or - for standard output")

        p = sub.add_parser("locate", help="which grid/community/street/district a point is in")
        p.add_argument("lon", nargs="?", type=float)
        p.add_argument("lat", nargs="?", type=float)
        p.add_argument("--crs", default="wgs84", help="wgs84 | cgcs2000 | gcj02 | bd09")
        p.add_argument("--input", help="CSV with columns lon,lat")
        p.add_argument("--output", help="CSV written with grid, community, street, district codes added")
        p.add_argument("--json", action="store_true", help="print the answer as JSON")

    def handle(self, *args, action, **opts):
        with context.acting(context.ActorContext(via=f"cli:grid {action}")):
            try:
                return getattr(self, f"do_{action}")(**opts)
            except services.GridError as exc:
                raise CommandError("\n".join(exc.messages)) from None
            except geo.CRSError as exc:
                raise CommandError(str(exc)) from None

    def do_import(self, file, level, code_field, name_field, **_):
        report = services.region_import(file, level, code_field=code_field, name_field=name_field)
        for line in report.lines():
            self.stdout.write(line)

    def do_generate(self, cell, community, sliver, replace, **_):
        report = services.grids_generate(
            cell_m=cell, community_code=community, sliver_m2=sliver, replace=replace
        )
        for line in report.lines():
            self.stdout.write(line)

    def do_export(self, level, out, **_):
        data = services.grids_export(level)
        text = json.dumps(data, ensure_ascii=False)
        if out == "-":
            self.stdout.write(text)
        else:
            Path(out).write_text(text, encoding="utf-8")
            self.stdout.write(f"{len(data['features'])} features → {out}")

    def do_locate(self, lon, lat, crs, input, output, json: bool = False, **_):
        if input:
            return self._locate_csv(input, output, crs)
        if lon is None or lat is None:
            raise CommandError("给出经纬度 LON LAT，或用 --input 指定 CSV · give LON LAT or --input FILE")
        loc = selectors.locate(lon, lat, crs)
        if json:
            import json as _json

            self.stdout.write(_json.dumps(loc.as_dict(), ensure_ascii=False))
        elif loc.inside:
            parts = [
                f"{k}: {v['code']} {v.get('name') or ''}".rstrip()
                for k, v in (
                    ("grid", loc.grid),
                    ("community", loc.community),
                    ("street", loc.street),
                    ("district", loc.district),
                )
                if v
            ]
            self.stdout.write("\n".join(parts))
        else:
            self.stderr.write(f"outside: ({lon}, {lat}) 不在本市范围内 · outside the city")
        if not loc.inside:
            sys.exit(EXIT_OUTSIDE)

    def _locate_csv(self, input, output, crs):
        path = Path(input)
        if not path.is_file():
            raise CommandError(f"文件不存在 · no such file: {path}")
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            fields = [f.strip().lower() for f in (reader.fieldnames or [])]
            if "lon" not in fields or "lat" not in fields:
                raise CommandError(
                    f"CSV 缺少列 lon、lat（实际列：{', '.join(fields) or '无'}）· CSV needs columns lon,lat"
                )
            reader.fieldnames = fields
            rows = list(reader)
        lons, lats = [], []
        for n, row in enumerate(rows, start=2):
            try:
                lons.append(float(row["lon"]))
                lats.append(float(row["lat"]))
            except (TypeError, ValueError):
                raise CommandError(
                    f"第 {n} 行：lon/lat 不是数字 · row {n}: lon/lat is not a number"
                ) from None
            try:
                geo.check_lonlat(lons[-1], lats[-1])
            except geo.CRSError as exc:
                raise CommandError(f"第 {n} 行 · row {n}: {exc}") from None
        codes = (
            selectors.locate_many(lons, lats, crs)
            if rows
            else {k: [] for k in ("grid", "community", "street", "district")}
        )
        out_fields = [*fields, *(f for f in ("grid", "community", "street", "district") if f not in fields)]
        target = open(output, "w", encoding="utf-8", newline="") if output else self.stdout
        try:
            writer = csv.DictWriter(target, fieldnames=out_fields)
            writer.writeheader()
            for i, row in enumerate(rows):
                writer.writerow(
                    {**row, **{k: codes[k][i] for k in ("grid", "community", "street", "district")}}
                )
        finally:
            if output:
                target.close()
        inside = sum(1 for c in codes["district"] if c)
        self.stderr.write(
            f"{len(rows)} points, {inside} inside, {len(rows) - inside} outside"
            + (f" → {output}" if output else "")
        )
