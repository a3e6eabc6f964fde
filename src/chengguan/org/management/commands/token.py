"""`chengguan token create|list|revoke`: personal API tokens (`Authorization: Bearer …`)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from chengguan.core import context
from chengguan.core.management.subcommands import subcommands

from ...models import ApiToken, Person
from ...tokens import MAX_DAYS, TokenError, token_create, token_find, token_is_valid, token_revoke

DASH = "-"


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else DASH


class Command(BaseCommand):
    help = "Personal API tokens: create, list, revoke. 接口令牌：签发、列出、撤销。"

    def add_arguments(self, parser):
        sub = subcommands(parser, dest="action", required=True)
        p = sub.add_parser(
            "create",
            help="issue a token for a person; it is printed once 签发令牌（只显示一次）",
        )
        p.add_argument("username")
        p.add_argument("--name", default="", help="what the token is for, e.g. the client's name 用途")
        p.add_argument("--days", type=int, default=None, help="valid for N days (default: until revoked)")

        p = sub.add_parser("list", help="list tokens, of one person or of everyone 列出令牌")
        p.add_argument("username", nargs="?")

        p = sub.add_parser("revoke", help="revoke a token by its prefix 按前缀撤销令牌")
        p.add_argument("prefix", help="the 8-character prefix shown by `token list`")

    def handle(self, *args, action, **opts):
        with context.acting(context.ActorContext(via=f"cli:token {action}")):
            try:
                return getattr(self, f"do_{action}")(**opts)
            except TokenError as exc:
                raise CommandError(str(exc)) from None

    @staticmethod
    def _person(username: str) -> Person:
        person = Person.objects.filter(username=username).first()
        if person is None:
            raise CommandError(f"没有用户名为 {username!r} 的人员 · no person with username {username!r}")
        return person

    def do_create(self, username, name, days, **_):
        if days is not None and not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days 应为 1–{MAX_DAYS} · --days must be from 1 to {MAX_DAYS}")
        person = self._person(username)
        token, plaintext = token_create(person, name, days=days)
        self.stdout.write(plaintext)
        self.stderr.write(
            f"已为 {person.get_username()} 签发令牌 {token.prefix}（到期：{_when(token.expires_at)}）。"
            "令牌只显示这一次，请立即妥善保存。\n"
            f"Token {token.prefix} issued to {person.get_username()} (expires: {_when(token.expires_at)}). "
            "It is shown only this once and cannot be shown again: store it now.\n"
            "用法 · use: Authorization: Bearer <token>"
        )

    def do_list(self, username=None, **_):
        tokens = ApiToken.objects.select_related("person").order_by("person__username", "-created_at", "-id")
        if username:
            tokens = tokens.filter(person=self._person(username))
        rows = [
            (
                t.prefix,
                t.person.get_username(),
                t.name or DASH,
                _when(t.created_at),
                _when(t.last_used_at),
                _when(t.expires_at),
                _when(t.revoked_at),
                "valid" if token_is_valid(t) and t.person.is_active else "invalid",
            )
            for t in tokens
        ]
        if not rows:
            self.stdout.write("没有令牌 · no tokens")
            return
        header = ("prefix", "person", "name", "created", "last used", "expires", "revoked", "state")
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())

    def do_revoke(self, prefix, **_):
        token = token_find(prefix)
        if token.revoked_at is not None:
            self.stdout.write(
                f"令牌 {token.prefix} 已于 {_when(token.revoked_at)} 撤销 · "
                f"token {token.prefix} was already revoked at {_when(token.revoked_at)}"
            )
            return
        token_revoke(token)
        self.stdout.write(
            f"已撤销 {token.person.get_username()} 的令牌 {token.prefix} · "
            f"revoked token {token.prefix} of {token.person.get_username()}"
        )
