"""A private PostgreSQL cluster and a real `chengguan serve` for the fault tests.

The shared server (the one the test database lives on) is never stopped: the tests that restart a
database restart a cluster of their own, made with the same PostgreSQL binaries in a temporary
directory, on a free port, and thrown away afterwards (even when the test fails)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL's bin directory that has initdb and pg_ctl (Debian layout)."""
    found = []
    for initdb in Path("/usr/lib/postgresql").glob("*/bin/initdb"):
        with contextlib.suppress(ValueError):
            found.append((int(initdb.parent.parent.name), initdb.parent))
    found = [(v, d) for v, d in found if (d / "pg_ctl").exists()]
    return max(found)[1] if found else None


def cannot_run_cluster() -> str | None:
    """Why a private cluster cannot be made here, or None."""
    if postgres_bindir() is None:
        return "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) for a private cluster"
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a postgres OS user (initdb refuses root)"
        if shutil.which("runuser") is None:
            return "running as root without runuser (initdb refuses root)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _wait_port_free(port: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex((HOST, port)) != 0:
                return
        time.sleep(0.1)


class PrivateCluster:
    """initdb + pg_ctl in a temporary directory. As root the server runs as the `postgres` OS user
    (initdb refuses root)."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.as_postgres = os.geteuid() == 0
        # As root, a directory the postgres user can reach (TMPDIR may be under /root).
        base = "/tmp" if self.as_postgres and os.path.isdir("/tmp") else None
        self.root = Path(tempfile.mkdtemp(prefix="cg-faults-pg-", dir=base))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        if self.as_postgres:
            shutil.chown(self.root, user="postgres")

    def _cmd(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=timeout)

    def init(self) -> None:
        self._cmd(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses={HOST} -c fsync=off -c max_connections=60"
        self._cmd("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.log), "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._cmd("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{dbname}"

    def dsn(self, dbname: str) -> str:
        return f"host={HOST} port={self.port} user=postgres dbname={dbname}"

    def destroy(self) -> None:
        """Stop the server however it is (immediate), then remove the directory."""
        if (self.data / "postmaster.pid").exists():
            result = self._cmd("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
            pid_file = self.data / "postmaster.pid"
            if result.returncode != 0 and pid_file.exists():
                with contextlib.suppress(ValueError, OSError):
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    def copy_database(self, source_dsn: str, name: str) -> None:
        """A new database `name` here with the schema and rows of `source_dsn` (pg_dump | pg_restore)."""
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        dump = subprocess.Popen(
            [str(self.bindir / "pg_dump"), "-Fc", "--no-owner", "--no-privileges", "-d", source_dsn],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        restore = subprocess.run(
            [str(self.bindir / "pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
             "-d", self.dsn(name)],
            stdin=dump.stdout, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        dump.stdout.close()
        dump_err = dump.communicate(timeout=120)[1]
        if dump.returncode != 0 or restore.returncode != 0:
            raise RuntimeError(f"copying the test database failed: {dump_err!r} {restore.stderr[-2000:]}")


# --- the server ----------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int  # 0: no answer (connection refused, reset, timeout)
    body: bytes = b""
    headers: dict | None = None

    def json(self):
        return json.loads(self.body)


class Server:
    """`chengguan serve` (granian, WSGI) in its own process group against `database_url`."""

    def __init__(self, database_url: str, var_dir: Path, *, workers: int = 3, threads: int = 2):
        self.port = free_port()
        self.log = var_dir / "serve.log"
        env = {k: v for k, v in os.environ.items() if k not in ("STATIC_ROOT", "MEDIA_ROOT")}
        env.update(
            DATABASE_URL=database_url,
            DEBUG="false",
            LOG_LEVEL="WARNING",
            CHENGGUAN_VAR_DIR=str(var_dir),
            ALLOWED_HOSTS=HOST,
            PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        )
        cmd = [sys.executable, "-m", "chengguan", "serve", "--addr", f"{HOST}:{self.port}"]
        cmd += ["--workers", str(workers), "--threads", str(threads), "--no-collectstatic"]
        cmd += ["--graceful-timeout", "5"]
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def request(self, method: str, path: str, body=None, headers=None, timeout: float = 20) -> Answer:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
            conn.request(method, path, data, {"Content-Type": "application/json", **(headers or {})})
            response = conn.getresponse()
            return Answer(response.status, response.read(), {k.lower(): v for k, v in response.getheaders()})
        except (OSError, http.client.HTTPException):
            return Answer(0)
        finally:
            conn.close()

    def wait_ready(self, path: str, headers: dict, seconds: float = 45) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chengguan serve exited {self.proc.returncode}: {self.log_tail()}")
            if self.request("GET", path, headers=headers, timeout=5).status == 200:
                return
            time.sleep(0.3)
        raise RuntimeError(f"chengguan serve did not answer within {seconds} s: {self.log_tail()}")

    def log_tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        else:  # the group may still hold workers of a server that died
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        _wait_port_free(self.port, 2)
