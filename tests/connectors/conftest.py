"""Shared by the connector tests: real payload fixtures and a sleep that only records."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def sleeps() -> list[float]:
    """Pass ``sleeps.append`` as the ``sleep`` callable: retries are checked, never waited."""
    return []


@pytest.fixture
def fixture_bytes() -> Callable[[str, str], bytes]:
    """Raw bytes of ``tests/fixtures/<helpdesk>/<name>``, exactly as a webhook would carry them."""

    def load(helpdesk: str, name: str) -> bytes:
        return (FIXTURES_DIR / helpdesk / name).read_bytes()

    return load


@pytest.fixture
def fixture_json(fixture_bytes: Callable[[str, str], bytes]) -> Callable[[str, str], Any]:
    """A fixture file parsed as JSON, for mocked API responses and edited variants."""

    def load(helpdesk: str, name: str) -> Any:
        return json.loads(fixture_bytes(helpdesk, name))

    return load
