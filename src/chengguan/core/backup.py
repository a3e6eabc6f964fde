"""Backup and restore of a whole instance: the database and the uploaded files (MEDIA_ROOT).

**The archive** is a directory, or the same tree in one `.tar` / `.tar.gz` / `.tgz` file:

    manifest.json          what is inside, with counts and checksums (below)
    data/<table>.jsonl     one table per file, one row per line, in primary-key order
    media/<name>           every file under MEDIA_ROOT (case and assessment photos…)

**Rows** are written independently of the database: each line is a JSON array of the table's
columns (the order is in the manifest), each value in a canonical form chosen by its field — an
integer, a float, a boolean, a string; a decimal as a string with the field's decimal places; a
date-time in UTC ISO 8601 with microseconds; a date or time in ISO 8601; a UUID with dashes; a
JSON column as `[value]` (so JSON `null` and SQL NULL stay apart); binary data in base64; SQL
NULL as `null`. Geometry is GeoJSON in JSON columns. So an archive of a SQLite instance restores
into PostgreSQL and the other way round.

Encrypted columns (personal data, `core.fields.EncryptedTextField`) are copied as the ciphertext
the database holds: **DATA_KEY is not in the archive**, and an instance restored without the same
key cannot read them (nor verify the audit log's seals). The manifest carries a short keyed check
value (`data_key_check`, an HMAC that reveals nothing of the key) and `restore` refuses an
archive made under another key unless told to go ahead.

**The manifest** holds the format and its version, when and by which version of Chengguan it was
made, the migration state (the latest applied migration of each app), each table's column list,
row count and SHA-256 (of its lines, which are exactly the bytes of its data file, so a table's
checksum is computed from its rows in primary-key order in the canonical form and checks the file
at the same time), each media file's size and SHA-256, the media files no row refers to
(`media_orphans`, e.g. photos stored by a transaction that later rolled back: reported, not
fatal) and the files rows refer to that are missing, the tables left out and why, and the SHA-256
of the manifest itself.

**Left out**: the cache table(s) (`chengguan_cache`: rate-limit counters, one-time form keys) and
the login sessions (`django_session`, `org_usersession`): ephemeral; after a restore everyone logs
in again. The audit log and its seals are in, so `chengguan audit verify` passes after a restore.

**Backup** reads everything in one snapshot (PostgreSQL: a REPEATABLE READ, READ ONLY
transaction; SQLite: one read transaction, which WAL keeps consistent while others write) and
copies the media files while the snapshot is held. A backup is an export of all the personal data:
once the archive is complete, one audit row records it (`export`, object type `core.Backup`, the
object id the manifest's checksum, the archive's path, rows and media files); so the archive does
not hold its own record, and a backup that fails records nothing (an archive whose record cannot
be written is removed).

**Restore** (into a migrated, empty instance) checks before it writes anything: the manifest's
own checksum, every data and media file's size and checksum against the manifest (and no file
more), the migration state against the code and the target database, the key check, and that
the target holds nothing but what `migrate` writes (content types, permissions, the role list)
and no media file. It then, in one transaction, empties the tables, loads every row (with SQL,
bypassing model code and signals: the loaded rows add no audit row, the ciphertext is not
re-encrypted), checks the foreign keys, resets PostgreSQL's sequences, copies the media files,
recomputes the manifest from the restored database and files and compares it with the archive's:
identical counts and checksums, or everything is rolled back (the database by the transaction, the
media files it wrote are removed). Only then, in the same transaction, one audit row records the
restore itself (`bulk`, object type `core.Backup`, the object id the archive's checksum, its path,
rows, `replace` and `allow_other_key`): appended after the restored rows (their ids come first, the
sequences having been reset), so the restored chain still verifies, and the restore and its record
are written together or not at all. A refused restore writes nothing, not even a record.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.models import ExpressionWrapper, F
from django.db.models.functions import Collate
from django.utils import timezone

import chengguan

from .fields import EncryptedTextField

FORMAT = "chengguan-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATA_DIR = "data"
MEDIA_DIR = "media"
BATCH = 1000

# Ephemeral tables: not backed up, emptied by a restore.
EXCLUDED_MODELS = {
    "sessions.Session": "login sessions (ephemeral: everyone logs in again after a restore)",
    "org.UserSession": "index of login sessions (ephemeral, goes with django_session)",
}
# Tables `migrate` fills in a new instance: their rows do not make a target "not empty", and a
# restore replaces them with the archive's (whose ids the other rows refer to).
SEED_MODELS = {"contenttypes.ContentType", "auth.Permission", "org.RoleGrant"}
# Character columns that hold a storage name under MEDIA_ROOT (FileFields are found by type).
MEDIA_REFERENCES = {
    "cases.CasePhoto": ("image", "thumbnail"),
    "assessment.FindingPhoto": ("image", "thumbnail"),
}
NOTE = (
    "Encrypted columns are stored as ciphertext; DATA_KEY is not in this archive. "
    "Restore with the same DATA_KEY (and SECRET_KEY if DATA_KEY is unset)."
)
# The object type of the audit rows that record a backup (an export) and a restore (a bulk write).
AUDIT_MODEL = "core.Backup"

_SAFE_TABLE = re.compile(r"^[A-Za-z0-9_]+$")
_SAFE_PART = re.compile(r"^[^/\\\x00]+$")


class BackupError(Exception):
    """A refused backup, verification or restore; the message says why (Chinese · English)."""

    def __init__(self, message: str, problems: Iterable[str] = ()):
        self.problems = list(problems)
        shown = self.problems[:20]
        more = len(self.problems) - len(shown)
        detail = "".join(f"\n  - {p}" for p in shown) + (f"\n  … {more} more" if more > 0 else "")
        super().__init__(message + detail)


# --- tables and their canonical rows ----------------------------------------------------------------


def _connection(using: str = DEFAULT_DB_ALIAS):
    return connections[using]


def excluded_tables() -> dict[str, str]:
    """Table name → why it is not backed up."""
    out = {}
    for label, why in EXCLUDED_MODELS.items():
        with contextlib.suppress(LookupError):
            out[apps.get_model(label)._meta.db_table] = why
    for cache in settings.CACHES.values():
        if cache.get("BACKEND", "").endswith("db.DatabaseCache"):
            out[cache["LOCATION"]] = "cache (DatabaseCache): rebuilt as it is used"
    return out


def _all_models() -> list[type[models.Model]]:
    seen, out = set(), []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if not meta.managed or meta.proxy or meta.swapped or meta.db_table in seen:
            continue
        seen.add(meta.db_table)
        out.append(model)
    return out


def backed_up_models() -> list[type[models.Model]]:
    """The models whose tables are in a backup, parents before children (foreign keys are
    deferred on both databases, so the order only makes the archive easier to read)."""
    candidates = [m for m in _all_models() if m._meta.label not in EXCLUDED_MODELS]
    by_table = {m._meta.db_table: m for m in candidates}
    ordered: list[type[models.Model]] = []
    state: dict[str, int] = {}

    def visit(model):
        table = model._meta.db_table
        if state.get(table):
            return  # done, or on the stack (a cycle: the deferred constraints take it)
        state[table] = 1
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model is not None:
                parent = f.related_model._meta.db_table
                if parent in by_table and parent != table:
                    visit(by_table[parent])
        state[table] = 2
        ordered.append(model)

    for model in sorted(candidates, key=lambda m: m._meta.db_table):
        visit(model)
    return ordered


def _kind(f: models.Field) -> str:
    if isinstance(f, EncryptedTextField):
        return "raw"
    if f.is_relation:
        return _kind(f.target_field)
    t = f.get_internal_type()
    if t in {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
    }:
        return "int"
    return {
        "FloatField": "float",
        "DecimalField": "decimal",
        "BooleanField": "bool",
        "NullBooleanField": "bool",
        "DateTimeField": "datetime",
        "DateField": "date",
        "TimeField": "time",
        "DurationField": "duration",
        "UUIDField": "uuid",
        "JSONField": "json",
        "BinaryField": "binary",
    }.get(t, "text")


def _encoder(f: models.Field) -> Callable[[Any], Any]:
    kind = _kind(f)
    if kind == "int":
        return int
    if kind == "float":
        return float
    if kind == "bool":
        return bool
    if kind == "decimal":
        places = getattr(f.target_field if f.is_relation else f, "decimal_places", None)
        exponent = decimal.Decimal(1).scaleb(-places) if places is not None else None

        def enc_decimal(v):
            v = decimal.Decimal(v)
            if exponent is not None:
                with contextlib.suppress(decimal.InvalidOperation):
                    v = v.quantize(exponent)
            return format(v, "f")

        return enc_decimal
    if kind == "datetime":

        def enc_datetime(v):
            if timezone.is_aware(v):
                v = v.astimezone(dt.UTC)
            return v.isoformat(timespec="microseconds")

        return enc_datetime
    if kind == "date":
        return lambda v: v.isoformat()
    if kind == "time":
        return lambda v: v.isoformat(timespec="microseconds")
    if kind == "duration":
        return lambda v: v // dt.timedelta(microseconds=1)
    if kind == "uuid":
        return lambda v: str(v if isinstance(v, uuid.UUID) else uuid.UUID(str(v)))
    if kind == "json":
        # read as the stored JSON text (see _select): SQL NULL → null, JSON value → [value]
        return lambda v: [json.loads(v)]
    if kind == "binary":
        return lambda v: base64.b64encode(bytes(v)).decode("ascii")
    return str  # text, and the ciphertext of encrypted columns


def _decoder(f: models.Field, connection) -> Callable[[Any], Any]:
    """Canonical JSON value → the parameter to insert."""
    kind = _kind(f)
    to_python: Callable[[Any], Any] = {
        "decimal": decimal.Decimal,
        "datetime": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat,
        "time": dt.time.fromisoformat,
        "duration": lambda v: dt.timedelta(microseconds=v),
        "uuid": uuid.UUID,
        "binary": base64.b64decode,
    }.get(kind, lambda v: v)
    if kind == "raw":
        return lambda v: v  # ciphertext as it was: never through the field (it would encrypt again)
    if kind == "json":

        def dec_json(v):
            if not isinstance(v, list) or len(v) != 1:
                raise ValueError("a JSON column is written as [value]")
            return f.get_db_prep_save(
                models.Value(None, models.JSONField()) if v[0] is None else v[0], connection
            )

        return dec_json
    return lambda v: f.get_db_prep_save(to_python(v), connection)


def columns(model: type[models.Model]) -> list[str]:
    return [f.column for f in model._meta.concrete_fields]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class _Unordered(Exception):
    pass


def _select(model, using: str, *, ordered_in_db: bool = True):
    """The rows of a model's table as tuples in column order, through the ORM's converters (one
    value form on every database), encrypted and JSON columns as stored."""
    connection = _connection(using)
    fields = model._meta.concrete_fields
    names, annotations = [], {}
    for i, f in enumerate(fields):
        if _kind(f) in {"raw", "json"}:
            alias = f"bk_raw_{i}"
            annotations[alias] = ExpressionWrapper(F(f.attname), output_field=models.TextField())
            names.append(alias)
        else:
            names.append(f.attname)
    qs = (
        model._base_manager.using(using).annotate(**annotations)
        if annotations
        else model._base_manager.using(using)
    )
    if ordered_in_db:
        pk = model._meta.pk
        if _kind(pk) == "text" and connection.vendor == "postgresql":
            qs = qs.order_by(Collate(pk.attname, "C"))  # code-point order, as SQLite's BINARY
        else:
            qs = qs.order_by(pk.attname)
    return qs.values_list(*names)


def table_lines(model, using: str = DEFAULT_DB_ALIAS) -> Iterator[bytes]:
    """Each row of the table as its canonical line (UTF-8, with the newline), in primary-key order."""
    fields = model._meta.concrete_fields
    encoders = [_encoder(f) for f in fields]
    pk_index = fields.index(model._meta.pk)

    last = None  # the key in canonical form: an int, or a str compared by code point
    for row in _select(model, using).iterator(chunk_size=2000):
        values = [None if v is None else enc(v) for enc, v in zip(encoders, row, strict=True)]
        if last is not None and not values[pk_index] > last:
            raise _Unordered
        last = values[pk_index]
        yield (_dumps(values) + "\n").encode("utf-8")


def _table_digest(model, using: str, sink=None) -> tuple[int, str]:
    """(rows, sha256) of a table, writing its lines to `sink` if given. The database's order is
    checked as the rows stream; where it is not canonical the rows are sorted here."""
    try:
        sha, n = hashlib.sha256(), 0
        for text in table_lines(model, using):
            sha.update(text)
            n += 1
            if sink is not None:
                sink.write(text)
        return n, sha.hexdigest()
    except _Unordered:  # a collation that is not code-point order: sort here
        if sink is not None:
            sink.seek(0)
            sink.truncate()
        fields = model._meta.concrete_fields
        encoders = [_encoder(f) for f in fields]
        pk_index = fields.index(model._meta.pk)
        rows = []
        for row in _select(model, using, ordered_in_db=False).iterator(chunk_size=2000):
            values = [None if v is None else enc(v) for enc, v in zip(encoders, row, strict=True)]
            rows.append((values[pk_index], (_dumps(values) + "\n").encode("utf-8")))
        rows.sort()
        sha = hashlib.sha256()
        for _pk, text in rows:
            sha.update(text)
            if sink is not None:
                sink.write(text)
        return len(rows), sha.hexdigest()


# --- migration state ---------------------------------------------------------------------------------


def _latest(nodes: Iterable[tuple[str, str]], graph) -> dict[str, list[str]]:
    nodes = set(nodes)
    out: dict[str, list[str]] = {}
    for app, name in sorted(nodes):
        node = graph.node_map.get((app, name))
        children = {c.key for c in node.children if c.key[0] == app} if node else set()
        if not children & nodes:
            out.setdefault(app, []).append(name)
    return out


def migration_state(using: str = DEFAULT_DB_ALIAS) -> dict[str, list[str]]:
    """The latest applied migration of each app in the database (a list: normally one)."""
    loader = MigrationLoader(_connection(using), ignore_no_migrations=True)
    return _latest(loader.applied_migrations, loader.graph)


def code_migration_state() -> dict[str, list[str]]:
    """The latest migration of each app in the code."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return _latest(loader.graph.leaf_nodes(), loader.graph)


# --- media ------------------------------------------------------------------------------------------


def media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def _media_files(root: Path) -> list[str]:
    """Relative POSIX names of the regular files under root (symbolic links are not followed)."""
    if not root.is_dir():
        return []
    names = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder, name)
            if path.is_file() and not path.is_symlink():
                names.append(path.relative_to(root).as_posix())
    return sorted(names)


def _safe_media_name(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return (
        bool(name)
        and not name.startswith("/")
        and all(_SAFE_PART.match(p) and p not in {".", ".."} for p in parts)
        and PurePosixPath(name).as_posix() == name
    )


def referenced_media(using: str = DEFAULT_DB_ALIAS) -> set[str]:
    """Storage names the rows refer to."""
    names: set[str] = set()
    for model in backed_up_models():
        fields = list(MEDIA_REFERENCES.get(model._meta.label, ()))
        fields += [f.attname for f in model._meta.concrete_fields if isinstance(f, models.FileField)]
        for name in fields:
            names.update(v for v in model._base_manager.using(using).values_list(name, flat=True) if v)
    return names


def _sha256_file(path: Path) -> tuple[int, str]:
    sha, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()


class _HashingReader(io.RawIOBase):
    def __init__(self, handle):
        self.handle, self.sha, self.size = handle, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def read(self, n=-1):
        data = self.handle.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data


# --- the manifest ------------------------------------------------------------------------------------


def manifest_checksum(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return hashlib.sha256(_dumps(body).encode("utf-8")).hexdigest()


def data_key_check() -> str:
    from .crypto import seal_mac

    return seal_mac("chengguan backup: data key check")[:16]


def comparable(manifest: dict) -> dict:
    """What must be identical between an archive and the instance restored from it."""
    return {
        "migrations": manifest["migrations"],
        "tables": {
            t: {k: v[k] for k in ("columns", "rows", "sha256")} for t, v in manifest["tables"].items()
        },
        "media": manifest["media"],
    }


def differences(expected: dict, actual: dict) -> list[str]:
    a, b = comparable(expected), comparable(actual)
    problems = []
    if a["migrations"] != b["migrations"]:
        problems.append("migration state differs")
    for table in sorted(set(a["tables"]) | set(b["tables"])):
        x, y = a["tables"].get(table), b["tables"].get(table)
        if x != y:
            if x is None or y is None:
                problems.append(
                    f"table {table}: only in {'the restored instance' if x is None else 'the archive'}"
                )
            else:
                problems.append(
                    f"table {table}: archive {x['rows']} rows {x['sha256'][:12]}, "
                    f"restored {y['rows']} rows {y['sha256'][:12]}"
                )
    for name in sorted(set(a["media"]) | set(b["media"])):
        if a["media"].get(name) != b["media"].get(name):
            problems.append(f"media {name}: archive {a['media'].get(name)}, restored {b['media'].get(name)}")
    return problems


def _base_manifest(using: str) -> dict:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": timezone.now().astimezone(dt.UTC).isoformat(timespec="seconds"),
        "app_version": chengguan.__version__,
        "database": _connection(using).vendor,
        "migrations": migration_state(using),
        "excluded_tables": excluded_tables(),
        "seed_tables": sorted(apps.get_model(label)._meta.db_table for label in SEED_MODELS),
        "data_key_check": data_key_check(),
        "note": NOTE,
        "table_order": [],
        "tables": {},
        "media": {},
        "media_orphans": [],
        "media_missing": [],
        "media_skipped": [],  # names that cannot be restored safely (a backslash, a NUL…)
    }


def _media_report(manifest: dict, using: str) -> None:
    referenced = referenced_media(using)
    manifest["media_orphans"] = sorted(set(manifest["media"]) - referenced)
    manifest["media_missing"] = sorted(referenced - set(manifest["media"]))


@contextlib.contextmanager
def _snapshot(using: str):
    """One consistent read of the whole database."""
    connection = _connection(using)
    if connection.in_atomic_block:  # inside a caller's transaction (tests): read what it sees
        with transaction.atomic(using=using):
            yield
        return
    if connection.vendor == "sqlite":
        # Django's atomic() would BEGIN IMMEDIATE (settings) and hold off every writer; a plain
        # read transaction is a consistent snapshot under WAL and lets them go on.
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("ROLLBACK")
        return
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _collect(using: str, root: Path, writer=None) -> dict:
    """The manifest of the instance in one snapshot; with a writer, the archive's files too."""
    with _snapshot(using):
        manifest = _base_manifest(using)
        for model in backed_up_models():
            table = model._meta.db_table
            if not _SAFE_TABLE.match(table):  # pragma: no cover - every table name here is plain
                raise BackupError(f"不支持的表名 · unsupported table name {table!r}")
            if writer is None:
                rows, sha = _table_digest(model, using)
            else:
                with writer.data(f"{table}.jsonl") as sink:
                    rows, sha = _table_digest(model, using, sink)
            manifest["table_order"].append(table)
            manifest["tables"][table] = {
                "model": model._meta.label,
                "columns": columns(model),
                "rows": rows,
                "sha256": sha,
            }
        for name in _media_files(root):
            if not _safe_media_name(name):
                manifest["media_skipped"].append(name)
                continue
            size, sha = _sha256_file(root / name) if writer is None else writer.media(name, root / name)
            manifest["media"][name] = {"size": size, "sha256": sha}
        _media_report(manifest, using)
    manifest["checksum"] = manifest_checksum(manifest)
    return manifest


def compute_manifest(using: str = DEFAULT_DB_ALIAS, media: Path | None = None) -> dict:
    """The manifest of the instance as it is (nothing written)."""
    return _collect(using, media or media_root())


# --- writing an archive -----------------------------------------------------------------------------


def archive_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".tar.gz", ".tgz")):
        return "w:gz"
    if name.endswith(".tar"):
        return "w"
    return "dir"


class _DirWriter:
    def __init__(self, root: Path):
        self.root = root
        (root / DATA_DIR).mkdir(parents=True)
        (root / MEDIA_DIR).mkdir()

    @contextlib.contextmanager
    def data(self, name: str):
        with open(self.root / DATA_DIR / name, "wb") as handle:
            yield handle

    def media(self, name: str, source: Path) -> tuple[int, str]:
        target = self.root / MEDIA_DIR / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(source, "rb") as src, open(target, "xb") as dst:
            reader = _HashingReader(src)
            shutil.copyfileobj(reader, dst, 1 << 20)
        return reader.size, reader.sha.hexdigest()

    def manifest(self, text: bytes) -> None:
        (self.root / MANIFEST).write_bytes(text)

    def close(self) -> None:
        pass


class _TarWriter:
    def __init__(self, path: Path, mode: str):
        self.tar = tarfile.open(path, mode, format=tarfile.PAX_FORMAT)
        self.now = int(timezone.now().timestamp())

    def _info(self, name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, self.now, 0o640
        return info

    @contextlib.contextmanager
    def data(self, name: str):
        with tempfile.TemporaryFile() as spool:
            yield spool
            size = spool.tell()
            spool.seek(0)
            self.tar.addfile(self._info(f"{DATA_DIR}/{name}", size), spool)

    def media(self, name: str, source: Path) -> tuple[int, str]:
        with open(source, "rb") as src:
            size = os.fstat(src.fileno()).st_size
            reader = _HashingReader(src)
            self.tar.addfile(self._info(f"{MEDIA_DIR}/{name}", size), reader)
        if reader.size != size:  # pragma: no cover - the file changed while it was read
            raise BackupError(f"媒体文件在备份时被修改 · media file changed while being read: {name}")
        return reader.size, reader.sha.hexdigest()

    def manifest(self, text: bytes) -> None:
        self.tar.addfile(self._info(MANIFEST, len(text)), io.BytesIO(text))

    def close(self) -> None:
        self.tar.close()


def _manifest_bytes(manifest: dict) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8")


def backup(path: Path | str, using: str = DEFAULT_DB_ALIAS, media: Path | None = None) -> dict:
    """Write an archive of the database and the media files to `path` (a directory, or a file
    named .tar / .tar.gz / .tgz); refuses an existing path. Returns the manifest."""
    path = Path(path)
    root = media or media_root()
    if path.exists() or path.is_symlink():
        raise BackupError(f"目标已存在 · {path} already exists: choose a new name")
    if not path.parent.is_dir():
        raise BackupError(f"目录不存在 · directory {path.parent} does not exist")
    if path.resolve().is_relative_to(root.resolve()):
        raise BackupError(f"备份不能写在 MEDIA_ROOT 之内 · write the archive outside MEDIA_ROOT ({root})")
    state, code = migration_state(using), code_migration_state()
    if state != code:
        behind = sorted(a for a in set(state) | set(code) if state.get(a) != code.get(a))
        raise BackupError(
            "数据库的迁移状态与当前代码不一致 · the database's migrations do not match this code "
            f"(apps: {', '.join(behind)}): back up with the code that runs it, or run `chengguan migrate` first"
        )
    kind = archive_kind(path)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    writer = _DirWriter(partial) if kind == "dir" else _TarWriter(partial, kind)
    try:
        manifest = _collect(using, root, writer)
        writer.manifest(_manifest_bytes(manifest))
        writer.close()
        os.replace(partial, path)
    except BaseException:
        writer.close()
        _remove(partial)
        raise
    # Recorded once the archive is complete (it does not hold its own record); an archive whose
    # record cannot be written is not left behind: no export goes unrecorded.
    try:
        _record("backup", path, manifest)
    except Exception as exc:
        _remove(path)
        raise BackupError(
            "无法写入审计记录，备份已删除 · the audit record of the backup could not be written, "
            f"the archive was removed: {exc}"
        ) from exc
    except BaseException:
        _remove(path)
        raise
    return manifest


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _record(verb: str, path: Path, manifest: dict, **details: Any):
    """The audit row of a backup (an export of everything) or a restore (a bulk write) of `path`:
    the object id is the manifest's checksum (so a restore names the backup it came from), the
    changes its counts and the flags given. Written where every audit row goes (the default
    database)."""
    from . import audit
    from .models import AuditAction

    action = AuditAction.EXPORT if verb == "backup" else AuditAction.BULK
    where = str(Path(os.path.abspath(path)))
    changes = {
        "path": where,
        "checksum": manifest["checksum"],
        "created_at": manifest.get("created_at"),
        "database": manifest.get("database"),
        "tables": len(manifest["tables"]),
        "rows": sum(t["rows"] for t in manifest["tables"].values()),
        "media_files": len(manifest["media"]),
        **details,
    }
    return audit.write(action, AUDIT_MODEL, manifest["checksum"], f"{verb} {where}", changes)


# --- reading and verifying an archive ----------------------------------------------------------------


@contextlib.contextmanager
def open_archive(path: Path | str) -> Iterator[Path]:
    """The archive as a directory: itself, or a tar file unpacked into a temporary directory
    (only regular files under manifest.json, data/ and media/; nothing else is accepted)."""
    path = Path(path)
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        raise BackupError(f"找不到备份 · no archive at {path}")
    try:
        tar = tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"无法读取备份文件 · cannot read {path}: {exc}") from None
    with tar, tempfile.TemporaryDirectory(prefix="chengguan-restore-") as tmp:
        root = Path(tmp)
        problems = []
        try:
            for member in tar:
                name = member.name
                if member.isdir():
                    continue
                ok = (
                    member.isfile()
                    and _safe_media_name(name)
                    and (
                        name == MANIFEST
                        or (name.startswith(f"{DATA_DIR}/") and name.count("/") == 1)
                        or name.startswith(f"{MEDIA_DIR}/")
                    )
                )
                if not ok:
                    problems.append(f"unexpected entry in the archive: {name!r}")
                    continue
                target = root / name
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                try:
                    with open(target, "xb") as dst:
                        shutil.copyfileobj(source, dst, 1 << 20)
                except FileExistsError:
                    problems.append(f"duplicate entry in the archive: {name!r}")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"备份文件已损坏 · the archive is damaged: {exc}") from None
        if problems:
            raise BackupError("备份文件含有不应有的内容 · the archive holds unexpected entries:", problems)
        yield root


def read_manifest(root: Path) -> dict:
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"备份中没有 manifest.json · no {MANIFEST} in the archive") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"manifest.json 无法解析 · {MANIFEST} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("不是城管备份 · not a Chengguan backup (manifest format)")
    if not isinstance(manifest.get("format_version"), int) or manifest["format_version"] > FORMAT_VERSION:
        raise BackupError(
            f"备份格式版本 {manifest.get('format_version')} 不受支持 · unsupported format version "
            f"(this Chengguan reads ≤ {FORMAT_VERSION})"
        )
    if manifest.get("checksum") != manifest_checksum(manifest):
        raise BackupError(
            "manifest.json 校验和不符（已被改动）· the manifest's checksum does not match (altered)"
        )
    for key in ("tables", "media", "migrations"):
        if not isinstance(manifest.get(key), dict):
            raise BackupError(f"manifest.json 缺少 {key} · the manifest has no valid {key!r}")
    return manifest


def _line_count_and_sha(path: Path) -> tuple[int, str]:
    sha, lines = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
            lines += chunk.count(b"\n")
    return lines, sha.hexdigest()


def verify_archive(root: Path) -> dict:
    """Check every file of an unpacked archive against its manifest; returns the manifest or
    raises BackupError listing every problem."""
    manifest = read_manifest(root)
    problems = []
    expected = {MANIFEST}
    for table, entry in manifest["tables"].items():
        if not _SAFE_TABLE.match(table):
            problems.append(f"table {table!r}: bad name")
            continue
        name = f"{DATA_DIR}/{table}.jsonl"
        expected.add(name)
        path = root / name
        if not path.is_file():
            problems.append(f"{name}: missing")
            continue
        rows, sha = _line_count_and_sha(path)
        if (rows, sha) != (entry.get("rows"), entry.get("sha256")):
            problems.append(f"{name}: {rows} rows, sha256 {sha[:12]}… ≠ manifest {entry.get('rows')} rows")
    for media_name, entry in manifest["media"].items():
        if not _safe_media_name(media_name):
            problems.append(f"media name {media_name!r} is not allowed")
            continue
        name = f"{MEDIA_DIR}/{media_name}"
        expected.add(name)
        path = root / name
        if not path.is_file() or path.is_symlink():
            problems.append(f"{name}: missing")
            continue
        size, sha = _sha256_file(path)
        if (size, sha) != (entry.get("size"), entry.get("sha256")):
            problems.append(f"{name}: size {size}, sha256 {sha[:12]}… ≠ manifest")
    for folder, _dirs, files in os.walk(root):
        for file in files:
            name = Path(folder, file).relative_to(root).as_posix()
            if name not in expected:
                problems.append(f"{name}: not in the manifest")
    if problems:
        raise BackupError(
            "备份校验失败，未做任何写入 · archive verification failed, nothing written:", problems
        )
    return manifest


def verify(path: Path | str) -> dict:
    """`chengguan backup --verify PATH`: check an archive without restoring it."""
    with open_archive(path) as root:
        return verify_archive(root)


# --- restore -----------------------------------------------------------------------------------------


def occupied(using: str = DEFAULT_DB_ALIAS, media: Path | None = None) -> list[str]:
    """What makes the target not empty: tables with rows beyond what `migrate` writes, media files."""
    found = []
    for model in backed_up_models():
        if model._meta.label not in SEED_MODELS and model._base_manager.using(using).exists():
            found.append(f"table {model._meta.db_table} has rows")
    files = _media_files(media or media_root())
    if files:
        found.append(f"MEDIA_ROOT holds {len(files)} file(s), e.g. {files[0]}")
    return found


def _check_target(manifest: dict, using: str, *, allow_other_key: bool) -> list[type[models.Model]]:
    code = code_migration_state()
    applied = migration_state(using)
    if applied != code:
        missing = sorted(a for a in code if applied.get(a) != code[a])
        raise BackupError(
            "目标数据库未迁移到当前代码的版本 · the target database is not migrated to this code: "
            f"run `chengguan migrate` first (apps: {', '.join(missing)})"
        )
    if manifest["migrations"] != code:
        apps_differ = sorted(
            a for a in set(code) | set(manifest["migrations"]) if code.get(a) != manifest["migrations"].get(a)
        )
        raise BackupError(
            "备份的迁移状态与当前代码不一致 · the archive's migration state does not match this code "
            f"(apps: {', '.join(apps_differ)}): restore with the Chengguan version that made it "
            f"({manifest.get('app_version')}), then upgrade",
            [f"{a}: archive {manifest['migrations'].get(a)}, code {code.get(a)}" for a in apps_differ],
        )
    models_ = backed_up_models()
    mine = {m._meta.db_table: columns(m) for m in models_}
    theirs = {t: e.get("columns") for t, e in manifest["tables"].items()}
    if mine != theirs:
        diff = sorted(t for t in set(mine) | set(theirs) if mine.get(t) != theirs.get(t))
        raise BackupError("备份的表结构与当前代码不一致 · the archive's tables do not match this code", diff)
    if manifest.get("data_key_check") != data_key_check() and not allow_other_key:
        raise BackupError(
            "备份是在另一个 DATA_KEY 下制作的：加密的个人信息将无法读取，审计封存无法校验 · "
            "the archive was made under another DATA_KEY (or SECRET_KEY): encrypted personal data "
            "would not decrypt and the audit seals would not verify. Set the key it was made with, "
            "or pass --allow-other-key"
        )
    return models_


class _MediaChanges:
    """Media files written by a restore, undone if it fails."""

    def __init__(self):
        self.created: list[Path] = []
        self.moved: list[tuple[Path, Path]] = []  # (aside, original)

    def write(self, source: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            aside = target.with_name(f".{target.name}.pre-restore-{os.getpid()}")
            os.replace(target, aside)
            self.moved.append((aside, target))
        tmp = target.with_name(f".{target.name}.restoring-{os.getpid()}")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
        self.created.append(target)

    def rollback(self) -> None:
        for path in reversed(self.created):
            path.unlink(missing_ok=True)
        for aside, original in reversed(self.moved):
            os.replace(aside, original)

    def commit(self) -> None:
        for aside, _original in self.moved:
            aside.unlink(missing_ok=True)


def _load_table(model, root: Path, using: str) -> int:
    connection = _connection(using)
    fields = model._meta.concrete_fields
    decoders = [_decoder(f, connection) for f in fields]
    qn = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        qn(model._meta.db_table),
        ", ".join(qn(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    n, batch = 0, []
    with (
        open(root / DATA_DIR / f"{model._meta.db_table}.jsonl", encoding="utf-8") as handle,
        connection.cursor() as cursor,
    ):
        for number, text in enumerate(handle, 1):
            try:
                values = json.loads(text)
                if len(values) != len(fields):
                    raise ValueError(f"{len(values)} values for {len(fields)} columns")
                batch.append([None if v is None else dec(v) for dec, v in zip(decoders, values, strict=True)])
            except (ValueError, TypeError, decimal.InvalidOperation) as exc:
                raise BackupError(
                    f"无法读取 {model._meta.db_table} 第 {number} 行 · cannot load row {number} of "
                    f"{model._meta.db_table}: {exc}"
                ) from None
            if len(batch) >= BATCH:
                cursor.executemany(sql, batch)
                n += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            n += len(batch)
    return n


def restore(
    path: Path | str,
    using: str = DEFAULT_DB_ALIAS,
    media: Path | None = None,
    *,
    replace: bool = False,
    allow_other_key: bool = False,
) -> dict:
    """Restore an archive into this instance (see the module's docstring); returns the archive's
    manifest, which the restored instance now matches. Nothing is written unless all of it succeeds."""
    root_media = media or media_root()
    connection = _connection(using)
    with open_archive(path) as root:
        manifest = verify_archive(root)
        models_ = _check_target(manifest, using, allow_other_key=allow_other_key)
        if not replace:
            found = occupied(using, root_media)
            if found:
                raise BackupError(
                    "目标实例不是空的，未做任何写入 · the target instance is not empty, nothing written "
                    "(restore into a new, migrated instance, or pass --replace to overwrite it):",
                    found,
                )
        changes = _MediaChanges()
        try:
            with transaction.atomic(using=using):
                qn = connection.ops.quote_name
                clear = [m._meta.db_table for m in _all_models()] + [
                    t for t in excluded_tables() if t not in {m._meta.db_table for m in _all_models()}
                ]
                existing = set(connection.introspection.table_names())
                with connection.cursor() as cursor:
                    for table in clear:
                        if table in existing:
                            cursor.execute(f"DELETE FROM {qn(table)}")
                for model in models_:
                    _load_table(model, root, using)
                try:
                    connection.check_constraints(table_names=[m._meta.db_table for m in models_])
                except Exception as exc:
                    raise BackupError(
                        f"恢复后的数据违反外键约束 · the restored rows break a foreign key: {exc}"
                    ) from None
                with connection.cursor() as cursor:
                    for statement in connection.ops.sequence_reset_sql(no_style(), models_):
                        cursor.execute(statement)
                for name in manifest["media"]:
                    changes.write(root / MEDIA_DIR / name, root_media / name)
                after = compute_manifest(using, root_media)
                if replace:  # other files already in MEDIA_ROOT are left where they are
                    after["media"] = {k: v for k, v in after["media"].items() if k in manifest["media"]}
                problems = differences(manifest, after)
                if problems:
                    raise BackupError(
                        "恢复结果与备份不一致，已全部回滚 · the restored instance differs from the archive; "
                        "everything was rolled back:",
                        problems,
                    )
                # The restore's own record, once the comparison has seen exactly the archive, in
                # its transaction: appended after the restored rows (sequences reset above).
                _record(
                    "restore",
                    Path(path),
                    manifest,
                    replace=replace,
                    allow_other_key=allow_other_key,
                )
        except BaseException:
            changes.rollback()
            raise
        changes.commit()
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    return manifest
