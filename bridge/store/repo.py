"""The store operations the web app and the worker share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.decision.model import TicketStatus, TicketView
from bridge.store.models import DeadLetter, Decision, Delivery, PostedMessage, TicketState


class DuplicateDelivery(Exception):
    """The helpdesk sent a delivery we already have."""


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def record_delivery(session: Session, connector: str, event: dict[str, Any]) -> Delivery:
    delivery = Delivery(
        connector=connector,
        delivery_id=event["delivery_id"],
        ticket_id=event["ticket_id"],
        event=event,
        status="received",
    )
    session.add(delivery)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise DuplicateDelivery(event["delivery_id"]) from None
    return delivery


# Built once: an INSERT constructed per call (and through the ORM entity) costs twice the CPU
# of executing this one with new parameters.
_DELIVERIES = Delivery.__table__
_INSERT_DELIVERY = insert(_DELIVERIES).returning(_DELIVERIES.c.id)


def insert_queued_delivery(engine: Engine, connector: str, event: dict[str, Any]) -> int:
    """Record a delivery about to be enqueued, in one statement; return its primary key.

    The webhook's hot path: no ORM unit of work, and the row is written as ``queued`` at once
    rather than marked so in a second transaction after the enqueue. Should the enqueue never
    happen (the process died in between), the stale sweep finds the row untouched.
    """
    row = {
        "connector": connector,
        "delivery_id": event["delivery_id"],
        "ticket_id": event["ticket_id"],
        "event": event,
        "status": "queued",
        "attempts": 0,
        "received_at": datetime.now(UTC),
    }
    try:
        with engine.begin() as connection:
            return connection.execute(_INSERT_DELIVERY, row).scalar_one()
    except IntegrityError:
        raise DuplicateDelivery(event["delivery_id"]) from None


def delete_delivery(engine: Engine, delivery_pk: int) -> None:
    with engine.begin() as connection:
        connection.execute(delete(Delivery).where(Delivery.id == delivery_pk))


def ticket_state(session: Session, connector: str, ticket_id: str) -> TicketState:
    """Load the ticket's state, creating it on first contact (safe under concurrency)."""
    query = select(TicketState).where(
        TicketState.connector == connector, TicketState.ticket_id == ticket_id
    )
    state = session.scalars(query).one_or_none()
    if state is not None:
        return state
    try:
        with session.begin_nested():
            state = TicketState(connector=connector, ticket_id=ticket_id, status="open")
            session.add(state)
        return state
    except IntegrityError:
        return session.scalars(query).one()


def view_of(state: TicketState) -> TicketView:
    handed_over = [t for t in (as_utc(state.escalated_at), as_utc(state.human_active_at)) if t]
    return TicketView(
        status=TicketStatus(state.status),
        bot_turns=state.bot_turns,
        clarifications=state.clarifications,
        handed_over_at=max(handed_over) if handed_over else None,
        solved_at=as_utc(state.solved_at),
    )


def acquire_ticket_lock(
    session: Session, connector: str, ticket_id: str, owner: str, ttl_seconds: float
) -> bool:
    """Take the per-ticket lock; an expired lock (a killed worker's) can be taken over."""
    ticket_state(session, connector, ticket_id)  # the row carries the lock
    now = datetime.now(UTC)
    result = session.execute(
        update(TicketState)
        .where(
            TicketState.connector == connector,
            TicketState.ticket_id == ticket_id,
            or_(
                TicketState.lock_owner.is_(None),
                TicketState.lock_owner == owner,
                TicketState.lock_expires_at < now,
            ),
        )
        .values(lock_owner=owner, lock_expires_at=now + timedelta(seconds=ttl_seconds))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def release_ticket_lock(session: Session, connector: str, ticket_id: str, owner: str) -> None:
    session.execute(
        update(TicketState)
        .where(
            TicketState.connector == connector,
            TicketState.ticket_id == ticket_id,
            TicketState.lock_owner == owner,
        )
        .values(lock_owner=None, lock_expires_at=None)
        .execution_options(synchronize_session=False)
    )


def decision_for(session: Session, delivery_pk: int) -> Decision | None:
    return session.scalars(select(Decision).where(Decision.delivery_pk == delivery_pk)).first()


def posted_message_ids(session: Session, connector: str, ticket_id: str) -> set[str]:
    rows = session.scalars(
        select(PostedMessage.message_id).where(
            PostedMessage.connector == connector, PostedMessage.ticket_id == ticket_id
        )
    )
    return set(rows)


def record_posted(
    session: Session, connector: str, ticket_id: str, message_id: str | None, decision_id: int
) -> None:
    if message_id is None:
        return
    known = session.scalars(
        select(PostedMessage.id).where(
            PostedMessage.connector == connector, PostedMessage.message_id == message_id
        )
    ).first()
    if known is not None:
        return
    session.add(
        PostedMessage(
            connector=connector,
            ticket_id=ticket_id,
            message_id=message_id,
            decision_id=decision_id,
        )
    )


def dead_letter(session: Session, delivery: Delivery, error: str, attempts: int) -> DeadLetter:
    delivery.status = "dead"
    delivery.finished_at = datetime.now(UTC)
    letter = DeadLetter(
        delivery_pk=delivery.id,
        connector=delivery.connector,
        ticket_id=delivery.ticket_id,
        error=error,
        attempts=attempts,
        event=delivery.event,
    )
    session.add(letter)
    return letter


def lost_deliveries(
    session: Session, *, never_started: timedelta, idle: timedelta
) -> list[Delivery]:
    """Pending deliveries whose task is presumably gone.

    Never picked up by a worker ``never_started`` after arrival (the web process died before
    enqueueing, or the broker lost its queue), or picked up and then left alone for ``idle``
    (longer than any retry countdown or redelivery, so its task was lost too). A delivery
    merely waiting in a long queue may be enqueued a second time; its second run finds it done.
    """
    now = datetime.now(UTC)
    return list(
        session.scalars(
            select(Delivery).where(
                Delivery.status.in_(("received", "queued")),
                or_(
                    and_(Delivery.touched_at.is_(None), Delivery.received_at < now - never_started),
                    Delivery.touched_at < now - idle,
                ),
            )
        )
    )


def earlier_pending_deliveries(
    session: Session, delivery_pk: int, connector: str, ticket_id: str
) -> bool:
    """Whether an earlier delivery of the same ticket is still waiting to be processed."""
    earlier = session.scalars(
        select(Delivery.id).where(
            Delivery.connector == connector,
            Delivery.ticket_id == ticket_id,
            Delivery.id < delivery_pk,
            Delivery.status.in_(("received", "queued")),
        )
    ).first()
    return earlier is not None


def later_pending_deliveries(
    session: Session, delivery_pk: int, connector: str, ticket_id: str, limit: int
) -> list[Delivery]:
    """The deliveries of the same ticket after ``delivery_pk`` still waiting, oldest first."""
    return list(
        session.scalars(
            select(Delivery)
            .where(
                Delivery.connector == connector,
                Delivery.ticket_id == ticket_id,
                Delivery.id > delivery_pk,
                Delivery.status.in_(("received", "queued")),
            )
            .order_by(Delivery.id)
            .limit(limit)
        )
    )


def question_text(evidence: dict[str, Any] | None, event: dict[str, Any] | None) -> str:
    """The customer's words a decision was made on.

    Several messages decided together (a burst) are recorded on the decision as one question;
    any other decision was made on its delivery's message alone.
    """
    joined = (evidence or {}).get("question")
    if isinstance(joined, str):
        return joined
    message = (event or {}).get("message") or {}
    return str(message.get("text") or "")
