"""The decision core.

Two pure steps, so the shell only pays for retrieval and the answerer when they are needed:
``triage`` settles everything that does not need the docs (who spoke, whether a human has the
ticket, escalation triggers); ``settle`` turns the answerer's output into a reply or a handoff.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bridge.decision import guard, triggers
from bridge.decision.brief import BriefFacts, build_brief
from bridge.decision.language import detect_language
from bridge.decision.messages import format_clarifying_question, format_handoff, format_reply
from bridge.decision.model import (
    Citation,
    Decision,
    DecisionKind,
    Situation,
    TicketStatus,
    TicketView,
)
from bridge.decision.routing import RoutingContext, route
from bridge.events import Message, Role
from bridge.knowledge.types import Answer, AnswerKind, Hit
from bridge.policy import Policy, TriggerSettings

MAX_CLARIFICATIONS = 1
# What an LLM answerer reports about its call, kept on the decision for cost and latency review.
_USAGE_NOTES = (
    "answerer",
    "model",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


#: Longer customer messages are handed to a person unread (a long email is ~10,000 characters).
MAX_MESSAGE_CHARS = 20_000


def triage(situation: Situation, policy: Policy) -> Decision | None:
    """Decide without the docs, or return None when the answerer must be consulted."""
    message = situation.message
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

    resumed_after = resumes(situation, policy)
    if resumed_after is not None:
        # Only what came after the solve counts: the old handoff must not trigger a new one.
        situation = replace(
            situation,
            ticket=TicketView(status=TicketStatus.OPEN),
            conversation=[
                m
                for m in situation.conversation
                if m.created_at is None or m.created_at > resumed_after
            ],
        )
    elif situation.ticket.status is TicketStatus.HUMAN_ACTIVE:
        return Decision(DecisionKind.SILENT, "human_active", "state.human_active")
    elif situation.ticket.status is TicketStatus.ESCALATED:
        return Decision(DecisionKind.SILENT, "already_escalated", "state.escalated")
    agent = next((m for m in situation.conversation if m.role is Role.AGENT), None)
    if agent is not None:
        return Decision(
            DecisionKind.SILENT,
            "human_active",
            "history.agent",
            marks_human_active=True,
            evidence={"agent_message_id": agent.id},
        )

    if not message.text.strip():
        return _escalate(situation, policy, "unreadable_message", "message.empty", {})
    if len(message.text) > MAX_MESSAGE_CHARS:
        # The trigger patterns cost more than linear time in the text: a message of a megabyte
        # would hold a worker for an hour. A person reads it instead.
        evidence = {"characters": len(message.text)}
        return _escalate(situation, policy, "unreadable_message", "message.too_long", evidence)

    if _is_way_out(message.text, policy):
        return _escalate(
            situation,
            policy,
            "human_request",
            "human_request.way_out",
            {"matched": [message.text.strip()]},
            trigger=policy.triggers["human_request"],
        )
    context = _trigger_context(situation, message)
    hits = triggers.all_hits(context, policy.triggers)
    if hits:
        first, *others = hits
        settings = policy.triggers[first.reason]
        return _escalate(
            situation,
            policy,
            first.reason,
            first.rule_id,
            {"matched": list(first.evidence)},
            trigger=settings,
            risk_flags=[hit.reason for hit in others],
        )
    return None


def settle(
    situation: Situation,
    hits: Sequence[Hit],
    answer: Answer,
    policy: Policy,
    *,
    secrets: Sequence[str] = (),
) -> Decision:
    """Turn the answerer's output into a grounded reply, one clarifying question, or a handoff.

    ``secrets`` are configured values (API keys, helpdesk tokens) that must never reach a
    customer; the guard also rejects anything shaped like a key without being told.
    """
    retrieved = {hit.passage.id: hit.passage for hit in hits}
    evidence: dict[str, Any] = {
        "retrieved": [hit.passage.title for hit in hits],
        "confidence": round(answer.confidence, 3),
        "answer_kind": answer.kind.value,
    }
    usage = {key: answer.notes[key] for key in _USAGE_NOTES if key in answer.notes}
    if usage or answer.tokens:
        evidence["answerer"] = {**usage, "tokens": answer.tokens}

    def escalate(reason: str, rule_id: str, finding: guard.Finding | None = None) -> Decision:
        if finding is not None:
            evidence["matched"] = list(finding.signals)  # the brief shows these to the agent
        return _escalate(situation, policy, reason, rule_id, evidence, confidence=answer.confidence)

    # An LLM answerer also triages the message. Its call can add a handoff the rules missed,
    # never remove one: the rule triggers already ran and they are the floor.
    if answer.notes.get("triage_escalate") == "true":
        reason = answer.notes.get("triage_reason", "").strip().lower().replace(" ", "_")
        evidence["model_triage"] = {
            key.removeprefix("triage_"): value
            for key, value in answer.notes.items()
            if key.startswith("triage_")
        }
        known = reason in policy.triggers and policy.triggers[reason].rollout != "off"
        return escalate(reason if known else "model_triage", "answer.model_triage")
    if not hits:
        return escalate("missing_knowledge", "answer.not_covered")
    if answer.kind is AnswerKind.NOT_COVERED:
        if _partly_covered(answer, policy):
            return escalate("low_confidence", "answer.partial_coverage")
        return escalate("missing_knowledge", "answer.not_covered")
    if answer.kind is AnswerKind.CLARIFY:
        if situation.ticket.clarifications >= MAX_CLARIFICATIONS:
            return escalate("unresolved_after_clarification", "answer.clarify_budget_spent")
        # A question cites nothing, so only the safety half of the guard applies to it.
        unsafe = guard.check_safety(answer.text, secrets=secrets)
        if unsafe is not None:
            return escalate(unsafe.reason, unsafe.rule_id, unsafe)
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
    # Whatever the answerer, the text itself must be backed by what it cites and safe to send.
    finding = guard.check_reply(answer.text, cited, retrieved, secrets=secrets)
    if finding is not None:
        return escalate(finding.reason, finding.rule_id, finding)
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


def _partly_covered(answer: Answer, policy: Policy) -> bool:
    """Whether a NOT_COVERED answer still found docs close to the question.

    Teams act on the two handoffs differently: missing_knowledge asks for a new article,
    low_confidence for a look at the articles that came close. Every answerer reports how much
    of the question the passages answer on the same 0..1 scale, so one band serves them all.
    A confidence at or above min_confidence contradicts NOT_COVERED (a model that is sure the
    docs lack the answer may report how sure it is), so the answerer's verdict stands there.
    """
    confidence = answer.confidence
    floor = policy.answer.low_confidence_floor
    return confidence > 0.0 and floor <= confidence < policy.answer.min_confidence


def answerer_failed(situation: Situation, policy: Policy, error: str) -> Decision:
    """The answerer errored or timed out: hand off now rather than leave the customer waiting."""
    return _escalate(situation, policy, "ai_unavailable", "answer.error", {"error": error})


def resumes(situation: Situation, policy: Policy) -> datetime | None:
    """When the bot may speak again on a handed-over ticket: since its solve, if allowed."""
    ticket = situation.ticket
    if ticket.status is TicketStatus.OPEN or not policy.handoff.resume_after_solved:
        return None
    return ticket.solved_at if ticket.reopened_after_solve() else None


def _is_way_out(text: str, policy: Policy) -> bool:
    """The word every reply tells customers to send for a person always works, whatever it is."""
    quoted = re.findall(r'"([^"]+)"|“([^”]+)”', policy.assistant.way_out)
    words = {triggers.normalise(a or b) for a, b in quoted}
    said = triggers.normalise(re.sub(r"[^\w\s]", " ", text))
    return bool(said) and said in words


def _trigger_context(situation: Situation, message: Message) -> triggers.TriggerContext:
    conversation = list(situation.conversation) or [message]
    return triggers.TriggerContext(
        message=message,
        conversation=conversation,
        ticket=situation.ticket,
        customer=situation.customer,
        tags=situation.tags,
        now=situation.now,
    )


def _escalate(
    situation: Situation,
    policy: Policy,
    reason: str,
    rule_id: str,
    evidence: dict[str, Any],
    *,
    trigger: TriggerSettings | None = None,
    risk_flags: Sequence[str] = (),
    confidence: float | None = None,
) -> Decision:
    message = situation.message
    assert message is not None  # only customer messages are escalated
    customer = situation.customer
    language = detect_language(message.text)
    tags = tuple(situation.tags) + tuple(customer.fields.get("tags") or ())
    context = RoutingContext(
        tier=_first(customer.fields, "tier", "plan"),
        language=language,
        tags=tags,
        channel=situation.channel,
        fields=customer.fields,
    )
    chosen = route(
        reason,
        policy,
        context,
        trigger_group=trigger.group if trigger else None,
        trigger_priority=trigger.priority if trigger else None,
    )
    handoff = format_handoff(
        reason,
        chosen.group,
        policy,
        now=situation.now,
        language=language,
        template=trigger.message if trigger else None,
    )
    brief = build_brief(
        BriefFacts(
            reason=reason,
            evidence=evidence,
            latest=message,
            conversation=situation.conversation,
            customer=customer,
            label=policy.assistant.label,
            subject=situation.subject,
            group=chosen.group,
            priority=chosen.priority,
            language=language,
            channel=situation.channel,
            risk_flags=tuple(risk_flags),
        )
    )
    return Decision(
        DecisionKind.ESCALATE,
        reason,
        rule_id,
        text=handoff,
        group=chosen.group,
        tags=(*policy.handoff.tags, f"ai_reason_{reason}"),
        brief=brief,
        evidence={**evidence, "route": chosen.rule_id, "risk_flags": list(risk_flags)},
        confidence=confidence,
        priority=chosen.priority,
        rollout=trigger.rollout if trigger else "auto",
        language=language,
    )


def _first(values: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = values.get(key)
        if value not in (None, ""):
            return str(value)
    return None
