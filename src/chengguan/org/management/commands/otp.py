"""`chengguan otp`: authenticator devices on the command line (the security administrator's tool,
and the demo's).

    chengguan otp enrol USERNAME [--svg FILE]   a new device: prints the secret and the otpauth URL,
                                                writes the QR code as SVG
    chengguan otp list [USERNAME]               devices and when each was last used
    chengguan otp reset USERNAME                removes the person's devices (they enrol again)
    chengguan otp code USERNAME                 the current code (demo only: refused in production)
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from chengguan.core import context
from chengguan.core.management.subcommands import subcommands
from chengguan.org import twofactor
from chengguan.org.models import Person


class Command(BaseCommand):
    help = "Authenticator devices (TOTP): enrol, list, reset; 身份验证器（动态口令）管理"

    def add_arguments(self, parser):
        sub = subcommands(parser, dest="action", required=True)
        enrol = sub.add_parser("enrol", help="a new device for a person 绑定新设备")
        enrol.add_argument("username")
        enrol.add_argument("--svg", help="write the QR code here 二维码 SVG 文件")
        listing = sub.add_parser("list", help="devices 设备列表")
        listing.add_argument("username", nargs="?")
        reset = sub.add_parser("reset", help="remove a person's devices 删除设备")
        reset.add_argument("username")
        code = sub.add_parser("code", help="the current code (demo only) 当前验证码（仅演示）")
        code.add_argument("username")

    def handle(self, *args, action, **options):
        # Enrolments and resets are in the audit log (org.twofactor's signals), done "by the system"
        # on the command line.
        with context.acting(context.ActorContext(via=f"cli:otp {action}")):
            getattr(self, f"_{action}")(**options)

    @staticmethod
    def _person(username: str) -> Person:
        try:
            return Person.objects.get(username=username)
        except Person.DoesNotExist:
            raise CommandError(f"没有用户 {username} · no such user") from None

    def _enrol(self, username, svg=None, **options):
        device = twofactor.provision(self._person(username))
        self.stdout.write(f"密钥 secret:  {twofactor.secret_base32(device)}")
        self.stdout.write(f"otpauth URL: {device.config_url}")
        if svg:
            Path(svg).write_text(twofactor.qr_svg(device), encoding="utf-8")
            self.stdout.write(f"二维码 QR code: {svg}")

    def _list(self, username=None, **options):
        devices = TOTPDevice.objects.select_related("user").order_by("user__username", "pk")
        if username:
            devices = devices.filter(user=self._person(username))
        for d in devices:
            state = "confirmed" if d.confirmed else "pending"
            self.stdout.write(
                f"{d.user.username:<20} {d.name:<16} {state:<10} last used: {d.last_used_at or '-'}"
            )

    def _reset(self, username, **options):
        count = 0
        for device in TOTPDevice.objects.filter(user=self._person(username)):
            device.delete()  # one by one: each removal is audited
            count += 1
        self.stdout.write(f"已删除 {count} 个设备 · {count} device(s) removed")

    def _code(self, username, **options):
        if getattr(settings, "PRODUCTION", False):
            raise CommandError("生产环境不提供此命令 · not available in production")
        device = twofactor.devices(self._person(username)).first()
        if device is None:
            raise CommandError(f"{username} 没有已绑定的设备 · has no device")
        self.stdout.write(twofactor.current_code(device))


def demo_devices(var_dir: Path) -> list[tuple[str, str, Path]]:
    """The demo's administrators each get an authenticator (kept across runs): (username, secret,
    QR code file) for `chengguan demo` to print."""
    folder = Path(var_dir) / "demo-2fa"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for person in Person.objects.filter(is_active=True).order_by("username"):
        if not twofactor.is_required(person):
            continue
        device = twofactor.devices(person).first() or twofactor.provision(person)
        path = folder / f"{person.username}.svg"
        path.write_text(twofactor.qr_svg(device), encoding="utf-8")
        rows.append((person.username, twofactor.secret_base32(device), path))
    return rows
