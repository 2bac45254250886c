"""Knowledge-base candidates: what people answered on tickets the bot handed off.

A ticket the bot escalated and a person then solved points at a gap in the docs, and the
agent's public reply is the best draft of what the docs should say. When such a ticket is
solved, a candidate is noted (``note_solved``); a worker task later reads the conversation
from the helpdesk and keeps the customer's question and the agents' public answer
(``collect_pending``). Nothing is indexed until a reviewer approves it, usually after editing
both texts: agent replies greet people by name and refer to their account.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.events import Message, Role, locate
from bridge.learning.curated import bump_revision
from bridge.runtime import Runtime
from bridge.store import Store, repo
from bridge.store.models import Decision, Delivery, KbCandidate, TicketState
from connectors.base import HelpdeskError

log = logging.getLogger(__name__)

COLLECTING: Final = "collecting"  # solved; the answer is still to be read from the helpdesk
PENDING: Final = "pending"  # waiting for a reviewer
APPROVED: Final = "approved"
REJECTED: Final = "rejected"
SKIPPED: Final = "skipped"  # nothing worth learning: no public agent answer, or a trivial one
FAILED: Final = "failed"  # the conversation could not be read
REVIEWED: Final = frozenset({APPROVED, REJECTED})
# The question keeps the customer's last few messages before the handoff; earlier ones are
# usually greetings or an unrelated, already answered question.
MAX_QUESTION_MESSAGES: Final = 5


class CandidateNotFound(LookupError):
    """No candidate has that id."""


@dataclass(frozen=True)
class Composed:
    question: str
    answer: str


# -- noting solved tickets -----------------------------------------------------------------


def note_solved(
    store: Store,
    connector: str,
    ticket_id: str,
    ticket_url: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Queue a solved ticket for collection if the bot had handed it off; True when queued.

    A ticket solved again after being reopened is read again, since its answer may have
    grown, unless a reviewer already decided on it.
    """
    now = now or datetime.now(UTC)
    with store.session() as session:
        state = session.scalars(
            select(TicketState).where(
                TicketState.connector == connector, TicketState.ticket_id == ticket_id
            )
        ).first()
        if state is None or state.escalated_at is None:
            return False  # the bot answered it, or never saw it: nothing to learn
        handoff_row = session.execute(
            select(Decision.id, Decision.reason)
            .where(
                Decision.connector == connector,
                Decision.ticket_id == ticket_id,
                Decision.kind == "escalate",
                Decision.rollout == "auto",
            )
            .order_by(Decision.id.desc())
            .limit(1)
        ).first()
        query = select(KbCandidate).where(
            KbCandidate.connector == connector, KbCandidate.ticket_id == ticket_id
        )
        row = session.scalars(query).first()
        if row is None:
            try:
                with session.begin_nested():
                    row = KbCandidate(
                        connector=connector,
                        ticket_id=ticket_id,
                        status=COLLECTING,
                        question="",
                        answer="",
                        attempts=0,
                        solved_at=now,
                    )
                    session.add(row)
            except IntegrityError:  # the same webhook delivered twice at once
                row = session.scalars(query).one()
        elif row.status in REVIEWED:
            return False
        row.status = COLLECTING
        row.attempts = 0
        row.last_error = None
        row.solved_at = now
        row.ticket_url = ticket_url or row.ticket_url
        row.escalation_reason = handoff_row.reason if handoff_row else state.escalation_reason
        row.decision_id = handoff_row.id if handoff_row else None
        return True


# -- collecting answers ----------------------------------------------------------------------


def collect_pending(runtime: Runtime, limit: int | None = None) -> Counter[str]:
    """Read the answers of solved tickets waiting for it; counts outcomes by status."""
    settings = runtime.config.learning
    with runtime.store.session() as session:
        ids = list(
            session.scalars(
                select(KbCandidate.id)
                .where(KbCandidate.status == COLLECTING)
                .order_by(KbCandidate.solved_at, KbCandidate.id)
                .limit(limit or settings.batch_size)
            )
        )
    outcomes: Counter[str] = Counter()
    for candidate_id in ids:
        outcomes[collect_candidate(runtime, candidate_id)] += 1
    return outcomes


def collect_candidate(runtime: Runtime, candidate_id: int) -> str:
    """Read one solved ticket's conversation and keep its question and answer.

    Returns the candidate's new status (``collecting`` again when a retryable helpdesk error
    leaves attempts to spare). One ticket failing never stops the others in a batch.
    """
    store, settings = runtime.store, runtime.config.learning
    with store.session() as session:
        row = session.get(KbCandidate, candidate_id)
        if row is None or row.status != COLLECTING:
            return "gone"
        connector_name, ticket_id = row.connector, row.ticket_id
        handoff = _handoff_message(session, row.decision_id)
        posted = repo.posted_message_ids(session, connector_name, ticket_id)

    connector = runtime.connector(connector_name)
    if connector is None:
        return _settle(store, candidate_id, FAILED, error="connector is no longer configured")
    if not connector.has_credentials:
        return _settle(
            store, candidate_id, FAILED, error="connector has no API credentials to read answers"
        )
    try:
        conversation = connector.fetch_conversation(ticket_id)
    except HelpdeskError as exc:
        return _attempt_failed(store, candidate_id, str(exc), exc.retryable, settings.max_attempts)
    except Exception as exc:  # a bug must not stop the batch, and must stay visible
        log.exception(
            "reading ticket %s/%s for the learning loop failed", connector_name, ticket_id
        )
        error = f"{type(exc).__name__}: {exc}"
        return _attempt_failed(store, candidate_id, error, True, settings.max_attempts)

    # Our own posts count as the bot's even where the helpdesk shows them as an agent's.
    conversation = [replace(m, role=Role.BOT) if m.id in posted else m for m in conversation]
    composed = compose(conversation, handoff)
    if composed is None:
        return _settle(store, candidate_id, SKIPPED, error="no public answer by an agent")
    if len(composed.answer) < settings.min_answer_chars:
        return _settle(store, candidate_id, SKIPPED, error="the agents' answer is too short")
    return _settle(store, candidate_id, PENDING, composed=composed)


def compose(conversation: Sequence[Message], handoff: Message | None) -> Composed | None:
    """The customer's messages up to the handoff, and the agents' public replies after it.

    The handoff is the customer message the bot escalated on. When it cannot be found in the
    conversation (edited, or the helpdesk shows it differently), everything the customer
    wrote before the first public agent reply is the question.
    """
    index = locate(conversation, handoff) if handoff is not None else None
    if index is None:
        first_answer = next((i for i, m in enumerate(conversation) if _is_agent_answer(m)), None)
        if first_answer is None:
            return None
        index = first_answer - 1
    asked = [
        m.text.strip()
        for m in conversation[: index + 1]
        if m.role is Role.CUSTOMER and m.text.strip()
    ]
    answered = [m.text.strip() for m in conversation[index + 1 :] if _is_agent_answer(m)]
    if not asked or not answered:
        return None
    return Composed(
        question="\n\n".join(asked[-MAX_QUESTION_MESSAGES:]), answer="\n\n".join(answered)
    )


def _is_agent_answer(message: Message) -> bool:
    # Internal notes are agents talking to each other, never what the customer was told.
    return message.role is Role.AGENT and message.public and bool(message.text.strip())


def _handoff_message(session: Session, decision_id: int | None) -> Message | None:
    """The customer message the bot escalated on, as its delivery recorded it."""
    if decision_id is None:
        return None
    decision = session.get(Decision, decision_id)
    delivery = session.get(Delivery, decision.delivery_pk) if decision is not None else None
    event = delivery.event if delivery is not None else None
    message = (event or {}).get("message")
    if not message:
        return None
    text = repo.question_text(decision.evidence if decision is not None else None, event)
    return Message(id=str(message.get("id") or ""), role=Role.CUSTOMER, text=text)


def _attempt_failed(
    store: Store, candidate_id: int, error: str, retryable: bool, max_attempts: int
) -> str:
    with store.session() as session:
        row = session.get(KbCandidate, candidate_id)
        if row is None:
            return "gone"
        row.attempts += 1
        row.last_error = error
        if not retryable or row.attempts >= max_attempts:
            row.status = FAILED
        log.warning(
            "learning loop: ticket %s/%s: %s (attempt %d, %s)",
            row.connector,
            row.ticket_id,
            error,
            row.attempts,
            row.status,
        )
        return row.status


def _settle(
    store: Store,
    candidate_id: int,
    status: str,
    *,
    composed: Composed | None = None,
    error: str | None = None,
) -> str:
    with store.session() as session:
        row = session.get(KbCandidate, candidate_id)
        if row is None or row.status != COLLECTING:
            return "gone"  # a reviewer got to it first
        row.status = status
        row.last_error = error
        if composed is not None:
            row.question, row.answer = composed.question, composed.answer
        return status


# -- review ----------------------------------------------------------------------------------


def approve_candidate(
    store: Store, candidate_id: int, question: str, answer: str, reviewer: str
) -> None:
    """Index the reviewed question and answer as a curated passage.

    The texts given are the reviewer's (edited) ones and replace what was collected.
    Approving again with new texts updates the indexed passage.
    """
    question, answer, reviewer = question.strip(), answer.strip(), reviewer.strip()
    if not question or not answer:
        raise ValueError("an approved candidate needs a question and an answer")
    if not reviewer:
        raise ValueError("say who approved it")
    with store.session() as session:
        row = session.get(KbCandidate, candidate_id)
        if row is None:
            raise CandidateNotFound(candidate_id)
        row.question, row.answer = question, answer
        row.status = APPROVED
        row.reviewer = reviewer
        row.reviewed_at = datetime.now(UTC)
        row.last_error = None
        # Every serving process rebuilds its index on the next revision check.
        bump_revision(session)
    log.info("kb candidate %s approved by %s", candidate_id, reviewer)


def reject_candidate(store: Store, candidate_id: int, reviewer: str) -> None:
    """Keep the candidate out of the knowledge base (taking it out if it was approved)."""
    reviewer = reviewer.strip()
    if not reviewer:
        raise ValueError("say who rejected it")
    with store.session() as session:
        row = session.get(KbCandidate, candidate_id)
        if row is None:
            raise CandidateNotFound(candidate_id)
        was_indexed = row.status == APPROVED
        row.status = REJECTED
        row.reviewer = reviewer
        row.reviewed_at = datetime.now(UTC)
        if was_indexed:
            bump_revision(session)
    log.info("kb candidate %s rejected by %s", candidate_id, reviewer)


def list_candidates(
    store: Store, status: str | None = PENDING, limit: int = 100
) -> list[KbCandidate]:
    """Candidates for a review screen, newest solved first; ``status=None`` lists all."""
    query = select(KbCandidate).order_by(KbCandidate.solved_at.desc(), KbCandidate.id.desc())
    if status is not None:
        query = query.where(KbCandidate.status == status)
    with store.session() as session:
        return list(session.scalars(query.limit(limit)))
