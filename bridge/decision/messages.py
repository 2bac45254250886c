"""Customer-facing text: replies labelled as AI with their sources and a way out, handoffs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from bridge.decision.hours import reply_expectation
from bridge.decision.model import Citation
from bridge.decision.phrases import SENTENCES, phrases_for
from bridge.policy import DEFAULT_IN_HOURS, DEFAULT_OUT_OF_HOURS, BusinessHours, Policy

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
    reason, then its default); then the per-reason message; then the default message. The
    reply time is said in the language of the message picked.
    """
    handoff = policy.handoff
    translated = handoff.translations.get(language or "", {})
    own = translated.get(reason) or translated.get("default")
    if template or not own or not language:
        text = template or handoff.messages.get(reason) or handoff.message
        text_language, translated = handoff.language, {}
    else:
        text, text_language = own, language
    hours = _hours_in(policy, text_language, translated)
    phrases = phrases_for(text_language, handoff.phrases.get(text_language))
    when = reply_expectation(hours, now, phrases)
    text = text.replace("{group}", group or phrases.support_team).replace("{when}", when)
    return f"{' '.join(text.split())}\n\n— {policy.assistant.label} ({phrases.automated})"


def _signature(policy: Policy, what: str) -> str:
    line = f"— {policy.assistant.label} ({what})."
    if policy.assistant.way_out:
        line = f"{line} {policy.assistant.way_out}"
    return line


def _hours_in(policy: Policy, language: str, translated: Mapping[str, str]) -> BusinessHours:
    """Business hours whose reply-time sentences are in ``language``.

    A translation's own sentence comes first. business_hours' sentences are written in the
    team's base language, so another language gets its built-in sentence, as does the base
    language when business_hours still has the shipped English one and the base is not English.
    """
    hours = policy.business_hours
    built_in = SENTENCES.get(language, {})
    sentences = {}
    for key, configured, shipped in (
        ("in_hours", hours.in_hours, DEFAULT_IN_HOURS),
        ("out_of_hours", hours.out_of_hours, DEFAULT_OUT_OF_HOURS),
    ):
        if key in translated:
            sentences[key] = translated[key]
        elif key in built_in and (language != policy.handoff.language or configured == shipped):
            sentences[key] = built_in[key]
        else:
            sentences[key] = configured
    return replace(hours, **sentences)
