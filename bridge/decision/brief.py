"""The escalation brief: what the agent who takes over needs, so the customer never repeats."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bridge.events import Customer, Message, Role

REASON_TITLES = {
    "human_request": "Customer asked for a person",
    "missing_knowledge": "The help docs do not cover this question",
    "low_confidence": "The best matching docs were not a confident match",
    "ungrounded": "The drafted answer could not be tied to the docs",
    "unresolved_after_clarification": "Still unresolved after one clarifying question",
    "unreadable_message": "The message had no text the assistant could read",
    "ai_unavailable": "The AI answerer was unavailable",
}


def reason_title(reason: str) -> str:
    return REASON_TITLES.get(reason, reason.replace("_", " ").capitalize())


def build_brief(
    *,
    reason: str,
    evidence: dict[str, Any],
    latest: Message,
    conversation: Sequence[Message],
    customer: Customer,
    subject: str | None,
    group: str | None,
    label: str,
) -> str:
    """Plain text so it reads well in every helpdesk's internal-note editor."""
    lines = [f"[{label}] Escalation brief", ""]
    lines.append(f"Reason: {reason_title(reason)} ({reason})")
    signals = evidence.get("matched") or evidence.get("signals")
    if signals:
        shown = signals if isinstance(signals, str) else "; ".join(map(str, signals))
        lines.append(f"Evidence: {shown}")
    if group:
        lines.append(f"Routed to: {group}")
    if subject:
        lines.append(f"Subject: {subject}")

    who = [part for part in (customer.name, customer.email) if part]
    if who or customer.fields:
        lines.append("")
        lines.append("Customer: " + (" · ".join(who) if who else "(unknown)"))
        for key, value in sorted(customer.fields.items()):
            if value not in (None, "", [], {}):
                shown = ", ".join(map(str, value)) if isinstance(value, list) else value
                lines.append(f"  {key}: {shown}")

    lines += ["", "Latest customer message:", _quote(latest.text)]

    earlier = [m for m in conversation if m.role is Role.CUSTOMER and m.id != latest.id]
    if earlier:
        lines += ["", f"Earlier customer messages ({len(earlier)}):"]
        lines += [_quote(m.text, limit=300) for m in earlier[-3:]]

    answered = [m for m in conversation if m.role is Role.BOT]
    lines += ["", "What the assistant already tried:"]
    if answered:
        lines += [_quote(m.text, limit=400) for m in answered[-3:]]
    else:
        lines.append("  nothing yet: this is the assistant's first turn on the ticket")
    tried = evidence.get("retrieved")
    if tried:
        lines.append("  docs consulted: " + "; ".join(tried))
    return "\n".join(lines)


def _quote(text: str, limit: int = 1500) -> str:
    text = text.strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines() or [""])
