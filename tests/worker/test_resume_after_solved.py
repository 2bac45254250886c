"""After a person solves a handed-off ticket, the bot speaks again only if the policy says so."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses
from sqlalchemy import select

from bridge.store import Store, TicketState
from tests.conftest import make_config
from tests.helpers import AGENT, BOT, REQUESTER, comments_page, trigger_body, update_response
from tests.worker.test_pipeline import COMMENTS, GROUPS, TAGS, TICKET, World

HANDED_OFF = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
SOLVED = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def at(comment_id: int, author: str, text: str, when: str) -> dict[str, Any]:
    return {
        "id": comment_id,
        "type": "Comment",
        "author_id": int(author),
        "body": text,
        "plain_body": text,
        "public": True,
        "via": {"channel": "web"},
        "created_at": when,
    }


HISTORY = [
    at(501, REQUESTER, "I want to talk to a real person", "2026-11-30T09:59:00Z"),
    at(601, BOT, "I'm handing this over to our support team.", "2026-11-30T10:00:00Z"),
    at(701, AGENT, "Hi Sam, fixed your login.", "2026-11-30T11:00:00Z"),
    at(502, REQUESTER, "Thanks! Also, how do I export my notes?", "2026-12-01T09:00:00Z"),
]


def world(tmp_path: Path, store: Store, resume: bool) -> World:
    config = make_config(tmp_path, store.url, {"handoff": {"resume_after_solved": resume}})
    w = World(config, store)
    with w.runtime.store.session() as session:
        state = TicketState(
            connector="acme",
            ticket_id="42",
            status="escalated",
            escalated_at=HANDED_OFF,
            solved_at=SOLVED,
            escalation_reason="human_request",
        )
        session.add(state)
    return w


@responses.activate
def test_without_resume_the_ticket_stays_with_people(tmp_path: Path, store: Store) -> None:
    w = world(tmp_path, store, resume=False)
    outcome = w.process(w.deliver(trigger_body(comment_id="502", text=HISTORY[-1]["body"])))
    assert (outcome.kind, outcome.reason) == ("silent", "already_escalated")
    assert len(responses.calls) == 0


@responses.activate
def test_with_resume_the_bot_answers_what_came_after_the_solve(
    tmp_path: Path, store: Store
) -> None:
    w = world(tmp_path, store, resume=True)
    responses.get(COMMENTS, json=comments_page(*HISTORY))
    responses.put(TICKET, json=update_response(602))

    outcome = w.process(w.deliver(trigger_body(comment_id="502", text=HISTORY[-1]["body"])))

    # The agent's reply and the old request for a person came before the solve: neither
    # silences the bot nor hands the ticket off again.
    assert (outcome.kind, outcome.write_status) == ("reply", "written")
    [put] = [json.loads(c.request.body) for c in responses.calls if c.request.method == "PUT"]
    assert "Export" in put["ticket"]["comment"]["body"]
    with w.runtime.store.session() as session:
        state = session.scalars(select(TicketState)).one()
    assert (state.status, state.bot_turns) == ("open", 1)


@responses.activate
@pytest.mark.parametrize("text", ["agent please", "Thanks! Also, how do I export my notes?"])
def test_a_new_handoff_after_resuming_silences_the_bot_again(
    text: str, tmp_path: Path, store: Store
) -> None:
    w = world(tmp_path, store, resume=True)
    history = [*HISTORY[:-1], at(502, REQUESTER, text, "2026-12-01T09:00:00Z")]
    responses.get(COMMENTS, json=comments_page(*history))
    responses.get(
        GROUPS,
        json={
            "groups": [{"id": 11, "name": "Support"}, {"id": 22, "name": "Tier 2"}],
            "meta": {"has_more": False},
            "links": {},
        },
    )
    responses.put(TICKET, json=update_response(602))
    responses.put(TICKET, json=update_response(603))
    responses.put(TAGS, json={"tags": []})
    w.process(w.deliver(trigger_body(comment_id="502", text=text)))
    with w.runtime.store.session() as session:
        state = session.scalars(select(TicketState)).one()
    if text == "agent please":
        assert state.status == "escalated"
        responses.reset()
        again = w.process(w.deliver(trigger_body(comment_id="503", text="hello?")))
        assert (again.kind, again.reason) == ("silent", "already_escalated")
    else:
        assert state.status == "open"
