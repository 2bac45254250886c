"""Fixtures of the chaos suite: servers of its own, the fake helpdesk, and the printed counts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.harness import RESULTS
from tests.chaos.servers import (
    ThrowawayPostgres,
    ThrowawayRedis,
    throwaway_postgres,
    throwaway_redis,
)
from tests.integration.fake_zendesk import FakeZendesk, fake_zendesk


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.path).replace("\\", "/")
        # test_regressions.py pins the bugs found here down without any server.
        if "tests/chaos/" in path and not path.endswith("test_regressions.py"):
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.chaos)
            if item.get_closest_marker("timeout") is None:
                # Outages, kills and redeliveries take real time; each test bounds its waits.
                item.add_marker(pytest.mark.timeout(600))


@pytest.fixture(scope="session")
def chaos_redis() -> Iterator[ThrowawayRedis]:
    with throwaway_redis() as server:
        yield server


@pytest.fixture(scope="session")
def chaos_postgres() -> Iterator[ThrowawayPostgres]:
    with throwaway_postgres() as server:
        yield server


@pytest.fixture
def database_url(chaos_postgres: ThrowawayPostgres, request: pytest.FixtureRequest) -> str:
    """A fresh database per test on the suite's own PostgreSQL."""
    name = "chaos_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40]
    return chaos_postgres.database_url(name)


@pytest.fixture
def broker_url(chaos_redis: ThrowawayRedis) -> str:
    import redis

    redis.Redis.from_url(chaos_redis.url).flushall()
    return chaos_redis.url


@pytest.fixture
def zendesk() -> Iterator[FakeZendesk]:
    with fake_zendesk() as fake:
        yield fake


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    terminalreporter.section("chaos counts")
    keys = ("sent", "acknowledged", "decided", "posted", "duplicates", "lost", "dead")
    for name, result in RESULTS:
        counts = " ".join(f"{key}={result.get(key)}" for key in keys)
        extra = {k: v for k, v in result.items() if k not in keys}
        terminalreporter.write_line(f"{name}: {counts}  {extra}")
