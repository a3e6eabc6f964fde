"""`chengguan assessment config [FILE]`: load the checklists and the assessment weights."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from chengguan.assessment import services
from chengguan.core import context
from chengguan.core.errors import ServiceError
from chengguan.core.management.subcommands import subcommands


class Command(BaseCommand):
    help = _("网格化检查考核：载入考核清单和权重 · grid assessment: load the checklists and weights")

    def add_arguments(self, parser):
        actions = subcommands(parser, dest="action", required=True, metavar="{config}")
        config = actions.add_parser("config", help=_("载入考核清单和权重 · load checklists and weights"))
        config.add_argument("file", nargs="?", default=str(services.DEFAULT_CONFIG))

    def handle(self, *args, action, **options):
        try:
            with context.acting(context.ActorContext(via="cli")):
                result = services.load_config(options["file"])
        except (ServiceError, OSError, ValueError, KeyError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(result))
