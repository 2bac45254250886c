"""The capturing connector: history from the case, writes recorded, nothing sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.eval.capture import CapturingConnector
from bridge.events import Message, Role
from connectors.base import MalformedPayload, WebhookRequest


def test_it_serves_the_loaded_conversation_per_ticket() -> None:
    connector = CapturingConnector("eval-zendesk")
    history = [Message("m1", Role.CUSTOMER, "hi"), Message("m2", Role.AGENT, "hello")]
    connector.load("t1", history)

    assert connector.has_credentials
    assert connector.fetch_conversation("t1") == history
    assert connector.fetch_conversation("t2") == []
    history.append(Message("m3", Role.CUSTOMER, "later"))
    assert len(connector.fetch_conversation("t1")) == 2  # a copy was loaded


def test_writes_are_recorded_and_seen_by_later_reads() -> None:
    connector = CapturingConnector("eval-intercom", "intercom")
    connector.load("t1", [Message("m1", Role.CUSTOMER, "How do I export?")])

    reply_id = connector.post_reply("t1", "Go to Settings.")
    note_id = connector.post_note("t1", "Suggested reply")
    escalated = connector.escalate("t1", "brief", "Billing", ["ai_escalated"], priority="high")
    connector.assign_group("t1", "Support")
    connector.add_tags("t1", ["x"])

    writes = connector.writes("t1")
    assert [w.action for w in writes] == ["reply", "note", "escalate", "assign_group", "add_tags"]
    assert writes[0].text == "Go to Settings." and writes[0].customer_visible
    assert not writes[1].customer_visible
    assert (writes[2].group, writes[2].tags, writes[2].priority) == (
        "Billing",
        ("ai_escalated",),
        "high",
    )
    assert len({reply_id, note_id, escalated}) == 3
    conversation = connector.fetch_conversation("t1")
    assert [m.role for m in conversation] == [Role.CUSTOMER, Role.BOT, Role.BOT, Role.BOT]
    assert conversation[1].public and not conversation[2].public
    assert connector.writes("other") == []
    assert connector.type_name == "intercom"


def test_it_receives_no_webhooks_and_wires_nothing() -> None:
    connector = CapturingConnector("eval-freshdesk", "freshdesk")
    request = WebhookRequest("POST", {}, b"{}")
    with pytest.raises(MalformedPayload):
        connector.parse(request)
    assert connector.sign(b"{}", datetime.now(UTC)) == {}
    assert connector.list_groups() == []
    assert list(connector.list_help_articles()) == []
    assert connector.connect("https://x.test").lines == ()
