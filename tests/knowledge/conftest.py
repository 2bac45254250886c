"""Fixtures for the knowledge-base tests: a local website and a knowledge base on the test DB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.knowledge.refresh import KnowledgeBase
from bridge.knowledge.settings import KnowledgeSettings
from bridge.store import Store
from tests.knowledge.site import Site, help_site, serve


@pytest.fixture
def site() -> Iterator[Site]:
    yield from serve()


@pytest.fixture
def help_center_site(site: Site) -> Site:
    help_site(site)
    return site


@pytest.fixture
def kb(store: Store, tmp_path: Path) -> KnowledgeBase:
    return KnowledgeBase(store, KnowledgeSettings(), tmp_path / "index")
