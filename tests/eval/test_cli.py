"""``helpdesk-bridge eval``: report formats, the threshold gate, and exporting draft cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner, Result

from bridge.cli import main
from bridge.config import load_config
from bridge.eval.cases import load_cases
from bridge.eval.drafts import mask_text
from bridge.runtime import Runtime
from bridge.store import Store
from tests.cli.conftest import DRY_RUN, write_config
from tests.cli.test_cli import process
from tests.eval.conftest import (
    ESCALATE_CASE,
    EVALS,
    REPLY_CASE,
    SCHEMA,
    SILENT_CASE,
    eval_config_file,
    write_cases,
)
from tests.helpers import trigger_body


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def validate(report: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(report, schema, cls=jsonschema.Draft202012Validator)


HUMAN_CASES = [
    ESCALATE_CASE,
    {
        "id": "human-typo",
        "turns": [{"customer": "humna please"}],
        "expect": {"outcome": "escalate", "reason": "human_request"},
    },
    {
        "id": "human-german",
        "turns": [{"customer": "Ich möchte mit einem Menschen sprechen."}],
        "expect": {"outcome": "escalate", "reason": "human_request", "group": "Support DE"},
    },
]
GATE = {"reasons": {"human_request": {"min_recall": 1.0}}, "min_pass_rate": 0.9}


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    write_cases(tmp_path / "cases" / "golden", "stories.yaml", [REPLY_CASE, SILENT_CASE])
    write_cases(tmp_path / "cases" / "break", "human.yaml", HUMAN_CASES)
    (tmp_path / "gate.yaml").write_text(yaml.safe_dump(GATE))
    return tmp_path / "cases"


def test_the_table_has_suites_metrics_confusion_and_costs(tmp_path: Path, suite: Path) -> None:
    config = eval_config_file(tmp_path)
    result = invoke("eval", str(suite), "--config", str(config))

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "helpdesk-bridge eval: 5 cases, answerer extractive" in out
    assert [line.split() for line in out.splitlines() if line.startswith(("golden ", "break "))][
        :2
    ] == [["break", "3", "3", "0", "100.0%"], ["golden", "2", "2", "0", "100.0%"]]
    assert "outcome   precision  recall  support" in out
    assert any(line.split() == ["human_request", "1.00", "1.00", "3"] for line in out.splitlines())
    assert "expected \\ actual  reply  clarify  escalate  silent" in out
    assert "latency: mean" in out and "tokens: 0 spent" in out
    assert "thresholds" not in out  # none given and none beside the cases


def test_json_report_validates_against_the_schema(tmp_path: Path, suite: Path) -> None:
    config = eval_config_file(tmp_path)
    gate = str(tmp_path / "gate.yaml")
    result = invoke(
        "eval", str(suite), "--config", str(config), "--format", "json", "--thresholds", gate
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    validate(report)
    assert (report["cases"], report["passed"], report["failed"]) == (5, 5, 0)
    assert report["by_reason"]["human_request"] == {"precision": 1.0, "recall": 1.0, "support": 3}
    assert report["by_outcome"]["reply"]["support"] == 1
    assert report["thresholds"]["passed"] is True
    assert set(report["suites"]) == {"golden", "break"}


def test_turning_human_request_off_fails_the_gate_naming_the_cases(
    tmp_path: Path, suite: Path
) -> None:
    config = eval_config_file(tmp_path, triggers={"human_request": {"enabled": False}})
    gate = str(tmp_path / "gate.yaml")

    table = invoke("eval", str(suite), "--config", str(config), "--thresholds", gate)

    assert table.exit_code == 1, table.output
    [line] = [ln for ln in table.stdout.splitlines() if "human_request recall" in ln]
    assert line.split()[0] == "FAILED"
    for case_id in ("escalate-human", "human-typo", "human-german"):
        assert case_id in line
    assert "thresholds (" in table.stdout and "): FAILED" in table.stdout

    as_json = invoke(
        "eval", str(suite), "--config", str(config), "--format", "json", "--thresholds", gate
    )
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    validate(report)
    [check] = [c for c in report["thresholds"]["checks"] if c["metric"] == "human_request recall"]
    assert check["passed"] is False and check["value"] < 1.0
    assert set(check["cases"]) == {"escalate-human", "human-typo", "human-german"}
    assert {f["id"] for f in report["failures"]} >= set(check["cases"])
    assert "human_request recall" in as_json.stderr  # the verdict, next to the JSON on stdout


def test_the_shipped_way_out_word_still_reaches_a_person_with_the_trigger_off(
    tmp_path: Path,
) -> None:
    """The reply footer promises "agent" always works; that path does not depend on the trigger."""
    config = eval_config_file(tmp_path, triggers={"human_request": {"enabled": False}})
    agent = {
        "id": "way-out",
        "turns": [{"customer": "agent"}],
        "expect": {"outcome": "escalate", "reason": "human_request"},
    }
    path = write_cases(tmp_path / "c", "a.yaml", [agent])
    result = invoke("eval", str(path), "--config", str(config), "--format", "json")
    assert json.loads(result.stdout)["passed"] == 1


def test_repeat_reports_pass_at_1_and_pass_hat_k(tmp_path: Path, suite: Path) -> None:
    config = eval_config_file(tmp_path)
    result = invoke(
        "eval", str(suite), "--config", str(config), "--format", "json", "--repeat", "2"
    )

    report = json.loads(result.stdout)
    validate(report)
    assert report["repeat"] == 2
    assert report["pass_at_1"] == report["pass_hat_k"] == 1.0  # the extractive path is stable
    assert report["by_reason"]["human_request"]["support"] == 6  # every run counts
    assert report["tokens"]["answerer_calls"] == 2

    table = invoke("eval", str(suite), "--config", str(config), "--repeat", "2")
    assert "2 runs each (a case passes only if every run does: pass^k)" in table.stdout
    assert "pass@1" in table.stdout


def test_invalid_cases_exit_2_naming_file_and_field(tmp_path: Path) -> None:
    bad = write_cases(tmp_path / "c", "bad.yaml", [{**REPLY_CASE, "expect": {"outcome": "maybe"}}])
    result = invoke("eval", str(bad), "--config", str(eval_config_file(tmp_path)))
    assert result.exit_code == 2
    assert "invalid evaluation cases:" in result.stderr
    assert f"{bad}: cases[0] (reply-reset).expect.outcome: must be one of" in result.stderr


def test_invalid_thresholds_exit_2(tmp_path: Path, suite: Path) -> None:
    gate = tmp_path / "bad-gate.yaml"
    gate.write_text("reasons:\n  human_requests: {min_recall: 2}\n")
    result = invoke(
        "eval", str(suite), "--config", str(eval_config_file(tmp_path)), "--thresholds", str(gate)
    )
    assert result.exit_code == 2
    assert f"{gate}: reasons.human_requests: unknown reason" in result.stderr
    assert (
        f"{gate}: reasons.human_requests.min_recall: must be a number from 0 to 1" in result.stderr
    )


def test_config_and_thresholds_beside_the_cases_are_used(tmp_path: Path, suite: Path) -> None:
    (suite / "config.yaml").write_text(eval_config_file(tmp_path).read_text())
    (suite / "thresholds.yaml").write_text(yaml.safe_dump({"min_pass_rate": 1.0}))
    result = invoke("eval", str(suite / "golden"))
    assert result.exit_code == 0, result.output
    assert f"config: {suite / 'config.yaml'}" in result.stdout
    assert f"thresholds ({suite / 'thresholds.yaml'}): passed" in result.stdout


def test_the_shipped_break_suite_passes_its_gate_and_validates(data_env: dict[str, str]) -> None:
    result = invoke(
        "eval",
        str(EVALS / "break"),
        "--config",
        str(EVALS / "config.yaml"),
        "--thresholds",
        str(EVALS / "thresholds.yaml"),
        "--format",
        "json",
        env=data_env,
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    validate(report)
    assert report["cases"] >= 40 and report["thresholds"]["passed"]


# -- --from-decisions -------------------------------------------------------------------------

PII_TEXT = (
    "Hi, this is Sam Lee (sam@example.com, +49 151 2345 6789). Order #4471882 was charged "
    "twice, invoice number INV-2026-0042. Please refund. Thanks, Sam"
)


def test_from_decisions_writes_masked_draft_cases(tmp_path: Path, store: Store) -> None:
    config_path = write_config(tmp_path, store.url, DRY_RUN)
    runtime = Runtime(load_config(config_path), store=store)
    process(
        runtime, trigger_body(ticket_id="42", comment_id="501", text="How do I reset my password?")
    )
    process(runtime, trigger_body(ticket_id="43", comment_id="502", text=PII_TEXT))
    process(
        runtime,
        trigger_body(
            ticket_id="43", comment_id="503", text="On it.", author_id="7001", author_role="Agent"
        ),
    )
    out = tmp_path / "drafts" / "drafts.yaml"

    result = invoke("eval", "--from-decisions", str(out), "--config", str(config_path))

    assert result.exit_code == 0, result.output
    assert "wrote 3 draft case(s)" in result.stdout
    text = out.read_text(encoding="utf-8")
    for secret in ("Sam", "Lee", "sam@example.com", "151 2345", "4471882", "INV-2026-0042"):
        assert secret not in text, secret
    for placeholder in ("[NAME]", "[EMAIL]", "[PHONE]", "[ORDER]"):
        assert placeholder in text
    cases = {case.id: case for case in load_cases([out])}  # the drafts are valid cases
    dispute = next(c for c in cases.values() if c.expect.outcome == "escalate")
    assert dispute.expect.reasons and dispute.expect.reasons[0] in ("billing_dispute", "refund")
    assert dispute.customer.name == "[NAME]" and dispute.customer.email == "[EMAIL]"
    reply = next(c for c in cases.values() if c.expect.outcome == "reply")
    assert reply.expect.cites and reply.expect.cites[0][0].startswith("reset-password.md#")
    silent = next(c for c in cases.values() if c.expect.outcome == "silent")
    assert silent.turns[-1].text == "On it."
    assert all(c.suite == "drafts" for c in cases.values())


def test_from_decisions_on_an_empty_database(tmp_path: Path, database_url: str) -> None:
    config_path = write_config(tmp_path, database_url, DRY_RUN)
    result = invoke(
        "eval", "--from-decisions", str(tmp_path / "d.yaml"), "--config", str(config_path)
    )
    assert result.exit_code == 2
    assert "cannot export drafts: no decisions recorded" in result.stderr


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("mail me at jo.doe+x@mail.example.org", "mail me at [EMAIL]"),
        ("call +1 (415) 555-0199 today", "call [PHONE] today"),
        ("order 7322114 never arrived", "order [ORDER] never arrived"),
        ("Rechnung Nr. 2026-88 fehlt", "Rechnung Nr. [ORDER] fehlt"),
        ("see ticket #88231", "see ticket #[ORDER]"),
        ("it's about #88231", "it's about [ORDER]"),
        ("My name is Ana Souza and I'm stuck", "My name is [NAME] and I'm stuck"),
        ("I'm having trouble since 2024", "I'm having trouble since 2024"),
        ("Pro costs $8 and I paid 15 euros on 3 May", "Pro costs $8 and I paid 15 euros on 3 May"),
        ("thanks, Priya", "thanks, [NAME]"),
    ],
)
def test_masking(text: str, masked: str) -> None:
    assert mask_text(text) == masked


def test_masking_knows_the_customer_name() -> None:
    assert mask_text("Greetings from ana souza", ["Ana Souza"]) == "Greetings from [NAME]"
