"""Compare what the bot did on a case with what the case expects.

Pure functions over plain data, so each rule is easy to test. The number check is written
independently of the reply guard on purpose: it is how a weakened guard would be noticed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.decision.messages import SOURCES_HEADING
from bridge.eval.capture import Write
from bridge.eval.cases import Expectation
from bridge.knowledge.types import Passage

# Decisions that write nothing to the customer count as "silent" for the outcome.
OUTCOME_OF_KIND = {
    "reply": "reply",
    "clarify": "clarify",
    "escalate": "escalate",
    "silent": "silent",
    "ignore": "silent",
}

_NUMBER_RE = re.compile(r"\d+(?:[.,:]\d+)*")


@dataclass
class Actual:
    """What the pipeline decided and wrote for one case."""

    kind: str
    reason: str
    rule_id: str | None = None
    text: str | None = None
    group: str | None = None
    priority: str | None = None
    citations: Sequence[dict[str, Any]] = ()
    writes: Sequence[Write] = ()
    error: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    write_status: str | None = None

    @property
    def outcome(self) -> str:
        if self.error is not None:
            return "error"
        if self.write_status == "skipped":
            # Decided before the history was read; the re-check found a person on the ticket
            # and nothing was written. What the customer got is silence.
            return "silent"
        return OUTCOME_OF_KIND.get(self.kind, self.kind)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"outcome": self.outcome, "kind": self.kind, "reason": self.reason}
        if self.write_status:
            out["write_status"] = self.write_status
        if self.rule_id:
            out["rule_id"] = self.rule_id
        if self.group is not None:
            out["group"] = self.group
        if self.citations:
            out["cites"] = [c.get("passage_id") for c in self.citations]
        if self.text is not None:
            out["text"] = self.text
        if self.error is not None:
            out["error"] = self.error
        return out


def compare(
    expect: Expectation,
    actual: Actual,
    passage: Callable[[str], Passage | None],
) -> tuple[list[str], list[str]]:
    """The problems (empty when the case passes) and any invented numbers in a reply."""
    if actual.error is not None:
        return [f"the pipeline failed: {actual.error}"], []
    problems: list[str] = []
    if actual.outcome != expect.outcome:
        problems.append(
            f"outcome: expected {expect.outcome}, got {actual.outcome} ({actual.reason})"
        )
    elif expect.outcome == "escalate":
        if expect.reasons and actual.reason not in expect.reasons:
            wanted = " or ".join(expect.reasons)
            problems.append(f"reason: expected {wanted}, got {actual.reason}")
        if expect.group is not None and (actual.group or "").lower() != expect.group.lower():
            problems.append(f"group: expected {expect.group}, got {actual.group or '(none)'}")
    if expect.outcome == "reply" and actual.outcome == "reply":
        for alternatives in expect.cites:
            if not any(cites(c, w) for c in actual.citations for w in alternatives):
                got = ", ".join(str(c.get("passage_id")) for c in actual.citations) or "nothing"
                problems.append(f"cites: expected {' or '.join(alternatives)}, cited {got}")

    said = _squash(actual.text or "")
    for phrase in expect.contains:
        if _squash(phrase) not in said:
            problems.append(f"contains: {phrase!r} is not in what the customer was told")
    for phrase in expect.not_contains:
        if _squash(phrase) in said:
            problems.append(f"not_contains: {phrase!r} is in what the customer was told")

    problems.extend(write_problems(actual))

    invented: list[str] = []
    if actual.outcome == "reply" and expect.no_invented_numbers:
        invented, missing = invented_numbers(actual.text or "", actual.citations, passage)
        problems.extend(f"cites: passage {pid} is not in the knowledge base" for pid in missing)
        if invented:
            problems.append(
                "invented numbers: " + ", ".join(invented) + " not found in the cited passages"
            )
    return problems, invented


def write_problems(actual: Actual) -> list[str]:
    """The helpdesk writes must match the decision: silence writes nothing, the rest write."""
    if actual.outcome == "silent":
        if actual.writes:
            actions = ", ".join(w.action for w in actual.writes)
            return [f"writes: decided {actual.kind} but wrote to the helpdesk ({actions})"]
        return []
    if not actual.writes:
        return [f"writes: decided {actual.kind} but nothing was written to the helpdesk"]
    return []


def cites(citation: dict[str, Any], wanted: str) -> bool:
    """A citation matches a passage id, its file ("reset-password.md"), or its (article) title."""
    passage_id = str(citation.get("passage_id") or "")
    title = str(citation.get("title") or "")
    wanted_lower = wanted.strip().lower()
    if passage_id == wanted or passage_id.split("#", 1)[0] == wanted:
        return True
    titles = {title.lower(), title.split(" › ", 1)[0].lower()}
    return wanted_lower in titles


def reply_body(text: str) -> str:
    """The answer itself: without the sources list and the signature the bot adds."""
    body = text.split(SOURCES_HEADING, 1)[0]
    kept = [line for line in body.splitlines() if not line.startswith("— ")]
    return "\n".join(kept)


def invented_numbers(
    text: str,
    citations: Sequence[dict[str, Any]],
    passage: Callable[[str], Passage | None],
) -> tuple[list[str], list[str]]:
    """Numbers of the reply that no cited passage contains, and citations that cannot be found."""
    sources: list[str] = []
    missing: list[str] = []
    for citation in citations:
        pid = str(citation.get("passage_id"))
        found = passage(pid)
        if found is None:
            missing.append(pid)
            continue
        sources.append(" ".join((found.title, found.text, found.url or "")))
    available = {_number_value(n) for n in _NUMBER_RE.findall("\n".join(sources))}
    invented = [
        raw
        for raw in dict.fromkeys(_NUMBER_RE.findall(reply_body(text)))
        if _number_value(raw) not in available
    ]
    return invented, missing


def _number_value(raw: str) -> str:
    """One spelling per value: "1,000" is "1000", "8.00" is "8"; times and versions as written."""
    if ":" in raw:
        return raw
    groups = re.split(r"[.,]", raw)
    if len(groups) > 1 and len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]):
        return str(int("".join(groups)))
    if len(groups) == 2:
        fraction = groups[1].rstrip("0")
        return str(int(groups[0])) + (f".{fraction}" if fraction else "")
    if len(groups) == 1:
        return str(int(raw))
    return raw


def _squash(text: str) -> str:
    return " ".join(text.lower().split())
