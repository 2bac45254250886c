"""The worker's path end to end with Zendesk's HTTP API mocked by ``responses``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses
from sqlalchemy import select

from bridge.config import AppConfig
from bridge.runtime import Runtime
from bridge.store import DeadLetter, Decision, Delivery, Store, TicketState, repo
from connectors.base import HelpdeskError, WebhookRequest
from connectors.zendesk import ZendeskConnector
from tasks.celery_app import HANDLE_EVENT, create_celery
from tasks.pipeline import process_delivery
from tests.conftest import make_config
from tests.helpers import (
    AGENT,
    BOT,
    REQUESTER,
    comment,
    comments_page,
    signed,
    trigger_body,
    update_response,
)

BASE = "https://acme.zendesk.test/api/v2"
COMMENTS = f"{BASE}/tickets/42/comments.json"
TICKET = f"{BASE}/tickets/42.json"
TAGS = f"{BASE}/tickets/42/tags.json"
GROUPS = f"{BASE}/groups.json"


class World:
    def __init__(self, config: AppConfig, store: Store) -> None:
        self.config = config
        sleeps: list[float] = []
        self.sleeps = sleeps
        connectors = {
            name: ZendeskConnector(name, cc.settings, sleep=sleeps.append)
            for name, cc in config.connectors.items()
        }
        self.runtime = Runtime(config, store=store, connectors=connectors)
        self.connector = connectors["acme"]

    def deliver(self, body: dict[str, Any]) -> int:
        raw, headers = signed(self.connector, body)
        event = self.connector.parse(WebhookRequest("POST", headers, raw))
        with self.runtime.store.session() as session:
            return repo.record_delivery(session, "acme", event.to_json()).id

    def process(self, pk: int):
        return process_delivery(self.runtime, pk, owner="test-worker")

    def decisions(self) -> list[Decision]:
        with self.runtime.store.session() as session:
            return list(session.scalars(select(Decision).order_by(Decision.id)))

    def ticket(self, ticket_id: str = "42") -> TicketState:
        with self.runtime.store.session() as session:
            return session.scalars(
                select(TicketState).where(TicketState.ticket_id == ticket_id)
            ).one()


def make_world(tmp_path: Path, store: Store, **connector: Any) -> World:
    return World(make_config(tmp_path, store.url, connector), store)


@pytest.fixture
def world(tmp_path: Path, store: Store) -> World:
    return make_world(tmp_path, store)


def put_bodies(calls: responses.CallList, url: str) -> list[dict[str, Any]]:
    return [
        json.loads(c.request.body)
        for c in calls
        if c.request.method == "PUT" and c.request.url == url
    ]


def groups_page() -> dict[str, Any]:
    return {
        "groups": [{"id": 11, "name": "Support"}, {"id": 22, "name": "Tier 2"}],
        "meta": {"has_more": False},
        "links": {"next": None},
    }


QUESTION = "Hi, how do I reset my password? I can't remember it."


@responses.activate
def test_how_to_question_is_answered_publicly_with_a_citation(world: World) -> None:
    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, QUESTION)))
    responses.put(TICKET, json=update_response(601))
    outcome = world.process(world.deliver(trigger_body(text=QUESTION)))

    assert (outcome.kind, outcome.write_status) == ("reply", "written")
    [reply] = put_bodies(responses.calls, TICKET)
    posted = reply["ticket"]["comment"]
    assert posted["public"] is True
    assert "Sources:" in posted["body"] and "Reset your password" in posted["body"]
    assert "AI assistant" in posted["body"]
    [decision] = world.decisions()
    assert decision.citations and decision.citations[0]["url"].startswith(
        "https://help.notebird.example"
    )
    assert world.ticket().bot_turns == 1


@responses.activate
def test_human_request_is_handed_off_with_message_note_group_and_tags(world: World) -> None:
    text = "This isn't helping. I want to talk to a real person please."
    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, text)))
    responses.get(GROUPS, json=groups_page())
    responses.put(TICKET, json=update_response(601))
    responses.put(TICKET, json=update_response(602))
    responses.put(TAGS, json={"tags": ["ai_escalated", "ai_reason_human_request"]})

    outcome = world.process(world.deliver(trigger_body(text=text)))

    assert (outcome.kind, outcome.reason) == ("escalate", "human_request")
    message, escalation = put_bodies(responses.calls, TICKET)
    assert message["ticket"]["comment"]["public"] is True
    assert "Tier 2" in message["ticket"]["comment"]["body"]
    assert escalation["ticket"]["group_id"] == 22
    assert escalation["ticket"]["comment"]["public"] is False
    assert "] Handoff: " in escalation["ticket"]["comment"]["body"]
    [tags] = put_bodies(responses.calls, TAGS)
    assert set(tags["tags"]) >= {"ai_escalated", "ai_reason_human_request"}
    assert world.ticket().status == "escalated"


@responses.activate
def test_agent_comment_silences_the_bot_on_that_ticket(world: World) -> None:
    agent = trigger_body(comment_id="502", text="I'm on it.", author_id=AGENT, author_role="Agent")
    outcome = world.process(world.deliver(agent))
    assert (outcome.kind, outcome.reason) == ("silent", "human_active")
    assert world.ticket().status == "human_active"

    follow_up = world.process(
        world.deliver(trigger_body(comment_id="503", text="How do I export?"))
    )
    assert (follow_up.kind, follow_up.reason) == ("silent", "human_active")
    assert len(responses.calls) == 0  # never even read the ticket, let alone wrote to it


@responses.activate
def test_our_own_comment_is_ignored(world: World) -> None:
    own = trigger_body(comment_id="504", text="Here's how...", author_id=BOT, author_role="Agent")
    outcome = world.process(world.deliver(own))
    assert (outcome.kind, outcome.reason) == ("ignore", "own_message")
    assert world.ticket().status == "open"
    assert len(responses.calls) == 0


@responses.activate
def test_human_comment_while_the_answerer_runs_means_no_post(world: World) -> None:
    first = comments_page(comment(501, REQUESTER, QUESTION))
    then = comments_page(comment(501, REQUESTER, QUESTION), comment(502, AGENT, "Let me help."))
    responses.get(COMMENTS, json=first)
    responses.get(COMMENTS, json=then)  # the re-check just before writing sees the agent

    outcome = world.process(world.deliver(trigger_body(text=QUESTION)))

    assert outcome.write_status == "skipped"
    assert not [c for c in responses.calls if c.request.method == "PUT"]
    assert world.ticket().status == "human_active"


@responses.activate
def test_agent_already_in_history_means_no_answer(world: World) -> None:
    history = comments_page(comment(500, AGENT, "Hello Sam"), comment(501, REQUESTER, QUESTION))
    responses.get(COMMENTS, json=history)
    outcome = world.process(world.deliver(trigger_body(text=QUESTION)))
    assert (outcome.kind, outcome.reason) == ("silent", "human_active")
    assert not [c for c in responses.calls if c.request.method == "PUT"]


@responses.activate
def test_rate_limit_with_retry_after_is_retried_then_succeeds(world: World) -> None:
    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, QUESTION)))
    responses.put(
        TICKET,
        status=429,
        body="Number of allowed API requests per minute exceeded",
        headers={"Retry-After": "3"},
        content_type="text/plain",
    )
    responses.put(TICKET, json=update_response(601))

    outcome = world.process(world.deliver(trigger_body(text=QUESTION)))

    assert outcome.write_status == "written"
    assert world.sleeps == [3.0]
    assert len(put_bodies(responses.calls, TICKET)) == 2


@responses.activate
def test_helpdesk_that_keeps_failing_ends_in_the_dead_letter_table(world: World) -> None:
    responses.get(COMMENTS, json={"error": "Server error"}, status=503)
    celery = create_celery(world.config, world.runtime, task_always_eager=True)
    pk = world.deliver(trigger_body(text=QUESTION))

    celery.tasks[HANDLE_EVENT].apply_async(args=[pk])

    with world.runtime.store.session() as session:
        [letter] = session.scalars(select(DeadLetter)).all()
        delivery = session.get(Delivery, pk)
    assert "503" in letter.error
    assert letter.attempts == world.config.worker.max_retries + 1
    assert delivery.status == "dead"
    # each task attempt made the HTTP helper's own retries too: nothing was given up early
    http_attempts = 1 + world.connector.settings.max_retries
    assert len(responses.calls) == http_attempts * (world.config.worker.max_retries + 1)
    assert world.decisions() == []


@responses.activate
def test_a_rerun_after_a_crash_resumes_without_double_posting(world: World) -> None:
    text = "agent please"
    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, text)))
    responses.get(GROUPS, json=groups_page())
    responses.put(TICKET, json=update_response(601))  # the public handoff message
    responses.put(TICKET, status=500, json={"error": "boom"})  # the escalation fails
    pk = world.deliver(trigger_body(text=text))
    with pytest.raises(HelpdeskError):
        world.process(pk)
    [decision] = world.decisions()
    assert decision.writes_done == ["handoff_message"]

    responses.put(TICKET, json=update_response(602))
    responses.put(TAGS, json={"tags": []})
    outcome = world.process(pk)

    assert outcome.write_status == "written"
    bodies = put_bodies(responses.calls, TICKET)
    public = [b for b in bodies if b["ticket"]["comment"]["public"]]
    assert len(public) == 1  # the handoff message was not posted twice


@responses.activate
def test_a_reply_already_on_the_ticket_is_not_posted_again(world: World) -> None:
    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, QUESTION)))
    pk = world.deliver(trigger_body(text=QUESTION))
    # A worker decided and posted, then died before recording the post.
    responses.put(TICKET, json=update_response(601))
    world.process(pk)
    posted = put_bodies(responses.calls, TICKET)[0]["ticket"]["comment"]["body"]
    with world.runtime.store.session() as session:
        row = session.scalars(select(Decision)).one()
        row.write_status, row.writes_done = "pending", []
        session.get(Delivery, pk).status = "queued"
    responses.replace(
        responses.GET,
        COMMENTS,
        json=comments_page(comment(501, REQUESTER, QUESTION), comment(601, BOT, posted)),
    )

    world.process(pk)

    assert len(put_bodies(responses.calls, TICKET)) == 1


@responses.activate
def test_draft_mode_puts_the_suggestion_in_an_internal_note(tmp_path: Path, store: Store) -> None:
    world = make_world(tmp_path, store, mode="draft")
    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, QUESTION)))
    responses.put(TICKET, json=update_response(601))
    outcome = world.process(world.deliver(trigger_body(text=QUESTION)))
    assert outcome.kind == "reply"
    [note] = put_bodies(responses.calls, TICKET)
    assert note["ticket"]["comment"]["public"] is False
    assert "Suggested reply (not sent to the customer)" in note["ticket"]["comment"]["body"]


@responses.activate
def test_dry_run_without_credentials_reads_and_writes_nothing(tmp_path: Path, store: Store) -> None:
    world = make_world(
        tmp_path, store, mode="dry_run", email=None, api_token=None, bot_user_id=None
    )
    assert not world.connector.has_credentials
    answered = world.process(world.deliver(trigger_body(text=QUESTION)))
    handed_off = world.process(
        world.deliver(trigger_body(ticket_id="43", comment_id="9", text="real human please"))
    )
    assert (answered.kind, answered.write_status) == ("reply", "recorded")
    assert (handed_off.kind, handed_off.write_status) == ("escalate", "recorded")
    assert len(responses.calls) == 0
    assert world.ticket("43").status == "escalated"


@responses.activate
def test_dry_run_with_credentials_reads_but_never_writes(tmp_path: Path, store: Store) -> None:
    world = make_world(tmp_path, store, mode="dry_run")
    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, QUESTION)))
    outcome = world.process(world.deliver(trigger_body(text=QUESTION)))
    assert outcome.write_status == "recorded"
    assert [c.request.method for c in responses.calls] == ["GET"]


@responses.activate
def test_question_the_docs_do_not_cover_is_handed_off_as_missing_knowledge(world: World) -> None:
    text = "Do you deliver pizza to Berlin on Sundays?"
    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, text)))
    responses.get(GROUPS, json=groups_page())
    responses.put(TICKET, json=update_response(601))
    responses.put(TICKET, json=update_response(602))
    responses.put(TAGS, json={"tags": []})
    outcome = world.process(world.deliver(trigger_body(text=text)))
    assert (outcome.kind, outcome.reason) == ("escalate", "missing_knowledge")
    escalation = put_bodies(responses.calls, TICKET)[1]
    assert escalation["ticket"]["group_id"] == 11  # default group: Support
    [tags] = put_bodies(responses.calls, TAGS)
    assert "ai_reason_missing_knowledge" in tags["tags"]


@responses.activate
def test_processing_the_same_delivery_twice_makes_one_decision(world: World) -> None:
    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, QUESTION)))
    responses.put(TICKET, json=update_response(601))
    pk = world.deliver(trigger_body(text=QUESTION))
    world.process(pk)
    assert world.process(pk) is None
    assert len(world.decisions()) == 1
    assert len(put_bodies(responses.calls, TICKET)) == 1
