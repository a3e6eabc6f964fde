"""`chengguan evaluation config [FILE]`, `chengguan evaluation fold`, `chengguan evaluation settle`,
`chengguan evaluation publish PERIOD` and `chengguan evaluation recompute PERIOD --reason …`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from chengguan.core import context
from chengguan.core.errors import ServiceError
from chengguan.core.management.subcommands import subcommands
from chengguan.evaluation import services
from chengguan.evaluation.periods import parse_period
from chengguan.org.models import Person


class Command(BaseCommand):
    help = _(
        "综合评价：评分配置、日汇总、发布与重新计算 · evaluation: scoring configuration, day aggregates, snapshots"
    )

    def add_arguments(self, parser):
        actions = subcommands(
            parser, dest="action", required=True, metavar="{config,fold,settle,publish,recompute}"
        )
        config = actions.add_parser(
            "config",
            help=_("载入评分配置（权重、分档、等级） · load the scoring configuration"),
        )
        config.add_argument("file", nargs="?", default=str(services.DEFAULT_CONFIG))
        actions.add_parser("fold", help=_("汇总新的案件事件 · fold new case events"))
        actions.add_parser("settle", help=_("结算已结束的日期 · settle finished days"))
        publish = actions.add_parser("publish", help=_("发布已结束的期间 · publish a finished period"))
        publish.add_argument("period")
        recompute = actions.add_parser(
            "recompute", help=_("重新计算已发布的期间 · recompute a published period")
        )
        recompute.add_argument("period")
        recompute.add_argument("--reason", required=True)
        recompute.add_argument("--user", required=True, help=_("操作人账号 · the acting person's username"))

    def handle(self, *args, action, **options):
        try:
            with context.acting(context.ActorContext(via="cli")):
                if action == "config":
                    result = services.load_scoring(options["file"])
                elif action == "fold":
                    result = services.fold_events()
                elif action == "settle":
                    result = [d.isoformat() for d in services.settle_due()]
                elif action == "publish":
                    snapshot = services.publish_period(parse_period(options["period"]))
                    result = f"{snapshot.period} v{snapshot.version}"
                else:
                    person = Person.objects.filter(username=options["user"]).first()
                    if person is None:
                        raise CommandError(_("没有此用户 · no such user"))
                    snapshot = services.recompute_period(
                        parse_period(options["period"]), actor=person, reason=options["reason"]
                    )
                    result = f"{snapshot.period} v{snapshot.version}"
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(str(result))
