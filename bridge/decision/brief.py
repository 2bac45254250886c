"""The escalation brief: what the agent who takes over needs, so the customer never repeats.

Plain text, one fact per line, about fifteen lines at most: it is read in a helpdesk's
internal-note pane between two other tickets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.decision.messages import SOURCES_HEADING
from bridge.events import Customer, Message, Role

REASON_TITLES = {
    "human_request": "Customer asked for a person",
    "refund": "Refund request",
    "billing_dispute": "Billing dispute",
    "cancellation": "Cancellation request",
    "account_action": "Needs an action on the account",
    "legal_privacy": "Legal or privacy matter",
    "security": "Security concern",
    "frustration": "Customer is frustrated",
    "high_value": "Sales opportunity",
    "vip": "VIP customer",
    "new_customer": "New customer",
    "loop": "The conversation is going in circles",
    "missing_knowledge": "The help docs do not cover this question",
    "low_confidence": "The best matching docs were not a confident match",
    "ungrounded": "The drafted answer could not be tied to the docs",
    "unsafe_reply": "The drafted answer failed a safety check",
    "unresolved_after_clarification": "Still unresolved after one clarifying question",
    "unreadable_message": "The message had no text the assistant could read",
    "ai_unavailable": "The AI answerer was unavailable",
    "model_triage": "The AI judged that a person should take this",
}

NEXT_STEPS = {
    "human_request": "Reply personally; the customer asked not to talk to the assistant.",
    "refund": "Check the payment and the refund policy, then refund or explain.",
    "billing_dispute": "Compare the charges with the billing record before replying.",
    "cancellation": "Confirm what to cancel and when; offer alternatives only once.",
    "account_action": "Verify the requester owns the account, then perform the change.",
    "legal_privacy": "Loop in legal/privacy; note any statutory deadline (e.g. GDPR 30 days).",
    "security": "Secure the account first (sessions, password, card), then investigate.",
    "frustration": "Acknowledge the frustration and own the fix; avoid links to articles.",
    "high_value": "Pass to sales or answer with pricing and a call offer.",
    "vip": "Handle with priority per the VIP agreement.",
    "new_customer": "Welcome them and help with onboarding.",
    "loop": "Read the thread: the assistant's answers did not resolve it.",
    "missing_knowledge": "Answer, then consider adding the answer to the help center.",
    "low_confidence": "Answer; the closest articles may be outdated or ambiguous.",
    "ungrounded": "Answer from the articles listed; the drafted reply was held back.",
    "unsafe_reply": "Answer yourself; the drafted reply was held back by a safety check.",
    "unresolved_after_clarification": "Answer with the details the customer gave.",
    "unreadable_message": "Open the ticket: the message may be an attachment or image.",
    "ai_unavailable": "Answer yourself; the AI could not be reached.",
    "model_triage": "Read the AI's triage note in the evidence, then reply personally.",
}

_CUSTOMER_FIELDS = ("organization", "tier", "plan", "account_age_days", "account_created_at")


def reason_title(reason: str) -> str:
    return REASON_TITLES.get(reason, reason.replace("_", " ").capitalize())


@dataclass(frozen=True)
class BriefFacts:
    """Everything the brief says, gathered by the decision core."""

    reason: str
    evidence: dict[str, Any]
    latest: Message
    conversation: Sequence[Message]
    customer: Customer
    label: str
    subject: str | None = None
    group: str | None = None
    priority: str | None = None
    language: str | None = None
    channel: str | None = None
    risk_flags: Sequence[str] = field(default_factory=tuple)


def build_brief(facts: BriefFacts) -> str:
    lines = [f"[{facts.label}] Handoff: {reason_title(facts.reason)} ({facts.reason})"]
    lines.append(f"Summary: {_summary(facts.latest.text, facts.subject)}")
    lines.append(f"Customer: {_customer_line(facts.customer)}")
    context = [
        part
        for part in (
            f"channel {facts.channel}" if facts.channel else None,
            f"language {facts.language}" if facts.language else None,
        )
        if part
    ]
    if context:
        lines.append("Context: " + ", ".join(context))
    evidence = _evidence(facts.evidence)
    if evidence:
        lines.append(f"Why: {evidence}")
    if facts.risk_flags:
        lines.append("Risk flags: " + ", ".join(facts.risk_flags))
    lines.append("AI already answered: " + _answered(facts.conversation))
    tried = [m for m in facts.conversation if m.role is Role.CUSTOMER and m.id != facts.latest.id]
    if tried:
        lines.append("Customer earlier: " + " | ".join(_clip(m.text, 90) for m in tried[-2:]))
    lines.append(f"Latest message: {_clip(facts.latest.text, 300)}")
    routed = facts.group or "(default)"
    if facts.priority:
        routed = f"{routed}, priority {facts.priority}"
    lines.append(f"Routed to: {routed}")
    lines.append(f"Suggested next step: {NEXT_STEPS.get(facts.reason, 'Reply to the customer.')}")
    return "\n".join(lines)


def _summary(text: str, subject: str | None) -> str:
    first = re.split(r"(?<=[.!?])\s+", " ".join(text.split()), maxsplit=1)[0]
    summary = _clip(first, 140) if first else "(no text)"
    return f"{summary} [subject: {_clip(subject, 60)}]" if subject else summary


def _customer_line(customer: Customer) -> str:
    parts = [customer.name or "(name unknown)"]
    if customer.email:
        parts[0] = f"{parts[0]} <{customer.email}>"
    for key in _CUSTOMER_FIELDS:
        value = customer.fields.get(key)
        if value not in (None, "", [], {}):
            parts.append(f"{key.replace('_', ' ')}: {value}")
    return " · ".join(parts)


def _evidence(evidence: dict[str, Any]) -> str:
    shown: list[str] = []
    matched = evidence.get("matched")
    if matched:
        shown.append("; ".join(f'"{m}"' for m in matched))
    if "confidence" in evidence:
        shown.append(f"confidence {evidence['confidence']}")
    triage = evidence.get("model_triage")
    if triage:
        shown.append(
            "AI triage: " + ", ".join(f"{k} {v}" for k, v in triage.items() if k != "escalate")
        )
    if evidence.get("error"):
        shown.append(f"error: {_clip(str(evidence['error']), 120)}")
    retrieved = evidence.get("retrieved")
    if retrieved:
        shown.append("docs consulted: " + "; ".join(retrieved[:3]))
    return " · ".join(shown)


def _answered(conversation: Sequence[Message]) -> str:
    replies = [m for m in conversation if m.role is Role.BOT]
    if not replies:
        return "nothing yet (first turn)"
    cited: list[str] = []
    for reply in replies:
        cited.extend(_cited_titles(reply.text))
    count = f"{len(replies)} repl{'y' if len(replies) == 1 else 'ies'}"
    if cited:
        return f"{count}, citing " + "; ".join(dict.fromkeys(cited))
    return f"{count}; last: {_clip(replies[-1].text, 120)}"


def _cited_titles(text: str) -> list[str]:
    if SOURCES_HEADING not in text:
        return []
    after = text.split(SOURCES_HEADING, 1)[1]
    titles = []
    for line in after.splitlines():
        if line.startswith("- "):
            titles.append(line[2:].split(": http", 1)[0].strip())
        elif line.strip():
            break
    return titles


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
