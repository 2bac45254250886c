"""Shared by the connector tests: real payload fixtures and a sleep that only records."""

from __future__ import annotations

import pytest

from tests.connectors.shared import (
    FixtureBytes,
    FixtureJson,
    read_fixture_bytes,
    read_fixture_json,
)


@pytest.fixture
def sleeps() -> list[float]:
    """Pass ``sleeps.append`` as the ``sleep`` callable: retries are checked, never waited."""
    return []


@pytest.fixture
def fixture_bytes() -> FixtureBytes:
    """Raw bytes of ``tests/fixtures/<helpdesk>/<name>``, exactly as a webhook would carry them."""
    return read_fixture_bytes


@pytest.fixture
def fixture_json() -> FixtureJson:
    """A fixture file parsed as JSON, for mocked API responses and edited variants."""
    return read_fixture_json
