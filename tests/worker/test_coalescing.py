"""Several customer messages sent close together get one decision between them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses
from sqlalchemy import select

from bridge.review.queries import question_of, transcript
from bridge.store import Decision, Delivery, Store
from tasks import pipeline
from tasks.pipeline import RetryLater
from tests.conftest import make_config
from tests.helpers import AGENT, REQUESTER, comment, comments_page, trigger_body, update_response
from tests.worker.test_pipeline import COMMENTS, GROUPS, TAGS, TICKET, World, put_bodies

WINDOW = 4.0
BURST = ["hi", "my notes won't export", "How do I export my notes?"]


@pytest.fixture
def world(tmp_path: Path, store: Store) -> World:
    config = make_config(tmp_path, store.url)
    return World(replace(config, worker=replace(config.worker, coalesce_seconds=WINDOW)), store)


def deliver_burst(world: World, texts: list[str], first_id: int = 501) -> list[int]:
    return [
        world.deliver(trigger_body(comment_id=str(first_id + n), text=text))
        for n, text in enumerate(texts)
    ]


def age(world: World, pks: list[int], seconds: float) -> None:
    """As if the deliveries had arrived ``seconds`` ago."""
    with world.runtime.store.session() as session:
        for pk in pks:
            delivery = session.get(Delivery, pk)
            delivery.received_at = datetime.now(UTC) - timedelta(seconds=seconds)


def decisions_by_delivery(world: World) -> dict[int, Decision]:
    with world.runtime.store.session() as session:
        return {row.delivery_pk: row for row in session.scalars(select(Decision))}


def thread(texts: list[str], first_id: int = 501) -> dict:
    return comments_page(*(comment(first_id + n, REQUESTER, t) for n, t in enumerate(texts)))


@responses.activate
def test_a_burst_waits_for_the_window_then_gets_one_reply(world: World) -> None:
    responses.get(COMMENTS, json=thread(BURST))
    responses.put(TICKET, json=update_response(601))
    pks = deliver_burst(world, BURST)

    with pytest.raises(RetryLater) as waiting:
        world.process(pks[0])
    assert waiting.value.exact and 0 < waiting.value.countdown <= WINDOW
    assert not responses.calls  # nothing read or written while the customer may be typing

    age(world, pks, WINDOW + 1)
    outcome = world.process(pks[0])
    assert (outcome.kind, outcome.write_status) == ("reply", "written")
    assert world.process(pks[1]) is None and world.process(pks[2]) is None

    [reply] = put_bodies(responses.calls, TICKET)
    assert "Export" in reply["ticket"]["comment"]["body"]
    rows = decisions_by_delivery(world)
    assert rows[pks[0]].evidence["coalesced"] == pks[1:]
    # What review, learning and reports show as the question: every part, not just the first.
    with world.runtime.store.session() as session:
        assert question_of(session, rows[pks[0]]) == "\n\n".join(BURST)
    for pk in pks[1:]:
        assert (rows[pk].kind, rows[pk].reason, rows[pk].write_status) == (
            "ignore",
            "coalesced",
            "none",
        )
        assert rows[pk].evidence == {"coalesced_into": rows[pks[0]].id}
    with world.runtime.store.session() as session:
        assert {session.get(Delivery, pk).status for pk in pks} == {"done"}
    assert world.ticket().bot_turns == 1


@responses.activate
def test_a_later_message_in_the_burst_can_turn_it_into_a_handoff(world: World) -> None:
    texts = ["How do I export my notes?", "actually just get me a real person please"]
    responses.get(COMMENTS, json=thread(texts))
    responses.get(GROUPS, json={"groups": [{"id": 22, "name": "Tier 2"}], "meta": {}})
    responses.put(TICKET, json=update_response(601))
    responses.put(TICKET, json=update_response(602))
    responses.put(TAGS, json={"tags": ["ai_escalated"]})
    pks = deliver_burst(world, texts)
    age(world, pks, WINDOW + 1)

    outcome = world.process(pks[0])

    assert (outcome.kind, outcome.reason) == ("escalate", "human_request")
    message, note = put_bodies(responses.calls, TICKET)
    assert message["ticket"]["comment"]["public"] is True
    brief = note["ticket"]["comment"]["body"]
    assert "export" in brief.lower()  # the brief tells the agent about both messages


@responses.activate
def test_an_agent_comment_ends_the_burst(world: World) -> None:
    responses.get(COMMENTS, json=thread(["How do I export my notes?"]))
    responses.put(TICKET, json=update_response(601))
    first = world.deliver(trigger_body(comment_id="501", text="How do I export my notes?"))
    agent = world.deliver(
        trigger_body(comment_id="502", text="I'll look", author_id=AGENT, author_role="Agent")
    )
    after = world.deliver(trigger_body(comment_id="503", text="thanks!"))
    age(world, [first, agent, after], WINDOW + 1)

    assert world.process(first).kind == "reply"

    rows = decisions_by_delivery(world)
    assert "coalesced" not in rows[first].evidence
    assert agent not in rows and after not in rows  # each is decided on its own


@responses.activate
def test_a_single_old_message_is_decided_without_waiting(world: World) -> None:
    responses.get(COMMENTS, json=thread(["How do I export my notes?"]))
    responses.put(TICKET, json=update_response(601))
    [pk] = deliver_burst(world, ["How do I export my notes?"])
    age(world, [pk], WINDOW)

    assert world.process(pk).kind == "reply"


@responses.activate
def test_a_crash_after_the_decision_writes_the_joined_reply_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    responses.get(COMMENTS, json=thread(BURST))
    responses.put(TICKET, json=update_response(601))
    pks = deliver_burst(world, BURST)
    age(world, pks, WINDOW + 1)
    shipped = pipeline.write_back

    def crash(*args: object, **kwargs: object) -> str:
        raise ConnectionError("worker died")

    monkeypatch.setattr(pipeline, "write_back", crash)
    with pytest.raises(ConnectionError):
        world.process(pks[0])
    monkeypatch.setattr(pipeline, "write_back", shipped)

    # Run again: the recorded decision and its burst are reused, not decided anew.
    assert world.process(pks[0]).write_status == "written"
    assert len(put_bodies(responses.calls, TICKET)) == 1
    assert len(decisions_by_delivery(world)) == 3


@responses.activate
def test_the_review_transcript_shows_a_bursts_decision_after_its_last_message(
    world: World,
) -> None:
    responses.get(COMMENTS, json=thread(BURST))
    responses.put(TICKET, json=update_response(601))
    pks = deliver_burst(world, BURST)
    age(world, pks, WINDOW + 1)
    world.process(pks[0])

    with world.runtime.store.session() as session:
        entries = transcript(session, "acme", "42")
    assert [e.text for e in entries] == BURST
    assert [(e.decision.kind, e.decision.reason) for e in entries] == [
        ("ignore", "coalesced"),
        ("ignore", "coalesced"),
        ("reply", "answered"),
    ]
