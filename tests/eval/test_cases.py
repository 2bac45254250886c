"""Case files: the format, and loading errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.eval.cases import DEFAULT_NOW, CaseError, load_cases
from bridge.events import Role
from tests.eval.conftest import EVALS, REPLY_CASE, write_cases


def problems_of(*paths: Path) -> list[str]:
    with pytest.raises(CaseError) as caught:
        load_cases(paths)
    return caught.value.problems


def test_a_full_case_loads_with_its_defaults_merged(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    path = write_cases(
        tmp_path / "golden",
        "cases.yaml",
        [
            {
                "id": "vip-export",
                "connector": "intercom",
                "customer": {"name": "Dana", "tier": "enterprise", "account_age_days": 3},
                "knowledge": "../kb",
                "now": "2026-05-05T08:00:00Z",
                "turns": [
                    {"customer": "How do I export?"},
                    {"bot": "Which notes?", "kind": "clarify"},
                    {"customer": "all. ", "repeat": 3},
                ],
                "expect": {
                    "outcome": "escalate",
                    "reason": ["vip", "new_customer"],
                    "group": "Priority Support",
                },
            }
        ],
        defaults={"customer": {"plan": "pro"}, "tags": ["eval"]},
    )

    [case] = load_cases([tmp_path])

    assert case.suite == "golden" and case.file == path
    assert case.connector == "intercom"
    assert case.customer.name == "Dana"
    assert case.customer.fields == {"plan": "pro", "tier": "enterprise", "account_age_days": 3}
    assert case.tags == ("eval",)
    assert case.knowledge == kb.resolve()
    assert case.now.isoformat() == "2026-05-05T08:00:00+00:00"
    assert [t.role for t in case.turns] == [Role.CUSTOMER, Role.BOT, Role.CUSTOMER]
    assert case.turns[-1].text == "all. all. all. "
    assert (case.state.bot_turns, case.state.clarifications) == (1, 1)
    assert case.expect.reasons == ("vip", "new_customer")


def test_a_single_case_file_needs_no_cases_key(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text("id: one\nturns:\n  - customer: hi\nexpect:\n  outcome: clarify\n")
    [case] = load_cases([path])
    assert (case.id, case.suite, case.now) == ("one", tmp_path.name, DEFAULT_NOW)


def test_every_problem_names_the_file_the_case_and_the_field(tmp_path: Path) -> None:
    path = write_cases(
        tmp_path,
        "bad.yaml",
        [
            {**REPLY_CASE, "colour": "blue"},
            {"id": "no-outcome", "turns": [{"customer": "hi"}], "expect": {"reason": "refund"}},
            {
                "id": "bad-reason",
                "turns": [{"customer": "hi"}],
                "expect": {"outcome": "escalate", "reason": "grumpy"},
            },
            {
                "id": "bad-turn",
                "turns": [{"customer": "hi", "agent": "both"}, {"robot": "beep"}],
                "expect": {"outcome": "reply"},
            },
            {
                "id": "cites-on-escalate",
                "turns": [{"customer": "hi"}],
                "expect": {"outcome": "escalate", "cites": ["x.md"]},
            },
            {
                "id": "agent-last",
                "turns": [{"customer": "hi"}, {"agent": "hello"}],
                "expect": {"outcome": "reply"},
            },
            {"id": "bad connector", "connector": "jira", "turns": [], "expect": {}},
        ],
    )

    problems = problems_of(path)

    assert f"{path}: cases[0] (reply-reset).colour: unknown key" in problems[0]
    expected = [
        "cases[1] (no-outcome).expect.outcome: missing required field",
        "cases[2] (bad-reason).expect.reason: unknown reason 'grumpy'",
        "cases[3] (bad-turn).turns[0]: must have exactly one of customer, agent or bot",
        "cases[3] (bad-turn).turns[1]: must have exactly one of customer, agent or bot",
        "cases[4] (cites-on-escalate).expect.cites: only a reply cites sources",
        "cases[5] (agent-last).turns: the last turn must be the customer's",
        "cases[6] (bad connector).id: must be 1-80 letters",
        "cases[6] (bad connector).connector: must be one of zendesk, intercom, freshdesk",
        "cases[6] (bad connector).turns: must be a list of at least one turn",
        "cases[6] (bad connector).expect.outcome: missing required field",
    ]
    for fragment in expected:
        assert any(p.startswith(f"{path}: ") and fragment in p for p in problems), fragment


def test_yaml_syntax_errors_give_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("cases:\n  - id: a\n    turns: [\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}: YAML syntax error at line ")


def test_duplicate_ids_across_files_name_both_files(tmp_path: Path) -> None:
    first = write_cases(tmp_path / "a", "one.yaml", [REPLY_CASE])
    second = write_cases(tmp_path / "b", "two.yaml", [REPLY_CASE])
    [problem] = problems_of(tmp_path)
    assert problem == (
        f"{second}: id 'reply-reset' is already used in {first} (ids must be unique in a run)"
    )


def test_a_missing_knowledge_folder_and_bad_types_are_reported(tmp_path: Path) -> None:
    path = write_cases(
        tmp_path,
        "kb.yaml",
        [
            {
                **REPLY_CASE,
                "knowledge": "nowhere",
                "now": "yesterday",
                "state": {"status": "asleep", "bot_turns": -1},
            }
        ],
    )
    problems = problems_of(path)
    assert any("(reply-reset).knowledge: no such folder" in p for p in problems)
    assert any("(reply-reset).now: must be an ISO date-time" in p for p in problems)
    assert any("(reply-reset).state.status: must be one of open" in p for p in problems)
    assert any("(reply-reset).state.bot_turns: must be a whole number" in p for p in problems)


def test_unknown_file_keys_and_unknown_datasets_are_reported(tmp_path: Path) -> None:
    odd = tmp_path / "odd.yaml"
    odd.write_text("cases: []\nsuit: golden\n")
    dataset = tmp_path / "data.yaml"
    dataset.write_text("dataset: reddit\ndata: x.csv\n")
    problems = problems_of(odd, dataset)
    assert any(p.startswith(f"{odd}: suit: unknown key") for p in problems)
    assert any(p.startswith(f"{dataset}: dataset: unknown dataset 'reddit'") for p in problems)


def test_no_cases_and_missing_paths_are_errors(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "missing") == [f"{tmp_path / 'missing'}: no such file or folder"]
    (tmp_path / "empty").mkdir()
    assert problems_of(tmp_path / "empty") == [f"{tmp_path / 'empty'}: no cases found"]


def test_config_and_thresholds_files_beside_the_suites_are_not_cases(tmp_path: Path) -> None:
    write_cases(tmp_path / "golden", "a.yaml", [REPLY_CASE])
    (tmp_path / "config.yaml").write_text("defaults: {}\n")
    (tmp_path / "thresholds.yaml").write_text("min_pass_rate: 0.5\n")
    [case] = load_cases([tmp_path])
    assert case.suite == "golden"


def test_the_shipped_suites_load_and_cover_what_they_promise() -> None:
    from bridge.policy import TRIGGER_NAMES

    cases = load_cases([EVALS])
    by_suite: dict[str, list] = {}
    for case in cases:
        by_suite.setdefault(case.suite, []).append(case)
    assert len(by_suite["golden"]) >= 120
    assert len(by_suite["break"]) >= 40
    public = [c for name, cs in by_suite.items() if name.startswith("public-") for c in cs]
    assert len(public) >= 100
    golden_reasons = {r for c in by_suite["golden"] for r in c.expect.reasons}
    assert set(TRIGGER_NAMES) | {"missing_knowledge", "low_confidence"} <= golden_reasons
    assert {"reply", "clarify", "escalate", "silent"} == {c.expect.outcome for c in cases}
    assert {"zendesk", "intercom", "freshdesk"} <= {c.connector for c in by_suite["golden"]}
    # The copied public samples stay small and carry their licence and origin.
    data = EVALS / "public" / "data"
    assert sum(f.stat().st_size for f in data.rglob("*") if f.is_file()) < 1_000_000
    for folder in data.iterdir():
        names = {f.name for f in folder.iterdir()}
        assert "SOURCE.md" in names and names & {"LICENSE", "LICENSE.txt"}, folder
