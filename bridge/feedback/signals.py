"""Message-less webhooks the bridge learns from: tickets solved by a person, and ratings."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bridge.events import Event
from bridge.feedback.votes import record_rating
from bridge.learning.candidates import note_solved
from bridge.runtime import Runtime
from bridge.store import repo
from connectors.base import Connector

log = logging.getLogger(__name__)


def handle_signal(runtime: Runtime, connector: Connector, event: Event) -> str | None:
    """Record what a verified, parsed webhook reports about its ticket; None when nothing.

    Runs in the web process before the webhook is acknowledged, so a database error
    propagates and the helpdesk delivers the webhook again. Both records are idempotent
    (a rating replaces the ticket's earlier one; a solved ticket has one candidate), so a
    redelivery changes nothing.
    """
    signal = connector.ticket_signal(event)
    if signal is None:
        return None
    if signal.kind == "rating":
        record_rating(runtime.store, connector.name, signal)
        log.info("ticket %s/%s rated %s", connector.name, signal.ticket_id, signal.vote)
        return "rating recorded"
    with runtime.store.session() as session:
        # Lets the bot resume on this ticket if the customer writes again and the policy allows.
        repo.ticket_state(session, connector.name, signal.ticket_id).solved_at = datetime.now(UTC)
    if not runtime.config.learning.enabled:
        return "solved; learning is off"
    if note_solved(runtime.store, connector.name, signal.ticket_id, signal.ticket_url):
        log.info("ticket %s/%s solved by a person: collecting", connector.name, signal.ticket_id)
        return "solved; answer will be collected"
    return "solved"
