"""Real servers for integration tests: an existing one from the environment, else a throwaway one.

With neither available the test is skipped with the reason printed; when
HELPDESK_BRIDGE_REQUIRE_INTEGRATION is set (CI), it fails instead, so a green run proves the
integration tests really ran.
"""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REQUIRE_ENV = "HELPDESK_BRIDGE_REQUIRE_INTEGRATION"


def unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"integration test cannot run: {reason}")
    pytest.skip(reason)


# A port the kernel never hands out on its own (below the ephemeral range, where outgoing
# connections take their local ports), reserved with a lock file for as long as this process
# lives: a server started a moment later cannot lose its port to another test run's server or
# to one of the thousands of client connections a chaos test opens.
_PORT_RANGE = (20_000, 32_000)
_PORT_LOCKS = Path(tempfile.gettempdir()) / "helpdesk-bridge-test-ports"
_reserved: dict[int, int] = {}  # port -> the open file descriptor holding its lock


def free_port() -> int:
    _PORT_LOCKS.mkdir(exist_ok=True)
    for _ in range(1000):
        port = random.randint(*_PORT_RANGE)
        if port in _reserved:
            continue
        fd = os.open(_PORT_LOCKS / f"{port}.lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                os.close(fd)
                continue
        _reserved[port] = fd
        return port
    raise RuntimeError(f"no free port in {_PORT_RANGE}")


def _wait(check: callable, what: str, timeout: float = 20) -> None:  # type: ignore[valid-type]
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            check()
            return
        except Exception as exc:
            last = exc
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up: {last}")


def _redis_ping(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_connect_timeout=1).ping()


@contextmanager
def redis_server() -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if url:
        try:
            _redis_ping(url)
        except Exception as exc:
            unavailable(f"REDIS_URL={url} is not reachable: {exc}")
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("no REDIS_URL set and no redis-server binary installed")
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            _wait(lambda: _redis_ping(url), "redis-server")
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def _postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


@contextmanager
def postgres_server() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url and url.startswith("postgresql"):
        yield url
        return
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if not initdb or not pg_ctl:
        unavailable("no PostgreSQL DATABASE_URL set and no initdb/pg_ctl installed")
    # PostgreSQL refuses to run as root: run the throwaway server as the postgres user then.
    prefix: list[str] = []
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None or shutil.which("id") is None:
            unavailable("running as root and cannot switch to an unprivileged user")
        if subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
            unavailable("running as root and there is no postgres user to run PostgreSQL as")
        prefix = [runuser, "-u", "postgres", "--"]
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="bridge-pg-")
    data = Path(workdir) / "data"
    if prefix:
        shutil.chown(workdir, "postgres", "postgres")
    try:
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *prefix,
                pg_ctl,
                "-D",
                str(data),
                "-w",
                "-l",
                str(Path(workdir) / "log"),
                "-o",
                f"-p {port} -k {workdir} -h 127.0.0.1 -F",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(workdir, ignore_errors=True)
