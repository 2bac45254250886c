"""``helpdesk-bridge report``: the overview's numbers, from the same code, in a terminal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bridge.review import periods, queries
from bridge.store import Store
from tests.cli.conftest import invoke, write_config
from tests.review.conftest import Seeder, review_section


def seed_week(seed: Seeder) -> None:
    now = datetime.now(UTC)
    seed.exchange("1", now - timedelta(days=5), "reply", "answered")  # contained
    seed.exchange("2", now - timedelta(days=4), "escalate", "human_request", "A person please")
    seed.exchange("3", now - timedelta(days=3), "escalate", "missing_knowledge", "Linux app?")
    seed.exchange("4", now - timedelta(days=2), "reply", "answered", connector="other")
    seed.exchange("5", now - timedelta(days=20), "reply", "answered")  # before the period


def test_report_json_equals_the_overview(tmp_path: Path, store: Store, seed: Seeder) -> None:
    seed_week(seed)
    config = write_config(tmp_path, store.url, review=review_section(containment_window_hours=24))
    result = invoke("report", "--config", str(config), "--since", "7d", "--format", "json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    with store.session() as session:
        expected = queries.overview(
            session,
            periods.last("7d", datetime.now(UTC)),
            connector=None,
            window=timedelta(hours=24),
        ).to_json()
    for key in (
        "conversations_handled",
        "outcomes",
        "ai_replies",
        "ai_resolved_rate",
        "handoff_rate",
        "handoffs_by_reason",
        "feedback",
        "top_unanswered",
    ):
        assert printed[key] == expected[key], key
    assert printed["conversations_handled"] == 4
    assert printed["outcomes"]["contained"] == 2
    assert printed["containment_window_hours"] == 24


def test_report_table_for_one_connector(tmp_path: Path, store: Store, seed: Seeder) -> None:
    seed_week(seed)
    config = write_config(tmp_path, store.url)
    result = invoke("report", "--config", str(config), "--since", "7d", "--connector", "acme")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("helpdesk-bridge report: last 7 days")
    assert "acme" in lines[0]
    assert any(line.split() == ["conversations", "handled", "3"] for line in lines)
    assert any("handoff rate" in line and "66.7%" in line for line in lines)
    assert any("Customer asked for a person" in line for line in lines)
    assert any("Linux app?" in line for line in lines)


def test_report_rejects_what_it_cannot_read(tmp_path: Path, store: Store) -> None:
    config = write_config(tmp_path, store.url)
    bad_since = invoke("report", "--config", str(config), "--since", "last tuesday")
    assert bad_since.exit_code == 2
    assert "neither a span like 7d nor a date" in bad_since.output
    bad_connector = invoke("report", "--config", str(config), "--connector", "nope")
    assert bad_connector.exit_code == 2
    assert "no connector named 'nope'" in bad_connector.output


def test_report_since_a_date(tmp_path: Path, store: Store, seed: Seeder) -> None:
    seed_week(seed)
    config = write_config(tmp_path, store.url)
    since = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    result = invoke("report", "--config", str(config), "--since", since, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["conversations_handled"] == 5
