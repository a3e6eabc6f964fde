"""`chengguan open311 key create NAME | key list | key revoke PREFIX`: Open311 `api_key`s."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from chengguan.core import context
from chengguan.core.management.subcommands import subcommands

from ...keys import Open311KeyError, key_create, key_find, key_revoke
from ...models import Open311Key

DASH = "-"


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else DASH


class Command(BaseCommand):
    help = "Open311 GeoReport v2 api_keys: create, list, revoke. Open311 接口密钥：签发、列出、撤销。"

    def add_arguments(self, parser):
        groups = subcommands(parser, dest="group", required=True)
        key = groups.add_parser("key", help="api_keys of integrating systems 接入系统的接口密钥")
        sub = subcommands(key, dest="action", required=True)
        p = sub.add_parser("create", help="issue a key; only the key is printed, once 签发密钥（只显示一次）")
        p.add_argument("name", help="the integrating system, e.g. 12345 热线平台 接入系统名称")
        sub.add_parser("list", help="list keys 列出密钥")
        p = sub.add_parser("revoke", help="revoke a key by its prefix 按前缀撤销密钥")
        p.add_argument("prefix", help="the 12-character prefix shown by `open311 key list`")

    def handle(self, *args, group, action, **opts):
        with context.acting(context.ActorContext(via=f"cli:open311 {group} {action}")):
            try:
                return getattr(self, f"do_{action}")(**opts)
            except Open311KeyError as exc:
                raise CommandError(str(exc)) from None

    def do_create(self, name, **_):
        key, plaintext = key_create(name)
        self.stdout.write(plaintext)
        self.stderr.write(
            f"已为“{key.name}”签发 Open311 接口密钥 {key.prefix}。密钥只显示这一次，请立即妥善交付。\n"
            f"Open311 key {key.prefix} issued to {key.name!r}. It is shown only this once and cannot be "
            "shown again: hand it over now.\n"
            "用法 · use: POST …/open311/v2/requests.json with api_key=<key> (form-encoded)"
        )

    def do_list(self, **_):
        rows = [
            (
                k.prefix,
                k.name,
                _when(k.created_at),
                _when(k.last_used_at),
                _when(k.revoked_at),
                "revoked" if k.revoked_at else "valid",
            )
            for k in Open311Key.objects.order_by("name", "-created_at", "-id")
        ]
        if not rows:
            self.stdout.write("没有密钥 · no keys")
            return
        header = ("prefix", "name", "created", "last used", "revoked", "state")
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())

    def do_revoke(self, prefix, **_):
        key = key_find(prefix)
        if key.revoked_at is not None:
            self.stdout.write(
                f"密钥 {key.prefix} 已于 {_when(key.revoked_at)} 撤销 · "
                f"key {key.prefix} was already revoked at {_when(key.revoked_at)}"
            )
            return
        key_revoke(key)
        self.stdout.write(f"已撤销“{key.name}”的密钥 {key.prefix} · revoked key {key.prefix} of {key.name!r}")
