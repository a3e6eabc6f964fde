"""`chengguan sessions`: logged-in sessions on the command line (the security administrator's tool).

chengguan sessions clear             delete expired sessions and end idle or outlived ones
                                     (as the worker does every 5 minutes; Django's
                                     `clearsessions` plus the index of people's sessions)
chengguan sessions list [USERNAME]   who is logged in, since when, from where
chengguan sessions end USERNAME      end every session of a person (audited)
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from chengguan.core import context
from chengguan.core.management.subcommands import subcommands
from chengguan.org import sessions
from chengguan.org.models import Person, UserSession


class Command(BaseCommand):
    help = "登录会话：清理、列出、结束 · sessions: clear expired, list, end a person's"

    def add_arguments(self, parser):
        sub = subcommands(parser, dest="action", required=True)
        sub.add_parser("clear", help="清理过期会话 · delete expired, idle and outlived sessions")
        listing = sub.add_parser("list", help="会话列表 · logged-in sessions")
        listing.add_argument("username", nargs="?")
        end = sub.add_parser("end", help="结束某人的全部会话 · end every session of a person")
        end.add_argument("username")

    def handle(self, *args, action, **options):
        with context.acting(context.ActorContext(via=f"cli:sessions {action}")):
            getattr(self, f"_{action}")(**options)

    @staticmethod
    def _person(username: str) -> Person:
        try:
            return Person.objects.get(username=username)
        except Person.DoesNotExist:
            raise CommandError(f"没有用户 {username} · no such user") from None

    def _clear(self, **options):
        counts = sessions.clear_sessions()
        self.stdout.write(
            "已清理 · cleared: "
            + ", ".join(f"{reason} {n}" for reason, n in counts.items())
            + f" (idle {int(sessions.idle_seconds() // 60)} min, "
            f"lifetime {int(sessions.absolute_seconds() // 3600)} h)"
        )

    def _list(self, username=None, **options):
        rows = UserSession.objects.select_related("person").order_by("person__username", "created_at")
        if username:
            rows = rows.filter(person=self._person(username))
        for row in rows:
            since = timezone.localtime(row.created_at).strftime("%Y-%m-%d %H:%M")
            self.stdout.write(
                f"{row.person.username:<20} {sessions.session_label(row.session_key)}  {since}  "
                f"{row.ip or '-':<15} {row.user_agent[:40]}"
            )

    def _end(self, username, **options):
        count = sessions.end_sessions(self._person(username), reason="admin")
        self.stdout.write(f"已结束 {count} 个会话 · {count} session(s) ended")
