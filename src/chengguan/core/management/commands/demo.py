import datetime as dt

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from chengguan.cases.models import Case
from chengguan.core import clock
from chengguan.core.errors import ServiceError
from chengguan.demo.build import DEMO_PASSWORD, build_demo
from chengguan.demo.simulate import simulate


class Command(BaseCommand):
    help = "Build the demo city (idempotent) and serve it on 127.0.0.1:8000. 构建演示城市并启动服务。"

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="build and exit 只构建不启动")
        parser.add_argument(
            "--addr", default="127.0.0.1:8000", help="address to serve on (default 127.0.0.1:8000)"
        )
        parser.add_argument("--seed", type=int, default=7, help="random seed of the synthetic city")
        parser.add_argument(
            "--days", type=int, default=30, help="days of cases to simulate (0: none) 模拟天数"
        )

    def handle(self, *args, no_serve=False, addr="127.0.0.1:8000", seed=7, days=30, **options):
        if not 0 <= days <= 366:
            raise CommandError("--days 应在 0–366 之间 · --days must be 0–366")
        call_command("migrate", interactive=False, verbosity=0)
        result = build_demo(seed=seed, stdout=self.stdout)
        for line in result.summary:
            self.stdout.write(line)
        if days and not Case.objects.exists():
            self.stdout.write(f"模拟最近 {days} 天的案件 · simulating {days} days of cases")
            simulate(days, stdout=self.stdout)
        self._evaluation()
        self.stdout.write("")
        self.stdout.write(f"登录账号 · logins (密码 password: {DEMO_PASSWORD})")
        for username, who, scope in result.logins:
            self.stdout.write(f"  {username:<22} {who}  [{scope}]")
        self.stdout.write("")
        self.stdout.write(f"工作台 · pages:    http://{addr}/login/   (each role lands on its own workbench)")
        self.stdout.write(f"指挥大屏 · wall:   http://{addr}/command/")
        self.stdout.write(f"公众 · public:     http://{addr}/public/report/   http://{addr}/public/lookup/")
        self.stdout.write(f"管理后台 · admin:  http://{addr}/admin/   (sysadmin / secadmin / auditor)")
        self._two_factor()
        self.stdout.write(f"接口文档 · API:    http://{addr}/api/v1/docs")
        if not no_serve:
            call_command("runserver", addr, use_reloader=False, insecure_serving=True)

    def _two_factor(self) -> None:
        """The three administrators log in with a one-time code (TOTP): each has an authenticator
        whose secret and QR code are printed here (scan it with an authenticator app, or ask for
        the current code with `chengguan otp code USERNAME`)."""
        from django.conf import settings

        from chengguan.org.management.commands.otp import demo_devices

        self.stdout.write("")
        self.stdout.write(
            "两步验证 · two-factor (管理员登录需动态验证码 administrators give a one-time code):"
        )
        for username, secret, path in demo_devices(settings.VAR_DIR):
            self.stdout.write(f"  {username:<10} 密钥 secret {secret}   二维码 QR {path}")
        self.stdout.write("  用身份验证器应用扫码，或运行 · scan with an authenticator app, or run:")
        self.stdout.write("  chengguan otp code sysadmin")

    def _evaluation(self) -> None:
        """Scores need their configuration, and the figures their per-day aggregates: what the
        worker's jobs keep up to date is done once here, so the evaluation pages show the
        simulated month at once; the month before today is published if it has cases."""
        from chengguan.evaluation import services as evaluation
        from chengguan.evaluation.periods import month_of

        evaluation.load_scoring()
        settled = 0
        while batch := evaluation.settle_due():
            settled += len(batch)
        folded = evaluation.fold_events()
        self.stdout.write(f"评价汇总 · evaluation: {settled} 天已结算 days settled, {folded}")
        first_of_month = timezone.localdate(clock.now()).replace(day=1)
        last_month = month_of(first_of_month - dt.timedelta(days=1))
        if Case.objects.filter(created_at__lt=clock.now().replace(day=1)).exists():
            try:
                evaluation.publish_period(last_month)
                self.stdout.write(f"  {last_month.key} 已发布 · published")
            except ServiceError as exc:  # published by an earlier run
                self.stdout.write(f"  {exc.message}")
