"""The runner drives the worker's pipeline for each case and checks what it decided and wrote."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from bridge.config import AppConfig, load_config
from bridge.eval.answerers import MeteredAnswerer, Usage, request_key
from bridge.eval.cases import load_cases
from bridge.eval.checks import Actual, compare, invented_numbers
from bridge.eval.runner import EvalRun, Evaluator
from bridge.knowledge.types import Answer, AnswerKind, Hit, Passage
from tests.eval.conftest import (
    ESCALATE_CASE,
    EVAL_CONFIG,
    REPLY_CASE,
    SILENT_CASE,
    write_cases,
)


def run_cases(config: AppConfig, tmp_path: Path, cases: list[dict[str, Any]], **kw: Any) -> EvalRun:
    write_cases(tmp_path / "golden", "cases.yaml", cases)
    return Evaluator(config, **kw).run(load_cases([tmp_path / "golden"]))


def test_reply_escalate_and_silent_go_through_the_pipeline(
    eval_config: AppConfig, tmp_path: Path
) -> None:
    run = run_cases(eval_config, tmp_path, [REPLY_CASE, ESCALATE_CASE, SILENT_CASE])

    reply, escalate, silent = run.results
    assert [r.passed for r in run.results] == [True, True, True], [
        r.first.problems for r in run.results
    ]

    answer = reply.first.actual
    assert (answer.kind, answer.rule_id) == ("reply", "answer.grounded")
    assert answer.citations[0]["passage_id"].startswith("reset-password.md#")
    [posted] = answer.writes
    assert posted.action == "reply" and posted.text == answer.text
    assert "Sources:" in posted.text and "AI assistant" in posted.text

    handoff = escalate.first.actual
    assert (handoff.kind, handoff.reason, handoff.group) == ("escalate", "human_request", "Support")
    actions = [w.action for w in handoff.writes]
    assert actions == ["reply", "escalate"]  # the message to the customer, then the handoff
    assert set(handoff.writes[1].tags) >= {"ai_escalated", "ai_reason_human_request"}
    assert "Handoff:" in (handoff.writes[1].text or "")

    quiet = silent.first.actual
    assert (quiet.outcome, quiet.reason, quiet.writes) == ("silent", "human_active", [])

    assert run.answerers == ["extractive"]
    assert run.usage.calls == 1  # only the how-to reached the answerer
    assert all(r.first.latency_ms > 0 for r in run.results)


def test_a_wrong_expectation_fails_with_what_was_expected_and_got(
    eval_config: AppConfig, tmp_path: Path
) -> None:
    wrong = {
        **ESCALATE_CASE,
        "id": "wrong",
        "expect": {
            "outcome": "escalate",
            "reason": "refund",
            "group": "Billing",
            "contains": ["never said"],
        },
    }
    cites_wrong = {
        **REPLY_CASE,
        "id": "cites-wrong",
        "expect": {"outcome": "reply", "cites": ["x"]},
    }
    run = run_cases(eval_config, tmp_path, [wrong, cites_wrong])

    assert run.results[0].first.problems == [
        "reason: expected refund, got human_request",
        "group: expected Billing, got Support",
        "contains: 'never said' is not in what the customer was told",
    ]
    [problem] = run.results[1].first.problems
    assert problem.startswith("cites: expected x, cited reset-password.md#")


def test_a_case_with_its_own_knowledge_folder(eval_config: AppConfig, tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "gardening.md").write_text(
        "# Gardening\n\n## Watering\n\nWater tomatoes every morning.\n"
    )
    own = {
        "id": "own-kb",
        "knowledge": "../kb",
        "turns": [{"customer": "When should I water the tomatoes?"}],
        "expect": {"outcome": "reply", "cites": ["gardening.md#watering"]},
    }
    shared = {**own, "id": "shared-kb", "knowledge": None}
    shared["expect"] = {"outcome": "escalate", "reason": "missing_knowledge"}
    run = run_cases(eval_config, tmp_path, [own, shared])
    assert [r.passed for r in run.results] == [True, True], [r.first.problems for r in run.results]


def test_a_dry_run_connector_is_evaluated_as_public(tmp_path: Path) -> None:
    example = EVAL_CONFIG.parent.parent / "config.example.yaml"
    config = load_config(example, env={"HELPDESK_BRIDGE_DATA": str(tmp_path / "var")})
    assert config.connectors["example-zendesk"].policy.mode == "dry_run"
    run = run_cases(config, tmp_path, [REPLY_CASE])
    assert run.results[0].passed, run.results[0].first.problems
    assert [w.action for w in run.results[0].first.actual.writes] == ["reply"]


class StubLLM:
    """Answers with the top passage's first sentence, or fails to cover it every other call."""

    name = "anthropic"

    def __init__(self, flaky: bool = False) -> None:
        self.calls = 0
        self._flip = itertools.cycle([False, True]) if flaky else itertools.repeat(False)

    def answer(
        self,
        question: str,
        conversation: Sequence[str],
        hits: Sequence[Hit],
        product_context: str = "",
    ) -> Answer:
        self.calls += 1
        if next(self._flip) or not hits:
            return Answer(AnswerKind.NOT_COVERED, tokens=40)
        passage = hits[0].passage
        first = passage.text.split(". ")[0].rstrip(".") + "."
        return Answer(AnswerKind.ANSWER, first, (passage.id,), 0.9, tokens=100)


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch) -> StubLLM:
    stub = StubLLM()
    monkeypatch.setattr("bridge.knowledge.answerers.build_answerer", lambda *a, **k: stub)
    return stub


def llm_config(tmp_path: Path) -> AppConfig:
    env = {"HELPDESK_BRIDGE_DATA": str(tmp_path / "var"), "EVAL_ANSWERER": "anthropic"}
    return load_config(EVAL_CONFIG, env=env)


def test_llm_answers_are_cached_so_a_rerun_costs_nothing(tmp_path: Path, llm: StubLLM) -> None:
    config = llm_config(tmp_path)
    share = {
        "id": "share",
        "turns": [{"customer": "How do I share a note?"}],
        "expect": {"outcome": "reply"},
    }
    cases = [REPLY_CASE, share]

    first = run_cases(config, tmp_path, cases)
    assert llm.calls == 2
    assert first.usage.to_json() == {
        "answerer_calls": 2,
        "cache_hits": 0,
        "tokens": 200,
        "tokens_saved": 0,
    }
    assert [r.first.tokens for r in first.results] == [100, 100]
    assert len(list((tmp_path / "var" / "eval-cache").rglob("*.json"))) == 2

    second = run_cases(config, tmp_path, cases)
    assert llm.calls == 2  # nothing new was asked
    assert second.usage.to_json() == {
        "answerer_calls": 2,
        "cache_hits": 2,
        "tokens": 0,
        "tokens_saved": 200,
    }
    assert [r.passed for r in second.results] == [r.passed for r in first.results]

    run_cases(config, tmp_path, cases, cache=False)
    assert llm.calls == 4


def test_repeat_runs_every_case_k_times_and_reports_pass_hat_k(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky = StubLLM(flaky=True)
    monkeypatch.setattr("bridge.knowledge.answerers.build_answerer", lambda *a, **k: flaky)
    case = {**REPLY_CASE, "expect": {"outcome": "reply", "cites": ["reset-password.md"]}}
    run = run_cases(llm_config(tmp_path), tmp_path, [case], repeat=4)

    [result] = run.results
    assert [r.run for r in result.runs] == [1, 2, 3, 4]
    assert [r.passed for r in result.runs] == [True, False, True, False]
    assert not result.passed  # pass^k: every run must pass
    assert flaky.calls == 4  # each run is its own sample, cached under its own key
    assert len(list((tmp_path / "var" / "eval-cache").rglob("*.json"))) == 4


def test_cache_keys_change_with_everything_that_shapes_the_answer() -> None:
    passage = Passage("a.md#x", ("A", "X"), "Text one.", "a.md")
    hits = [Hit(passage, 1.0)]
    base = request_key("anthropic", "m1", "q", ["q"], hits, "ctx")
    other_text = [Hit(Passage("a.md#x", ("A", "X"), "Text two.", "a.md"), 1.0)]
    variants = [
        request_key("openai_compatible", "m1", "q", ["q"], hits, "ctx"),
        request_key("anthropic", "m2", "q", ["q"], hits, "ctx"),
        request_key("anthropic", "m1", "q2", ["q"], hits, "ctx"),
        request_key("anthropic", "m1", "q", ["earlier", "q"], hits, "ctx"),
        request_key("anthropic", "m1", "q", ["q"], other_text, "ctx"),
        request_key("anthropic", "m1", "q", ["q"], hits, "other"),
        request_key("anthropic", "m1", "q", ["q"], hits, "ctx", sample=2),
    ]
    assert base == request_key("anthropic", "m1", "q", ["q"], hits, "ctx", sample=1)
    assert len({base, *variants}) == len(variants) + 1


def test_failures_are_not_cached(tmp_path: Path) -> None:
    class Down:
        name = "anthropic"

        def answer(self, *args: Any, **kwargs: Any) -> Answer:
            raise TimeoutError("no answer in 30 s")

    usage = Usage()
    metered = MeteredAnswerer(Down(), usage, cache_dir=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(TimeoutError):
        metered.answer("q", [], [])
    assert usage.calls == 1 and not list(tmp_path.rglob("*.json"))


PRO = Passage(
    "plans-and-pricing.md#pro",
    ("Plans and pricing", "Pro"),
    "Pro costs $8 per month, or $80 per year. It includes 10 GB of uploads.",
    "plans-and-pricing.md",
)


def test_invented_numbers_are_those_no_cited_passage_has() -> None:
    citations = [{"passage_id": PRO.id, "title": PRO.title}]
    text = (
        "Pro costs $8.00 a month and $80 a year, with 15 GB of uploads and 1,000 notes.\n\n"
        "Sources:\n- Plans and pricing › Pro 2024\n\n— AI assistant (automated answer)"
    )
    invented, missing = invented_numbers(text, citations, {PRO.id: PRO}.get)
    assert invented == ["15", "1,000"]  # 8.00 is $8; the sources list is not the answer
    assert missing == []


def test_a_reply_with_invented_numbers_fails_its_case() -> None:
    from bridge.eval.capture import Write
    from bridge.eval.cases import Expectation

    actual = Actual(
        kind="reply",
        reason="answered",
        text="Pro costs $15 per month.",
        citations=[{"passage_id": PRO.id, "title": PRO.title}],
        writes=[Write("reply", "t", text="Pro costs $15 per month.")],
    )
    expect = Expectation("reply", cites=(("plans-and-pricing.md",),))
    problems, invented = compare(expect, actual, {PRO.id: PRO}.get)
    assert invented == ["15"]
    assert problems == ["invented numbers: 15 not found in the cited passages"]
