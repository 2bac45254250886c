"""Thresholds: the bounds a run must meet, and which cases broke each one.

A thresholds file is YAML. Bounds at the top level apply to every case of the run; under
``suites.<name>`` to that suite only (skipped when the suite was not run)::

    min_pass_rate: 0.9                        # share of cases that pass (pass^k)
    max_invented_numbers: 0                   # cases whose reply has a number no source has
    max_replies_when_escalation_expected: 0   # cases expected to escalate that got a reply
    max_errors: 0                             # cases the pipeline crashed on
    reasons:
      human_request: {min_recall: 1.0, min_precision: 0.9}
    outcomes:
      reply: {min_precision: 0.9}
    suites:
      break:
        min_pass_rate: 0.8
    known_failures:                           # case id -> why it fails today
      break-claim-upgraded: the extractive answerer quotes the sign-up steps

A recall or precision bound is skipped when nothing in scope was expected (or predicted) as
that class: there is nothing to measure. Known failures are product gaps on record: they still
count in pass rates, recall and precision (the floors are set with them failing), but not
against the ``max_`` bounds, which are zero-tolerance; once one passes, the report says so,
so that it can be taken off the list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bridge.eval.cases import OUTCOMES, REASONS
from bridge.eval.report import Metrics, by_suite, measure
from bridge.eval.runner import EvalRun

_COUNT_BOUNDS: dict[str, Callable[[Metrics], list[str]]] = {
    "max_invented_numbers": Metrics.invented_number_cases,
    "max_replies_when_escalation_expected": Metrics.replies_when_escalation_expected,
    "max_errors": Metrics.error_cases,
}
_CLASS_BOUNDS = ("min_recall", "min_precision")
_SCOPE_KEYS = frozenset({"min_pass_rate", *_COUNT_BOUNDS, "reasons", "outcomes"})
_TOP_KEYS = _SCOPE_KEYS | {"suites", "known_failures"}


class ThresholdsError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid thresholds:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Check:
    scope: str  # "all" or a suite name
    metric: str  # e.g. "pass rate", "human_request recall"
    bound: str  # e.g. ">= 0.90"
    value: float | int | None
    passed: bool
    cases: tuple[str, ...] = ()  # the cases behind a miss
    skipped: str | None = None  # why the bound could not be measured
    known: tuple[str, ...] = ()  # known failures left out of a max_ bound

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "metric": self.metric,
            "bound": self.bound,
            "value": self.value,
            "passed": self.passed,
            "skipped": self.skipped,
            "cases": list(self.cases),
            "known_failures": list(self.known),
        }


@dataclass
class GateResult:
    source: str
    checks: list[Check] = field(default_factory=list)
    now_passing: list[str] = field(default_factory=list)  # known failures that passed

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.source,
            "passed": self.passed,
            "checks": [c.to_json() for c in self.checks],
            "known_failures_now_passing": self.now_passing,
        }

    def lines(self) -> list[str]:
        verdict = "passed" if self.passed else "FAILED"
        out = [f"thresholds ({self.source}): {verdict}"]
        for check in self.checks:
            where = "" if check.scope == "all" else f"{check.scope}: "
            if check.skipped:
                out.append(f"  skipped  {where}{check.metric} {check.bound} ({check.skipped})")
                continue
            status = "ok     " if check.passed else "FAILED "
            line = f"  {status}  {where}{check.metric} {_show(check.value)} (must be {check.bound})"
            if not check.passed and check.cases:
                line += ": " + ", ".join(check.cases)
            if check.known:
                line += f" (known failures not counted: {', '.join(check.known)})"
            out.append(line)
        if self.now_passing:
            out.append(
                "  note     known failures that pass now (take them off known_failures): "
                + ", ".join(self.now_passing)
            )
        return out


def load_thresholds(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ThresholdsError([f"{path}: cannot read: {exc.strerror}"]) from None
    except yaml.YAMLError as exc:
        raise ThresholdsError([f"{path}: YAML syntax error: {exc}"]) from None
    if not isinstance(data, Mapping):
        raise ThresholdsError([f"{path}: (top level): must be a mapping"])
    problems = _validate(data, "", top=True)
    if problems:
        raise ThresholdsError([f"{path}: {p}" for p in problems])
    return dict(data)


def _validate(data: Mapping[str, Any], prefix: str, *, top: bool) -> list[str]:
    problems: list[str] = []
    known = _TOP_KEYS if top else _SCOPE_KEYS
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in known:
            problems.append(f"{path}: unknown key (known: {', '.join(sorted(known))})")
        elif key == "min_pass_rate":
            problems += _fraction(value, path)
        elif key in _COUNT_BOUNDS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                problems.append(f"{path}: must be a whole number, 0 or more")
        elif key in ("reasons", "outcomes"):
            names = REASONS if key == "reasons" else OUTCOMES
            if not isinstance(value, Mapping):
                problems.append(f"{path}: must be a mapping of {key[:-1]} -> bounds")
                continue
            for name, bounds in value.items():
                where = f"{path}.{name}"
                if name not in names:
                    problems.append(f"{where}: unknown {key[:-1]} (known: {', '.join(names)})")
                if not isinstance(bounds, Mapping):
                    problems.append(f"{where}: must be a mapping like {{min_recall: 1.0}}")
                    continue
                for bound, number in bounds.items():
                    if bound not in _CLASS_BOUNDS:
                        problems.append(f"{where}.{bound}: unknown key (min_recall, min_precision)")
                    else:
                        problems += _fraction(number, f"{where}.{bound}")
        elif key == "suites":
            if not isinstance(value, Mapping):
                problems.append(f"{path}: must be a mapping of suite -> bounds")
                continue
            for suite, bounds in value.items():
                if not isinstance(bounds, Mapping):
                    problems.append(f"{path}.{suite}: must be a mapping of bounds")
                else:
                    problems += _validate(bounds, f"{path}.{suite}.", top=False)
        elif key == "known_failures" and not _reasons_by_id(value):
            problems.append(f"{path}: must be a mapping of case id -> why it fails")
    return problems


def _reasons_by_id(value: Any) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _fraction(value: Any, path: str) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        return [f"{path}: must be a number from 0 to 1"]
    return []


def evaluate(run: EvalRun, thresholds: Mapping[str, Any], source: str) -> GateResult:
    gate = GateResult(source)
    known = frozenset(thresholds.get("known_failures") or {})
    gate.checks += _scope_checks("all", measure(run.results), thresholds, known)
    suites = by_suite(run.results)
    for suite, bounds in (thresholds.get("suites") or {}).items():
        if suite not in suites:
            gate.checks.append(
                Check(suite, "suite", "", None, True, skipped="no case of this suite was run")
            )
            continue
        gate.checks += _scope_checks(suite, measure(suites[suite]), bounds, known)
    gate.now_passing = [r.case.id for r in run.results if r.case.id in known and r.passed]
    return gate


def _scope_checks(
    scope: str, metrics: Metrics, bounds: Mapping[str, Any], known: frozenset[str]
) -> list[Check]:
    checks: list[Check] = []
    if "min_pass_rate" in bounds:
        floor = float(bounds["min_pass_rate"])
        failing = tuple(r.case.id for r in metrics.results if not r.passed)
        rate = metrics.pass_rate
        checks.append(
            Check(scope, "pass rate", f">= {floor:.2f}", round(rate, 4), rate >= floor, failing)
        )
    for key, cases_of in _COUNT_BOUNDS.items():
        if key in bounds:
            ceiling = int(bounds[key])
            found = cases_of(metrics)
            cases = tuple(c for c in found if c not in known)
            excused = tuple(c for c in found if c in known)
            name = key.removeprefix("max_").replace("_", " ")
            checks.append(
                Check(
                    scope,
                    name,
                    f"<= {ceiling}",
                    len(cases),
                    len(cases) <= ceiling,
                    cases,
                    known=excused,
                )
            )
    for family, scores, misses in (
        ("reasons", metrics.by_reason, metrics.reason_misses),
        ("outcomes", metrics.by_outcome, metrics.outcome_misses),
    ):
        for name, wanted in (bounds.get(family) or {}).items():
            score = scores.get(name)
            for bound, floor in wanted.items():
                recall = bound == "min_recall"
                metric = f"{name} {'recall' if recall else 'precision'}"
                value = None if score is None else (score.recall if recall else score.precision)
                if value is None:
                    why = "nothing expected as" if recall else "nothing predicted as"
                    checks.append(
                        Check(scope, metric, f">= {floor:.2f}", None, True, skipped=f"{why} {name}")
                    )
                    continue
                failing = tuple(misses(name, recall=recall))
                bound_text = f">= {floor:.2f}"
                checks.append(
                    Check(scope, metric, bound_text, round(value, 4), value >= floor, failing)
                )
    return checks


def _show(value: float | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.3f}"
