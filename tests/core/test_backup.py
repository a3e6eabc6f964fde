"""`chengguan backup` / `chengguan restore`: a small city with cases, photos and a sealed audit log
is backed up, restored into a new, migrated instance (another database and MEDIA_ROOT, through
the command line in a subprocess) and backed up again: the two manifests are identical but for
one audit row more, the restore's own record, appended after the restored ones; the audit chain
verifies and the personal data decrypts. The backup is recorded too (an export), after the archive
is complete. A changed byte, a non-empty target or another code version is refused before
anything is written, not even an audit row; a restore that does not come out identical is rolled
back whole.

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
import tarfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, models
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from PIL import Image

from chengguan.cases import services
from chengguan.cases.choices import CaseStatus
from chengguan.cases.models import Case, CasePhoto
from chengguan.cases.photos import ingest_photo
from chengguan.core import audit, backup
from chengguan.core.models import AuditAction, AuditLog, AuditSeal, WorkPeriod
from chengguan.evaluation.models import SettledDay
from chengguan.grid.models import UnitGrid
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


def object_values(spec: list[tuple[str, object]]) -> str:
    """The listed rows (model label, pk) as the models read them (personal data decrypted), in
    one canonical text: compared between the instance backed up and the one restored, this checks
    the values themselves, not only the archive's canonical form of them."""
    from django.apps import apps

    out = {}
    for label, pk in spec:
        obj = apps.get_model(label)._base_manager.get(pk=pk)
        out[f"{label}:{pk}"] = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    return json.dumps(out, sort_keys=True, ensure_ascii=False, default=repr)


# Run in the new instance: a changed archive is refused and leaves the instance as it was (not
# even an audit row), the good one restores, the audit chain verifies with the restore's record
# after the restored rows, the rows read back as in the source, a backup of the new instance is
# made, new rows get new ids (PostgreSQL's sequences were reset), and a seal over them all verifies.
CHECK_SCRIPT = textwrap.dedent(
    """
    import datetime, json, sys
    import django
    django.setup()
    sys.path.insert(0, {root!r})
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.utils import timezone
    from chengguan.core import audit, backup
    from chengguan.core.models import AuditLog, WorkPeriod
    from tests.core.test_backup import object_values
    tampered, archive, out, spec = sys.argv[1:5]
    result = {{}}
    empty = backup.comparable(backup.compute_manifest())
    try:
        call_command("restore", tampered)
        result["refused"] = None
    except CommandError as exc:
        result["refused"] = str(exc)
    result["unchanged_after_refusal"] = backup.comparable(backup.compute_manifest()) == empty
    result["audit_rows_after_refusal"] = AuditLog.objects.count()
    call_command("restore", archive)
    call_command("audit", "verify")
    v = audit.verify()
    result["verified"] = [v.ok, v.rows, v.seals, v.unsealed, v.problems]
    result["values"] = object_values(json.loads(spec))
    call_command("backup", out)
    last_audit = AuditLog.objects.order_by("-id").values_list("id", flat=True).first()
    last_period = WorkPeriod.objects.order_by("-id").values_list("id", flat=True).first()
    period = WorkPeriod.objects.create(start=datetime.time(19), end=datetime.time(20))
    result["ids"] = [last_period, period.pk, last_audit, AuditLog.objects.order_by("-id")[0].pk]
    sealed = audit.seal(now=timezone.now() + datetime.timedelta(hours=1))
    v = audit.verify()
    result["sealed"] = [sealed.upto_id if sealed else None, v.ok, v.seals, v.unsealed, v.problems]
    print("RESULT " + json.dumps(result))
    """
)


class Target:
    """A migrated, empty instance: a database made from a migrated template, and a MEDIA_ROOT."""

    def __init__(self, url: str, media: Path, var: Path):
        self.url, self.media, self.var = url, media, var
        self.env = _env(url, media, var)

    def run_checks(self, tampered: Path, archive: Path, out: Path, spec) -> dict:
        script = self.var / "check.py"
        script.write_text(CHECK_SCRIPT.format(root=str(Path(__file__).resolve().parents[2])))
        result = subprocess.run(
            [sys.executable, str(script), str(tampered), str(archive), str(out), json.dumps(spec)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
        return json.loads(line.removeprefix("RESULT "))


class SqliteTemplates:
    def __init__(self, root: Path):
        self.root = root
        self.template = root / "template.sqlite3"
        chengguan(
            _env(f"sqlite:///{self.template}", root / "unused-media", root), "migrate", "-v0", "--skip-checks"
        )

    def new(self, name: str) -> Target:
        folder = self.root / name
        folder.mkdir()
        shutil.copy(self.template, folder / "db.sqlite3")
        return Target(f"sqlite:///{folder / 'db.sqlite3'}", folder / "media", folder)


class PostgresDatabase:
    """A new PostgreSQL database, `<test database>_restore`, migrated; one restore goes into it
    (making more from it as a template would cost a database drop each, seconds apiece)."""

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
        self.name = f"{s['NAME']}_restore"
        self.admin = psycopg.connect(dbname="postgres", autocommit=True, **self.params)
        self.admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.execute(f'CREATE DATABASE "{self.name}"')
        self.used = False
        chengguan(_env(self.url(), root / "unused-media", root), "migrate", "-v0", "--skip-checks")

    def url(self) -> str:
        p = self.params
        password = f":{p['password']}" if p["password"] else ""
        return f"postgres://{p['user']}{password}@{p['host']}:{p['port']}/{self.name}"

    def new(self, name: str) -> Target:
        assert not self.used, "one restore per module into the PostgreSQL database"
        self.used = True
        folder = self.root / name
        folder.mkdir()
        return Target(self.url(), folder / "media", folder)

    def drop(self) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.close()


@pytest.fixture(scope="module")
def targets(tmp_path_factory, django_db_blocker):
    root = tmp_path_factory.mktemp("backup-targets")
    with django_db_blocker.unblock():
        made = PostgresDatabase(root) if PG else SqliteTemplates(root)
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


@dataclass
class Instance:
    case: Case
    spec: list  # rows compared value by value after a restore: (model label, pk)


@pytest.fixture
def instance(city, people, media) -> Instance:
    """Cases (one closed, one with photos before and after, a public report with the reporter's
    name and phone, encrypted), rows with a UUID key, JSON null beside SQL NULL, a date key, a
    time, a file no row refers to, and the audit log sealed."""
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
    tasks = [
        DBTaskResult.objects.create(
            args_kwargs={"args": [1, 2.5, "甲"], "kwargs": {"b": None, "a": [True]}},
            task_path="chengguan.notify.jobs.deliver",
            backend_name="default",
            run_after=timezone.now(),
            return_value=value,
        )
        for value in (None, models.Value(None, models.JSONField()), {"sent": 3})
    ]
    period = WorkPeriod.objects.create(start=dt.time(8, 30), end=dt.time(12, 0, 0, 500))
    settled = SettledDay.objects.create(day=dt.date(2026, 2, 17), settled_at=timezone.now(), events=4)
    (media / "stray").mkdir(parents=True)
    (media / "stray" / "left-behind.jpg").write_bytes(jpeg((0, 0, 0)))
    audit.seal(now=timezone.now() + dt.timedelta(hours=1))
    assert audit.verify().ok
    spec = [("cases.Case", c.pk) for c in (reported, handling)]
    spec += [("cases.CasePhoto", pk) for pk in CasePhoto.objects.values_list("pk", flat=True)]
    spec += [("django_tasks_database.DBTaskResult", str(t.pk)) for t in tasks]
    spec += [("core.WorkPeriod", period.pk), ("evaluation.SettledDay", settled.pk.isoformat())]
    spec += [("core.AuditSeal", pk) for pk in AuditSeal.objects.values_list("pk", flat=True)]
    spec += [("grid.UnitGrid", UnitGrid.objects.order_by("pk").values_list("pk", flat=True)[0])]
    return Instance(reported, spec)


def audit_rows(archive: Path) -> list[dict]:
    """The archive's audit log, row by row in id order: column → value (JSON columns unwrapped)."""
    with backup.open_archive(archive) as root:
        columns = backup.read_manifest(root)["tables"]["core_auditlog"]["columns"]
        lines = (root / "data" / "core_auditlog.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [dict(zip(columns, json.loads(line), strict=True)) for line in lines]
    for row in rows:
        row["changes"] = row["changes"][0]
    return rows


def without_audit_log(manifest: dict) -> tuple[dict, dict]:
    """(what must be identical but the audit log, the audit log's columns, rows and checksum)."""
    comparable = backup.comparable(manifest)
    return comparable, comparable["tables"].pop("core_auditlog")


def assert_restore_record(row: dict, manifest: dict, archive: Path, *, replace: bool) -> None:
    """The audit row a successful restore appends: a bulk write naming the archive by its path and
    its manifest's checksum, with the archive's counts and the flags it was given."""
    assert row["action"] == AuditAction.BULK and row["model"] == "core.Backup"
    assert row["object_id"] == manifest["checksum"] and row["object_repr"] == f"restore {archive}"
    assert row["via"] == "cli:restore"
    changes = row["changes"]
    assert changes["path"] == str(archive) and changes["checksum"] == manifest["checksum"]
    assert changes["rows"] == sum(t["rows"] for t in manifest["tables"].values())
    assert changes["media_files"] == len(manifest["media"])
    assert changes["replace"] is replace and changes["allow_other_key"] is False


def audit_trail() -> tuple[int, int | None]:
    return AuditLog.objects.count(), AuditLog.objects.order_by("-id").values_list("id", flat=True).first()


def tamper(archive: Path, into: Path) -> Path:
    """A copy of a directory archive with one byte of one row changed."""
    shutil.copytree(archive, into)
    data = into / "data" / "cases_case.jsonl"
    data.write_bytes(data.read_bytes().replace("井盖缺失".encode(), "井盖丢失".encode()))
    return into


def restore_and_compare(target: Target, archive: Path, instance: Instance, tmp_path: Path) -> dict:
    manifest = backup.verify(archive)
    folder = archive if archive.is_dir() else tmp_path / "unpacked"
    if not archive.is_dir():
        backup.backup(folder)
    again = tmp_path / "again.tar"
    result = target.run_checks(tamper(folder, tmp_path / "tampered"), archive, again, instance.spec)

    # a changed byte is refused with a clear message, and nothing is written, not even an audit
    # row: the instance is as it was (and the restore of the good archive that follows is
    # accepted only by an empty instance)
    assert "archive verification failed, nothing written" in result["refused"]
    assert "data/cases_case.jsonl" in result["refused"]
    assert result["unchanged_after_refusal"] is True and result["audit_rows_after_refusal"] == 0
    # identical counts and checksums but the audit log's, and identical values as the models
    # read them (the personal data decrypts: same DATA_KEY)
    restored = backup.verify(again)
    expected, archived_log = without_audit_log(manifest)
    actual, restored_log = without_audit_log(restored)
    assert actual == expected
    assert restored_log["columns"] == archived_log["columns"]
    assert restored_log["rows"] == archived_log["rows"] + 1
    assert [p for p in backup.differences(manifest, restored) if "core_auditlog" not in p] == []
    # the audit log: the archive's rows exactly, then one more, the restore's own record
    archived_rows, restored_rows = audit_rows(archive), audit_rows(again)
    assert restored_rows[:-1] == archived_rows
    assert restored_rows[-1]["id"] > archived_rows[-1]["id"]
    assert_restore_record(restored_rows[-1], manifest, archive, replace=False)
    # … and the chain verifies with it: right after the restore (the record unsealed, the
    # archive's seals intact), and once a seal covers it too
    ok, rows, seals, unsealed, problems = result["verified"]
    assert ok and not problems, problems
    assert rows == len(archived_rows) + 1 and seals == manifest["tables"]["core_auditseal"]["rows"]
    assert unsealed >= 1
    sealed_upto, ok, seals_after, unsealed, problems = result["sealed"]
    assert ok and not problems, problems
    assert sealed_upto is not None and seals_after == seals + 1 and unsealed == 0
    assert result["values"] == object_values(instance.spec)
    assert REPORTER[0] in result["values"] and REPORTER[1] in result["values"]
    files = sorted(p.relative_to(target.media).as_posix() for p in target.media.rglob("*") if p.is_file())
    assert files == sorted(manifest["media"])
    # new rows take new ids after the restored ones
    last_period, new_period, last_audit, new_audit = result["ids"]
    assert new_period > last_period and new_audit > last_audit
    return restored


# --- the tests ------------------------------------------------------------------------------------


def test_restore_into_a_new_instance_is_identical(instance, targets, tmp_path):
    archive = tmp_path / "city.tar.gz"
    out, err = io.StringIO(), io.StringIO()
    logged, last_logged = audit_trail()
    call_command("backup", str(archive), stdout=out, stderr=err)
    manifest = backup.verify(archive)

    # the backup is recorded, once, as an export of the archive, after it was complete: the
    # archive holds the audit log as it was before, its last row the one before the record
    assert AuditLog.objects.count() == logged + 1
    (record,) = AuditLog.objects.filter(id__gt=last_logged)
    assert record.action == AuditAction.EXPORT and record.model == "core.Backup"
    assert record.object_id == manifest["checksum"] and record.object_repr == f"backup {archive}"
    assert record.via == "cli:backup"
    assert record.changes["path"] == str(archive) and record.changes["checksum"] == manifest["checksum"]
    assert record.changes["rows"] == sum(t["rows"] for t in manifest["tables"].values())
    assert record.changes["media_files"] == len(manifest["media"]) > 0
    archived_log = audit_rows(archive)
    assert len(archived_log) == manifest["tables"]["core_auditlog"]["rows"] == logged > 0
    assert archived_log[-1]["id"] == last_logged < record.pk
    assert not [r for r in archived_log if r["model"] == "core.Backup"]
    assert audit.verify().ok

    # what is in it
    tables = manifest["tables"]
    assert tables["cases_case"]["rows"] == Case.objects.count() >= 3
    assert tables["cases_casephoto"]["rows"] == CasePhoto.objects.count() >= 2
    assert tables["core_auditseal"]["rows"] == AuditSeal.objects.count() >= 1
    assert tables["org_person"]["rows"] == Person.objects.count()
    assert {"chengguan_cache", "django_session", "org_usersession"} <= set(manifest["excluded_tables"])
    assert not {"chengguan_cache", "django_session", "org_usersession"} & set(tables)
    photo_files = {n for p in CasePhoto.objects.all() for n in (p.image, p.thumbnail)}
    assert photo_files <= set(manifest["media"]) and len(manifest["media"]) == len(photo_files) + 1
    assert manifest["media_orphans"] == ["stray/left-behind.jpg"] and manifest["media_missing"] == []
    assert "left-behind.jpg" in err.getvalue()
    assert manifest["migrations"] == backup.code_migration_state()
    assert manifest["checksum"] == backup.manifest_checksum(manifest)
    assert "DATA_KEY is not in this archive" in manifest["note"]
    # personal data is in the archive only as the ciphertext the database holds
    with connection.cursor() as cursor:
        cursor.execute("SELECT reporter_name FROM cases_case WHERE id = %s", [instance.case.pk])
        (ciphertext,) = cursor.fetchone()
    assert ciphertext.startswith("v1:")
    with tarfile.open(archive) as tar:
        lines = tar.extractfile("data/cases_case.jsonl").read().decode()
    assert ciphertext in lines and REPORTER[0] not in lines and REPORTER[1] not in lines

    restore_and_compare(targets.new("identical"), archive, instance, tmp_path)


@pytest.mark.skipif(not PG, reason="across databases: a PostgreSQL archive into SQLite")
def test_postgresql_archive_restores_into_sqlite(instance, sqlite_targets, tmp_path):
    archive = tmp_path / "city"
    call_command("backup", str(archive), stdout=io.StringIO(), stderr=io.StringIO())
    assert backup.verify(archive)["database"] == "postgresql"
    restored = restore_and_compare(sqlite_targets.new("from-postgresql"), archive, instance, tmp_path)
    assert restored["database"] == "sqlite"


def test_changed_media_or_data_refused_before_anything_is_written(instance, media, tmp_path):
    archive = tmp_path / "city"
    call_command("backup", str(archive), stdout=io.StringIO(), stderr=io.StringIO())
    trail = audit_trail()
    call_command("backup", str(archive), "--verify", stdout=io.StringIO())  # intact
    assert audit_trail() == trail  # a verification only reads the archive: no audit row

    photo = CasePhoto.objects.filter(case=instance.case).first()
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
    assert audit_trail() == trail  # a refused restore records nothing either
    stored.write_bytes(original)

    # a row changed, and the manifest changed to match it: the manifest's own checksum fails
    manifest_path = archive / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["tables"]["cases_case"]["rows"] += 1
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(CommandError, match="manifest's checksum does not match"):
        call_command("restore", str(archive), "--replace", stdout=io.StringIO())
    assert audit_trail() == trail
    # a file slipped into the archive
    manifest["tables"]["cases_case"]["rows"] -= 1
    manifest_path.write_text(json.dumps(manifest))
    (archive / "media" / "extra.jpg").write_bytes(b"x")
    with pytest.raises(CommandError, match=r"media/extra\.jpg: not in the manifest"):
        call_command("backup", str(archive), "--verify", stdout=io.StringIO())


def test_non_empty_target_and_other_code_version_refused(instance, tmp_path):
    archive = tmp_path / "city.tar"
    call_command("backup", str(archive), stdout=io.StringIO(), stderr=io.StringIO())
    trail = audit_trail()
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(archive), stdout=io.StringIO())
    assert "not empty, nothing written" in str(refused.value) and "cases_case" in str(refused.value)
    assert audit_trail() == trail  # refused: not even an audit row

    # an archive of another code version (its manifest rewritten consistently)
    folder = tmp_path / "other-version"
    backup.backup(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["migrations"]["cases"] = ["0099_future"]
    manifest["checksum"] = backup.manifest_checksum(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    trail = audit_trail()  # (the backup just made recorded itself)
    with pytest.raises(CommandError, match="migration state does not match this code"):
        call_command("restore", str(folder), "--replace", stdout=io.StringIO())
    assert audit_trail() == trail
    # … or made under another DATA_KEY
    manifest["migrations"] = backup.code_migration_state()
    manifest["data_key_check"] = "0" * 16
    manifest["checksum"] = backup.manifest_checksum(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CommandError, match="another DATA_KEY"):
        call_command("restore", str(folder), "--replace", stdout=io.StringIO())
    assert audit_trail() == trail


def test_a_restore_that_does_not_come_out_identical_is_rolled_back(instance, media, tmp_path, monkeypatch):
    archive = tmp_path / "city"
    call_command("backup", str(archive), stdout=io.StringIO(), stderr=io.StringIO())
    manifest = backup.verify(archive)
    archived = backup.comparable(manifest)
    later = WorkPeriod.objects.create(start=dt.time(18), end=dt.time(19))  # a change after the backup
    shutil.rmtree(media)  # the restore brings the files back, then must take them away again
    before = backup.comparable(backup.compute_manifest())
    assert before != archived
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
    # the database as it was (its audit log too: no record of the restore), no file
    assert backup.comparable(backup.compute_manifest()) == before
    assert WorkPeriod.objects.filter(pk=later.pk).exists()

    # the same restore, unchanged, replaces the instance by the archive's contents, and records
    # itself after the archive's audit rows
    call_command("restore", str(archive), "--replace", stdout=io.StringIO())
    expected, archived_log = without_audit_log(manifest)
    actual, restored_log = without_audit_log(backup.compute_manifest())
    assert actual == expected and restored_log["rows"] == archived_log["rows"] + 1
    assert not WorkPeriod.objects.filter(pk=later.pk).exists()
    *restored_rows, record = AuditLog.objects.order_by("id").values()
    assert [r["id"] for r in restored_rows] == [r["id"] for r in audit_rows(archive)]
    assert_restore_record(record, manifest, archive, replace=True)
    assert audit.verify().ok


def test_a_backup_that_fails_records_nothing_and_an_unrecorded_one_is_not_kept(
    instance, tmp_path, monkeypatch
):
    folder = tmp_path / "archives"
    folder.mkdir()
    trail = audit_trail()
    with pytest.raises(CommandError, match="already exists"):  # refused before it starts
        call_command("backup", str(folder), stdout=io.StringIO(), stderr=io.StringIO())

    def broken(manifest):
        raise OSError("disk full")

    with monkeypatch.context() as patch:  # fails while the archive is written
        patch.setattr(backup, "_manifest_bytes", broken)
        with pytest.raises(OSError, match="disk full"):
            call_command("backup", str(folder / "city.tar"), stdout=io.StringIO(), stderr=io.StringIO())
    assert audit_trail() == trail and list(folder.iterdir()) == []

    def unwritable(*args, **kwargs):
        raise PermissionError("INSERT denied on core_auditlog")

    with monkeypatch.context() as patch:  # complete, but its record cannot be written
        patch.setattr(audit, "write", unwritable)
        with pytest.raises(CommandError, match="the archive was removed") as refused:
            call_command("backup", str(folder / "city"), stdout=io.StringIO(), stderr=io.StringIO())
    assert "INSERT denied" in str(refused.value)
    assert audit_trail() == trail and list(folder.iterdir()) == []


def test_rows_read_in_another_order_are_sorted_into_the_same_lines(city, db, monkeypatch):
    """The checksum does not depend on the database's collation: rows that do not come back in
    primary-key order are sorted before they are hashed."""
    model = UnitGrid
    expected = io.BytesIO()
    rows, sha = backup._table_digest(model, "default", expected)
    assert rows == UnitGrid.objects.count() > 1
    real = backup._select
    asked = []

    def reversed_in_db(model, using, *, ordered_in_db=True):
        asked.append(ordered_in_db)
        qs = real(model, using, ordered_in_db=ordered_in_db)
        return qs.reverse() if ordered_in_db else qs

    monkeypatch.setattr(backup, "_select", reversed_in_db)
    sink = io.BytesIO()  # the first line goes in before the order is found wrong, then is rewritten
    assert backup._table_digest(model, "default", sink) == (rows, sha)
    assert sink.getvalue() == expected.getvalue()
    assert asked == [True, False]
