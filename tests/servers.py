"""Real processes for the tests: a private MariaDB server and the collector itself."""

import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pymysql

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A port free for both TCP and UDP on loopback right now."""
    while True:
        with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def _binary(name: str, fallback: str) -> str:
    found = shutil.which(name) or (fallback if Path(fallback).exists() else None)
    if found is None:
        raise RuntimeError(f"{name} not found: run `make test`, which installs mariadb-server")
    return found


class MariaDBServer:
    """A MariaDB of the tests' own (data dir in a temp folder), so a test may stop and restart it freely."""

    def __init__(self, base: Path, *options: str) -> None:
        self.base = base
        self.options = options
        self.datadir = base / "data"
        self.tmpdir = base / "tmp"
        self.port = free_port()
        self.log = base / "mariadb.log"
        self.process: subprocess.Popen | None = None

    def install(self) -> None:
        """Create the system tables; root may log in over TCP without a password."""
        command = [
            _binary("mariadb-install-db", "/usr/bin/mariadb-install-db"),
            "--no-defaults",
            f"--datadir={self.datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]
        if os.geteuid() == 0:
            command.append("--user=root")
        subprocess.run(command, check=True, capture_output=True)

    def start(self) -> None:
        """Start the server and wait until it answers."""
        self.tmpdir.mkdir(exist_ok=True)
        command = [
            _binary("mariadbd", "/usr/sbin/mariadbd"),
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.base / 'mariadb.sock'}",
            f"--pid-file={self.base / 'mariadb.pid'}",
            # A tmpdir of its own: a starting server deletes every `#sql*` file in its tmpdir, which would
            # pull the temporary tables out from under another server's running queries.
            f"--tmpdir={self.tmpdir}",
            f"--log-error={self.log}",
            "--skip-log-bin",
            "--character-set-server=utf8mb4",
            "--innodb-buffer-pool-size=64M",
            "--performance-schema=OFF",
            *self.options,
        ]
        if os.geteuid() == 0:
            command.append("--user=root")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.connect().close()
                return
            except pymysql.err.OperationalError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"MariaDB did not start: {self.log.read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        """Shut the server down cleanly (SIGTERM) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)
        self.process = None

    def init_database(self, **passwords: str) -> dict[str, str]:
        """Apply mysql-init/ with `scripts/db-init`, as `make db-init` does; return the deployment's environment."""
        env = {
            "SIEM_DB_HOST": "127.0.0.1",
            "SIEM_DB_PORT": str(self.port),
            "SIEM_DB_NAME": "siem",
            "MARIADB_ROOT_PASSWORD": "",
            **passwords,
        }
        result = subprocess.run(
            [str(ROOT / "scripts" / "db-init")], env={**os.environ, **env}, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"db-init failed: {result.stderr}")
        return env

    def connect(self, database: str | None = None, **kwargs: object) -> pymysql.connections.Connection:
        """Connect as root (or as `user=`/`password=` given)."""
        options = {"host": "127.0.0.1", "port": self.port, "user": "root", "charset": "utf8mb4", "autocommit": True}
        options.update(kwargs)
        return pymysql.connect(database=database, **options)


def collector_env(deployment: dict[str, str], spool: Path, **overrides: str) -> dict[str, str]:
    """What a collector process is given: the deployment's database and account, syslog on a free loopback port."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "SIEM_DB_HOST": deployment["SIEM_DB_HOST"],
        "SIEM_DB_PORT": deployment["SIEM_DB_PORT"],
        "SIEM_DB_NAME": deployment["SIEM_DB_NAME"],
        "SIEM_DB_USER": "siem_collector",
        "SIEM_DB_PASSWORD": deployment["SIEM_COLLECTOR_PASSWORD"],
        "SIEM_SYSLOG_HOST": "127.0.0.1",
        "SIEM_SYSLOG_PORT": str(free_port()),
        "SIEM_SPOOL_DIR": str(spool),
        "TZ": "UTC",
        **overrides,
    }


class CollectorProcess:
    """`python -m collector` as a user runs it, with its environment and a log file to read."""

    def __init__(self, env: dict[str, str], log: Path, open_files: int | None = None) -> None:
        self.env = env
        self.log = log
        self.open_files = open_files
        self.port = int(env["SIEM_SYSLOG_PORT"])
        self.process: subprocess.Popen | None = None

    def start(self, wait_for: str = "listening for syslog") -> "CollectorProcess":
        """Start it and wait until its log shows `wait_for`, from this start on (the log may hold an earlier run's)."""
        self._log_file = self.log.open("ab")
        began = self._log_file.tell()
        limit = self.open_files
        self.process = subprocess.Popen(
            [sys.executable, "-m", "collector"],
            cwd=ROOT,
            env=self.env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            # the tests start processes from one thread only, so preexec_fn is safe here
            preexec_fn=None if limit is None else lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit)),  # noqa: PLW1509
        )
        self.wait_for_log(wait_for, since=began)
        return self

    def wait_for_log(self, text: str, timeout: float = 30, since: int = 0) -> None:
        """Wait until the log shows text (past its first `since` bytes); fail with the log if the process dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output(since):
                return
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"collector exited ({self.process.returncode}):\n{self.output()}")
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not in collector log after {timeout}s:\n{self.output()}")

    def output(self, since: int = 0) -> str:
        """Everything the collector logged so far (after the log's first `since` bytes)."""
        return self.log.read_bytes()[since:].decode(errors="replace") if self.log.exists() else ""

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then wait for a clean exit; return the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self._log_file.close()
        self.process = None
        return code


def send_udp(port: int, *messages: bytes) -> None:
    """Send each message as one datagram, as a router does."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for message in messages:
            sock.sendto(message, ("127.0.0.1", port))


def send_tcp(port: int, payload: bytes) -> None:
    """Open a connection, send the bytes, close it cleanly."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(5)
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            sock.recv(1)


def octet_counted(*messages: bytes) -> bytes:
    """RFC 6587 octet-counting framing."""
    return b"".join(str(len(message)).encode() + b" " + message for message in messages)


def lf_framed(*messages: bytes) -> bytes:
    """RFC 6587 non-transparent framing with LF."""
    return b"".join(message + b"\n" for message in messages)


class ApiProcess:
    """`python -m api` (uvicorn) with a given environment and a log file to read."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.env = {"PATH": os.environ.get("PATH", ""), "SIEM_API_HOST": "127.0.0.1",
                    "SIEM_API_PORT": str(self.port), **env}  # fmt: skip
        self.log = log
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> "ApiProcess":
        """Start it and wait until it answers HTTP (whatever MariaDB says)."""
        self._log_file = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api"], cwd=ROOT, env=self.env, stdout=self._log_file, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"API did not start: {self.output()}")

    def output(self) -> str:
        """Everything the API logged so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self._log_file.close()


class Receiver:
    """A real HTTP server on loopback that records what notifications post to it."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.posts.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Keep test output quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, count: int, timeout: float = 20) -> list[dict]:
        """Wait until `count` notifications arrived; return them."""
        deadline = datetime.now() + timedelta(seconds=timeout)
        while len(self.posts) < count and datetime.now() < deadline:
            threading.Event().wait(0.05)
        return self.posts
