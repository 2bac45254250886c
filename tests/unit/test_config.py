from __future__ import annotations

from pathlib import Path

import pytest

from bridge.cli import main
from bridge.config import ConfigError, interpolate, load_config, parse_config
from tests.conftest import REPO_ROOT, config_data


def problems_of(data: dict, env: dict | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, base_dir=REPO_ROOT, env=env or {})
    return info.value.problems


def test_example_config_loads_with_a_dry_run_zendesk_connector() -> None:
    config = load_config(REPO_ROOT / "config.example.yaml", env={})
    connector = config.connectors["example-zendesk"]
    assert connector.type == "zendesk"
    assert connector.policy.mode == "dry_run"
    assert config.broker_url is None
    assert config.database_url.startswith("sqlite:///")
    assert config.knowledge_sources[0].path == REPO_ROOT / "examples" / "help-center"


def test_missing_connector_field_names_the_key_path(tmp_path: Path) -> None:
    data = config_data(tmp_path, "sqlite://")
    del data["connectors"]["acme"]["subdomain"]
    assert "connectors.acme.subdomain: missing required field" in problems_of(data)


def test_unknown_keys_and_bad_values_are_all_reported(tmp_path: Path) -> None:
    data = config_data(tmp_path, "sqlite://")
    data["connectors"]["acme"]["mode"] = "loud"
    data["connectors"]["acme"]["answer"] = {"min_confidence": 3}
    data["worker"]["retries"] = 1
    problems = problems_of(data)
    assert any(p.startswith("connectors.acme.mode: must be one of") for p in problems)
    assert any(p.startswith("connectors.acme.answer.min_confidence:") for p in problems)
    assert "worker.retries: unknown key" in problems


def test_unknown_connector_type_is_named(tmp_path: Path) -> None:
    data = config_data(tmp_path, "sqlite://", {"type": "helpscout"})
    problems = problems_of(data)
    assert any(
        p.startswith("connectors.acme.type: unknown connector type 'helpscout'") for p in problems
    )


def test_per_connector_overrides_merge_with_defaults(tmp_path: Path) -> None:
    data = config_data(tmp_path, "sqlite://", {"assistant": {"label": "Acme AI"}})
    data["defaults"]["assistant"] = {"label": "Bot", "product_context": "Acme makes anvils."}
    config = parse_config(data, base_dir=REPO_ROOT, env={})
    policy = config.connectors["acme"].policy
    assert policy.assistant.label == "Acme AI"
    assert policy.assistant.product_context == "Acme makes anvils."
    assert policy.routing.rules[0].group == "Tier 2"


def test_policy_digest_changes_with_the_policy(tmp_path: Path) -> None:
    first = parse_config(config_data(tmp_path, "sqlite://"), base_dir=REPO_ROOT, env={})
    data = config_data(tmp_path, "sqlite://", {"answer": {"min_confidence": 0.9}})
    second = parse_config(data, base_dir=REPO_ROOT, env={})
    assert first.connectors["acme"].policy.digest != second.connectors["acme"].policy.digest


def test_interpolation_of_variables_and_defaults() -> None:
    value, problems = interpolate(
        {"a": "${A}", "b": "${B:-fallback}", "c": ["x${A}y"], "d": "$${A}", "e": "${MISSING}"},
        {"A": "1"},
    )
    assert value == {"a": "1", "b": "fallback", "c": ["x1y"], "d": "${A}", "e": ""}
    assert problems == ["e: environment variable MISSING is not set"]


def test_missing_environment_variable_names_the_key(tmp_path: Path) -> None:
    data = config_data(tmp_path, "sqlite://", {"signing_secret": "${ZD_SECRET}"})
    problems = problems_of(data)
    assert "connectors.acme.signing_secret: environment variable ZD_SECRET is not set" in problems


def test_cli_reports_config_errors_without_a_traceback(tmp_path: Path) -> None:
    from click.testing import CliRunner

    bad = tmp_path / "bad.yaml"
    bad.write_text("connectors:\n  acme-zendesk:\n    type: zendesk\n    signing_secret: x\n")
    result = CliRunner().invoke(main, ["doctor", "--config", str(bad)])
    assert result.exit_code == 2
    assert "connectors.acme-zendesk.subdomain: missing required field" in result.output
    assert "Traceback" not in result.output


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("connectors:\n  a: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert "line" in info.value.problems[0]


def test_a_broken_default_is_reported_once(tmp_path: Path) -> None:
    data = config_data(tmp_path, "sqlite://")
    data["defaults"]["answer"] = {"min_confidence": 2}
    problems = [p for p in problems_of(data) if "min_confidence" in p]
    assert problems == [
        "defaults.answer.min_confidence: must be greater than or equal to 0 and less than or "
        "equal to 1"
    ]
