"""Solved tickets and satisfaction ratings from each helpdesk's webhooks, and their records."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bridge.feedback.signals import handle_signal
from bridge.runtime import Runtime
from bridge.store import Store
from connectors.base import Connector, TicketSignal, WebhookRequest
from tests.feedback.world import Service, feedback_config
from tests.worker.vendor_mocks import VendorWorld, example, vendor_config

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def parse(connector: Connector, body: dict[str, Any]):
    raw = json.dumps(body).encode()
    now = datetime.now(UTC)
    request = WebhookRequest(
        "POST", {"Content-Type": "application/json", **connector.sign(raw, now)}, raw
    )
    connector.verify(request, now)
    return connector.parse(request)


# -- Zendesk ---------------------------------------------------------------------------------


@pytest.fixture
def zendesk(tmp_path: Path, store: Store) -> Service:
    return Service(feedback_config(tmp_path, store), store)


@pytest.mark.parametrize(
    ("rating", "vote", "score"),
    [("Good", "up", 1.0), ("bad", "down", 0.0), ("5", "up", 5.0), ("3", "neutral", 3.0)],
)
def test_zendesk_satisfaction_trigger_is_a_rating(
    zendesk: Service, rating: str, vote: str, score: float
) -> None:
    body = {"bridge_event": "satisfaction", "ticket_id": "42", "rating": rating, "comment": " ok "}
    event = parse(zendesk.connector, body)
    assert event.message is None
    assert zendesk.connector.ticket_signal(event) == TicketSignal(
        "rating",
        "42",
        vote=vote,  # type: ignore[arg-type]
        score=score,
        comment="ok",
        ticket_url="https://acme.zendesk.test/agent/tickets/42",
    )


def test_zendesk_rating_offered_but_not_given_is_nothing(zendesk: Service) -> None:
    body = {"bridge_event": "satisfaction", "ticket_id": "42", "rating": "Offered"}
    assert zendesk.connector.ticket_signal(parse(zendesk.connector, body)) is None


def test_zendesk_solved_trigger_and_status_changed_event(zendesk: Service) -> None:
    solved = parse(zendesk.connector, {"bridge_event": "solved", "ticket_id": "42"})
    assert zendesk.connector.ticket_signal(solved) == TicketSignal(
        "solved", "42", ticket_url="https://acme.zendesk.test/agent/tickets/42"
    )
    envelope = json.loads(
        (
            FIXTURES / "zendesk" / "webhook_event_ticket_comment_added.third-party-sample.json"
        ).read_text()
    )
    envelope["type"] = "zen:event-type:ticket.status_changed"
    envelope.pop("event", None)
    envelope["event"] = {"previous": "OPEN", "current": "SOLVED"}
    event = parse(zendesk.connector, envelope)
    signal = zendesk.connector.ticket_signal(event)
    assert signal is not None and signal.kind == "solved"
    envelope["event"] = {"previous": "NEW", "current": "PENDING"}
    assert zendesk.connector.ticket_signal(parse(zendesk.connector, envelope)) is None


def test_zendesk_bridge_event_must_be_known(zendesk: Service) -> None:
    response = zendesk.post({"bridge_event": "deleted", "ticket_id": "42"})
    assert response.status_code == 400
    assert response.json["field"] == "bridge_event"


def test_a_rating_is_recorded_against_the_ticket_and_replaced_by_a_later_one(
    zendesk: Service,
) -> None:
    good = parse(
        zendesk.connector, {"bridge_event": "satisfaction", "ticket_id": "42", "rating": "good"}
    )
    assert handle_signal(zendesk.runtime, zendesk.connector, good) == "rating recorded"
    assert handle_signal(zendesk.runtime, zendesk.connector, good) == "rating recorded"
    bad = parse(
        zendesk.connector,
        {"bridge_event": "satisfaction", "ticket_id": "42", "rating": "bad", "comment": "slow"},
    )
    handle_signal(zendesk.runtime, zendesk.connector, bad)
    [row] = zendesk.feedback()
    assert (row.source, row.vote, row.score, row.comment) == ("helpdesk", "down", 0.0, "slow")
    assert (row.connector, row.ticket_id, row.decision_id) == ("acme", "42", None)


def test_comments_are_no_signal(zendesk: Service) -> None:
    from tests.helpers import trigger_body

    event = parse(zendesk.connector, trigger_body())
    assert zendesk.connector.ticket_signal(event) is None
    assert handle_signal(zendesk.runtime, zendesk.connector, event) is None


# -- Intercom --------------------------------------------------------------------------------


@pytest.fixture
def intercom(tmp_path: Path, store: Store) -> VendorWorld:
    block = {"type": "intercom", "mode": "public", "client_secret": "intercom-client-secret"}
    return VendorWorld(vendor_config(tmp_path, store.url, block), store)


def intercom_notification(topic: str, **item_changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(example("intercom", "03_agent_comment.json"))
    body["topic"] = topic
    body["id"] = f"notif_{topic}"
    body["data"]["item"].update(item_changes)
    return body


def test_intercom_rating_added_is_a_rating_not_a_message(intercom: VendorWorld) -> None:
    body = intercom_notification(
        "conversation.rating.added",
        conversation_rating={"rating": 2, "remark": "Took too long", "created_at": 1767263500},
    )
    event = parse(intercom.connector, body)
    assert (event.kind, event.message) == ("rating", None)
    signal = intercom.connector.ticket_signal(event)
    assert signal == TicketSignal(
        "rating",
        "2003",
        vote="down",
        score=2.0,
        comment="Took too long",
        ticket_url="https://app.intercom.com/a/apps/ex4mpl3a/conversations/2003",
    )


def test_intercom_admin_closed_is_solved(intercom: VendorWorld) -> None:
    body = intercom_notification("conversation.admin.closed")
    parts = body["data"]["item"]["conversation_parts"]["conversation_parts"]
    parts[-1].update({"part_type": "close", "body": None})
    event = parse(intercom.connector, body)
    signal = intercom.connector.ticket_signal(event)
    assert signal is not None and (signal.kind, signal.ticket_id) == ("solved", "2003")


def test_intercom_other_topics_are_no_signal(intercom: VendorWorld) -> None:
    event = parse(intercom.connector, example("intercom", "03_agent_comment.json"))
    assert intercom.connector.ticket_signal(event) is None


# -- Freshdesk -------------------------------------------------------------------------------


@pytest.fixture
def freshdesk(tmp_path: Path, store: Store) -> VendorWorld:
    block = {
        "type": "freshdesk",
        "mode": "public",
        "domain": "acme",
        "webhook_secret": "freshdesk-webhook-secret-123",
    }
    return VendorWorld(vendor_config(tmp_path, store.url, block), store)


@pytest.mark.parametrize(
    ("event", "solved"),
    [
        ("{status:{from:2,to:4}}", True),
        ("{status:{from:4,to:5}}", True),
        ("{status:{from:4,to:6}}", False),
        ("{priority:{from:1,to:4}}", False),
    ],
)
def test_freshdesk_status_change_to_resolved_or_closed_is_solved(
    freshdesk: VendorWorld, event: str, solved: bool
) -> None:
    body = dict(example("freshdesk", "03_agent_comment.json"), event=event)
    signal = freshdesk.connector.ticket_signal(parse(freshdesk.connector, body))
    if solved:
        assert signal == TicketSignal(
            "solved", "3003", ticket_url="https://acme.freshdesk.com/a/tickets/3003"
        )
    else:
        assert signal is None


def test_runtime_without_learning_ignores_solved(tmp_path: Path, store: Store) -> None:
    config = feedback_config(tmp_path, store)
    from dataclasses import replace

    config = replace(config, learning=replace(config.learning, enabled=False))
    service = Service(config, store)
    runtime: Runtime = service.runtime
    event = parse(service.connector, {"bridge_event": "solved", "ticket_id": "42"})
    assert handle_signal(runtime, service.connector, event) == "solved; learning is off"
    assert service.candidates() == []


# -- through the webhook endpoint ------------------------------------------------------------


def test_webhook_rating_is_recorded_and_acknowledged(zendesk: Service) -> None:
    body = {"bridge_event": "satisfaction", "ticket_id": "42", "rating": "bad", "comment": "meh"}
    response = zendesk.post(body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert zendesk.enqueued == []  # nothing for the worker to decide
    [row] = zendesk.feedback()
    assert (row.source, row.vote, row.comment) == ("helpdesk", "down", "meh")


def test_webhook_solved_on_an_escalated_ticket_queues_a_candidate(zendesk: Service) -> None:
    from bridge.store import repo

    with zendesk.store.session() as session:
        state = repo.ticket_state(session, "acme", "42")
        state.status, state.escalated_at = "escalated", datetime.now(UTC)
    response = zendesk.post({"bridge_event": "solved", "ticket_id": "42"})
    assert response.status_code == 200, response.get_data(as_text=True)
    [candidate] = zendesk.candidates()
    assert (candidate.ticket_id, candidate.status) == ("42", "collecting")
    with zendesk.store.session() as session:
        solved = repo.ticket_state(session, "acme", "42")
        # the ticket knows when a person solved it, for the resume_after_solved policy
        assert solved.solved_at is not None
        assert repo.view_of(solved).reopened_after_solve()
