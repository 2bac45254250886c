"""Throwaway Redis and PostgreSQL servers that a chaos test may stop and start at will.

Unlike ``tests/integration/servers.py`` these never use a server named in the environment:
stopping a shared server would disturb every other test (and CI's services).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.integration.servers import _postgres_bin, _redis_ping, _wait, free_port, unavailable


class ThrowawayRedis:
    """redis-server on a free port, with append-only persistence as a production broker has.

    ``stop`` is a clean shutdown (SIGTERM: Redis writes its data before exiting), ``kill`` a
    crash; either way ``start`` brings it back on the same port with what was persisted.
    """

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("no redis-server binary installed for the chaos tests")
        self.binary = str(binary)
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.process is None
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: _redis_ping(self.url), "redis-server", timeout=30)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own; ``restart`` stops it (fast: sessions are cut) and
    starts it again on the same port."""

    def __init__(self, workdir: Path) -> None:
        initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
        if not initdb or not pg_ctl:
            unavailable("no initdb/pg_ctl installed for the chaos tests")
        self.pg_ctl = str(pg_ctl)
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root.
            runuser = shutil.which("runuser")
            has_user = subprocess.run(["id", "postgres"], capture_output=True).returncode == 0
            if runuser is None or not has_user:
                unavailable("running as root without a postgres user to run PostgreSQL as")
            self.prefix = [runuser, "-u", "postgres", "--"]
            shutil.chown(workdir, "postgres", "postgres")
        self.workdir = workdir
        self.data = workdir / "data"
        self.port = free_port()
        subprocess.run(
            [*self.prefix, str(initdb), "-D", str(self.data), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
        )
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.prefix, self.pg_ctl, "-D", str(self.data), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.workdir} -h 127.0.0.1 -F -c max_connections=200"
        self._ctl("-w", "-l", str(self.workdir / "log"), "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-w", "-m", mode, "stop")

    def database_url(self, name: str) -> str:
        """A fresh database on this server."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    with tempfile.TemporaryDirectory(prefix="chaos-redis-") as workdir:
        server = ThrowawayRedis(Path(workdir))
        server.start()
        try:
            yield server
        finally:
            server.stop(signal.SIGKILL)


@contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    workdir = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
    try:
        server = ThrowawayPostgres(workdir)
        server.start()
        try:
            yield server
        finally:
            subprocess.run(
                [*server.prefix, server.pg_ctl, "-D", str(server.data), "-m", "immediate", "stop"],
                capture_output=True,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
