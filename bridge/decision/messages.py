"""Customer-facing text: replies labelled as AI with their sources and a way out, handoffs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bridge.decision.hours import is_open, reply_expectation
from bridge.decision.model import Citation
from bridge.policy import BusinessHours, Policy

SOURCES_HEADING = "Sources:"


def format_reply(answer_text: str, citations: Sequence[Citation], policy: Policy) -> str:
    lines = [answer_text.strip(), ""]
    if citations:
        lines.append(SOURCES_HEADING)
        for citation in citations:
            lines.append(f"- {citation.title}" + (f": {citation.url}" if citation.url else ""))
        lines.append("")
    lines.append(_signature(policy, "automated answer from our help articles"))
    return "\n".join(lines)


def format_clarifying_question(question: str, policy: Policy) -> str:
    return f"{question.strip()}\n\n{_signature(policy, 'automated')}"


def format_handoff(
    reason: str,
    group: str | None,
    policy: Policy,
    *,
    now: datetime,
    language: str | None = None,
    template: str | None = None,
) -> str:
    """The handoff message: who takes over, that they see everything, and when they'll reply.

    A trigger's own ``template`` wins; then a translation for the customer's language (per
    reason, then its default); then the per-reason message; then the default message.
    """
    translated = policy.handoff.translations.get(language or "", {})
    text = (
        template
        or translated.get(reason)
        or translated.get("default")
        or policy.handoff.messages.get(reason)
        or policy.handoff.message
    )
    hours = policy.business_hours
    when = reply_expectation(hours, now)
    # A translated message should say "when" in the same language if the team wrote it.
    key = "in_hours" if is_open(hours, now) else "out_of_hours"
    if key in translated:
        when = reply_expectation(_with_sentence(policy, key, translated[key]), now)
    text = text.replace("{group}", group or "our support team").replace("{when}", when)
    return f"{' '.join(text.split())}\n\n— {policy.assistant.label} (automated)"


def _signature(policy: Policy, what: str) -> str:
    line = f"— {policy.assistant.label} ({what})."
    if policy.assistant.way_out:
        line = f"{line} {policy.assistant.way_out}"
    return line


def _with_sentence(policy: Policy, key: str, sentence: str) -> BusinessHours:
    return replace(policy.business_hours, **{key: sentence})
