"""`chengguan backup` / `chengguan restore`: a small city with cases, photos and a sealed audit log
is backed up, restored into a new, migrated instance (another database and MEDIA_ROOT, through
the command line in a subprocess) and backed up again: the two manifests are identical, the
audit chain verifies and the personal data decrypts. A changed byte, a non-empty target or another
code version is refused before anything is written; a restore that does not come out identical
is rolled back whole.

On PostgreSQL the new instance is a fresh database (`<test database>_restore`, dropped after);
there the archive is also restored into SQLite (and so across databases)."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from PIL import Image

from chengguan.cases import services
from chengguan.cases.choices import CaseStatus
from chengguan.cases.models import Case, CasePhoto
from chengguan.cases.photos import ingest_photo
from chengguan.core import audit, backup
from chengguan.core.models import AuditLog
from chengguan.org.models import Person
from tests.cases.factories import make_case, minor, point_in

PG = connection.vendor == "postgresql"
REPORTER = ("王小明", "13912345678")


# --- a new instance in a subprocess ------------------------------------------------------------------


def _env(database_url: str, media: Path, var: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DATABASE_URL=database_url,
        MEDIA_ROOT=str(media),
        CHENGGUAN_VAR_DIR=str(var),
        DJANGO_SETTINGS_MODULE="chengguan.settings",
    )
    return env


def chengguan(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "chengguan", *args], env=env, capture_output=True, text=True, timeout=300
    )
    if check and result.returncode != 0:
        raise AssertionError(f"chengguan {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


# Run in the new instance after the restore: the audit chain, the personal data, a backup of it.
CHECK_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    from django.core.management import call_command
    from chengguan.cases.models import Case
    call_command("restore", sys.argv[1])
    call_command("audit", "verify")
    case = Case.objects.get(pk=int(sys.argv[3]))
    print(json.dumps({"reporter": [case.reporter_name, case.reporter_phone]}))
    call_command("backup", sys.argv[2])
    """
)


class Target:
    """A migrated, empty instance: a database made from a migrated template, and a MEDIA_ROOT."""

    def __init__(self, url: str, media: Path, var: Path):
        self.url, self.media, self.var = url, media, var
        self.env = _env(url, media, var)

    def restore_check_and_backup(self, archive: Path, out: Path, case_id: int) -> dict:
        script = self.var / "check.py"
        script.write_text(CHECK_SCRIPT)
        result = subprocess.run(
            [sys.executable, str(script), str(archive), str(out), str(case_id)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        line = next(x for x in result.stdout.splitlines() if x.startswith('{"reporter"'))
        return json.loads(line)


class SqliteTemplates:
    def __init__(self, root: Path):
        self.root = root
        self.template = root / "template.sqlite3"
        chengguan(_env(f"sqlite:///{self.template}", root / "unused-media", root), "migrate", "-v0")

    def new(self, name: str) -> Target:
        folder = self.root / name
        folder.mkdir()
        shutil.copy(self.template, folder / "db.sqlite3")
        return Target(f"sqlite:///{folder / 'db.sqlite3'}", folder / "media", folder)


class PostgresTemplates:
    def __init__(self, root: Path):
        import psycopg

        self.root = root
        s = connection.settings_dict
        self.params = {
            "host": s["HOST"] or "127.0.0.1",
            "port": s["PORT"] or 5432,
            "user": s["USER"],
            "password": s["PASSWORD"] or None,
        }
        self.base = f"{s['NAME']}_restore"
        self.made: list[str] = []
        self.admin = psycopg.connect(dbname="postgres", autocommit=True, **self.params)
        self._create(f"{self.base}_tpl")
        chengguan(_env(self.url(f"{self.base}_tpl"), root / "unused-media", root), "migrate", "-v0")

    def url(self, name: str) -> str:
        p = self.params
        password = f":{p['password']}" if p["password"] else ""
        return f"postgres://{p['user']}{password}@{p['host']}:{p['port']}/{name}"

    def _create(self, name: str, template: str | None = None) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        self.admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        self.made.append(name)

    def new(self, name: str) -> Target:
        folder = self.root / name
        folder.mkdir()
        self._create(f"{self.base}_{name}", template=f"{self.base}_tpl")
        return Target(self.url(f"{self.base}_{name}"), folder / "media", folder)

    def drop(self) -> None:
        for name in reversed(self.made):
            self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.close()


@pytest.fixture(scope="module")
def targets(tmp_path_factory, django_db_blocker):
    root = tmp_path_factory.mktemp("backup-targets")
    with django_db_blocker.unblock():
        made = PostgresTemplates(root) if PG else SqliteTemplates(root)
    yield made
    if PG:
        made.drop()


@pytest.fixture(scope="module")
def sqlite_targets(tmp_path_factory):
    return SqliteTemplates(tmp_path_factory.mktemp("backup-sqlite-targets"))


# --- the instance to back up -------------------------------------------------------------------------


def jpeg(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def instance(city, people, media):
    """Cases (one closed, one with photos before and after, a public report with the reporter's
    name and phone, encrypted), a file no row refers to, and the audit log sealed."""
    lon, lat = point_in(city.street_a)
    reported, _ = services.case_report(
        people["operator_a"],
        services.CaseInput(
            source="hotline",
            minor_class_id=minor().pk,
            description="井盖缺失",
            lon=lon,
            lat=lat,
            reporter_name=REPORTER[0],
            reporter_phone=REPORTER[1],
            photos=[ingest_photo(jpeg((200, 30, 30)))],
        ),
    )
    handling = make_case(city, people, CaseStatus.HANDLING)
    services.case_handle(
        people["handler_a"],
        handling.pk,
        version=handling.version,
        result="已处理",
        photos=[ingest_photo(jpeg((30, 200, 30)))],
    )
    make_case(city, people, CaseStatus.CLOSED)
    (media / "stray").mkdir(parents=True)
    (media / "stray" / "left-behind.jpg").write_bytes(jpeg((0, 0, 0)))
    audit.seal(now=timezone.now() + dt.timedelta(hours=1))
    assert audit.verify().ok
    return reported


# --- the tests ------------------------------------------------------------------------------------


def test_restore_into_a_new_instance_is_identical(instance, targets, tmp_path):
    archive = tmp_path / "city.tar.gz"
    out, err = io.StringIO(), io.StringIO()
    call_command("backup", str(archive), stdout=out, stderr=err)
    manifest = backup.verify(archive)

    # what is in it
    tables = manifest["tables"]
    assert tables["cases_case"]["rows"] == Case.objects.count() >= 3
    assert tables["cases_casephoto"]["rows"] == CasePhoto.objects.count() >= 2
    assert tables["core_auditlog"]["rows"] == AuditLog.objects.count() > 0
    assert tables["core_auditseal"]["rows"] >= 1
    assert tables["org_person"]["rows"] == Person.objects.count()
    assert {"chengguan_cache", "django_session", "org_usersession"} <= set(manifest["excluded_tables"])
    assert not {"chengguan_cache", "django_session", "org_usersession"} & set(tables)
    photo_files = {n for p in CasePhoto.objects.all() for n in (p.image, p.thumbnail)}
    assert photo_files <= set(manifest["media"]) and len(manifest["media"]) == len(photo_files) + 1
    assert manifest["media_orphans"] == ["stray/left-behind.jpg"] and manifest["media_missing"] == []
    assert "left-behind.jpg" in err.getvalue()
    assert manifest["migrations"] == backup.code_migration_state()
    assert manifest["checksum"] == backup.manifest_checksum(manifest)
    # personal data is in the archive only as the ciphertext
    raw = Case.objects.filter(pk=instance.pk).values_list("description", flat=True).get()
    assert raw == "井盖缺失"
    with connection.cursor() as cursor:
        cursor.execute("SELECT reporter_name FROM cases_case WHERE id = %s", [instance.pk])
        (ciphertext,) = cursor.fetchone()
    assert ciphertext.startswith("v1:")
    unpacked = tmp_path / "unpacked"
    backup.backup(unpacked)
    lines = (unpacked / "data" / "cases_case.jsonl").read_text(encoding="utf-8")
    assert ciphertext in lines and REPORTER[0] not in lines and REPORTER[1] not in lines

    target = targets.new("identical")
    # a changed byte: refused with a clear message, and nothing written (the restore below
    # succeeds only into an empty instance)
    tampered = tmp_path / "tampered"
    shutil.copytree(unpacked, tampered)
    data = tampered / "data" / "cases_case.jsonl"
    data.write_bytes(data.read_bytes().replace("井盖缺失".encode(), "井盖丢失".encode()))
    result = chengguan(target.env, "restore", str(tampered), check=False)
    assert result.returncode != 0
    assert "archive verification failed, nothing written" in result.stderr
    assert "data/cases_case.jsonl" in result.stderr

    again = tmp_path / "again"
    checked = target.restore_check_and_backup(archive, again, instance.pk)
    assert checked["reporter"] == list(REPORTER)  # same DATA_KEY: the personal data decrypts
    restored = json.loads((again / "manifest.json").read_text())
    assert backup.differences(manifest, restored) == []
    assert backup.comparable(restored) == backup.comparable(manifest)
    assert sorted(
        p.relative_to(target.media).as_posix() for p in target.media.rglob("*") if p.is_file()
    ) == sorted(manifest["media"])


@pytest.mark.skipif(not PG, reason="across databases: a PostgreSQL archive into SQLite")
def test_postgresql_archive_restores_into_sqlite(instance, sqlite_targets, tmp_path):
    archive = tmp_path / "city"
    call_command("backup", str(archive), stdout=io.StringIO(), stderr=io.StringIO())
    manifest = json.loads((archive / "manifest.json").read_text())
    assert manifest["database"] == "postgresql"
    target = sqlite_targets.new("from-postgresql")
    again = tmp_path / "again.tar"
    checked = target.restore_check_and_backup(archive, again, instance.pk)
    assert checked["reporter"] == list(REPORTER)
    restored = backup.verify(again)
    assert restored["database"] == "sqlite"
    assert backup.differences(manifest, restored) == []


def test_changed_media_or_data_refused_before_anything_is_written(instance, media, tmp_path):
    archive = tmp_path / "city"
    call_command("backup", str(archive), stdout=io.StringIO(), stderr=io.StringIO())
    call_command("backup", str(archive), "--verify", stdout=io.StringIO())  # intact

    photo = CasePhoto.objects.filter(case=instance).first()
    stored = archive / "media" / photo.image
    original = stored.read_bytes()
    changed = bytearray(original)
    changed[len(changed) // 2] ^= 0x01
    stored.write_bytes(bytes(changed))
    with pytest.raises(CommandError) as refused:
        call_command("backup", str(archive), "--verify", stdout=io.StringIO())
    assert f"media/{photo.image}" in str(refused.value) and "verification failed" in str(refused.value)
    cases = Case.objects.count()
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(archive), "--replace", stdout=io.StringIO())
    assert f"media/{photo.image}" in str(refused.value) and "nothing written" in str(refused.value)
    assert Case.objects.count() == cases
    stored.write_bytes(original)

    # a row changed, and the manifest changed to match it: the manifest's own checksum fails
    manifest_path = archive / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["tables"]["cases_case"]["rows"] += 1
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(CommandError, match="manifest's checksum does not match"):
        call_command("restore", str(archive), "--replace", stdout=io.StringIO())
    # a file slipped into the archive
    manifest["tables"]["cases_case"]["rows"] -= 1
    manifest_path.write_text(json.dumps(manifest))
    (archive / "media" / "extra.jpg").write_bytes(b"x")
    with pytest.raises(CommandError, match=r"media/extra\.jpg: not in the manifest"):
        call_command("backup", str(archive), "--verify", stdout=io.StringIO())


def test_non_empty_target_and_other_code_version_refused(instance, tmp_path):
    archive = tmp_path / "city.tar"
    call_command("backup", str(archive), stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(archive), stdout=io.StringIO())
    assert "not empty, nothing written" in str(refused.value) and "cases_case" in str(refused.value)

    # an archive of another code version (its manifest rewritten consistently)
    folder = tmp_path / "other-version"
    backup.backup(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["migrations"]["cases"] = ["0099_future"]
    manifest["checksum"] = backup.manifest_checksum(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CommandError, match="migration state does not match this code"):
        call_command("restore", str(folder), "--replace", stdout=io.StringIO())
    # … or made under another DATA_KEY
    manifest["migrations"] = backup.code_migration_state()
    manifest["data_key_check"] = "0" * 16
    manifest["checksum"] = backup.manifest_checksum(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CommandError, match="another DATA_KEY"):
        call_command("restore", str(folder), "--replace", stdout=io.StringIO())


def test_a_restore_that_does_not_come_out_identical_is_rolled_back(instance, media, tmp_path, monkeypatch):
    archive = tmp_path / "city"
    call_command("backup", str(archive), stdout=io.StringIO(), stderr=io.StringIO())
    before = backup.comparable(backup.compute_manifest())
    shutil.rmtree(media)  # the files come back from the archive, then must go again
    real = backup.compute_manifest

    def off_by_one(*args, **kwargs):
        manifest = real(*args, **kwargs)
        manifest["tables"]["cases_case"]["rows"] -= 1
        return manifest

    monkeypatch.setattr(backup, "compute_manifest", off_by_one)
    with pytest.raises(CommandError, match="everything was rolled back") as refused:
        call_command("restore", str(archive), "--replace", stdout=io.StringIO())
    assert "table cases_case" in str(refused.value)
    monkeypatch.setattr(backup, "compute_manifest", real)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))
    media.mkdir(parents=True, exist_ok=True)
    shutil.copytree(archive / "media", media, dirs_exist_ok=True)
    assert backup.comparable(backup.compute_manifest()) == before

    # and the same restore, unchanged, replaces the instance with identical contents
    call_command("restore", str(archive), "--replace", stdout=io.StringIO())
    assert backup.comparable(backup.compute_manifest()) == before
    assert audit.verify().ok
