"""The quick start's first command builds a working city: run `chengguan demo --no-serve` as a
person would, in its own process and its own SQLite database, and look at what it made."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the demo is the embedded SQLite city; the SQLite pass of the suite runs it",
)
def test_demo_builds_a_city_with_cases_users_and_published_figures(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env["CHENGGUAN_VAR_DIR"] = str(tmp_path)
    chengguan = Path(sys.executable).with_name("chengguan")
    run = subprocess.run(
        [str(chengguan), "demo", "--no-serve", "--days", "40"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    for address in ("/login/", "/command/", "/public/lookup/", "/admin/", "/api/v1/docs"):
        assert address in out
    db = sqlite3.connect(tmp_path / "chengguan.sqlite3")
    count = lambda table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: E731
    assert count("grid_unitgrid") > 1000 and count("org_person") > 50
    assert count("cases_case") > 100 and count("cases_caseevent") > count("cases_case")
    assert count("evaluation_dailycounter") > 0  # the evaluation pages have figures at once
    assert count("evaluation_snapshot") == 1  # last month, published
    again = subprocess.run(
        [str(chengguan), "demo", "--no-serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0 and "已存在" in again.stdout  # a second run changes nothing
    assert count("evaluation_snapshot") == 1
