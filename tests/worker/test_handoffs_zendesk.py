"""Every handoff reason, end to end on Zendesk with its HTTP mocked.

For each reason: the customer's message promises a reply time that matches business hours,
the brief goes in as an internal note, the group and priority come from routing, the tags
name the reason, and the bot stays silent on the ticket afterwards.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses

from bridge.knowledge.types import Answer, AnswerKind
from bridge.store import Store
from tests.conftest import make_config
from tests.helpers import REQUESTER, comment, comments_page, trigger_body, update_response
from tests.worker.test_pipeline import COMMENTS, GROUPS, TAGS, TICKET, World

OPEN = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # Tuesday 12:00 in Berlin
CLOSED = datetime(2026, 12, 5, 11, 0, tzinfo=UTC)  # Saturday

POLICY: dict[str, Any] = {
    "business_hours": {
        "timezone": "Europe/Berlin",
        "weekly": {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")},
        "reply_within_hours": 4,
    },
    "routing": {
        "default_group": "Support",
        "default_priority": "normal",
        "rules": [
            {
                "reason": ["refund", "billing_dispute", "cancellation"],
                "group": "Billing",
                "priority": "high",
            },
            {
                "reason": ["security", "legal_privacy", "account_action"],
                "group": "Trust",
                "priority": "urgent",
            },
            {"reason": "high_value", "group": "Sales"},
            {"reason": "human_request", "group": "Tier 2"},
        ],
    },
    "triggers": {
        "vip": {"fields": {"organization": ["Globex"]}},
    },
}
GROUP_IDS = {"Support": 11, "Tier 2": 22, "Billing": 33, "Trust": 44, "Sales": 55}

# reason -> (the customer's message, extra webhook fields, the group, the priority)
TRIGGERED: dict[str, tuple[str, dict[str, str], str, str]] = {
    "human_request": ("Can I please talk to a real person?", {}, "Tier 2", "normal"),
    "refund": ("I want a refund for last month, please.", {}, "Billing", "high"),
    "billing_dispute": ("You charged me twice this month!", {}, "Billing", "high"),
    "cancellation": ("Please cancel my subscription today.", {}, "Billing", "high"),
    "account_action": ("Please delete my account and all my data.", {}, "Trust", "urgent"),
    "security": ("My account was hacked, someone changed my email.", {}, "Trust", "urgent"),
    "legal_privacy": ("My lawyer will contact you about this.", {}, "Trust", "urgent"),
    "high_value": ("We'd like a quote for 200 seats on the Team plan.", {}, "Sales", "normal"),
    "vip": ("How do I export my notes?", {"organization": "Globex"}, "Support", "normal"),
    "frustration": (
        "THIS IS THE THIRD TIME I'M WRITING!!! It's STILL not working. Useless.",
        {},
        "Support",
        "normal",
    ),
}


class StubAnswerer:
    """Stands in for an LLM that fails or answers without grounding, as the reason needs."""

    name = "stub"

    def __init__(self, outcome: Answer | Exception) -> None:
        self.outcome = outcome

    def answer(self, question: str, conversation: Any, hits: Any, product_context: str = ""):
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


ANSWER_SIDE: dict[str, Answer | Exception | None] = {
    "missing_knowledge": None,  # the real extractive answerer on an off-topic question
    "low_confidence": Answer(AnswerKind.ANSWER, "Maybe this?", ("reset-password.md",), 0.1),
    "ungrounded": Answer(AnswerKind.ANSWER, "The Pro plan costs $15 a month.", ("nope#x",), 0.9),
    "ai_unavailable": TimeoutError("the model did not answer in 30 s"),
}


def world_at(tmp_path: Path, store: Store, now: datetime) -> World:
    world = World(make_config(tmp_path, store.url, POLICY), store)
    world.runtime.clock = lambda: now
    return world


def mock_zendesk(text: str) -> None:
    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, text)))
    responses.get(
        GROUPS,
        json={
            "groups": [{"id": v, "name": k} for k, v in GROUP_IDS.items()],
            "meta": {"has_more": False},
            "links": {},
        },
    )
    responses.put(TICKET, json=update_response(601))
    responses.put(TICKET, json=update_response(602))
    responses.put(TAGS, json={"tags": []})


def handed_off(world: World, reason: str, group: str, priority: str, open_now: bool) -> None:
    puts = [json.loads(c.request.body) for c in responses.calls if c.request.method == "PUT"]
    message, escalation, tags = puts
    public = message["ticket"]["comment"]
    assert public["public"] is True
    if open_now:
        assert "A person usually replies within 4 hours." in public["body"]
    else:
        assert "on Monday at 09:00 (CET)" in public["body"]
    note = escalation["ticket"]
    assert note["comment"]["public"] is False
    assert f"({reason})" in note["comment"]["body"].splitlines()[0]
    assert note["group_id"] == GROUP_IDS[group]
    assert note["priority"] == priority
    assert set(tags["tags"]) == {"ai_escalated", f"ai_reason_{reason}"}
    assert world.ticket().status == "escalated"


def stays_silent(world: World) -> None:
    responses.reset()
    outcome = world.process(world.deliver(trigger_body(comment_id="502", text="Hello? Anyone?")))
    assert (outcome.kind, outcome.reason) == ("silent", "already_escalated")
    assert len(responses.calls) == 0


@pytest.mark.parametrize("now", [OPEN, CLOSED], ids=["in_hours", "out_of_hours"])
@pytest.mark.parametrize("reason", sorted(TRIGGERED))
@responses.activate
def test_trigger_handoff(reason: str, now: datetime, tmp_path: Path, store: Store) -> None:
    text, extra, group, priority = TRIGGERED[reason]
    world = world_at(tmp_path, store, now)
    mock_zendesk(text)

    outcome = world.process(world.deliver(trigger_body(text=text, **extra)))

    assert (outcome.kind, outcome.reason, outcome.write_status) == ("escalate", reason, "written")
    handed_off(world, reason, group, priority, open_now=now is OPEN)
    stays_silent(world)


@pytest.mark.parametrize("now", [OPEN, CLOSED], ids=["in_hours", "out_of_hours"])
@pytest.mark.parametrize("reason", sorted(ANSWER_SIDE))
@responses.activate
def test_answer_side_handoff(reason: str, now: datetime, tmp_path: Path, store: Store) -> None:
    text = "Do you deliver pizza to Berlin on Sundays?"
    world = world_at(tmp_path, store, now)
    outcome_of_answerer = ANSWER_SIDE[reason]
    if outcome_of_answerer is not None:
        stub = StubAnswerer(outcome_of_answerer)
        world.runtime.answerer = lambda policy: stub  # type: ignore[method-assign]
        text = "How do I reset my password?"
    mock_zendesk(text)

    outcome = world.process(world.deliver(trigger_body(text=text)))

    assert (outcome.kind, outcome.reason, outcome.write_status) == ("escalate", reason, "written")
    handed_off(world, reason, "Support", "normal", open_now=now is OPEN)
    stays_silent(world)
