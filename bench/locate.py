"""Benchmark: locating points in unit grids (not a test: it measures and prints, it asserts nothing).

    .venv/bin/python bench/locate.py [--points 1000000] [--irregular 20000] [--postgis/--no-postgis]

Builds the demo city in a throw-away SQLite database (never the user's), then times, on random
points over the demo city's bounding box (single process, one warm-up call, best of --runs):

* the project's index: `Locator.locate_ids` (grid → community → street → district ids) and the
  bare lattice-aligned `PolygonIndex.locate` on the generated grids;
* the same `PolygonIndex` with its default raster on an irregular Voronoi tessellation;
* shapely's `STRtree.query(points, predicate="within")` on the same polygons, with and without
  the `shapely.points` construction;
* PostGIS (`ST_Contains` join against a GiST index) when the extension can be created in a scratch
  database; it is never installed by this script.

All methods are checked against `brute_force()` on a sample. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

GOAL = {"generated": 5e6, "irregular": 1.5e6}
ANCHOR = "≥ 5 M points/s on generated grids and ≥ 1.5 M on irregular ones (single process)"
PROJECT_METHODS = ("Locator.locate_ids", "PolygonIndex.locate")


# --- results -------------------------------------------------------------------------------------


@dataclass
class Row:
    method: str
    dataset: str
    kind: str  # "generated" or "irregular": which anchor applies
    points: int
    seconds: float


@dataclass
class Build:
    structure: str
    dataset: str
    polygons: int
    seconds: float
    bytes: float | None = None
    stats: dict = field(default_factory=dict)


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    builds: list[Build] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mismatches: list[tuple[str, str, int, int]] = field(default_factory=list)  # dataset, method, n, bad


def best_of(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    """One warm-up call, then the best wall time of `runs` calls (and the last result)."""
    out = fn()
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - started)
    return best, out


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def say(msg: str) -> None:
    print(msg, flush=True)


def mbytes(n: float | None) -> str:
    return "n/a" if n is None else f"{n / 1e6:.1f} MB"


def rate(n: float) -> str:
    return f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n / 1e3:.1f} k"


# --- set-up --------------------------------------------------------------------------------------


def setup_django(tmp: Path) -> None:
    """Point Django at a temporary SQLite file and var dir, migrate, build the demo city."""
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["CHENGGUAN_VAR_DIR"] = str(tmp)
    os.environ["DJANGO_SETTINGS_MODULE"] = "chengguan.settings"
    import django

    django.setup()
    logging.getLogger("chengguan").setLevel(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    import chengguan.demo.build as demo

    quiet = io.StringIO()  # the catalogue command's own report
    try:
        with contextlib.redirect_stdout(quiet):
            result = demo.build_demo()
    except Exception as exc:  # the catalogue is not needed here: skip it if it cannot load
        say(f"  (catalogue load failed: {type(exc).__name__}: {exc}; building the demo without it)")
        real = demo.call_command
        demo.call_command = lambda name, *a, **kw: None if name == "catalog" else real(name, *a, **kw)
        try:
            result = demo.build_demo()
        finally:
            demo.call_command = real
    for line in result.summary:
        say(f"  {line}")


def voronoi(outline, n: int, rng: np.random.Generator):
    """About `n` irregular polygons: a Voronoi tessellation of random points, clipped to `outline`."""
    import shapely

    minx, miny, maxx, maxy = outline.bounds
    seeds = np.empty((0, 2))
    while len(seeds) < n:
        cand = np.column_stack((rng.uniform(minx, maxx, 2 * n), rng.uniform(miny, maxy, 2 * n)))
        seeds = np.vstack((seeds, cand[shapely.contains_xy(outline, cand[:, 0], cand[:, 1])]))
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds[:n]), extend_to=outline.envelope)
    )
    cells = shapely.intersection(cells, outline)
    # Keep the polygonal part of each clipped cell (a clip can leave a collection with slivers).
    polygonal = shapely.get_type_id(cells)
    odd = np.flatnonzero((polygonal != 3) & (polygonal != 6))
    for i in odd:
        parts = [p for p in shapely.get_parts(cells[i]) if p.geom_type in ("Polygon", "MultiPolygon")]
        cells[i] = shapely.union_all(parts) if parts else shapely.Polygon()
    return cells[~shapely.is_empty(cells) & (shapely.area(cells) > 0)]


def fresh(polygons):
    """Unprepared copies of `polygons`, so each structure's build time includes its own preparation."""
    import shapely

    return shapely.from_wkb(shapely.to_wkb(polygons))


# --- the in-memory methods -----------------------------------------------------------------------


def strtree_locate(tree, points, n: int) -> np.ndarray:
    """Polygon index per point like brute_force(): the first polygon containing it, else -1."""
    inp, hit = tree.query(points, predicate="within")
    out = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, inp, hit)
    out[out == np.iinfo(np.int64).max] = -1
    return out


def bench_strtree(report: Report, dataset: str, kind: str, polygons, x, y, runs: int):
    import shapely

    n = len(x)
    polys = fresh(polygons)
    build_s, tree = timed(lambda: (shapely.prepare(polys), shapely.STRtree(polys))[1])
    report.builds.append(Build("shapely STRtree (prepared)", dataset, len(polys), build_s))
    points_s, points = best_of(lambda: shapely.points(x, y), runs)
    query_s, out = best_of(lambda: strtree_locate(tree, points, n), runs)
    report.rows.append(Row("shapely.points (construction only)", dataset, kind, n, points_s))
    report.rows.append(Row("STRtree.query within", dataset, kind, n, query_s))
    report.rows.append(Row("shapely.points + STRtree.query", dataset, kind, n, points_s + query_s))
    return out


def where_time_goes(index, x, y) -> str:
    """One instrumented, untimed pass: how many points each level of a PolygonIndex answers."""
    r = index.raster
    fx, fy = (x - r.x0) / r.dx, (y - r.y0) / r.dy
    inside = (fx >= 0) & (fx < r.nx) & (fy >= 0) & (fy < r.ny)
    lvl1 = index.level1[fy[inside].astype(np.int64), fx[inside].astype(np.int64)]
    in_mixed = np.count_nonzero(lvl1 <= -2)
    calls: list[tuple[int, float]] = []
    original = index._exact

    def exact(lists, *args):
        started = time.perf_counter()
        found = original(lists, *args)
        calls.append((len(lists), time.perf_counter() - started))
        return found

    index._exact = exact
    try:
        total, _ = timed(lambda: index.locate(x, y))
    finally:
        del index._exact
    n_exact = sum(c[0] for c in calls)
    t_exact = sum(c[1] for c in calls)
    n = len(x)
    return (
        f"{100 * (n - np.count_nonzero(inside)) / n:.1f}% off the raster, "
        f"{100 * (np.count_nonzero(inside) - in_mixed) / n:.1f}% by one cell lookup, "
        f"{100 * (in_mixed - n_exact) / n:.1f}% by a sub-cell lookup, "
        f"{100 * n_exact / n:.1f}% by exact shapely tests "
        f"(these take {t_exact:.3f} s of {total:.3f} s, {100 * t_exact / max(total, 1e-9):.0f}%)"
    )


def locate_ids_breakdown(locator, x, y) -> str:
    """One instrumented, untimed pass of Locator.locate_ids: grid index, region fall-back, the rest."""
    spent: dict[str, float] = {}

    def wrap(name, index):
        original = index.locate

        def locate(lon, lat):
            started = time.perf_counter()
            out = original(lon, lat)
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started
            return out

        index.locate = locate

    indexes = [("grids", locator.grids)] + [
        (str(level), idx) for level, (_ids, idx) in locator.levels.items()
    ]
    for name, index in indexes:
        wrap(name, index)
    try:
        total, out = timed(lambda: locator.locate_ids(x, y))
    finally:
        for _name, index in indexes:
            del index.locate
    no_grid = np.count_nonzero(out["grid"] == 0)
    parts = ", ".join(f"{k} index {v:.3f} s" for k, v in spent.items())
    rest = total - sum(spent.values())
    return (
        f"{total:.3f} s in all: {parts}; id mapping and parent filling {rest:.3f} s "
        f"({100 * rest / max(total, 1e-9):.0f}%); {100 * no_grid / len(x):.1f}% of points have no grid "
        f"and go through the region indexes"
    )


# --- PostGIS -------------------------------------------------------------------------------------


def bench_postgis(report: Report, args, datasets, x, y, refs) -> str | None:
    """Time ST_Contains joins in a scratch database; returns the PostGIS version, or None."""
    try:
        import psycopg
        from psycopg import sql
        from psycopg.conninfo import make_conninfo
    except ImportError:
        unavailable(report, "psycopg is not installed")
        return None
    try:
        admin = psycopg.connect(args.pg_dsn, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        unavailable(report, f"cannot connect to PostgreSQL: {reason}")
        return None
    db = sql.Identifier(args.pg_db)
    version = None
    with admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(db))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(db))
        try:
            with psycopg.connect(make_conninfo(args.pg_dsn, dbname=args.pg_db), autocommit=True) as conn:
                try:
                    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                except psycopg.Error:
                    unavailable(report, "install postgresql-15-postgis-3")
                    return None
                version = _postgis_run(report, conn, args, datasets, x, y, refs)
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(db))
    return version


def unavailable(report: Report, reason: str) -> None:
    say(f"PostGIS: not available ({reason})")
    report.notes.append(f"PostGIS: not available ({reason}).")


def _postgis_run(report: Report, conn, args, datasets, x, y, refs) -> str:
    version = conn.execute(
        "SELECT postgis_lib_version() || ' (GEOS ' || postgis_geos_version() || ')'"
    ).fetchone()[0]
    # Single process like the in-memory methods; JIT off (it only adds compile time to this plan).
    conn.execute("SET max_parallel_workers_per_gather = 0")
    conn.execute("SET jit = off")
    n = min(args.pg_points, len(x))
    sample = min(args.sample, n)
    if n < len(x):
        report.notes.append(
            f"PostGIS is timed on the first {n:,} of the {len(x):,} points (a full run at "
            f"~20–50 k points/s would take far longer than the rest of the benchmark); "
            f"use --pg-points {len(x)} for all of them."
        )
    say(f"PostGIS {version}: loading {n:,} points")
    load_s, _ = timed(lambda: _load_points(conn, x[:n], y[:n]))
    report.notes.append(
        f"PostGIS: COPY of {n:,} points (hex WKB, psycopg 3) + primary key took {load_s:.2f} s."
    )
    for name, kind, polygons in datasets:
        table = "polys_" + kind
        build_s, _ = timed(lambda t=table, p=polygons: _load_polygons(conn, t, p))
        report.builds.append(Build("PostGIS table + GiST index", name, len(polygons), build_s))
        # The agreement query on the sample doubles as the warm-up.
        rows = conn.execute(
            f"SELECT pts.id, min(p.id) FROM pts JOIN {table} p ON ST_Contains(p.geom, pts.geom) "
            "WHERE pts.id < %s GROUP BY pts.id",
            (sample,),
        ).fetchall()
        got = np.full(sample, -1, dtype=np.int64)
        if rows:
            ids = np.array(rows, dtype=np.int64)
            got[ids[:, 0]] = ids[:, 1]
        check(report, name, "PostGIS ST_Contains", refs[kind][:sample], got, x, y)
        query = f"SELECT count(*) FROM pts JOIN {table} p ON ST_Contains(p.geom, pts.geom)"
        best = float("inf")
        for _ in range(args.runs):
            seconds, _ = timed(lambda q=query: conn.execute(q).fetchone())
            best = min(best, seconds)
        report.rows.append(Row("PostGIS ST_Contains join (GiST)", name, kind, n, best))
        say(f"  {name}: {rate(n / best)} points/s")
    return version


def _load_points(conn, x, y) -> None:
    import shapely

    conn.execute("CREATE UNLOGGED TABLE pts (id integer NOT NULL, geom geometry(Point, 4326) NOT NULL)")
    wkb = shapely.to_wkb(shapely.set_srid(shapely.points(x, y), 4326), hex=True, include_srid=True)
    with conn.cursor().copy("COPY pts (id, geom) FROM STDIN") as copy:
        step = 100_000
        for s in range(0, len(wkb), step):
            copy.write("".join(f"{i}\t{h}\n" for i, h in enumerate(wkb[s : s + step], start=s)))
    conn.execute("ALTER TABLE pts ADD PRIMARY KEY (id)")
    conn.execute("ANALYZE pts")


def _load_polygons(conn, table: str, polygons) -> None:
    import shapely

    conn.execute(f"CREATE TABLE {table} (id integer PRIMARY KEY, geom geometry(Geometry, 4326) NOT NULL)")
    wkb = shapely.to_wkb(shapely.set_srid(polygons, 4326), hex=True, include_srid=True)
    with conn.cursor().copy(f"COPY {table} (id, geom) FROM STDIN") as copy:
        copy.write("".join(f"{i}\t{h}\n" for i, h in enumerate(wkb)))
    conn.execute(f"CREATE INDEX ON {table} USING gist (geom)")
    conn.execute(f"ANALYZE {table}")


# --- agreement -----------------------------------------------------------------------------------


def check(report: Report, dataset: str, method: str, expected, got, x, y) -> None:
    expected, got = np.asarray(expected), np.asarray(got)
    bad = np.flatnonzero(expected != got)
    report.mismatches.append((dataset, method, len(expected), len(bad)))
    for i in bad[:3]:
        say(
            f"  mismatch {dataset} / {method}: point {i} ({x[i]:.9f}, {y[i]:.9f}) "
            f"expected {expected[i]}, got {got[i]}"
        )


# --- output --------------------------------------------------------------------------------------


def machine_info(postgis: str | None) -> list[str]:
    import django
    import shapely

    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"machine: {cpu}; {os.cpu_count()} CPUs ({usable} usable); {platform.platform()}",
        f"python {platform.python_version()}, numpy {np.__version__}, shapely {shapely.__version__}, "
        f"GEOS {shapely.geos_version_string}, Django {django.get_version()}",
        f"PostGIS: {postgis or 'not measured'}",
        "load average (1/5/15 min): "
        + (" / ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a")
        + " (other work on the machine skews the timings)",
    ]


def print_report(report: Report, postgis: str | None, total_s: float) -> None:
    say("")
    for line in machine_info(postgis):
        say(line)
    say("")
    say(f"Goal (from the issue): {ANCHOR}")
    say("")
    head = ("method", "data set", "points", "seconds", "points/s", "goal")
    lines = []
    for r in report.rows:
        pps = r.points / r.seconds if r.seconds > 0 else float("inf")
        goal = GOAL[r.kind]
        verdict = ""
        if r.method in PROJECT_METHODS:
            verdict = f"≥ {goal / 1e6:g} M: {'met' if pps >= goal else 'NOT met'}"
        lines.append((r.method, r.dataset, f"{r.points:,}", f"{r.seconds:.3f}", rate(pps), verdict))
    _table(head, lines, right=(2, 3, 4))
    say("")
    head = ("index", "data set", "polygons", "build s", "memory", "cells", "mixed cells", "mixed subcells")
    lines = []
    for b in report.builds:
        st = b.stats
        lines.append(
            (
                b.structure,
                b.dataset,
                f"{b.polygons:,}",
                f"{b.seconds:.2f}",
                mbytes(b.bytes),
                f"{int(st['cells']):,}" if st else "",
                f"{int(st['mixed_cells']):,}" if st else "",
                f"{int(st['mixed_subcells']):,}" if st else "",
            )
        )
    _table(head, lines, right=(2, 3, 4, 5, 6, 7))
    say(
        "(memory: the index's arrays, `.stats['bytes']`; the shapely polygons it keeps for exact tests "
        "are not counted. STRtree and prepared geometries build part of their structure lazily, on the "
        "first query, which the warm-up call absorbs.)"
    )
    say("")
    say("Agreement with brute_force():")
    for dataset, method, n, bad in report.mismatches:
        say(f"  {dataset:<22} {method:<34} {bad:>6} mismatches in {n:,} points")
    if report.notes:
        say("")
        for note in report.notes:
            say(f"- {note}")
    say("")
    say(f"total run time {total_s:.0f} s")


def _table(head, lines, right=()) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(head, *lines, strict=False)]

    def fmt(cells):
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    say(fmt(head))
    say("  ".join("-" * w for w in widths))
    for line in lines:
        say(fmt(line))


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--points", type=int, default=1_000_000, help="random points to locate (default 1,000,000)"
    )
    p.add_argument("--irregular", type=int, default=20_000, help="Voronoi polygons in the irregular set")
    p.add_argument("--sample", type=int, default=100_000, help="points checked against brute_force()")
    p.add_argument("--runs", type=int, default=3, help="timed runs per method (best is reported)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument(
        "--postgis",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time PostGIS if the extension is available (default: yes)",
    )
    p.add_argument(
        "--pg-points",
        type=int,
        default=100_000,
        help="points located by PostGIS (it is ~100× slower; default 100,000)",
    )
    p.add_argument(
        "--pg-dsn",
        default=os.environ.get("BENCH_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test"),
        help="an existing database to connect to; a scratch database is created beside it",
    )
    p.add_argument("--pg-db", default="chengguan_bench", help="the scratch database (dropped at the end)")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    report = Report()
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="chengguan-bench-") as tmp:
        say(f"Building the demo city in a temporary SQLite database under {tmp}")
        setup_s, _ = timed(lambda: setup_django(Path(tmp)))
        report.notes.append(f"Set-up (migrate + build_demo in a temporary SQLite file) took {setup_s:.1f} s.")

        import shapely

        from chengguan.grid import index as grid_index
        from chengguan.grid.spatial import PolygonIndex, brute_force
        from chengguan.org.choices import RegionLevel
        from chengguan.org.models import Region

        district = Region.objects.get(level=RegionLevel.DISTRICT)
        outline = shapely.geometry.shape(district.geometry)

        # ---- the demo city's generated grids ----
        build_s, locator = timed(grid_index.build)
        grids = locator.grids
        demo_name = f"demo grids ({len(grids.polygons):,})"
        level_bytes = sum(idx.stats["bytes"] for _ids, idx in locator.levels.values())
        report.builds.append(
            Build(
                "Locator (index.build(): DB read + all levels)",
                demo_name,
                len(grids.polygons),
                build_s,
                grids.stats["bytes"] + level_bytes,
            )
        )
        demo_polys = grids.polygons
        aligned_s, aligned = timed(lambda: PolygonIndex(fresh(demo_polys), raster=grids.raster))
        report.builds.append(
            Build(
                "PolygonIndex, lattice-aligned raster",
                demo_name,
                len(demo_polys),
                aligned_s,
                aligned.stats["bytes"],
                aligned.stats,
            )
        )
        del aligned
        default_s, demo_default = timed(lambda: PolygonIndex(fresh(demo_polys)))
        report.builds.append(
            Build(
                "PolygonIndex, default raster",
                demo_name,
                len(demo_polys),
                default_s,
                demo_default.stats["bytes"],
                demo_default.stats,
            )
        )

        minx, miny, maxx, maxy = outline.bounds
        n = args.points
        x, y = rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)
        sample = min(args.sample, n)
        say(
            f"{n:,} random points over the demo city's bounding box "
            f"({minx:.4f}, {miny:.4f}) – ({maxx:.4f}, {maxy:.4f})"
        )

        say(f"Timing on {demo_name} ...")
        s, ids = best_of(lambda: locator.locate_ids(x, y), args.runs)
        report.rows.append(Row("Locator.locate_ids", demo_name, "generated", n, s))
        s, demo_out = best_of(lambda: grids.locate(x, y), args.runs)
        report.rows.append(Row("PolygonIndex.locate", demo_name, "generated", n, s))
        s, demo_default_out = best_of(lambda: demo_default.locate(x, y), args.runs)
        report.rows.append(Row("PolygonIndex.locate, default raster", demo_name, "generated", n, s))
        demo_tree_out = bench_strtree(report, demo_name, "generated", demo_polys, x, y, args.runs)

        xs, ys = x[:sample], y[:sample]
        demo_ref = brute_force(demo_polys, xs, ys)
        check(
            report,
            demo_name,
            "Locator.locate_ids (grid id)",
            np.where(demo_ref >= 0, locator.grid_ids[demo_ref], 0),
            ids["grid"][:sample],
            x,
            y,
        )
        check(report, demo_name, "PolygonIndex.locate", demo_ref, demo_out[:sample], x, y)
        check(
            report,
            demo_name,
            "PolygonIndex.locate, default raster",
            demo_ref,
            demo_default_out[:sample],
            x,
            y,
        )
        check(report, demo_name, "STRtree.query within", demo_ref, demo_tree_out[:sample], x, y)
        report.notes.append(f"Locator.locate_ids on {demo_name}: " + locate_ids_breakdown(locator, x, y))
        report.notes.append(f"PolygonIndex.locate (aligned) on {demo_name}: " + where_time_goes(grids, x, y))

        # ---- an irregular tessellation ----
        say(f"Building ~{args.irregular:,} Voronoi polygons clipped to the district outline ...")
        vor_s, vor = timed(lambda: voronoi(outline, args.irregular, rng))
        vor_name = f"Voronoi ({len(vor):,})"
        report.notes.append(
            f"The Voronoi set took {vor_s:.1f} s to make; "
            f"{shapely.get_num_coordinates(vor).mean():.1f} vertices per polygon on average."
        )
        say(f"Building PolygonIndex on {vor_name} (default raster; this takes a while) ...")
        build_s, vor_index = timed(lambda: PolygonIndex(fresh(vor)))
        report.builds.append(
            Build(
                "PolygonIndex, default raster",
                vor_name,
                len(vor),
                build_s,
                vor_index.stats["bytes"],
                vor_index.stats,
            )
        )
        say(f"  built in {build_s:.1f} s; timing ...")
        s, vor_out = best_of(lambda: vor_index.locate(x, y), args.runs)
        report.rows.append(Row("PolygonIndex.locate", vor_name, "irregular", n, s))
        vor_tree_out = bench_strtree(report, vor_name, "irregular", vor, x, y, args.runs)
        vor_ref = brute_force(vor, xs, ys)
        check(report, vor_name, "PolygonIndex.locate", vor_ref, vor_out[:sample], x, y)
        check(report, vor_name, "STRtree.query within", vor_ref, vor_tree_out[:sample], x, y)
        report.notes.append(f"PolygonIndex.locate on {vor_name}: " + where_time_goes(vor_index, x, y))

        # ---- PostGIS ----
        postgis = None
        if args.postgis:
            say("PostGIS ...")
            refs = {"generated": demo_ref, "irregular": vor_ref}
            datasets = [(demo_name, "generated", demo_polys), (vor_name, "irregular", vor)]
            postgis = bench_postgis(report, args, datasets, x, y, refs)
        else:
            report.notes.append("PostGIS: skipped (--no-postgis).")

        from django.db import connections

        connections.close_all()
    print_report(report, postgis, time.perf_counter() - started)


if __name__ == "__main__":
    sys.exit(main())
