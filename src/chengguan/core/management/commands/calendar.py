"""`chengguan calendar show [YEAR]` and `chengguan calendar import FILE [--dry-run]`: a year's
holiday schedule (放假安排, 调休) checked and loaded into the calendar overrides (see core.services)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from chengguan.core import calendar, context, services
from chengguan.core.management.subcommands import subcommands
from chengguan.core.models import CalendarDayKind


class Command(BaseCommand):
    help = _("工作日历：查看某年的节假日与调休，或从文件载入放假安排 · the working-time calendar")

    def add_arguments(self, parser):
        actions = subcommands(parser, dest="action", required=True, metavar="{show,import}")
        show = actions.add_parser(
            "show",
            help=_(
                "列出某年工作日与周末不同的日子 · the days of a year off on a weekday or worked on a weekend"
            ),
        )
        show.add_argument(
            "year", nargs="?", type=int, help=_("年份，默认为今年 · the year, this year by default")
        )
        load = actions.add_parser(
            "import",
            help=_(
                "载入放假安排（CSV：date,kind,note；或 JSON）为日历调整 · load a holiday schedule as overrides"
            ),
        )
        load.add_argument("file", help=_("放假安排文件（.csv 或 .json）· the schedule file"))
        load.add_argument(
            "--dry-run", action="store_true", help=_("只校验，不写入 · check only, write nothing")
        )

    def handle(self, *args, action: str, **options):
        if action == "show":
            self._show(options.get("year") or timezone.localdate().year)
        else:
            self._import(options["file"], dry_run=options["dry_run"])

    def _show(self, year: int) -> None:
        if not 1900 < year < 2200:
            raise CommandError(_("年份应在 1901–2199 之间 · the year must be 1901–2199"))
        known = calendar.statutory_year_known(year)
        self.stdout.write(
            _("%(year)d 年：chinesecalendar 有该年的法定节假日数据 · statutory data known") % {"year": year}
            if known
            else _(
                "%(year)d 年：chinesecalendar 没有该年的法定节假日数据，未调整的日子按周一至周五上班计算 · no statutory data"
            )
            % {"year": year}
        )
        days = calendar.year_exceptions(year)
        if not days:
            self.stdout.write(_("（没有与周一至周五不同的日子，也没有日历调整）· no exceptions"))
        for day in days:
            kind = _("上班") if day.workday else _("休息")
            source = _("日历调整") if day.source == "override" else _("法定")
            self.stdout.write(
                f"{day.date.isoformat()}  {calendar.WEEKDAY_NAMES[day.date.weekday()]}  {kind}  {source}  {day.note}".rstrip()
            )
        for warning in calendar.calendar_warnings():
            self.stderr.write(self.style.WARNING(warning))

    @staticmethod
    def _refused(exc: services.ScheduleError) -> CommandError:
        lines = [
            _("放假安排未载入，共 %(n)d 处错误，数据库未作任何修改 · not loaded, nothing written:")
            % {"n": len(exc.messages)}
        ]
        lines += [f"  - {message}" for message in exc.messages]
        return CommandError("\n".join(lines))

    def _import(self, path: str, *, dry_run: bool) -> None:
        try:
            days = services.schedule_read(path)
        except services.ScheduleError as exc:
            raise self._refused(exc) from None
        years = sorted({d.date.year for d in days})
        holidays = sum(1 for d in days if d.kind == CalendarDayKind.HOLIDAY)
        summary = _("%(n)d 天（%(holidays)d 天休息，%(workdays)d 天上班），年份 %(years)s") % {
            "n": len(days),
            "holidays": holidays,
            "workdays": len(days) - holidays,
            "years": "、".join(str(y) for y in years),
        }
        if dry_run:
            self.stdout.write(
                self.style.SUCCESS(_("校验通过，未写入：%s · valid, nothing written") % summary)
            )
            return
        with context.acting(context.ActorContext(via="command:calendar import")):
            try:
                result = services.schedule_load(days)
            except services.ScheduleError as exc:
                raise self._refused(exc) from None
        self.stdout.write(
            self.style.SUCCESS(
                _("已载入 %(summary)s：新增 %(created)d，修改 %(updated)d，未变 %(unchanged)d · loaded")
                % {
                    "summary": summary,
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                }
            )
        )
        self.stdout.write(
            _("用 chengguan calendar show %(year)d 核对 · check with calendar show") % {"year": years[0]}
        )
