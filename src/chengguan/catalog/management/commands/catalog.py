"""`chengguan catalog load [FILE] [--activate]` and `chengguan catalog validate [FILE]`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from chengguan.catalog import services
from chengguan.core import context
from chengguan.core.management.subcommands import subcommands


def _failure(title: str, error: services.CatalogError) -> CommandError:
    lines = [title.format(count=len(error.messages))]
    lines += [f"  - {message}" for message in error.messages]
    return CommandError("\n".join(lines))


class Command(BaseCommand):
    help = _(
        "部件事件分类目录：校验或载入目录文件 · components and events catalogue: validate or load a file"
    )

    def add_arguments(self, parser):
        actions = subcommands(parser, dest="action", required=True, metavar="{load,validate}")
        default = str(services.DEFAULT_FIXTURE)
        load = actions.add_parser(
            "load",
            help=_("校验并载入目录（同一目录编码再次载入时原地更新） · validate and load a catalogue"),
        )
        load.add_argument(
            "file", nargs="?", default=default, help=_("目录文件，默认为随附的 CJ/T 214-2007 目录")
        )
        load.add_argument(
            "--activate", action="store_true", help=_("载入后设为当前目录 · make it the active catalogue")
        )
        validate = actions.add_parser("validate", help=_("只校验，不写入 · validate only, write nothing"))
        validate.add_argument(
            "file", nargs="?", default=default, help=_("目录文件，默认为随附的 CJ/T 214-2007 目录")
        )

    def handle(self, *args, action: str, file: str, **options):
        if action == "validate":
            try:
                spec = services.catalog_validate(file)
            except services.CatalogError as exc:
                raise _failure(
                    _("目录校验未通过，共 {count} 处错误 · catalogue is invalid, {count} error(s):"), exc
                ) from None
            self.stdout.write(
                self.style.SUCCESS(
                    _(
                        "目录 {code} 校验通过：{majors} 个大类，{minors} 个小类，{limits} 条环节时限 · valid"
                    ).format(
                        code=spec.code,
                        majors=len(spec.majors),
                        minors=spec.minor_count,
                        limits=spec.limit_count,
                    )
                )
            )
            return
        with context.acting(context.ActorContext(via="command:catalog load")):
            try:
                result = services.catalog_load(file, activate=options["activate"])
            except services.CatalogError as exc:
                raise _failure(
                    _(
                        "目录未载入，共 {count} 处错误，数据库未作任何修改 · catalogue not loaded, nothing written, {count} error(s):"
                    ),
                    exc,
                ) from None
        self.stdout.write(self.style.SUCCESS(result.summary()))
