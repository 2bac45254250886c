"""Metrics and thresholds on hand-made results: pass^k, per-reason scores, known failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.eval.answerers import Usage
from bridge.eval.capture import Write
from bridge.eval.cases import Case, Expectation, Turn
from bridge.eval.checks import Actual
from bridge.eval.gate import ThresholdsError, evaluate, load_thresholds
from bridge.eval.report import measure, to_json, to_table
from bridge.eval.runner import CaseResult, EvalRun, RunResult
from bridge.events import Role


def result(
    case_id: str,
    expect: Expectation,
    *runs: tuple[str, str],
    suite: str = "golden",
) -> CaseResult:
    """A case and its runs, each run given as (decision kind, reason)."""
    case = Case(case_id, suite, Path("x.yaml"), (Turn(Role.CUSTOMER, "hi"),), expect)
    out = CaseResult(case)
    for index, (kind, reason) in enumerate(runs, start=1):
        writes = [] if kind == "silent" else [Write("reply", case_id, text="...")]
        actual = Actual(kind=kind, reason=reason, writes=writes)
        ok = actual.outcome == expect.outcome and (
            not expect.reasons or kind != "escalate" or reason in expect.reasons
        )
        problems = [] if ok else [f"outcome: expected {expect.outcome}, got {kind}"]
        out.runs.append(RunResult(index, actual, problems, [], 10.0, 0))
    return out


HUMAN = Expectation("escalate", reasons=("human_request",))
REFUND = Expectation("escalate", reasons=("refund", "billing_dispute"))
REPLY = Expectation("reply")


def make_run() -> EvalRun:
    return EvalRun(
        results=[
            result("h1", HUMAN, ("escalate", "human_request"), ("escalate", "human_request")),
            result("h2", HUMAN, ("escalate", "human_request"), ("escalate", "missing_knowledge")),
            result("r1", REFUND, ("escalate", "billing_dispute"), ("escalate", "billing_dispute")),
            result("a1", REPLY, ("reply", "answered"), ("escalate", "human_request")),
            result("b1", HUMAN, ("reply", "answered"), ("reply", "answered"), suite="break"),
        ],
        repeat=2,
        usage=Usage(),
        answerers=["extractive"],
    )


def test_pass_hat_k_counts_cases_whose_every_run_passed() -> None:
    metrics = measure(make_run().results)
    assert (metrics.cases, metrics.passed) == (5, 2)
    assert metrics.pass_rate == pytest.approx(0.4)
    assert metrics.pass_at_1 == pytest.approx(6 / 10)


def test_reason_scores_pool_runs_and_credit_any_accepted_reason() -> None:
    metrics = measure(make_run().results)
    human = metrics.by_reason["human_request"]
    # expected 6 runs (h1, h2, b1 twice each); given 3 right plus 1 on a reply case
    assert (human.support, human.true_positives, human.predicted) == (6, 3, 4)
    assert human.recall == pytest.approx(0.5) and human.precision == pytest.approx(0.75)
    dispute = metrics.by_reason["billing_dispute"]
    assert (dispute.support, dispute.recall, dispute.precision) == (2, 1.0, 1.0)
    assert "refund" not in metrics.by_reason  # accepted but never the label that counted
    assert metrics.confusion["escalate"] == {"reply": 2, "clarify": 0, "escalate": 6, "silent": 0}
    assert metrics.reason_misses("human_request", recall=True) == ["h2", "b1"]
    assert metrics.reason_misses("human_request", recall=False) == ["a1"]


def test_bounds_name_the_cases_behind_a_miss() -> None:
    thresholds = {
        "reasons": {"human_request": {"min_recall": 1.0}},
        "suites": {
            "break": {"max_replies_when_escalation_expected": 0},
            "public": {"min_pass_rate": 0.5},
        },
    }
    gate = evaluate(make_run(), thresholds, "t.yaml")

    assert not gate.passed
    recall, replies, public = gate.checks
    assert (recall.passed, recall.cases) == (False, ("h2", "b1"))
    assert (replies.scope, replies.value, replies.cases) == ("break", 1, ("b1",))
    assert public.skipped == "no case of this suite was run" and public.passed
    lines = gate.lines()
    assert lines[0] == "thresholds (t.yaml): FAILED"
    assert "FAILED   human_request recall 0.500 (must be >= 1.00): h2, b1" in lines[1]


def test_known_failures_are_exempt_from_max_bounds_only() -> None:
    thresholds = {
        "min_pass_rate": 0.4,
        "max_replies_when_escalation_expected": 0,
        "known_failures": {"b1": "no trigger covers it yet", "h1": "fixed since"},
    }
    gate = evaluate(make_run(), thresholds, "t.yaml")
    assert gate.passed
    rate, replies = gate.checks
    assert rate.value == pytest.approx(0.4)  # b1 still counts as a failure here
    assert (replies.value, replies.known) == (0, ("b1",))
    assert gate.now_passing == ["h1"]
    assert "take them off known_failures): h1" in gate.lines()[-1]


def test_reports_carry_the_gate(tmp_path: Path) -> None:
    run = make_run()
    gate = evaluate(run, {"min_pass_rate": 0.9}, "t.yaml")
    report = to_json(run, gate.to_json())
    assert report["thresholds"]["passed"] is False
    assert report["failures"][0]["runs_passed"] == 1 and report["failures"][0]["runs"] == 2
    table = to_table(run, gate.lines())
    assert "[1/2 runs passed]" in table and "thresholds (t.yaml): FAILED" in table


def test_thresholds_files_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "min_pass_rate: 1.5\n"
        "max_errors: -1\n"
        "outcomes: {maybe: {min_recall: 1}}\n"
        "suites: {golden: {suites: {}}}\n"
        "known_failures: [a]\n"
    )
    with pytest.raises(ThresholdsError) as caught:
        load_thresholds(path)
    assert caught.value.problems == [
        f"{path}: min_pass_rate: must be a number from 0 to 1",
        f"{path}: max_errors: must be a whole number, 0 or more",
        f"{path}: outcomes.maybe: unknown outcome (known: reply, clarify, escalate, silent)",
        f"{path}: suites.golden.suites: unknown key (known: max_errors, max_invented_numbers, "
        "max_replies_when_escalation_expected, min_pass_rate, outcomes, reasons)",
        f"{path}: known_failures: must be a mapping of case id -> why it fails",
    ]
