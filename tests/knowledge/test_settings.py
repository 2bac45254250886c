"""The ``knowledge`` config section: source types, defaults and errors keyed by path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bridge.config import ConfigError, parse_config
from bridge.knowledge.settings import (
    HelpdeskSource,
    KnowledgeSettings,
    PathSource,
    UrlSource,
    check_references,
    source_from_settings,
)
from tests.conftest import REPO_ROOT, config_data


def parse(tmp_path: Path, knowledge: dict[str, Any]) -> Any:
    data = config_data(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", knowledge=knowledge)
    return parse_config(data, base_dir=REPO_ROOT, env={})


def problems(tmp_path: Path, knowledge: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(tmp_path, knowledge)
    return caught.value.problems


def test_mixed_sources_with_defaults(tmp_path: Path) -> None:
    config = parse(
        tmp_path,
        {
            "refresh_minutes": 30,
            "sources": [
                {"type": "path", "path": "examples/help-center"},
                {"type": "url", "url": "https://help.example.com/", "refresh_minutes": 720},
                {"type": "helpdesk", "connector": "acme"},
            ],
        },
    )
    folder, site, helpdesk = config.knowledge_sources
    assert folder == PathSource(REPO_ROOT / "examples" / "help-center", refresh_minutes=30)
    assert folder.path == REPO_ROOT / "examples" / "help-center"
    assert isinstance(site, UrlSource)
    assert (site.max_pages, site.max_depth, site.concurrency) == (500, 10, 2)
    assert site.refresh_minutes == 720
    assert helpdesk == HelpdeskSource("acme", refresh_minutes=30)
    assert config.knowledge.refresh_minutes == 30


def test_default_refresh_is_an_hour(tmp_path: Path) -> None:
    config = parse(tmp_path, {"sources": [{"type": "path", "path": "examples/help-center"}]})
    assert config.knowledge.refresh_minutes == 60
    assert config.knowledge_sources[0].refresh_minutes == 60


def test_errors_are_keyed_by_source_index(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        {
            "sources": [
                {"type": "path", "path": "examples/help-center"},
                {"type": "url", "max_pages": 10},
                {"type": "url", "url": "ftp://files.example.com", "concurrency": 0},
                {"type": "ftp", "path": "x"},
                {"path": "x"},
                {"type": "url", "url": "https://a.example/"},
                {"type": "url", "url": "https://A.example:443/#top"},
                "not a mapping",
                {"type": "helpdesk", "connector": "acme", "max_pagez": 3},
            ]
        },
    )
    assert "knowledge.sources[1].url: missing required field" in found
    assert any(p.startswith("knowledge.sources[2].url: must be an http") for p in found)
    assert any(p.startswith("knowledge.sources[2].concurrency: must be greater") for p in found)
    assert "knowledge.sources[3].type: must be one of: path, url, helpdesk" in found
    assert "knowledge.sources[4].type: missing required field" in found
    assert "knowledge.sources[8].max_pagez: unknown key" in found
    assert "knowledge.sources[6].url: same site as sources[5]" in found
    assert "knowledge.sources[7]: must be a mapping" in found


def test_unknown_section_key_and_bad_refresh(tmp_path: Path) -> None:
    found = problems(tmp_path, {"refresh_minutes": 0, "sourcez": []})
    assert "knowledge.sourcez: unknown key" in found
    assert any(p.startswith("knowledge.refresh_minutes: must be greater") for p in found)


def test_helpdesk_source_must_name_a_configured_connector() -> None:
    knowledge = KnowledgeSettings(
        sources=(PathSource(Path("/docs")), HelpdeskSource("acme"), HelpdeskSource("zen"))
    )
    assert check_references(knowledge, ["acme"]) == [
        "knowledge.sources[2].connector: no connector named 'zen' (acme)"
    ]
    assert check_references(knowledge, ["acme", "zen"]) == []


def test_sources_round_trip_through_stored_settings() -> None:
    for source in (
        PathSource(Path("/docs"), base_url="https://docs.example.com", refresh_minutes=5),
        UrlSource("https://help.example.com/", path_prefix="/hc/", max_pages=3),
        HelpdeskSource("acme"),
    ):
        again = source_from_settings(source.type, source.to_settings(), source.refresh_minutes)
        assert again == source
        assert again.key == source.key
    # keys a later version dropped are ignored rather than crashing old rows
    assert source_from_settings("helpdesk", {"connector": "a", "gone": 1}) == HelpdeskSource("a")
