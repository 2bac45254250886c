"""The ``helpdesk-bridge`` command: decisions, doctor, replay and migrate, end to end."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import responses
from click.testing import CliRunner
from sqlalchemy import inspect

from bridge.cli import main
from bridge.config import AppConfig, load_config
from bridge.runtime import Runtime
from bridge.store import Store, repo
from connectors.base import WebhookRequest
from tasks.pipeline import process_delivery
from tests.cli.conftest import DRY_RUN, NO_CREDENTIALS, LiveServer, invoke, write_config
from tests.conftest import REPO_ROOT
from tests.helpers import signed, trigger_body

GROUPS = "https://acme.zendesk.test/api/v2/groups.json"
ME = "https://acme.zendesk.test/api/v2/users/me.json"


def me(user_id: int | None = 1000) -> dict[str, Any]:
    return {"user": {"id": user_id, "name": "Notebird Bot", "role": "agent"}}


HOW_TO = "How do I reset my password?"
HUMAN = "I want to talk to a real person"
EXAMPLE_CONFIG = REPO_ROOT / "config.example.yaml"

Serve = Callable[[AppConfig, Store], LiveServer]


def process(runtime: Runtime, body: dict[str, Any]) -> None:
    connector = runtime.connector("acme")
    assert connector is not None
    raw, headers = signed(connector, body)
    event = connector.parse(WebhookRequest("POST", headers, raw))
    with runtime.store.session() as session:
        pk = repo.record_delivery(session, "acme", event.to_json()).id
    assert process_delivery(runtime, pk, owner="cli-test") is not None


def lines_with(output: str, prefix: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(prefix)]


# -- decisions -----------------------------------------------------------------------------
@pytest.fixture
def decided(tmp_path: Path, store: Store) -> Path:
    """A config file and two processed deliveries: a how-to question, then a human request."""
    path = write_config(tmp_path, store.url, DRY_RUN)
    runtime = Runtime(load_config(path), store=store)
    process(runtime, trigger_body(ticket_id="42", comment_id="501", text=HOW_TO))
    process(runtime, trigger_body(ticket_id="43", comment_id="502", text=HUMAN))
    return path


def test_decisions_json_lists_every_decision_newest_first(decided: Path) -> None:
    result = invoke("decisions", "--config", str(decided), "--format", "json")

    assert result.exit_code == 0, result.output
    items = json.loads(result.output)
    assert isinstance(items, list) and len(items) == 2
    for item in items:
        assert {
            "connector",
            "ticket_id",
            "kind",
            "reason",
            "text",
            "citations",
            "group",
            "created_at",
        } <= item.keys()
        assert item["connector"] == "acme"
        assert item["mode"] == "dry_run"
        assert item["write_status"] == "recorded"
    escalation, reply = items
    assert [escalation["ticket_id"], reply["ticket_id"]] == ["43", "42"]
    created = [datetime.fromisoformat(item["created_at"]) for item in items]
    assert all(when.tzinfo is not None for when in created)
    assert created[0] >= created[1]

    assert (escalation["kind"], escalation["reason"]) == ("escalate", "human_request")
    assert escalation["group"] == "Tier 2"
    assert escalation["citations"] == []

    assert reply["kind"] == "reply"
    assert reply["group"] is None
    assert reply["text"] and "password" in reply["text"].lower()
    assert reply["citations"], "a reply must cite its source"
    assert any("reset" in json.dumps(citation).lower() for citation in reply["citations"])


def test_decisions_limit_keeps_only_the_newest(decided: Path) -> None:
    result = invoke("decisions", "--config", str(decided), "--format", "json", "--limit", "1")
    assert result.exit_code == 0, result.output
    [only] = json.loads(result.output)
    assert (only["ticket_id"], only["kind"]) == ("43", "escalate")


def test_decisions_table_has_a_header_and_one_row_per_decision(decided: Path) -> None:
    result = invoke("decisions", "--config", str(decided))

    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split() == [
        "when",
        "connector",
        "ticket",
        "kind",
        "reason",
        "written",
        "group",
    ]
    assert len(rows) == 2
    escalation, reply = (row.split() for row in rows)
    assert escalation[1:] == ["acme", "43", "escalate", "human_request", "recorded", "Tier", "2"]
    assert reply[1:4] == ["acme", "42", "reply"]
    assert reply[-1] == "recorded"  # no group column value for a reply


def test_decisions_on_an_empty_database_says_so(tmp_path: Path, database_url: str) -> None:
    path = write_config(tmp_path, database_url, DRY_RUN)

    table = invoke("decisions", "--config", str(path))
    assert table.exit_code == 0, table.output
    assert table.output.strip() == "no decisions recorded yet"

    as_json = invoke("decisions", "--config", str(path), "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output) == []


def test_a_missing_config_file_is_reported_with_exit_code_2(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    result = invoke("decisions", "--config", str(missing))
    assert result.exit_code == 2
    assert f"config error in {missing}" in result.output
    assert "cannot read" in result.output


# -- doctor --------------------------------------------------------------------------------
@pytest.fixture
def zendesk() -> Iterator[responses.RequestsMock]:
    """Zendesk's API, mocked; every registered response must actually be requested."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def groups_page() -> dict[str, Any]:
    return {
        "groups": [{"id": 11, "name": "Support"}, {"id": 22, "name": "Tier 2"}],
        "meta": {"has_more": False},
        "links": {"next": None},
    }


def test_doctor_passes_when_credentials_work_and_routed_groups_exist(
    tmp_path: Path, database_url: str, zendesk: responses.RequestsMock
) -> None:
    zendesk.get(ME, json=me())
    zendesk.get(GROUPS, json=groups_page())
    path = write_config(tmp_path, database_url)

    result = invoke("doctor", "--config", str(path))

    assert result.exit_code == 0, result.output
    assert lines_with(result.output, "ok      connector acme bot identity:")
    assert "FAILED" not in result.output
    assert lines_with(result.output, f"ok      config: {path}")
    assert lines_with(result.output, "ok      database:")
    assert lines_with(result.output, "ok      broker: embedded (SQLite file) reachable")
    assert lines_with(result.output, "ok      knowledge:")
    assert lines_with(result.output, "ok      connector acme credentials: authenticated to")
    assert lines_with(result.output, "ok      connector acme group 'Tier 2': exists")
    assert lines_with(result.output, "ok      connector acme group 'Support': exists")


def test_doctor_fails_naming_a_routed_group_the_helpdesk_does_not_have(
    tmp_path: Path, database_url: str, zendesk: responses.RequestsMock
) -> None:
    zendesk.get(ME, json=me())
    zendesk.get(GROUPS, json=groups_page())
    routing = {"routing": {"rules": [{"reason": "human_request", "group": "Billing"}]}}
    path = write_config(tmp_path, database_url, routing)

    result = invoke("doctor", "--config", str(path))

    assert result.exit_code == 1
    [failed] = lines_with(result.output, "FAILED")
    assert failed.startswith("FAILED  connector acme group 'Billing': not found in the helpdesk")
    assert lines_with(result.output, "ok      connector acme group 'Support': exists")
    assert not lines_with(result.output, "ok      connector acme group 'Tier 2'")


def test_doctor_fails_when_the_credentials_are_not_the_bot_user(
    tmp_path: Path, database_url: str, zendesk: responses.RequestsMock
) -> None:
    zendesk.get(ME, json=me(4242))
    zendesk.get(GROUPS, json=groups_page())
    path = write_config(tmp_path, database_url)

    result = invoke("doctor", "--config", str(path))

    assert result.exit_code == 1
    [failed] = lines_with(result.output, "FAILED")
    assert failed.startswith("FAILED  connector acme bot identity:")
    assert "4242" in failed


def test_doctor_fails_with_the_reason_when_credentials_are_rejected(
    tmp_path: Path, database_url: str, zendesk: responses.RequestsMock
) -> None:
    zendesk.get(GROUPS, status=401, json={"error": "Couldn't authenticate you"})
    path = write_config(tmp_path, database_url)

    result = invoke("doctor", "--config", str(path))

    assert result.exit_code == 1
    [failed] = lines_with(result.output, "FAILED")
    assert failed.startswith("FAILED  connector acme credentials:")
    assert "credentials were rejected" in failed
    assert "HTTP 401" in failed and "Couldn't authenticate you" in failed
    assert "group '" not in result.output  # no group checks without working credentials
    assert len(zendesk.calls) == 1  # a 401 is not retried


def test_doctor_accepts_dry_run_without_credentials_and_makes_no_api_call(
    tmp_path: Path, database_url: str, zendesk: responses.RequestsMock
) -> None:
    path = write_config(tmp_path, database_url, DRY_RUN)

    result = invoke("doctor", "--config", str(path))

    assert result.exit_code == 0, result.output
    [line] = lines_with(result.output, "ok      connector acme credentials:")
    assert "no credentials; dry_run" in line
    assert "FAILED" not in result.output
    assert len(zendesk.calls) == 0


def test_doctor_fails_public_mode_without_credentials(
    tmp_path: Path, database_url: str, zendesk: responses.RequestsMock
) -> None:
    path = write_config(tmp_path, database_url, {"mode": "public", **NO_CREDENTIALS})

    result = invoke("doctor", "--config", str(path))

    assert result.exit_code == 1
    [failed] = lines_with(result.output, "FAILED")
    assert failed.startswith("FAILED  connector acme credentials: no credentials")
    assert "mode is public" in failed
    assert len(zendesk.calls) == 0


def test_doctor_fails_without_any_knowledge(
    tmp_path: Path, database_url: str, zendesk: responses.RequestsMock
) -> None:
    empty = tmp_path / "no-docs"
    empty.mkdir()
    knowledge = {"sources": [{"type": "path", "path": str(empty)}]}
    path = write_config(tmp_path, database_url, DRY_RUN, knowledge=knowledge)

    result = invoke("doctor", "--config", str(path))

    assert result.exit_code == 1
    [failed] = lines_with(result.output, "FAILED")
    assert failed.startswith("FAILED  knowledge: no passages")


# -- replay --------------------------------------------------------------------------------
@pytest.fixture
def acme(tmp_path: Path, store: Store, live_server: Serve) -> tuple[Path, LiveServer]:
    """A config file for connector ``acme`` and the web app serving it."""
    path = write_config(tmp_path, store.url, DRY_RUN)
    return path, live_server(load_config(path), store)


def write_json(path: Path, body: Any) -> Path:
    path.write_text(json.dumps(body))
    return path


def test_replay_signs_and_posts_and_a_redelivery_is_a_duplicate(
    tmp_path: Path, acme: tuple[Path, LiveServer]
) -> None:
    config, server = acme
    first = write_json(tmp_path / "first.json", trigger_body())
    again = write_json(tmp_path / "again.json", trigger_body())

    result = invoke(
        "replay",
        "--config",
        str(config),
        "--connector",
        "acme",
        "--url",
        server.url,
        str(first),
        str(again),
    )

    assert result.exit_code == 0, result.output
    accepted, duplicate = result.output.splitlines()
    assert accepted.startswith(f"{first}: 202 ")
    assert json.loads(accepted.split(" ", 2)[2])["status"] == "accepted"
    assert duplicate.startswith(f"{again}: 200 ")
    assert json.loads(duplicate.split(" ", 2)[2])["status"] == "duplicate"
    assert len(server.enqueued) == 1


def test_replay_reports_a_rejected_body_and_keeps_going(
    tmp_path: Path, acme: tuple[Path, LiveServer]
) -> None:
    config, server = acme
    broken = tmp_path / "broken.json"
    broken.write_bytes(b"{not json")
    good = write_json(tmp_path / "good.json", trigger_body(comment_id="777"))

    result = invoke(
        "replay",
        "--config",
        str(config),
        "--connector",
        "acme",
        "--url",
        server.url,
        str(broken),
        str(good),
    )

    assert result.exit_code == 1
    rejected, accepted = result.output.splitlines()
    assert rejected.startswith(f"{broken}: 400 ")
    assert json.loads(rejected.split(" ", 2)[2])["field"] == "body"
    assert accepted.startswith(f"{good}: 202 ")
    assert len(server.enqueued) == 1


def test_replay_with_an_unknown_connector_is_a_usage_error(
    tmp_path: Path, acme: tuple[Path, LiveServer]
) -> None:
    config, server = acme
    body = write_json(tmp_path / "body.json", trigger_body())

    result = invoke(
        "replay", "--config", str(config), "--connector", "nope", "--url", server.url, str(body)
    )

    assert result.exit_code == 2
    assert "no connector named 'nope'" in result.output
    assert "--connector" in result.output
    assert server.enqueued == []


def test_replay_to_a_server_that_is_not_running_fails(tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, database_url, DRY_RUN)
    body = write_json(tmp_path / "body.json", trigger_body())
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = invoke(
        "replay",
        "--config",
        str(config),
        "--connector",
        "acme",
        "--url",
        f"http://127.0.0.1:{port}",
        str(body),
    )

    assert result.exit_code == 1
    assert result.output.startswith(f"{body}: failed: ")


@pytest.mark.parametrize(
    ("connector_name", "helpdesk"),
    [
        ("example-zendesk", "zendesk"),
        ("example-intercom", "intercom"),
        ("example-freshdesk", "freshdesk"),
    ],
)
def test_shipped_example_webhooks_replay_against_the_shipped_config(
    tmp_path: Path,
    database_url: str,
    live_server: Serve,
    monkeypatch: pytest.MonkeyPatch,
    connector_name: str,
    helpdesk: str,
) -> None:
    examples = sorted((REPO_ROOT / "examples" / "webhooks" / helpdesk).glob("*.json"))
    assert examples, f"examples/webhooks/{helpdesk} has no example bodies"
    env = {"HELPDESK_BRIDGE_DATA": str(tmp_path / "var"), "DATABASE_URL": database_url}
    for name in list(os.environ):
        if name.startswith(("ZENDESK_", "INTERCOM_", "FRESHDESK_")) or name == "BROKER_URL":
            monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = load_config(EXAMPLE_CONFIG, env=env)
    store = Store(config.database_url)
    store.migrate()
    try:
        server = live_server(config, store)
        result = invoke(
            "replay",
            "--config",
            str(EXAMPLE_CONFIG),
            "--connector",
            connector_name,
            "--url",
            server.url,
            *map(str, examples),
        )
    finally:
        store.dispose()

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(examples)
    for file, line in zip(examples, lines, strict=True):
        assert line.startswith(f"{file}: 202 "), line
    assert len(server.enqueued) == len(examples)


# -- migrate -------------------------------------------------------------------------------
TABLES = {"deliveries", "ticket_states", "decisions", "posted_messages", "dead_letters"}


def test_migrate_creates_the_schema_on_an_empty_database(tmp_path: Path, database_url: str) -> None:
    path = write_config(tmp_path, database_url, DRY_RUN)
    probe = Store(database_url)
    try:
        assert not TABLES & set(inspect(probe.engine).get_table_names())

        first = invoke("migrate", "--config", str(path))
        assert first.exit_code == 0, first.output
        assert first.output.strip() == "database schema is up to date"
        assert set(inspect(probe.engine).get_table_names()) >= TABLES
        assert (tmp_path / "var").is_dir()

        again = invoke("migrate", "--config", str(path))
        assert again.exit_code == 0, again.output
    finally:
        probe.dispose()


# -- connect -------------------------------------------------------------------------------
ZENDESK_API = "https://acme.zendesk.test/api/v2"


def test_connect_wires_zendesk_through_the_api_and_prints_the_secret(
    tmp_path: Path, database_url: str, zendesk: responses.RequestsMock
) -> None:
    zendesk.get(f"{ZENDESK_API}/webhooks", json={"webhooks": [], "meta": {"has_more": False}})
    zendesk.post(f"{ZENDESK_API}/webhooks", status=201, json={"webhook": {"id": "01HOOK"}})
    zendesk.get(
        f"{ZENDESK_API}/webhooks/01HOOK/signing_secret",
        json={"signing_secret": {"secret": "s3cr3t-from-zendesk", "algorithm": "SHA256"}},
    )
    zendesk.get(f"{ZENDESK_API}/triggers.json", json={"triggers": [], "meta": {"has_more": False}})
    zendesk.post(f"{ZENDESK_API}/triggers.json", status=201, json={"trigger": {"id": 77}})
    path = write_config(tmp_path, database_url)

    result = invoke(
        "connect", "acme", "--config", str(path), "--url", "https://bridge.example.com/"
    )

    assert result.exit_code == 0, result.output
    assert "acme (zendesk) → https://bridge.example.com/webhooks/acme" in result.output
    assert "Done through the API:" in result.output
    assert "ZENDESK_SIGNING_SECRET=s3cr3t-from-zendesk" in result.output
    created = [c for c in zendesk.calls if c.request.method == "POST"]
    assert (
        '"endpoint": "https://bridge.example.com/webhooks/acme"' in created[0].request.body.decode()
    )


def test_connect_reports_a_helpdesk_error_with_exit_1(
    tmp_path: Path, database_url: str, zendesk: responses.RequestsMock
) -> None:
    zendesk.get(f"{ZENDESK_API}/webhooks", status=401, json={"error": "Couldn't authenticate you"})
    path = write_config(tmp_path, database_url)

    result = invoke("connect", "acme", "--config", str(path), "--url", "https://b.example.com")

    assert result.exit_code == 1
    assert "could not wire acme" in result.output
    assert "credentials were rejected" in result.output


@pytest.mark.parametrize("name", ["example-intercom", "example-freshdesk"])
def test_connect_prints_admin_ui_steps_where_the_helpdesk_has_no_api(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_BRIDGE_DATA", str(tmp_path / "var"))
    result = invoke(
        "connect", name, "--config", str(EXAMPLE_CONFIG), "--url", "https://bridge.example.com"
    )
    assert result.exit_code == 0, result.output
    assert "Set this up in the admin UI:" in result.output
    assert f"https://bridge.example.com/webhooks/{name}" in result.output


def test_connect_to_an_unknown_connector_is_a_usage_error(
    tmp_path: Path, database_url: str
) -> None:
    path = write_config(tmp_path, database_url)
    result = CliRunner().invoke(
        main, ["connect", "nope", "--config", str(path), "--url", "https://b.example.com"]
    )
    assert result.exit_code == 2
    assert "no connector named 'nope'" in result.output
