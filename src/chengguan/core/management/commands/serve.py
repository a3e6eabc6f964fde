"""`chengguan serve`: run the project under a production server (granian, WSGI interface).

    chengguan serve [--addr 127.0.0.1:8000] [--workers N] [--threads T] [--allow-debug]

Granian (a Rust HTTP server with a WSGI interface) runs N worker processes, each with T threads
that run Django; the Rust side parses HTTP, keeps connections alive and serves the collected
static files (STATIC_ROOT at STATIC_URL) without entering Python. Database connections persist
across requests (CONN_MAX_AGE, 60 s by default): one per thread, so N × T connections at most.

Before it listens the command runs the system checks, refuses DEBUG (unless --allow-debug: debug
pages leak settings and source), and collects the static files (collectstatic copies only what
changed, so a second start costs little). SIGTERM or SIGINT stops it cleanly: the workers finish
the requests in hand (up to --graceful-timeout seconds), then the process exits 0.

Uploaded files (MEDIA_ROOT) are not served: case photos are personal data and go through views
that check permissions.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections


def default_workers() -> int:
    """2 × usable cores + 1: a worker waits on the database about as long as it computes."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 2 * cores + 1


def parse_addr(addr: str) -> tuple[str, int]:
    """'127.0.0.1:8000', '[::1]:8000', ':8000' or '8000' → (host, port)."""
    addr = addr.strip()
    if addr.isdigit():
        host, port = "127.0.0.1", addr
    elif addr.startswith("["):
        host, sep, port = addr[1:].partition("]:")
        if not sep:
            raise CommandError(f"地址格式应为 [IPv6]:端口 · bad address {addr!r} (use [::1]:8000)")
    else:
        host, sep, port = addr.rpartition(":")
        if not sep:
            raise CommandError(f"地址格式应为 主机:端口 · bad address {addr!r} (use 127.0.0.1:8000)")
        host = host or "127.0.0.1"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise CommandError(f"主机应为 IP 地址 · host must be an IP address, not {host!r}") from None
        host = "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"端口应为 1–65535 · bad port {port!r}")
    return host, int(port)


def static_mount() -> tuple[str, Path] | None:
    """(route, directory) for the server's static file mapping, or None when STATIC_URL is a full
    URL (files served elsewhere, e.g. a CDN or a front proxy)."""
    url = settings.STATIC_URL or ""
    if "://" in url or url.startswith("//") or not settings.STATIC_ROOT:
        return None
    return "/" + url.strip("/"), Path(settings.STATIC_ROOT)


class Command(BaseCommand):
    help = (
        "Serve the project under a production server (granian, WSGI) with persistent database "
        "connections and static files. 以生产服务器运行。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--addr", default="127.0.0.1:8000", help="host:port to listen on (default 127.0.0.1:8000)"
        )
        parser.add_argument(
            "--workers", type=int, default=None, help="worker processes (default 2 × cores + 1)"
        )
        parser.add_argument(
            "--threads", type=int, default=1, help="threads per worker running Django (default 1)"
        )
        parser.add_argument(
            "--allow-debug", action="store_true", help="start even with DEBUG on (never in production)"
        )
        parser.add_argument(
            "--no-collectstatic", action="store_true", help="serve STATIC_ROOT as it is, do not collect"
        )
        parser.add_argument(
            "--graceful-timeout",
            type=int,
            default=30,
            help="seconds the workers get to finish requests in hand on SIGTERM (default 30)",
        )
        parser.add_argument("--access-log", action="store_true", help="log every request")

    def handle(self, *args, **options):
        if settings.DEBUG and not options["allow_debug"]:
            raise CommandError(
                "DEBUG 已开启，拒绝以生产方式运行（调试页面会泄露配置与源码）；关闭 DEBUG 或加 --allow-debug · "
                "DEBUG is on: refusing to serve (debug pages leak settings and source); "
                "unset DEBUG or pass --allow-debug"
            )
        host, port = parse_addr(options["addr"])
        workers = options["workers"] if options["workers"] is not None else default_workers()
        threads = options["threads"]
        if not 1 <= workers <= 64:
            raise CommandError("--workers 应在 1–64 之间 · --workers must be 1–64")
        if not 1 <= threads <= 64:
            raise CommandError("--threads 应在 1–64 之间 · --threads must be 1–64")
        try:
            from granian.constants import Interfaces
            from granian.server import Server
        except ImportError:  # pragma: no cover - granian is a dependency
            raise CommandError("未安装 granian · granian is not installed (pip install granian)") from None

        mount = static_mount()
        if mount is not None and not options["no_collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        if mount is not None and not mount[1].is_dir():
            self.stderr.write(f"静态文件目录不存在 · no static files at {mount[1]}; not serving {mount[0]}")
            mount = None

        db = settings.DATABASES["default"]
        self.stdout.write(
            f"granian (WSGI) on http://{host if ':' not in host else f'[{host}]'}:{port}  "
            f"workers={workers} threads={threads}  database={db['ENGINE'].rsplit('.', 1)[-1]} "
            f"CONN_MAX_AGE={db.get('CONN_MAX_AGE')}  static={mount[0] + ' → ' + str(mount[1]) if mount else 'off'}"
        )
        # The workers are forked from this process: none of them may inherit its connections.
        connections.close_all()
        server = Server(
            "chengguan.wsgi:application",
            address=host,
            port=port,
            interface=Interfaces.WSGI,
            workers=workers,
            blocking_threads=threads,
            # Granian's backpressure counts connections, not requests: a keep-alive connection
            # holds its slot while idle, so a limit near `threads` would leave clients unanswered.
            # Keep the default (backlog / workers); requests beyond `threads` queue in the worker.
            websockets=False,  # WSGI has none
            log_access=options["access_log"],
            static_path_route=[mount[0]] if mount else None,
            static_path_mount=[mount[1]] if mount else None,
            workers_kill_timeout=options["graceful_timeout"],
            respawn_failed_workers=True,
        )
        # Blocks until SIGTERM/SIGINT; granian stops the workers gracefully, then returns.
        server.serve()
