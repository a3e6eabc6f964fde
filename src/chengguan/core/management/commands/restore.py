"""`chengguan restore PATH`: restore an archive made by `chengguan backup` into a migrated, empty
instance, all or nothing; a successful restore is recorded in the audit log (a refused one writes
nothing). See chengguan.core.backup."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from chengguan.core import backup, context

from .backup import summary


class Command(BaseCommand):
    help = "从备份恢复到空实例 · restore an archive into an empty, migrated instance"

    def add_arguments(self, parser):
        parser.add_argument("path", help="备份目录或 .tar / .tar.gz 文件 · the archive")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="覆盖非空实例的全部数据 · overwrite a non-empty instance (all its data is replaced)",
        )
        parser.add_argument(
            "--allow-other-key",
            action="store_true",
            help="备份来自另一个 DATA_KEY 时仍恢复 · restore an archive made under another DATA_KEY",
        )
        parser.add_argument("--database", default="default", help="database alias (default: default)")

    def handle(self, *args, path, replace=False, allow_other_key=False, database="default", **options):
        try:
            with context.acting(context.ActorContext(via="cli:restore")):  # for its audit row
                manifest = backup.restore(
                    path, using=database, replace=replace, allow_other_key=allow_other_key
                )
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"已恢复，计数与校验和一致 · restored, counts and checksums identical: {summary(manifest)}"
        )
