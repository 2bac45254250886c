"""Secrets come from the environment and stay out of reprs (and so out of tracebacks)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from bridge.config import load_config, parse_config
from bridge.logging import config_secrets
from tests.conftest import REPO_ROOT

# Names of settings that hold a secret (not those naming where one travels, like a header).
SECRET_KEY = re.compile(r"(secret|secret_key|token|password(_hash)?|api_?key)$", re.IGNORECASE)


def _secret_values(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if SECRET_KEY.search(str(key)) and not isinstance(value, dict | list):
                yield where, value
            yield from _secret_values(value, where)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _secret_values(item, f"{path}[{index}]")


def test_the_shipped_config_takes_every_secret_from_the_environment() -> None:
    text = (REPO_ROOT / "config.example.yaml").read_text(encoding="utf-8")
    found = list(_secret_values(yaml.safe_load(text)))
    assert found, "the example names no secrets at all?"
    for where, value in found:
        assert isinstance(value, str) and value.startswith("${"), f"{where} is written literally"
    # The commented-out examples show the same habit.
    for line in text.splitlines():
        match = re.match(r"\s*#\s*(\w+):\s*(\S.*)$", line)
        if match and SECRET_KEY.search(match.group(1)) and not match.group(2).startswith("#"):
            value = match.group(2).split(" #")[0].strip()
            if value not in ("", "null") and not value.startswith(("${", '"$')):
                raise AssertionError(f"commented example writes {match.group(1)} literally")


def test_secrets_never_show_in_the_configs_repr() -> None:
    env = {
        "ZENDESK_SIGNING_SECRET": "zendesk-signing-secret-from-env",
        "INTERCOM_CLIENT_SECRET": "intercom-client-secret-from-env",
        "FRESHDESK_WEBHOOK_SECRET": "freshdesk-webhook-secret-from-env",
    }
    config = load_config(REPO_ROOT / "config.example.yaml", env=env)
    shown = repr(config) + str(config.connectors) + repr(config.web)
    for secret in env.values():
        assert secret not in shown
        assert secret in config_secrets(config)


def test_every_credential_kind_is_known_to_the_redaction() -> None:
    data = {
        "database_url": "postgresql+psycopg://bridge:db-password-123@db.internal/bridge",
        "broker_url": "redis://:broker-password-123@redis.internal:6379/0",
        "web": {"secret_key": "w" * 40},
        "answerers": {"anthropic": {"model": "m", "api_key": "anthropic-key-123456"}},
        "connectors": {
            "z": {
                "type": "zendesk",
                "subdomain": "acme",
                "signing_secret": "zendesk-signing-123456",
                "email": "bot@acme.test",
                "api_token": "zendesk-api-token-123456",
                "bot_user_id": "1",
            },
            "f": {
                "type": "freshdesk",
                "domain": "acme",
                "webhook_secret": "freshdesk-secret-123456",
                "webhook_auth": "basic",
                "api_key": "freshdesk-api-key-123456",
                "bot_agent_id": "2",
                "bot_agent_name": "Bot",
            },
        },
    }
    config = parse_config(data, base_dir=REPO_ROOT, env={})
    secrets = config_secrets(config)
    for value in (
        "db-password-123",
        "broker-password-123",
        "w" * 40,
        "anthropic-key-123456",
        "zendesk-signing-123456",
        "zendesk-api-token-123456",
        "freshdesk-secret-123456",
        "freshdesk-api-key-123456",
    ):
        assert value in secrets, value
    # The forms they travel in: Basic auth values built from them.
    zendesk_header = config.connectors["z"].settings.auth_header().split(" ", 1)[1]
    assert zendesk_header in secrets
