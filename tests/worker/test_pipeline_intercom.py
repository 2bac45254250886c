"""The worker's path end to end with Intercom's REST API mocked by ``responses``.

The webhooks are the shipped examples (examples/webhooks/intercom/), and a conversation read
back through the API is the same conversation object the webhook carried.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

from bridge.store import Store
from connectors.intercom import text_to_html
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

API = "https://api.intercom.io"
TOKEN = "dG9rOmJyaWRnZS10ZXN0"
BOT_ADMIN = "5550001"
HUMAN_ADMIN = "814860"  # Priya Shah in the shipped examples
SUPPORT_TEAM, TIER2_TEAM = "7001", "7002"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Intercom-Version": "2.16"}


def intercom_block(**overrides: Any) -> dict[str, Any]:
    settings = {
        "client_secret": "intercom-client-secret",
        "access_token": TOKEN,
        "bot_admin_id": BOT_ADMIN,
    }
    return connector_block("intercom", settings, **overrides)


@pytest.fixture
def world(tmp_path: Path, store: Store) -> VendorWorld:
    return vendor_world(tmp_path, store, intercom_block())


def webhook(name: str) -> dict[str, Any]:
    return example("intercom", name)


def conversation_of(notification: dict[str, Any]) -> dict[str, Any]:
    """What ``GET /conversations/{id}`` answers: the conversation the webhook carried."""
    return copy.deepcopy(notification["data"]["item"])


def part(
    part_id: str,
    author_id: str,
    body: str,
    *,
    author_type: str = "admin",
    part_type: str = "comment",
    created_at: int = 1767262000,
) -> dict[str, Any]:
    return {
        "type": "conversation_part",
        "id": part_id,
        "part_type": part_type,
        "body": body,
        "created_at": created_at,
        "updated_at": created_at,
        "author": {"id": author_id, "type": author_type, "name": "", "email": ""},
        "attachments": [],
    }


def with_parts(conversation: dict[str, Any], *parts: dict[str, Any]) -> dict[str, Any]:
    grown = copy.deepcopy(conversation)
    listed = grown["conversation_parts"]["conversation_parts"]
    listed.extend(parts)
    grown["conversation_parts"]["total_count"] = len(listed)
    return grown


def reply_answer(conversation: dict[str, Any], part_id: str, part_type: str) -> dict[str, Any]:
    """The reply endpoint answers with the conversation, our new part last."""
    return with_parts(
        conversation, part(part_id, BOT_ADMIN, "<p>...</p>", part_type=part_type, created_at=2**31)
    )


def reply_body(message_type: str, text: str) -> dict[str, Any]:
    return {
        "message_type": message_type,
        "type": "admin",
        "admin_id": BOT_ADMIN,
        "body": text_to_html(text),
    }


def teams_listed() -> None:
    responses.get(
        f"{API}/teams",
        json={
            "type": "team.list",
            "teams": [
                {"type": "team", "id": SUPPORT_TEAM, "name": "Support", "admin_ids": []},
                {"type": "team", "id": TIER2_TEAM, "name": "Tier 2", "admin_ids": []},
            ],
        },
    )


# -- 1. a how-to question is answered in public --------------------------------------------
@responses.activate
def test_how_to_question_is_answered_publicly_with_a_citation(world: VendorWorld) -> None:
    question = webhook("01_how_to_question.json")
    assert QUESTION in question["data"]["item"]["source"]["body"]
    conversation = conversation_of(question)
    responses.get(f"{API}/conversations/2001", json=conversation)
    responses.post(
        f"{API}/conversations/2001/reply",
        json=reply_answer(conversation, "4000001", "comment"),
        match=[matchers.header_matcher(HEADERS)],
    )

    outcome = world.process(world.deliver(question))

    assert outcome is not None
    assert (outcome.kind, outcome.write_status) == ("reply", "written")
    [decision] = world.decisions()
    assert (decision.kind, decision.write_status) == ("reply", "written")
    assert decision.text and "Reset your password" in decision.text
    assert "AI assistant" in decision.text
    assert writes() == [
        Call("POST", "/conversations/2001/reply", reply_body("comment", decision.text))
    ]
    [reply] = writes()
    assert "Reset your password" in reply.body["body"] and "AI assistant" in reply.body["body"]
    assert reads("/conversations/2001") == 2  # once to decide, once more just before writing
    [posted] = world.posted()
    assert (posted.ticket_id, posted.message_id, posted.decision_id) == (
        "2001",
        "4000001",
        decision.id,
    )
    assert world.ticket("2001").bot_turns == 1


# -- 2. asking for a person hands the conversation to the routed team ----------------------
@responses.activate
def test_human_request_is_handed_off_with_message_note_team_and_tags(world: VendorWorld) -> None:
    request = webhook("02_human_request.json")
    conversation = conversation_of(request)
    responses.get(f"{API}/conversations/2002", json=conversation)
    teams_listed()
    # One tag exists already (Intercom matches tag names case-insensitively); one is created.
    existing = {"type": "tag", "id": "911", "name": "AI_Escalated"}
    responses.get(f"{API}/tags", json={"type": "list", "data": [existing]})
    responses.post(
        f"{API}/tags", json={"type": "tag", "id": "912", "name": "ai_reason_human_request"}
    )
    reply_url = f"{API}/conversations/2002/reply"
    responses.post(reply_url, json=reply_answer(conversation, "4000002", "comment"))
    responses.post(reply_url, json=reply_answer(conversation, "4000003", "note"))
    responses.post(f"{API}/conversations/2002/parts", json=conversation)
    responses.post(f"{API}/conversations/2002/tags", json={"type": "tag", "id": "911"})

    outcome = world.process(world.deliver(request))

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
    assert writes() == [
        Call("POST", "/conversations/2002/reply", reply_body("comment", decision.text)),
        Call("POST", "/tags", {"name": "ai_reason_human_request"}),
        Call("POST", "/conversations/2002/reply", reply_body("note", decision.brief)),
        Call(
            "POST",
            "/conversations/2002/parts",
            {
                "message_type": "assignment",
                "type": "team",
                "admin_id": BOT_ADMIN,
                "assignee_id": TIER2_TEAM,
            },
        ),
        Call("POST", "/conversations/2002/tags", {"id": "911", "admin_id": BOT_ADMIN}),
        Call("POST", "/conversations/2002/tags", {"id": "912", "admin_id": BOT_ADMIN}),
    ]
    assert HUMAN_REQUEST in decision.brief
    assert [p.message_id for p in world.posted()] == ["4000002", "4000003"]
    state = world.ticket("2002")
    assert (state.status, state.escalation_reason) == ("escalated", "human_request")


# -- 3. a teammate answering while the bot decides wins ------------------------------------
@responses.activate
def test_teammate_reply_between_decision_and_write_means_nothing_is_posted(
    world: VendorWorld,
) -> None:
    question = webhook("01_how_to_question.json")
    conversation = conversation_of(question)
    responses.get(f"{API}/conversations/2001", json=conversation)
    responses.get(
        f"{API}/conversations/2001",
        json=with_parts(conversation, part("3100999", HUMAN_ADMIN, "<p>Let me help.</p>")),
    )

    outcome = world.process(world.deliver(question))

    assert outcome is not None
    assert (outcome.kind, outcome.write_status) == ("reply", "skipped")
    assert reads("/conversations/2001") == 2
    assert writes() == []  # no reply, no note, no assignment, no tag
    [decision] = world.decisions()
    assert decision.write_status == "skipped"
    assert world.posted() == []
    assert world.ticket("2001").status == "human_active"


# -- 4. a teammate's comment silences the bot on that conversation -------------------------
@responses.activate
def test_teammate_comment_silences_the_bot_for_the_next_customer_message(
    world: VendorWorld,
) -> None:
    assert_agent_comment_silences_the_bot(world, "2003")


# -- 5. the webhook about our own reply does not start a loop ------------------------------
@responses.activate
def test_webhook_about_the_reply_we_just_posted_is_ignored(world: VendorWorld) -> None:
    question = webhook("01_how_to_question.json")
    conversation = conversation_of(question)
    responses.get(f"{API}/conversations/2001", json=conversation)
    responses.post(
        f"{API}/conversations/2001/reply", json=reply_answer(conversation, "4000001", "comment")
    )
    world.process(world.deliver(question))
    [reply] = writes()

    # Intercom tells every subscriber about the part our seat just wrote.
    echo = copy.deepcopy(question)
    echo.update(id="notif_0c1f2a8e-5b7d-4e10-9a61-2f3b4c5d6e99", topic="conversation.admin.replied")
    ours = part("4000001", BOT_ADMIN, reply.body["body"], created_at=1767261660)
    echo["data"]["item"] = with_parts(echo["data"]["item"], ours)

    assert_own_reply_is_ignored(world, echo, "2001")


# -- 6. an API that keeps failing ends in the dead-letter table ----------------------------
@responses.activate
def test_intercom_that_keeps_failing_ends_in_the_dead_letter_table(world: VendorWorld) -> None:
    responses.get(
        f"{API}/conversations/2001",
        status=503,
        json={
            "type": "error.list",
            "errors": [{"code": "service_unavailable", "message": "Service Unavailable"}],
        },
    )
    pk = world.deliver(webhook("01_how_to_question.json"))

    world.run_task(pk)

    assert_dead_lettered_after_every_retry(
        world, pk, "2001", read_path="/conversations/2001", error_names="/conversations/2001"
    )
