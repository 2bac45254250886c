"""Shared by the evaluation tests: the shipped eval config, case files written on the fly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.config import AppConfig, load_config
from tests.conftest import REPO_ROOT

EVALS = REPO_ROOT / "evals"
EVAL_CONFIG = EVALS / "config.yaml"
SCHEMA = EVALS / "schema" / "report.schema.json"


@pytest.fixture
def data_env(tmp_path: Path) -> dict[str, str]:
    """Keeps the answer cache of a test run out of the repository's var/ folder."""
    return {"HELPDESK_BRIDGE_DATA": str(tmp_path / "var")}


@pytest.fixture
def eval_config(data_env: dict[str, str]) -> AppConfig:
    return load_config(EVAL_CONFIG, env=data_env)


def write_cases(folder: Path, name: str, cases: list[dict[str, Any]], **top: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump({**top, "cases": cases}, sort_keys=False, allow_unicode=True))
    return path


def eval_config_file(tmp_path: Path, **defaults: Any) -> Path:
    """The shipped eval config as a file in tmp_path, with ``defaults`` merged into its policy."""
    data = yaml.safe_load(EVAL_CONFIG.read_text(encoding="utf-8"))
    data["data_dir"] = str(tmp_path / "var")
    data["knowledge"]["sources"][0]["path"] = str(REPO_ROOT / "examples" / "help-center")
    for key, value in defaults.items():
        section = data["defaults"].setdefault(key, {})
        for name, block in value.items():
            section[name] = {**(section.get(name) or {}), **block}
    path = tmp_path / "eval-config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


# Three stories every runner test relies on: a documented how-to, a request for a person, and
# a customer writing after an agent.
REPLY_CASE: dict[str, Any] = {
    "id": "reply-reset",
    "turns": [{"customer": "How do I reset my password?"}],
    "expect": {
        "outcome": "reply",
        "cites": ["reset-password.md"],
        "contains": ["Forgot password?"],
    },
}
ESCALATE_CASE: dict[str, Any] = {
    "id": "escalate-human",
    "turns": [{"customer": "I want to talk to a real person please."}],
    "expect": {"outcome": "escalate", "reason": "human_request", "group": "Support"},
}
SILENT_CASE: dict[str, Any] = {
    "id": "silent-after-agent",
    "turns": [
        {"customer": "How do I export my notes?"},
        {"agent": "I'm looking into it."},
        {"customer": "Thanks, and how do I export one note?"},
    ],
    "expect": {"outcome": "silent"},
}
