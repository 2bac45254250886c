"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when DATABASE_URL is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bridge.config import AppConfig, parse_config
from bridge.store import Store

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"
SECRET = "test-signing-secret"


def _reset_postgres(url: str) -> None:
    store = Store(url)
    try:
        with store.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        store.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite file per test; with DATABASE_URL set, that database, emptied for each test."""
    url = os.environ.get("DATABASE_URL")
    if url:
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path / 'bridge.db'}"


def config_data(
    tmp_path: Path, database_url: str, connector: dict[str, Any] | None = None, **top: Any
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "zendesk",
        "mode": "public",
        "subdomain": "acme",
        "base_url": "https://acme.zendesk.test",
        "signing_secret": SECRET,
        "email": "bot@acme.test",
        "api_token": "token",
        "bot_user_id": "1000",
        "max_retries": 2,
    }
    block.update(connector or {})
    data: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": str(tmp_path / "var"),
        "worker": {
            "max_retries": 2,
            "retry_backoff_seconds": 0,
            "lock_timeout_seconds": 30,
            # Decide at once; the tests of coalescing set their own window.
            "coalesce_seconds": 0,
        },
        "knowledge": {"sources": [{"type": "path", "path": "examples/help-center"}]},
        "defaults": {
            "routing": {
                "default_group": "Support",
                "rules": [{"reason": "human_request", "group": "Tier 2"}],
            }
        },
        "connectors": {"acme": block},
    }
    data.update(top)
    return data


def make_config(
    tmp_path: Path, database_url: str, connector: dict[str, Any] | None = None, **top: Any
) -> AppConfig:
    return parse_config(
        config_data(tmp_path, database_url, connector, **top), base_dir=REPO_ROOT, env={}
    )


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store(database_url)
    store.migrate()
    yield store
    store.dispose()
