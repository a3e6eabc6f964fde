"""`chengguan audit verify | seal | prune | export`: the audit log's tamper evidence and retention,
and its export for auditors."""

from __future__ import annotations

import csv
import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from chengguan.core import audit, context
from chengguan.core.management.subcommands import subcommands
from chengguan.core.models import AuditAction, AuditLog


class Command(BaseCommand):
    help = "审计日志：校验、封存、清理、导出 · the audit log: verify, seal, prune, export"

    def add_arguments(self, parser):
        actions = subcommands(parser, dest="action", required=True)
        actions.add_parser(
            "verify",
            help="重算摘要与哈希链并核对封存 · recompute digests and the chain, check seals",
        )
        actions.add_parser(
            "seal",
            help="封存已写入的记录 · seal the rows written so far (older than the lag)",
        )
        actions.add_parser(
            "prune",
            help="按保留期删除已封存的旧记录 · delete sealed ranges past the retention",
        )
        export = actions.add_parser("export", help="导出审计记录（CSV）· export rows as CSV for auditors")
        export.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD")
        export.add_argument("--to", dest="date_to", required=True, help="YYYY-MM-DD (inclusive)")
        export.add_argument("--by", default="", help="导出人账号 · who exports (recorded in the log)")

    def handle(self, *args, action, **options):
        with context.acting(context.ActorContext(username=options.get("by") or "", via="cli")):
            getattr(self, f"_{action}")(**options)

    def _verify(self, **options):
        result = audit.verify()
        for problem in result.problems:
            self.stderr.write(problem)
        self.stdout.write(
            f"rows {result.rows}, seals {result.seals}, unsealed {result.unsealed}, head {result.head}"
        )
        if not result.ok:
            raise CommandError(
                f"审计日志校验失败 · audit log verification failed: {len(result.problems)} problem(s)"
            )
        self.stdout.write("审计日志完整 · audit log intact")

    def _seal(self, **options):
        try:
            sealed = audit.seal()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"sealed ≤{sealed.upto_id} ({sealed.rows} rows)" if sealed else "nothing to seal")

    def _prune(self, **options):
        self.stdout.write(f"pruned {audit.prune()} rows (retention {audit.retention_days()} days)")

    def _export(self, date_from, date_to, **options):
        try:
            first, last = dt.date.fromisoformat(date_from), dt.date.fromisoformat(date_to)
        except ValueError:
            raise CommandError("日期格式应为 YYYY-MM-DD · dates are YYYY-MM-DD") from None
        tz = timezone.get_current_timezone()
        start = dt.datetime.combine(first, dt.time.min, tz)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tz)
        rows = AuditLog.objects.filter(at__gte=start, at__lt=end).order_by("id")
        fields = [
            "id",
            "at",
            "actor_name",
            "action",
            "model",
            "object_id",
            "object_repr",
            "changes",
            "ip",
            "request_id",
            "via",
            "digest",
        ]
        writer = csv.writer(self.stdout)
        writer.writerow(fields)
        n = 0
        for row in rows.values_list(*fields).iterator(chunk_size=2000):
            writer.writerow(row)
            n += 1
        audit.write(AuditAction.EXPORT, AuditLog._meta.label, None, f"export {first}..{last}", {"rows": n})
