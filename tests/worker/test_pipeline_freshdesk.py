"""The worker's path end to end with Freshdesk's REST API mocked by ``responses``.

The webhooks are the shipped examples (examples/webhooks/freshdesk/): the bodies our
automation rules post. A ticket read back through the API is its description plus its
conversations, as ``GET /tickets/{id}`` and ``GET /tickets/{id}/conversations`` give them.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

from bridge.store import Store
from connectors.freshdesk import text_to_html
from tests.connectors.shared import HUMAN_REQUEST, QUESTION
from tests.worker.vendor_mocks import (
    Call,
    VendorWorld,
    assert_agent_comment_silences_the_bot,
    assert_dead_lettered_after_every_retry,
    assert_own_reply_is_ignored,
    connector_block,
    example,
    reads,
    vendor_world,
    writes,
)

API = "https://acme.freshdesk.com/api/v2"
API_KEY = "fd-api-key-0123456789"
BOT_AGENT_ID = 77000001
BOT_AGENT_NAME = "Notebird Bot"
HUMAN_AGENT_ID = 77000002
REQUESTER_ID = 66000001
SUPPORT_GROUP, TIER2_GROUP = 11, 22
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{API_KEY}:X".encode()).decode()}


def freshdesk_block(**overrides: Any) -> dict[str, Any]:
    settings = {
        "domain": "acme",
        "webhook_secret": "freshdesk-webhook-secret-0123",
        "api_key": API_KEY,
        "bot_agent_id": BOT_AGENT_ID,
        "bot_agent_name": BOT_AGENT_NAME,
    }
    return connector_block("freshdesk", settings, **overrides)


@pytest.fixture
def world(tmp_path: Path, store: Store) -> VendorWorld:
    return vendor_world(tmp_path, store, freshdesk_block())


def webhook(name: str) -> dict[str, Any]:
    return example("freshdesk", name)


def ticket(ticket_id: int, description: str, tags: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": ticket_id,
        "subject": "Help",
        "description": f"<div>{description}</div>",
        "description_text": description,
        "requester_id": REQUESTER_ID,
        "responder_id": None,
        "group_id": None,
        "source": 2,
        "status": 2,
        "tags": list(tags or []),
        "created_at": "2026-01-01T10:00:00Z",
        "updated_at": "2026-01-01T10:00:00Z",
    }


def entry(
    entry_id: int,
    user_id: int,
    text: str,
    *,
    incoming: bool = False,
    private: bool = False,
    minute: int = 5,
) -> dict[str, Any]:
    """One item of ``GET /tickets/{id}/conversations``."""
    return {
        "id": entry_id,
        "body": f"<div>{text}</div>",
        "body_text": text,
        "incoming": incoming,
        "private": private,
        "user_id": user_id,
        "source": 0,
        "created_at": f"2026-01-01T10:{minute:02d}:00Z",
        "updated_at": f"2026-01-01T10:{minute:02d}:00Z",
    }


def ticket_read(ticket_id: int, description: str, *pages: list[dict[str, Any]], **kw: Any) -> None:
    """Mock the two reads behind ``fetch_conversation``; each page answers one listing, the
    last one every listing after it."""
    responses.get(
        f"{API}/tickets/{ticket_id}",
        json=ticket(ticket_id, description, **kw),
        match=[matchers.header_matcher(AUTH)],
    )
    for page in pages or ([],):
        responses.get(
            f"{API}/tickets/{ticket_id}/conversations",
            json=page,
            match=[matchers.query_param_matcher({"per_page": "100"})],
        )


def created(entry_id: int, ticket_id: int, *, private: bool) -> dict[str, Any]:
    """What the reply and note endpoints answer: the conversation they created."""
    made = entry(entry_id, BOT_AGENT_ID, "...", private=private, minute=30)
    made["ticket_id"] = ticket_id
    return made


# -- 1. a how-to question is answered in public --------------------------------------------
@responses.activate
def test_how_to_question_is_answered_publicly_with_a_citation(world: VendorWorld) -> None:
    ticket_read(3001, QUESTION)
    responses.post(
        f"{API}/tickets/3001/reply",
        json=created(8001, 3001, private=False),
        status=201,
        match=[matchers.header_matcher(AUTH)],
    )

    question = webhook("01_how_to_question.json")
    assert QUESTION in question["description"]

    outcome = world.process(world.deliver(question))

    assert outcome is not None
    assert (outcome.kind, outcome.write_status) == ("reply", "written")
    [decision] = world.decisions()
    assert (decision.kind, decision.write_status) == ("reply", "written")
    assert decision.text and "Reset your password" in decision.text
    assert "AI assistant" in decision.text
    assert writes() == [
        Call("POST", "/api/v2/tickets/3001/reply", {"body": text_to_html(decision.text)})
    ]
    [reply] = writes()
    assert "Reset your password" in reply.body["body"] and "AI assistant" in reply.body["body"]
    # Read once to decide and once more just before writing.
    assert reads("/api/v2/tickets/3001") == reads("/api/v2/tickets/3001/conversations") == 2
    [posted] = world.posted()
    assert (posted.ticket_id, posted.message_id, posted.decision_id) == (
        "3001",
        "8001",
        decision.id,
    )
    assert world.ticket("3001").bot_turns == 1


# -- 2. asking for a person hands the ticket to the routed group ---------------------------
@responses.activate
def test_human_request_is_handed_off_with_message_note_group_and_tags(world: VendorWorld) -> None:
    history = [
        entry(9001, BOT_AGENT_ID, "To unlock your account, reset your password.", minute=1),
        entry(9002, REQUESTER_ID, HUMAN_REQUEST, incoming=True, minute=2),
    ]
    ticket_read(3002, "I'm locked out of my account.", history, tags=["password"])
    responses.get(
        f"{API}/groups",
        json=[
            {"id": SUPPORT_GROUP, "name": "Support", "description": ""},
            {"id": TIER2_GROUP, "name": "Tier 2", "description": ""},
        ],
        match=[matchers.query_param_matcher({"per_page": "100"})],
    )
    responses.post(f"{API}/tickets/3002/reply", json=created(8002, 3002, private=False))
    responses.post(f"{API}/tickets/3002/notes", json=created(8003, 3002, private=True))
    responses.put(f"{API}/tickets/3002", json=ticket(3002, "I'm locked out of my account."))

    outcome = world.process(world.deliver(webhook("02_human_request.json")))

    assert outcome is not None
    assert (outcome.kind, outcome.reason, outcome.write_status) == (
        "escalate",
        "human_request",
        "written",
    )
    [decision] = world.decisions()
    assert decision.group == "Tier 2"
    assert list(decision.tags) == ["ai_escalated", "ai_reason_human_request"]
    assert decision.text and "Tier 2" in decision.text
    assert decision.brief and "] Handoff: " in decision.brief
    assert HUMAN_REQUEST in decision.brief
    assert writes() == [
        Call("POST", "/api/v2/tickets/3002/reply", {"body": text_to_html(decision.text)}),
        Call("PUT", "/api/v2/tickets/3002", {"group_id": TIER2_GROUP}),
        Call(
            "POST",
            "/api/v2/tickets/3002/notes",
            {"body": text_to_html(decision.brief), "private": True},
        ),
        # The API replaces the whole list, so the tag already on the ticket is sent back.
        Call(
            "PUT",
            "/api/v2/tickets/3002",
            {"tags": ["password", "ai_escalated", "ai_reason_human_request"]},
        ),
    ]
    assert [p.message_id for p in world.posted()] == ["8002", "8003"]
    state = world.ticket("3002")
    assert (state.status, state.escalation_reason) == ("escalated", "human_request")


# -- 3. an agent answering while the bot decides wins --------------------------------------
@responses.activate
def test_agent_reply_between_decision_and_write_means_nothing_is_posted(
    world: VendorWorld,
) -> None:
    # The first listing is what the bot decides on; the re-check before writing sees the agent.
    ticket_read(3001, QUESTION, [], [entry(9101, HUMAN_AGENT_ID, "Let me help.")])

    outcome = world.process(world.deliver(webhook("01_how_to_question.json")))

    assert outcome is not None
    assert (outcome.kind, outcome.write_status) == ("reply", "skipped")
    assert reads("/api/v2/tickets/3001/conversations") == 2
    assert writes() == []  # no reply, no note, no group change, no tags
    [decision] = world.decisions()
    assert decision.write_status == "skipped"
    assert world.posted() == []
    assert world.ticket("3001").status == "human_active"


# -- 4. an agent's comment silences the bot on that ticket ---------------------------------
@responses.activate
def test_agent_comment_silences_the_bot_for_the_next_customer_message(
    world: VendorWorld,
) -> None:
    assert_agent_comment_silences_the_bot(world, "3003")


# -- 5. the webhook about our own reply does not start a loop ------------------------------
@responses.activate
def test_webhook_about_the_reply_we_just_posted_is_ignored(world: VendorWorld) -> None:
    ticket_read(3001, QUESTION)
    responses.post(f"{API}/tickets/3001/reply", json=created(8001, 3001, private=False))
    question = webhook("01_how_to_question.json")
    world.process(world.deliver(question))
    [reply] = writes()

    # The "agent replied" rule fires on the bot's API reply too, naming the bot as author.
    echo = {
        key: value
        for key, value in question.items()
        if key not in ("description", "performed_by", "event")
    }
    echo.update(
        performed_by="agent",
        event="{reply_sent:sent}",
        comment=f"{BOT_AGENT_NAME} : {reply.body['body']}",
    )

    assert_own_reply_is_ignored(world, echo, "3001")


# -- 6. an API that keeps failing ends in the dead-letter table ----------------------------
@responses.activate
def test_freshdesk_that_keeps_failing_ends_in_the_dead_letter_table(world: VendorWorld) -> None:
    responses.get(
        f"{API}/tickets/3001",
        status=503,
        json={"code": "service_unavailable", "message": "Service Unavailable"},
    )
    pk = world.deliver(webhook("01_how_to_question.json"))

    world.run_task(pk)

    assert_dead_lettered_after_every_retry(
        world, pk, "3001", read_path="/api/v2/tickets/3001", error_names="/tickets/3001"
    )


# -- the same question asked again gets its answer again -----------------------------------
@responses.activate
def test_a_repeated_question_is_answered_again_not_taken_for_an_earlier_post(
    tmp_path: Path, store: Store
) -> None:
    # Freshdesk webhooks carry no comment id, so the customer's message is found by its text;
    # the bot's earlier identical answer sits before it and must not suppress the new one.
    # (The loop trigger would hand a repeated question off; it is off to reach the writing.)
    world = vendor_world(tmp_path, store, freshdesk_block(triggers={"loop": {"enabled": False}}))
    ticket_read(3001, QUESTION)
    responses.post(f"{API}/tickets/3001/reply", json=created(8001, 3001, private=False))
    world.process(world.deliver(webhook("01_how_to_question.json")))
    [first] = world.decisions()

    responses.reset()
    history = [
        entry(8001, BOT_AGENT_ID, first.text or "", minute=6),
        entry(8002, REQUESTER_ID, QUESTION, incoming=True, minute=7),
    ]
    ticket_read(3001, QUESTION, history)
    responses.post(f"{API}/tickets/3001/reply", json=created(8003, 3001, private=False))
    again = {
        **webhook("04_customer_after_agent.json"),
        "ticket_id": "3001",
        "comment": f"Jordan Lee : <div>{QUESTION}</div>",
        "requester_name": "Jordan Lee",
        "requester_email": "jordan.lee@example.com",
    }

    outcome = world.process(world.deliver(again))

    assert outcome is not None
    assert (outcome.kind, outcome.write_status) == ("reply", "written")
    assert [c.path for c in writes()] == ["/api/v2/tickets/3001/reply"]
