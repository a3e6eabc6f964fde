"""`chengguan backup PATH` writes an archive of the database and the media files;
`chengguan backup --verify PATH` checks one without restoring it. A backup is recorded in the
audit log (an export), a verification is not. See chengguan.core.backup."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from chengguan.core import backup, context


def summary(manifest: dict) -> str:
    rows = sum(t["rows"] for t in manifest["tables"].values())
    size = sum(m["size"] for m in manifest["media"].values())
    return (
        f"{len(manifest['tables'])} tables, {rows} rows, {len(manifest['media'])} media files "
        f"({size / 1e6:.1f} MB); manifest {manifest['checksum']}"
    )


def report_media(command: BaseCommand, manifest: dict) -> None:
    for key, label in (
        ("media_orphans", "媒体文件无记录引用 · media files no row refers to (orphans)"),
        ("media_missing", "记录引用的媒体文件不存在 · media files rows refer to that are missing"),
        (
            "media_skipped",
            "文件名无法安全恢复，未备份 · media files left out (names that cannot be restored safely)",
        ),
    ):
        names = manifest.get(key) or []
        if names:
            command.stderr.write(f"{label}: {len(names)}")
            for name in names[:20]:
                command.stderr.write(f"  {name}")
            if len(names) > 20:
                command.stderr.write(f"  … {len(names) - 20} more (see manifest.json)")


class Command(BaseCommand):
    help = "备份数据库与媒体文件 · back up the database and the media files (or --verify an archive)"

    def add_arguments(self, parser):
        parser.add_argument(
            "path", help="新目录，或 .tar / .tar.gz 文件 · a new directory, or a .tar / .tar.gz file"
        )
        parser.add_argument(
            "--verify", action="store_true", help="只校验已有的备份 · only check an existing archive"
        )
        parser.add_argument("--database", default="default", help="database alias (default: default)")

    def handle(self, *args, path, verify=False, database="default", **options):
        try:
            if verify:
                manifest = backup.verify(path)
                self.stdout.write(f"备份完整 · archive intact: {summary(manifest)}")
                return
            with context.acting(context.ActorContext(via="cli:backup")):  # for its audit row
                manifest = backup.backup(path, using=database)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"已备份 · backed up to {path}: {summary(manifest)}")
        self.stdout.write(f"未备份的表 · tables left out: {', '.join(sorted(manifest['excluded_tables']))}")
        self.stdout.write(
            "DATA_KEY 不在备份中，请另行保管 · DATA_KEY is not in the archive: keep it separately"
        )
        report_media(self, manifest)
