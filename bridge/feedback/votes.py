"""Recording feedback: one row per reply vote and per ticket rating, the latest one winning."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.store import Store
from bridge.store.models import Decision, Feedback
from connectors.base import TicketSignal

LINK = "link"
HELPDESK = "helpdesk"
_REPLY = "reply"


@dataclass(frozen=True)
class RecordedVote:
    decision_id: int
    vote: str
    previous: str | None  # the vote this one replaced, if any


def record_vote(store: Store, decision_id: int, vote: str) -> RecordedVote | None:
    """Record a link vote on a reply; None when the decision is gone or is not a reply."""
    with store.session() as session:
        decision = session.get(Decision, decision_id)
        if decision is None or decision.kind != _REPLY:
            return None
        row, previous = _upsert(
            session,
            f"{LINK}:{decision_id}",
            decision_id=decision_id,
            connector=decision.connector,
            ticket_id=decision.ticket_id,
            source=LINK,
            vote=vote,
        )
        return RecordedVote(decision_id, row.vote, previous)


def record_rating(store: Store, connector: str, signal: TicketSignal) -> None:
    """Record a helpdesk satisfaction rating against the ticket and its latest AI reply.

    The rating is about the whole ticket, so it is linked to the latest reply only to put it
    next to something the bot said; a ticket the bot never answered keeps no decision.
    """
    if signal.kind != "rating" or signal.vote is None:
        raise ValueError("not a rating")
    with store.session() as session:
        latest_reply = session.scalars(
            select(Decision.id)
            .where(
                Decision.connector == connector,
                Decision.ticket_id == signal.ticket_id,
                Decision.kind == _REPLY,
            )
            .order_by(Decision.id.desc())
            .limit(1)
        ).first()
        _upsert(
            session,
            f"{HELPDESK}:{connector}:{signal.ticket_id}",
            decision_id=latest_reply,
            connector=connector,
            ticket_id=signal.ticket_id,
            source=HELPDESK,
            vote=signal.vote,
            score=signal.score,
            comment=signal.comment,
        )


def _upsert(session: Session, key: str, **values: Any) -> tuple[Feedback, str | None]:
    """Insert the row for ``key`` or overwrite it; returns it and the vote it had before.

    Two clicks arriving together both try to insert; the loser updates the winner's row.
    """
    query = select(Feedback).where(Feedback.key == key)
    row = session.scalars(query).first()
    if row is None:
        try:
            with session.begin_nested():
                row = Feedback(key=key, **values)
                session.add(row)
            return row, None
        except IntegrityError:
            row = session.scalars(query).one()
    previous = row.vote
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = datetime.now(UTC)
    return row, previous
