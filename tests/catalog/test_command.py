"""`chengguan catalog load|validate`: exit status and messages, never a traceback."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from chengguan.catalog.models import Catalog, MinorClass

from .conftest import row_counts


def run(*args) -> str:
    out = io.StringIO()
    call_command("catalog", *args, stdout=out)
    return out.getvalue()


def test_validate_the_shipped_catalogue():
    assert "CJT214-2007 校验通过" in run("validate")


@pytest.mark.django_db
def test_load_the_shipped_catalogue_twice(shipped):
    output = run("load", "--activate")
    assert "CJT214-2007" in output and "已设为当前目录" in output
    assert Catalog.objects.get().active
    counts = row_counts()
    output = run("load")
    assert row_counts() == counts
    assert "新增 0 / 0 / 0" in output and "修改 0 / 0 / 0" in output
    assert Catalog.objects.get().active  # loading without --activate leaves activation alone


@pytest.mark.django_db
def test_load_a_given_file_without_activating(tmp_path, data):
    data["catalog"]["code"] = "LOCAL-2025"
    path = tmp_path / "local.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    output = run("load", str(path))
    assert "LOCAL-2025" in output and "未启用" in output
    assert not Catalog.objects.get(code="LOCAL-2025").active


@pytest.mark.django_db
def test_load_bad_file_writes_nothing(tmp_path, data):
    data["majors"][6]["minors"][1]["limits"]["handle"]["unit"] = "fortnight"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CommandError) as exc:
        run("load", str(path), "--activate")
    message = str(exc.value)
    assert "数据库未作任何修改" in message and "1 处错误" in message
    assert "事件小类 0102「暴露垃圾」" in message and "'fortnight'" in message
    assert row_counts()["minor"] == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"catalog": {', "不是有效的 JSON"),
        ('{"catalog": {}, "majors": []}', "catalog.code"),
    ],
)
def test_validate_bad_files(tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError) as exc:
        run("validate", str(path))
    assert "目录校验未通过" in str(exc.value) and expected in str(exc.value)


def test_validate_missing_file(tmp_path):
    with pytest.raises(CommandError, match="找不到目录文件"):
        run("validate", str(tmp_path / "nope.json"))


def _script() -> list[str]:
    script = Path(sys.executable).with_name("chengguan")
    return [str(script)] if script.exists() else [sys.executable, "-m", "chengguan"]


@pytest.mark.parametrize(
    ("content", "status", "expected"),
    [
        (None, 0, "校验通过"),
        ('{"catalog": ', 1, "不是有效的 JSON"),
        ('{"majors": [{"kind": "component", "code": "7"}]}', 1, "code 应为 2 位数字"),
    ],
)
def test_console_script_exit_status(tmp_path, content, status, expected):
    args = ["catalog", "validate"]
    if content is not None:
        path = tmp_path / "file.json"
        path.write_text(content, encoding="utf-8")
        args.append(str(path))
    env = {**os.environ, "CHENGGUAN_VAR_DIR": str(tmp_path / "var")}
    proc = subprocess.run([*_script(), *args], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == status, proc.stderr
    assert expected in (proc.stdout + proc.stderr)
    assert "Traceback" not in proc.stderr


def test_console_script_missing_file(tmp_path):
    env = {**os.environ, "CHENGGUAN_VAR_DIR": str(tmp_path / "var")}
    proc = subprocess.run(
        [*_script(), "catalog", "validate", str(tmp_path / "missing.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1 and "找不到目录文件" in proc.stderr and "Traceback" not in proc.stderr


def test_subcommand_is_required():
    with pytest.raises(CommandError):
        run()


@pytest.mark.django_db
def test_minor_count_matches_validate(shipped):
    run("load")
    assert f"{MinorClass.objects.count()} 个小类" in run("validate")
