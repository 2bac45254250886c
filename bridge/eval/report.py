"""Metrics over a run, and the report as a table or as JSON.

Outcome and reason metrics pool every run of every case (with ``--repeat K`` each case counts
K times); pass rates count cases, and a case passes only when all of its runs pass (pass^k).
Each suite gets its own metrics, so a public dataset never blurs the golden numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.eval.cases import OUTCOMES, Case
from bridge.eval.runner import CaseResult, EvalRun, RunResult

ANY_REASON = "*"  # an escalation expected without naming a reason
TEXT_CLIP = 300


@dataclass(frozen=True)
class Score:
    precision: float | None  # None: nothing was predicted as this class
    recall: float | None  # None: nothing was expected as this class
    support: int
    true_positives: int = 0
    predicted: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "support": self.support,
        }


@dataclass
class Metrics:
    """Everything measured over a set of case results (a suite, or the whole run)."""

    results: list[CaseResult]
    by_outcome: dict[str, Score] = field(default_factory=dict)
    by_reason: dict[str, Score] = field(default_factory=dict)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def cases(self) -> int:
        return len(self.results)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        return self.cases - self.passed

    @property
    def pass_rate(self) -> float:
        return self.passed / self.cases if self.cases else 0.0

    @property
    def pass_at_1(self) -> float:
        runs = [run for r in self.results for run in r.runs]
        return sum(1 for run in runs if run.passed) / len(runs) if runs else 0.0

    def runs(self) -> Iterable[tuple[Case, RunResult]]:
        for result in self.results:
            for run in result.runs:
                yield result.case, run

    def invented_number_cases(self) -> list[str]:
        return [r.case.id for r in self.results if any(run.invented_numbers for run in r.runs)]

    def replies_when_escalation_expected(self) -> list[str]:
        return [
            r.case.id
            for r in self.results
            if r.case.expect.outcome == "escalate"
            and any(run.actual.outcome == "reply" for run in r.runs)
        ]

    def error_cases(self) -> list[str]:
        return [r.case.id for r in self.results if any(run.actual.error for run in r.runs)]

    def outcome_misses(self, outcome: str, *, recall: bool) -> list[str]:
        """Cases behind a low recall (expected, not got) or precision (got, not expected)."""
        found = []
        for case, run in self.runs():
            expected, actual = case.expect.outcome, run.actual.outcome
            missed = expected == outcome and actual != outcome
            wrong = actual == outcome and expected != outcome
            if (missed if recall else wrong) and case.id not in found:
                found.append(case.id)
        return found

    def reason_misses(self, reason: str, *, recall: bool) -> list[str]:
        found = []
        for case, run in self.runs():
            gold, predicted = reason_labels(case, run)
            if gold == ANY_REASON:
                continue
            missed = gold == reason and predicted != reason
            wrong = predicted == reason and gold != reason
            if (missed if recall else wrong) and case.id not in found:
                found.append(case.id)
        return found


def measure(results: Sequence[CaseResult]) -> Metrics:
    metrics = Metrics(list(results))
    outcome_pairs: list[tuple[str, str]] = []
    reason_pairs: list[tuple[str | None, str | None]] = []
    for case, run in metrics.runs():
        outcome_pairs.append((case.expect.outcome, run.actual.outcome))
        gold, predicted = reason_labels(case, run)
        if gold != ANY_REASON:
            reason_pairs.append((gold, predicted))
    metrics.by_outcome = {o: _score(o, outcome_pairs) for o in OUTCOMES}
    reasons = sorted({label for pair in reason_pairs for label in pair if label is not None})
    metrics.by_reason = {reason: _score(reason, reason_pairs) for reason in reasons}
    labels = list(OUTCOMES)
    labels += sorted({actual for _, actual in outcome_pairs} - set(labels))
    metrics.confusion = {e: {a: 0 for a in labels} for e in OUTCOMES}
    for expected, actual in outcome_pairs:
        metrics.confusion[expected][actual] += 1
    return metrics


def reason_labels(case: Case, run: RunResult) -> tuple[str | None, str | None]:
    """The handoff reason expected and the one given (None when no escalation).

    When a case accepts several reasons and the bot gave one of them, that one is the
    expected label; otherwise the first listed is. An escalation expected without a reason
    is ``ANY_REASON`` and left out of the reason metrics.
    """
    actual = run.actual
    predicted = actual.reason if actual.outcome == "escalate" else None
    expect = case.expect
    if expect.outcome != "escalate":
        return None, predicted
    if not expect.reasons:
        return ANY_REASON, predicted
    if predicted in expect.reasons:
        return predicted, predicted
    return expect.reasons[0], predicted


def _score(label: str, pairs: Sequence[tuple[str | None, str | None]]) -> Score:
    support = sum(1 for gold, _ in pairs if gold == label)
    predicted = sum(1 for _, guess in pairs if guess == label)
    hits = sum(1 for gold, guess in pairs if gold == label and guess == label)
    return Score(
        precision=hits / predicted if predicted else None,
        recall=hits / support if support else None,
        support=support,
        true_positives=hits,
        predicted=predicted,
    )


def by_suite(results: Sequence[CaseResult]) -> dict[str, list[CaseResult]]:
    suites: dict[str, list[CaseResult]] = {}
    for result in results:
        suites.setdefault(result.case.suite, []).append(result)
    return suites


def latency(run: EvalRun) -> dict[str, float]:
    values = sorted(r.latency_ms for result in run.results for r in result.runs)
    if not values:
        return {"total_ms": 0.0, "mean_ms": 0.0, "p95_ms": 0.0, "max_ms": 0.0}
    p95 = values[min(len(values) - 1, math.ceil(0.95 * len(values)) - 1)]
    return {
        "total_ms": round(sum(values), 1),
        "mean_ms": round(sum(values) / len(values), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(values[-1], 1),
    }


# --- JSON ---------------------------------------------------------------------------------


def to_json(run: EvalRun, gate: dict[str, Any] | None = None) -> dict[str, Any]:
    overall = measure(run.results)
    report: dict[str, Any] = {
        "cases": overall.cases,
        "passed": overall.passed,
        "failed": overall.failed,
        "pass_rate": round(overall.pass_rate, 4),
        "repeat": run.repeat,
        "pass_at_1": round(overall.pass_at_1, 4),
        "pass_hat_k": round(overall.pass_rate, 4),
        "answerers": run.answerers,
        "config": run.config_source,
        **_metrics_json(overall),
        "suites": {
            name: {
                "cases": m.cases,
                "passed": m.passed,
                "failed": m.failed,
                "pass_rate": round(m.pass_rate, 4),
                "pass_at_1": round(m.pass_at_1, 4),
                **_metrics_json(m),
            }
            for name, m in ((n, measure(rs)) for n, rs in by_suite(run.results).items())
        },
        "failures": [_failure_json(result) for result in run.results if not result.passed],
        "invented_numbers": [
            {"id": r.case.id, "numbers": sorted({n for x in r.runs for n in x.invented_numbers})}
            for r in run.results
            if any(x.invented_numbers for x in r.runs)
        ],
        "results": [_result_json(result) for result in run.results],
        "latency": latency(run),
        "tokens": run.usage.to_json(),
    }
    if gate is not None:
        report["thresholds"] = gate
    return report


def _metrics_json(metrics: Metrics) -> dict[str, Any]:
    return {
        "by_outcome": {k: v.to_json() for k, v in metrics.by_outcome.items()},
        "by_reason": {k: v.to_json() for k, v in metrics.by_reason.items()},
        "confusion": metrics.confusion,
    }


def _failure_json(result: CaseResult) -> dict[str, Any]:
    run = result.failing_run
    actual = run.actual.to_json()
    if actual.get("text"):
        actual["text"] = _clip(actual["text"], TEXT_CLIP)
    return {
        "id": result.case.id,
        "suite": result.case.suite,
        "file": str(result.case.file),
        "expected": result.case.expect.to_json(),
        "actual": actual,
        "problems": run.problems,
        "runs_passed": sum(1 for r in result.runs if r.passed),
        "runs": len(result.runs),
    }


def _result_json(result: CaseResult) -> dict[str, Any]:
    first = result.first.actual
    return {
        "id": result.case.id,
        "suite": result.case.suite,
        "passed": result.passed,
        "expected": result.case.expect.outcome,
        "outcome": first.outcome,
        "reason": first.reason,
        "runs_passed": sum(1 for r in result.runs if r.passed),
        "latency_ms": round(sum(r.latency_ms for r in result.runs) / len(result.runs), 1),
        "tokens": sum(r.tokens for r in result.runs),
    }


# --- table --------------------------------------------------------------------------------


def to_table(run: EvalRun, gate_lines: Sequence[str] = ()) -> str:
    overall = measure(run.results)
    suites = {name: measure(rs) for name, rs in by_suite(run.results).items()}
    answerers = ", ".join(run.answerers) or "none"
    head = f"helpdesk-bridge eval: {overall.cases} cases, answerer {answerers}"
    if run.repeat > 1:
        head += f", {run.repeat} runs each (a case passes only if every run does: pass^k)"
    if run.config_source:
        head += f"\nconfig: {run.config_source}"
    out = [head, ""]

    rows = [["suite", "cases", "passed", "failed", "pass rate"]]
    if run.repeat > 1:
        rows[0].append("pass@1")
    for name, m in [*suites.items(), *([("all", overall)] if len(suites) > 1 else [])]:
        row = [name, str(m.cases), str(m.passed), str(m.failed), _pct(m.pass_rate)]
        if run.repeat > 1:
            row.append(_pct(m.pass_at_1))
        rows.append(row)
    out += [*_grid(rows), ""]

    for name, m in suites.items():
        out.append(f"== {name}")
        rows = [["outcome", "precision", "recall", "support"]]
        rows += [[k, *_score_cells(s)] for k, s in m.by_outcome.items()]
        out += [*_grid(rows), ""]
        if m.by_reason:
            rows = [["reason", "precision", "recall", "support"]]
            rows += [[k, *_score_cells(s)] for k, s in m.by_reason.items()]
            out += [*_grid(rows), ""]
        labels = list(next(iter(m.confusion.values())).keys())
        rows = [["expected \\ actual", *labels]]
        rows += [[e, *(str(m.confusion[e][a]) for a in labels)] for e in m.confusion]
        out += [*_grid(rows), ""]

    failing = [r for r in run.results if not r.passed]
    if failing:
        out.append(f"failing cases ({len(failing)})")
        for result in failing:
            out += _failure_lines(result)
        out.append("")

    lat = latency(run)
    usage = run.usage
    out.append(
        f"latency: mean {lat['mean_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms, "
        f"max {lat['max_ms']:.0f} ms, total {lat['total_ms'] / 1000:.1f} s"
    )
    out.append(
        f"tokens: {usage.tokens} spent, {usage.tokens_saved} saved by the cache "
        f"({usage.calls} answerer calls, {usage.cache_hits} from the cache)"
    )
    if gate_lines:
        out += ["", *gate_lines]
    return "\n".join(out)


def _failure_lines(result: CaseResult) -> list[str]:
    case, run = result.case, result.failing_run
    expect, actual = case.expect, run.actual
    wanted = expect.outcome + (f" ({' | '.join(expect.reasons)})" if expect.reasons else "")
    if expect.group:
        wanted += f" to {expect.group}"
    got = f"{actual.outcome} ({actual.reason})"
    if actual.write_status == "skipped":
        got = f"silent (decided {actual.kind} {actual.reason}; not written, a person had spoken)"
    if actual.group and actual.outcome == "escalate":
        got += f" to {actual.group}"
    runs = f"  [{sum(1 for r in result.runs if r.passed)}/{len(result.runs)} runs passed]"
    lines = [
        f"  {case.suite}/{case.id}  ({case.file})" + (runs if len(result.runs) > 1 else ""),
        f"    customer: {_clip(_last_customer(case), 110)}",
        f"    expected: {wanted}",
        f"    actual:   {got}",
    ]
    lines += [f"    - {problem}" for problem in run.problems]
    return lines


def _last_customer(case: Case) -> str:
    text = case.turns[-1].text
    return " ".join(text.split()) or "(empty message)"


def _score_cells(score: Score) -> list[str]:
    return [_num(score.precision), _num(score.recall), str(score.support)]


def _grid(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        rest = zip(row[1:], widths[1:], strict=True)
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in rest]
        lines.append("  ".join(cells).rstrip())
    return lines


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
