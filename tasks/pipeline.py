"""One delivery, start to finish: decide, then write back under the ticket lock.

This is the imperative shell around the pure decision core. It is safe to run more than once
for the same delivery (a redelivered task after a worker died): a decision is recorded before
anything is written, and every write step is recorded as it completes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from bridge.config import Policy
from bridge.decision import (
    Citation,
    Decision,
    DecisionKind,
    answerer_failed,
    coalesce,
    resumes,
    settle,
    triage,
)
from bridge.decision.model import Situation, TicketStatus, TicketView
from bridge.events import Event, Message, Role, comparable, locate
from bridge.feedback.links import with_feedback_links
from bridge.knowledge.followup import with_previous_question
from bridge.runtime import Runtime
from bridge.store import repo
from bridge.store.models import Decision as DecisionRow
from bridge.store.models import Delivery
from connectors.base import Connector

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """The ticket is busy (locked, or an earlier event of it is pending), or the customer is
    still writing; try again shortly.

    ``exact``: run again after exactly ``countdown`` (a known wait), not after a growing pause.
    """

    def __init__(self, countdown: float, reason: str, *, exact: bool = False) -> None:
        super().__init__(f"{reason}; retry in {countdown:.1f}s")
        self.countdown = countdown
        self.reason = reason
        self.exact = exact


@dataclass(frozen=True)
class Burst:
    """The delivery being processed and the later ones of its ticket that join its decision."""

    event: Event  # the first delivery's event, carrying the joined message
    parts: tuple[Message, ...]  # each customer message, oldest first
    joined: tuple[int, ...] = ()  # the later deliveries' primary keys

    @classmethod
    def single(cls, event: Event) -> Burst:
        return cls(event, (event.message,) if event.message else ())

    @property
    def newest(self) -> Message | None:
        """Where the conversation stood when the decision was made: its replies follow this."""
        return self.parts[-1] if self.parts else self.event.message


class UnknownConnector(Exception):
    """The delivery names a connector that is no longer configured."""


@dataclass(frozen=True)
class Outcome:
    kind: str
    reason: str
    write_status: str


def process_delivery(runtime: Runtime, delivery_pk: int, owner: str) -> Outcome | None:
    """Decide and write back one delivery, holding its ticket's lock throughout.

    Holding the lock serialises the events of one ticket across workers, and an event waits
    while an earlier event of its ticket is still queued, so a customer message that follows
    an agent's comment is never decided before that comment.
    """
    store = runtime.store
    lock_ttl = runtime.config.worker.lock_timeout_seconds
    # Reading the delivery, taking the ticket's lock and reading what the decision needs share
    # one transaction: a wait (RetryLater) rolls the lock back with the rest, and each commit
    # saved is a round trip per message.
    with store.session() as session:
        delivery = session.get(Delivery, delivery_pk)
        if delivery is None or delivery.status in ("done", "dead"):
            return None
        event = Event.from_json(delivery.event)
        connector = runtime.connector(event.connector)
        if connector is None:
            raise UnknownConnector(f"connector {event.connector!r} is not configured")
        policy = runtime.connector_config(event.connector).policy
        if not repo.acquire_ticket_lock(session, event.connector, event.ticket_id, owner, lock_ttl):
            raise RetryLater(countdown=2, reason="another worker holds the ticket lock")
        if repo.earlier_pending_deliveries(session, delivery_pk, event.connector, event.ticket_id):
            raise RetryLater(countdown=1, reason="an earlier event on this ticket is still pending")
        row = repo.decision_for(session, delivery_pk)
        if row is None:
            burst = _gather_burst(session, runtime, delivery, event)  # may wait
        else:
            burst = _burst_of(session, event, row)
        delivery.attempts += 1
        delivery.touched_at = datetime.now(UTC)  # its task is alive: the sweep leaves it
        ticket = repo.view_of(repo.ticket_state(session, event.connector, event.ticket_id))
        posted = repo.posted_message_ids(session, event.connector, event.ticket_id)

    # This run holds the ticket's lock from here until it is released, on every path.
    released = False
    try:
        if row is None:
            started = time.monotonic()
            decision = decide(runtime, connector, policy, burst, ticket, posted)
            latency_ms = int((time.monotonic() - started) * 1000)
            row = _record_decision(runtime, delivery_pk, burst, decision, policy, latency_ms)
            decision = replace(decision, text=row.text)  # with its feedback links, if any
        else:
            decision = _decision_from_row(row)

        def close(session: Session) -> None:
            """The delivery is done and the ticket free, with the last record of its writes."""
            delivery = session.get(Delivery, delivery_pk)
            delivery.status = "done"
            delivery.finished_at = datetime.now(UTC)
            repo.release_ticket_lock(session, event.connector, event.ticket_id, owner)

        write_status = row.write_status
        if write_status == "pending":
            write_status = write_back(
                runtime, connector, policy, burst, decision, row.id, close=close
            )
        else:
            with store.session() as session:
                close(session)
        released = True
    finally:
        if not released:
            with store.session() as session:
                repo.release_ticket_lock(session, event.connector, event.ticket_id, owner)
    log.info(
        "ticket %s/%s: %s (%s), %s",
        event.connector,
        event.ticket_id,
        decision.kind.value,
        decision.reason,
        write_status,
    )
    return Outcome(decision.kind.value, decision.reason, write_status)


def _gather_burst(session: Session, runtime: Runtime, delivery: Delivery, event: Event) -> Burst:
    """This delivery and the customer's messages right after it, once the customer is quiet.

    Raises ``RetryLater`` while the customer may still be writing.
    """
    if not coalesce.joinable(event):
        return Burst.single(event)
    later = repo.later_pending_deliveries(
        session, delivery.id, event.connector, event.ticket_id, coalesce.MAX_JOINED
    )
    later_events = [Event.from_json(row.event) for row in later]
    count = coalesce.burst(event, later_events)
    joined = later[:count]
    received = [repo.as_utc(row.received_at) for row in (delivery, *joined)]
    wait = coalesce.wait_seconds(
        received[0], max(received), datetime.now(UTC), runtime.config.worker.coalesce_seconds
    )
    if wait > 0:
        raise RetryLater(wait, "waiting for the customer to finish writing", exact=True)
    parts = tuple(
        coalesce.in_order([e.message for e in (event, *later_events[:count]) if e.message])
    )
    return Burst(
        replace(event, message=coalesce.joined_message(parts)),
        parts,
        tuple(row.id for row in joined),
    )


def _burst_of(session: Session, event: Event, row: DecisionRow) -> Burst:
    """The burst an already recorded decision was made on (a task run again after a crash)."""
    joined = tuple((row.evidence or {}).get("coalesced") or ())
    parts = [event.message] if event.message else []
    for pk in joined:
        delivery = session.get(Delivery, pk)
        if delivery is not None:
            message = Event.from_json(delivery.event).message
            if message is not None:
                parts.append(message)
    parts = coalesce.in_order(parts)
    message = coalesce.joined_message(parts) if parts else None
    return Burst(replace(event, message=message), tuple(parts), joined)


def decide(
    runtime: Runtime,
    connector: Connector,
    policy: Policy,
    burst: Burst,
    ticket: TicketView,
    posted: set[str],
) -> Decision:
    event = burst.event
    decision, situation = _decide(runtime, connector, policy, burst, ticket, posted)
    # (not when the model just failed: asking it again would only delay the handoff)
    if decision.kind is DecisionKind.ESCALATE and decision.reason != "ai_unavailable":
        decision = _with_ai_summary(runtime, policy, decision, situation)
    since = resumes(Situation(event.message, ticket=ticket), policy)
    if since is not None:
        # The customer came back after a person solved the ticket: the shell reopens it.
        decision = replace(
            decision, evidence={**decision.evidence, "resumed_after": since.isoformat()}
        )
    return decision


def _decide(
    runtime: Runtime,
    connector: Connector,
    policy: Policy,
    burst: Burst,
    ticket: TicketView,
    posted: set[str],
) -> tuple[Decision, Situation]:
    event, message = burst.event, burst.event.message
    situation = Situation(
        message=message,
        conversation=[message] if message else [],
        ticket=ticket,
        customer=event.customer,
        subject=event.subject,
        tags=event.tags,
        channel=event.channel,
        now=runtime.clock(),
    )
    # First without the history: most events (our own, an agent's) need no API call at all.
    # A handoff waits for the history, though: an agent may already have the ticket.
    first_look = triage(situation, policy)
    if first_look is not None and (
        first_look.kind is not DecisionKind.ESCALATE or not connector.has_credentials
    ):
        return first_look, situation
    assert message is not None  # triage ignores message-less events

    if connector.has_credentials:
        conversation = _with_our_messages(connector.fetch_conversation(event.ticket_id), posted)
        conversation = _as_one_turn(conversation, burst)
        situation = replace(situation, conversation=conversation)
        with_history = triage(situation, policy)
        if with_history is not None:
            return with_history, situation

    hits = runtime.retriever.search(
        retrieval_query(message, situation.conversation), k=policy.answer.top_k
    )
    try:
        answer = runtime.answerer(policy).answer(
            message.text,
            [m.text for m in situation.conversation],
            hits,
            policy.assistant.product_context,
        )
    except Exception as exc:  # any answerer failure: the customer must not be left waiting
        log.exception("answerer failed on ticket %s", event.ticket_id)
        return answerer_failed(situation, policy, f"{type(exc).__name__}: {exc}"), situation
    return settle(situation, hits, answer, policy, secrets=runtime.secrets), situation


def _with_ai_summary(
    runtime: Runtime, policy: Policy, decision: Decision, situation: Situation
) -> Decision:
    """With an LLM answerer, the brief's summary line is written by the model from the
    transcript alone; the template's line stays whenever the model cannot or does not."""
    answerer = runtime.answerer(policy)
    summarize = getattr(answerer, "summarize", None)
    if summarize is None or decision.brief is None:
        return decision
    transcript = [m.text for m in situation.conversation if m.text.strip()]
    try:
        summary = summarize(transcript, decision.reason)
    except Exception:
        log.warning("handoff summary failed; the brief keeps its template summary", exc_info=True)
        return decision
    if not summary:
        return decision
    lines = decision.brief.splitlines()
    at = next((i for i, line in enumerate(lines) if line.startswith("Summary: ")), None)
    if at is None:
        return decision
    lines[at : at + 1] = summary.splitlines()
    return replace(decision, brief="\n".join(lines))


def retrieval_query(message: Message, conversation: Sequence[Message]) -> str:
    """What to search the docs for: the message, plus the customer's previous question when the
    message is a short follow-up that cannot be understood alone."""
    earlier = [m.text for m in conversation if m.role is Role.CUSTOMER and m.id != message.id]
    return with_previous_question(message.text, earlier)


def write_back(
    runtime: Runtime,
    connector: Connector,
    policy: Policy,
    burst: Burst,
    decision: Decision,
    decision_id: int,
    *,
    close: Callable[[Session], None] | None = None,
) -> str:
    """Perform the decision's writes (the caller holds the ticket lock); return the status.

    ``close`` runs in the transaction that records the outcome, so the caller's own end of
    the delivery costs no transaction of its own.
    """
    event = burst.event
    store, ticket_id = runtime.store, event.ticket_id
    if policy.mode == "dry_run":
        _finish(runtime, event, decision, decision_id, "recorded", close=close)
        return "recorded"

    latest: list[Message] = []
    if connector.has_credentials:
        with store.session() as session:
            posted = repo.posted_message_ids(session, event.connector, ticket_id)
        # Re-read just before writing: a human may have spoken while we were deciding.
        latest = _with_our_messages(connector.fetch_conversation(ticket_id), posted)
        resumed_after = decision.evidence.get("resumed_after")
        if resumed_after:
            # Reopened after a solve: the agents who spoke before it are not speaking now.
            since = datetime.fromisoformat(resumed_after)
            latest = [m for m in latest if m.created_at is None or m.created_at > since]
        if any(m.role is Role.AGENT for m in latest):
            _finish(
                runtime, event, decision, decision_id, "skipped", human_active=True, close=close
            )
            return "skipped"
    since = _messages_after(latest, burst.newest)
    with store.session() as session:
        done = list(session.get(DecisionRow, decision_id).writes_done or [])
    for step in _plan(decision, policy):
        if step in done:
            continue
        message_id = _perform(connector, ticket_id, step, decision, policy, since)
        with store.session() as session:
            row = session.get(DecisionRow, decision_id)
            row.writes_done = [*done, step]
            repo.record_posted(session, event.connector, ticket_id, message_id, decision_id)
        done.append(step)
    _finish(runtime, event, decision, decision_id, "written", close=close)
    return "written"


def _plan(decision: Decision, policy: Policy) -> list[str]:
    if decision.kind is DecisionKind.ESCALATE:
        # A trigger in draft rollout proposes the handoff to an agent instead of making it.
        if decision.rollout == "draft":
            return ["draft_handoff_note"]
        return ["handoff_message", "escalate"]
    if decision.kind in (DecisionKind.REPLY, DecisionKind.CLARIFY):
        return ["draft_note"] if policy.mode == "draft" else ["public_reply"]
    return []


def _perform(
    connector: Connector,
    ticket_id: str,
    step: str,
    decision: Decision,
    policy: Policy,
    since: list[Message],
) -> str | None:
    text = decision.text or ""
    if step in ("public_reply", "handoff_message"):
        if _already_posted(since, text):
            log.info("ticket %s: %s already on the ticket; not posting again", ticket_id, step)
            return None
        return connector.post_reply(ticket_id, text)
    if step == "draft_note":
        note = f"[{policy.assistant.label}] Suggested reply (not sent to the customer):\n\n{text}"
        if _already_posted(since, note):
            return None
        return connector.post_note(ticket_id, note)
    if step == "draft_handoff_note":
        note = (
            f"[{policy.assistant.label}] Suggested handoff (nothing was sent or changed):\n"
            f"Message to the customer:\n{text}\n\n{decision.brief or ''}"
        )
        if _already_posted(since, note):
            return None
        return connector.post_note(ticket_id, note)
    if step == "escalate":
        if decision.brief and _already_posted(since, decision.brief):
            # The note went in before a crash or a lost answer; adding it again would leave
            # the agent two briefs. The group and tags are safe to set again.
            log.info("ticket %s: handoff note already on the ticket; not posting again", ticket_id)
            if decision.group:
                connector.assign_group(ticket_id, decision.group)
            connector.add_tags(ticket_id, list(decision.tags))
            return None
        return connector.escalate(
            ticket_id,
            decision.brief or "",
            decision.group,
            list(decision.tags),
            priority=decision.priority,
        )
    raise ValueError(f"unknown write step {step}")


def _finish(
    runtime: Runtime,
    event: Event,
    decision: Decision,
    decision_id: int,
    write_status: str,
    *,
    human_active: bool = False,
    close: Callable[[Session], None] | None = None,
) -> None:
    now = datetime.now(UTC)
    with runtime.store.session() as session:
        row = session.get(DecisionRow, decision_id)
        row.write_status = write_status
        state = repo.ticket_state(session, event.connector, event.ticket_id)
        if human_active:
            state.status = TicketStatus.HUMAN_ACTIVE.value
            state.human_active_at = now
        elif decision.kind is DecisionKind.ESCALATE and decision.rollout != "draft":
            state.status = TicketStatus.ESCALATED.value
            state.escalation_reason = decision.reason
            state.escalated_at = now
        elif decision.kind is DecisionKind.CLARIFY:
            state.clarifications += 1
            state.bot_turns += 1
        elif decision.kind is DecisionKind.REPLY:
            state.bot_turns += 1
        if close is not None:
            close(session)


def _record_decision(
    runtime: Runtime,
    delivery_pk: int,
    burst: Burst,
    decision: Decision,
    policy: Policy,
    latency_ms: int,
) -> DecisionRow:
    event = burst.event
    if burst.joined and event.message is not None:
        # Review, learning and reports read the question from here: the first delivery's own
        # message is only part of it.
        joined = {"coalesced": list(burst.joined), "question": event.message.text}
        decision = replace(decision, evidence={**decision.evidence, **joined})
    with runtime.store.session() as session:
        row = DecisionRow(
            delivery_pk=delivery_pk,
            connector=event.connector,
            ticket_id=event.ticket_id,
            kind=decision.kind.value,
            reason=decision.reason,
            rule_id=decision.rule_id,
            text=decision.text,
            citations=[c.to_json() for c in decision.citations],
            group=decision.group,
            tags=list(decision.tags),
            brief=decision.brief,
            evidence=decision.evidence,
            confidence=decision.confidence,
            priority=decision.priority,
            rollout=decision.rollout,
            language=decision.language,
            tokens=(decision.evidence.get("answerer") or {}).get("tokens"),
            mode=policy.mode,
            policy_digest=policy.digest,
            write_status="pending" if decision.kind.writes else "none",
            writes_done=[],
            latency_ms=latency_ms,
        )
        session.add(row)
        if decision.evidence.get("resumed_after"):
            state = repo.ticket_state(session, event.connector, event.ticket_id)
            state.status = TicketStatus.OPEN.value
            state.bot_turns = state.clarifications = 0
            state.escalation_reason = None
        if decision.marks_human_active:
            state = repo.ticket_state(session, event.connector, event.ticket_id)
            state.status = TicketStatus.HUMAN_ACTIVE.value
            state.human_active_at = datetime.now(UTC)
        session.flush()
        # In the same transaction: the joined deliveries are done exactly when this is decided.
        for pk in burst.joined:
            _record_joined(session, pk, event, row, policy)
        if _gets_feedback_links(runtime, decision, policy):
            # The links carry the decision's id, known only now. Adding them in the same
            # transaction means a task run again after a crash posts exactly this text.
            row.text = with_feedback_links(row.text or "", runtime.config.web, row.id)
        return row


def _record_joined(
    session: Session, delivery_pk: int, event: Event, into: DecisionRow, policy: Policy
) -> None:
    """A delivery whose message was decided with an earlier one: its own record says so."""
    session.add(
        DecisionRow(
            delivery_pk=delivery_pk,
            connector=event.connector,
            ticket_id=event.ticket_id,
            kind=DecisionKind.IGNORE.value,
            reason="coalesced",
            evidence={"coalesced_into": into.id},
            mode=policy.mode,
            policy_digest=policy.digest,
            write_status="none",
            writes_done=[],
            citations=[],
            tags=[],
        )
    )
    delivery = session.get(Delivery, delivery_pk)
    if delivery is not None:
        delivery.status = "done"
        delivery.finished_at = datetime.now(UTC)


def _gets_feedback_links(runtime: Runtime, decision: Decision, policy: Policy) -> bool:
    """Replies the customer reads as the bot's, and dry runs so their record shows the same.

    Draft replies are left without: an agent sends those, possibly edited, as their own.
    """
    return (
        decision.kind is DecisionKind.REPLY
        and policy.mode in ("public", "dry_run")
        and runtime.config.web.feedback_links
    )


def _decision_from_row(row: DecisionRow) -> Decision:
    return Decision(
        kind=DecisionKind(row.kind),
        reason=row.reason,
        rule_id=row.rule_id,
        text=row.text,
        citations=tuple(Citation(**c) for c in row.citations or []),
        group=row.group,
        tags=tuple(row.tags or ()),
        brief=row.brief,
        evidence=dict(row.evidence or {}),
        confidence=row.confidence,
        priority=row.priority,
        rollout=row.rollout or "auto",
        language=row.language,
    )


def _with_our_messages(messages: list[Message], posted: set[str]) -> list[Message]:
    """Messages we posted count as the bot's even if the helpdesk can't tell us apart."""
    return [replace(m, role=Role.BOT) if m.id in posted else m for m in messages]


def _as_one_turn(conversation: list[Message], burst: Burst) -> list[Message]:
    """The fetched conversation with the burst's messages as the one message decided on.

    Triggers that weigh history (a repeated question, rising frustration) would otherwise count
    the burst's parts as earlier turns. A part the helpdesk's API does not show yet is in the
    joined message all the same.
    """
    message = burst.event.message
    assert message is not None
    found = [i for i in (locate(conversation, part) for part in burst.parts) if i is not None]
    if not found:
        return [*conversation, message]
    at = max(found)
    parts = set(found)
    return [
        message if i == at else m for i, m in enumerate(conversation) if i == at or i not in parts
    ]


def _messages_after(messages: list[Message], message: Message | None) -> list[Message]:
    """What was written after the customer's message: where an earlier run's post would be."""
    index = locate(messages, message) if message is not None else None
    if index is None:
        customers = [i for i, m in enumerate(messages) if m.role is Role.CUSTOMER]
        index = customers[-1] if customers else -1
    return messages[index + 1 :]


def _already_posted(since: list[Message], text: str) -> bool:
    """A killed worker may have posted without recording it: look before posting again."""
    wanted = comparable(text)
    return any(m.role is Role.BOT and comparable(m.text) == wanted for m in since)
