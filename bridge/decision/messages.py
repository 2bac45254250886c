"""Customer-facing text: replies labelled as AI with their sources, and handoff messages."""

from __future__ import annotations

from collections.abc import Sequence

from bridge.config import Policy
from bridge.decision.model import Citation


def format_reply(answer_text: str, citations: Sequence[Citation], policy: Policy) -> str:
    label = policy.assistant.label
    lines = [answer_text.strip(), ""]
    if citations:
        lines.append("Sources:")
        for citation in citations:
            lines.append(f"- {citation.title}" + (f": {citation.url}" if citation.url else ""))
        lines.append("")
    lines.append(
        f"— {label} (automated answer from our help articles). "
        'If this doesn\'t solve it, reply "talk to a person" and our team will take over.'
    )
    return "\n".join(lines)


def format_clarifying_question(question: str, policy: Policy) -> str:
    return f"{question.strip()}\n\n— {policy.assistant.label} (automated)"


def format_handoff(
    reason: str, group: str | None, policy: Policy, template: str | None = None
) -> str:
    """``template`` (a trigger's own message) wins over the per-reason and default messages."""
    template = template or policy.handoff.messages.get(reason, policy.handoff.message)
    text = template.replace("{group}", group or "our support team")
    return f"{text}\n\n— {policy.assistant.label} (automated)"
