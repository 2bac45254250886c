"""The decision core.

Two pure steps, so the shell only pays for retrieval and the answerer when they are needed:
``triage`` settles everything that does not need the docs (who spoke, whether a human has the
ticket, escalation triggers); ``settle`` turns the answerer's output into a reply or a handoff.
"""

from __future__ import annotations

from collections.abc import Sequence

from bridge.config import Policy
from bridge.decision import triggers
from bridge.decision.brief import build_brief
from bridge.decision.messages import format_clarifying_question, format_handoff, format_reply
from bridge.decision.model import Citation, Decision, DecisionKind, TicketStatus, TicketView
from bridge.decision.routing import route
from bridge.events import Customer, Message, Role
from bridge.knowledge.types import Answer, AnswerKind, Hit

MAX_CLARIFICATIONS = 1


def triage(
    message: Message | None,
    conversation: Sequence[Message],
    ticket: TicketView,
    policy: Policy,
    *,
    customer: Customer | None = None,
    subject: str | None = None,
) -> Decision | None:
    """Decide without the docs, or return None when the answerer must be consulted."""
    if message is None or message.role is Role.SYSTEM:
        return Decision(DecisionKind.IGNORE, "no_message", "who.system")
    if message.role is Role.BOT:
        return Decision(DecisionKind.IGNORE, "own_message", "who.bot")
    if message.role is Role.OTHER_BOT:
        return Decision(DecisionKind.IGNORE, "other_bot", "who.other_bot")
    if message.role is Role.AGENT:
        return Decision(
            DecisionKind.SILENT,
            "human_active",
            "who.agent",
            marks_human_active=True,
            evidence={"agent_message_id": message.id},
        )

    if ticket.status is TicketStatus.HUMAN_ACTIVE:
        return Decision(DecisionKind.SILENT, "human_active", "state.human_active")
    if ticket.status is TicketStatus.ESCALATED:
        return Decision(DecisionKind.SILENT, "already_escalated", "state.escalated")
    agent = next((m for m in conversation if m.role is Role.AGENT), None)
    if agent is not None:
        return Decision(
            DecisionKind.SILENT,
            "human_active",
            "history.agent",
            marks_human_active=True,
            evidence={"agent_message_id": agent.id},
        )

    customer = customer or Customer()
    if not message.text.strip():
        return _escalate(
            "unreadable_message",
            "message.empty",
            {},
            message,
            conversation,
            policy,
            customer,
            subject,
        )

    trigger = policy.triggers["human_request"]
    if trigger.enabled and trigger.rollout != "off":
        hit = triggers.human_request(message.text, trigger.extra_phrases)
        if hit:
            return _escalate(
                hit.reason,
                hit.rule_id,
                {"matched": list(hit.evidence)},
                message,
                conversation,
                policy,
                customer,
                subject,
                trigger_group=trigger.group,
                trigger_message=trigger.message,
            )
    return None


def settle(
    message: Message,
    conversation: Sequence[Message],
    ticket: TicketView,
    hits: Sequence[Hit],
    answer: Answer,
    policy: Policy,
    *,
    customer: Customer | None = None,
    subject: str | None = None,
) -> Decision:
    """Turn the answerer's output into a grounded reply, one clarifying question, or a handoff."""
    customer = customer or Customer()
    retrieved = {hit.passage.id: hit.passage for hit in hits}
    evidence = {
        "retrieved": [hit.passage.title for hit in hits],
        "confidence": round(answer.confidence, 3),
        "answer_kind": answer.kind.value,
    }

    def escalate(reason: str, rule_id: str) -> Decision:
        return _escalate(
            reason,
            rule_id,
            evidence,
            message,
            conversation,
            policy,
            customer,
            subject,
            confidence=answer.confidence,
        )

    if not hits or answer.kind is AnswerKind.NOT_COVERED:
        return escalate("missing_knowledge", "answer.not_covered")
    if answer.kind is AnswerKind.CLARIFY:
        if ticket.clarifications >= MAX_CLARIFICATIONS:
            return escalate("unresolved_after_clarification", "answer.clarify_budget_spent")
        return Decision(
            DecisionKind.CLARIFY,
            "clarify",
            "answer.clarify",
            text=format_clarifying_question(answer.text, policy),
            evidence=evidence,
            confidence=answer.confidence,
        )
    if answer.confidence < policy.answer.min_confidence:
        return escalate("low_confidence", "answer.min_confidence")
    # A reply may only cite what retrieval actually returned: no citation, no reply.
    cited = [pid for pid in dict.fromkeys(answer.cited_ids) if pid in retrieved]
    if not cited or len(cited) != len(set(answer.cited_ids)):
        return escalate("ungrounded", "answer.citations")
    citations = tuple(
        Citation(pid, retrieved[pid].title, retrieved[pid].url)
        for pid in cited[: policy.answer.max_citations]
    )
    return Decision(
        DecisionKind.REPLY,
        "answered",
        "answer.grounded",
        text=format_reply(answer.text, citations, policy),
        citations=citations,
        evidence=evidence,
        confidence=answer.confidence,
    )


def _escalate(
    reason: str,
    rule_id: str,
    evidence: dict[str, object],
    message: Message,
    conversation: Sequence[Message],
    policy: Policy,
    customer: Customer,
    subject: str | None,
    *,
    trigger_group: str | None = None,
    trigger_message: str | None = None,
    confidence: float | None = None,
) -> Decision:
    group, route_rule = route(reason, policy, trigger_group)
    handoff = format_handoff(reason, group, policy, trigger_message)
    brief = build_brief(
        reason=reason,
        evidence=dict(evidence),
        latest=message,
        conversation=conversation,
        customer=customer,
        subject=subject,
        group=group,
        label=policy.assistant.label,
    )
    return Decision(
        DecisionKind.ESCALATE,
        reason,
        rule_id,
        text=handoff,
        group=group,
        tags=(*policy.handoff.tags, f"ai_reason_{reason}"),
        brief=brief,
        evidence={**evidence, "route": route_rule},
        confidence=confidence,
    )


def answerer_failed(
    message: Message,
    conversation: Sequence[Message],
    policy: Policy,
    error: str,
    *,
    customer: Customer | None = None,
    subject: str | None = None,
) -> Decision:
    """The answerer errored or timed out: hand off now rather than leave the customer waiting."""
    return _escalate(
        "ai_unavailable",
        "answer.error",
        {"error": error},
        message,
        conversation,
        policy,
        customer or Customer(),
        subject,
    )
