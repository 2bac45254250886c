"""The worker on whatever got stored: hostile text is decided, a broken record is dead-lettered.

A message may be any text a customer (or a broken mail client) can produce, and as long as the
webhook's body allows; deciding it must end. A stored event that does not even read back (an old
format, a hand-edited row) must end in the dead-letter table, not crash the task.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bridge.decision.core import MAX_MESSAGE_CHARS
from bridge.store import DeadLetter, Decision, Delivery, Store
from tasks.celery_app import HANDLE_EVENT, create_celery
from tests.helpers import signed, trigger_body
from tests.hostile.payloads import strings
from tests.hostile.test_endpoint import Endpoint, decide_everything_enqueued

SETTINGS = settings(
    max_examples=80,
    deadline=None,
    database=None,  # no example files left in the working tree
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
TICKETS = itertools.count(1)

texts = st.one_of(
    st.text(max_size=300),
    strings,
    # Long runs of what the triggers look for: the patterns must not take minutes on them.
    st.builds(
        lambda phrase, n: phrase * n,
        st.sampled_from(["how do I reset ", "I want a refund ", "!!!", "AGENT ", "a@b.c "]),
        st.integers(1, 60_000),
    ),
)


@pytest.fixture
def endpoint(tmp_path: Path, store: Store) -> Endpoint:
    return Endpoint(tmp_path, store)


@SETTINGS
@given(text=texts, name=texts, email=texts, subject=texts, tags=texts)
def test_any_customer_text_is_decided(
    endpoint: Endpoint, text: str, name: str, email: str, subject: str, tags: str
) -> None:
    ticket = str(next(TICKETS))
    body = trigger_body(
        ticket_id=ticket,
        comment_id="1",
        text=text,
        requester_name=name,
        requester_email=email,
        subject=subject,
        tags=tags,
    )
    raw, headers = signed(endpoint.connector("zendesk"), body)
    response = endpoint.client.post("/webhooks/zendesk", data=raw, headers=headers)
    event(f"answered {response.status_code}")
    # 413: escaped emoji can take a long field past the body limit.
    assert response.status_code in (202, 400, 413), response.get_data(as_text=True)[:300]
    decide_everything_enqueued(endpoint)


def test_a_message_too_long_to_read_goes_to_a_person(endpoint: Endpoint) -> None:
    text = "how do I reset my password " * (MAX_MESSAGE_CHARS // 20)
    raw, headers = signed(endpoint.connector("zendesk"), trigger_body(ticket_id="77", text=text))
    assert endpoint.client.post("/webhooks/zendesk", data=raw, headers=headers).status_code == 202
    decide_everything_enqueued(endpoint)
    with endpoint.runtime.store.session() as session:
        decision = session.scalars(select(Decision)).one()
    assert (decision.kind, decision.reason, decision.rule_id) == (
        "escalate",
        "unreadable_message",
        "message.too_long",
    )


BROKEN_EVENTS: list[dict[str, Any]] = [
    {},
    {"connector": "zendesk"},
    {"connector": "zendesk", "delivery_id": "x", "ticket_id": "1", "kind": 7, "message": 1},
    {
        "connector": "zendesk",
        "delivery_id": "x",
        "ticket_id": "1",
        "kind": "comment",
        "message": {"id": "1", "role": "emperor", "text": "hi"},
    },
    {
        "connector": "zendesk",
        "delivery_id": "x",
        "ticket_id": "1",
        "kind": "comment",
        "message": {"id": "1", "role": "customer", "text": "hi", "created_at": "yesterday"},
    },
    {
        "connector": "zendesk",
        "delivery_id": "x",
        "ticket_id": "1",
        "kind": "comment",
        "message": ["not", "an", "object"],
    },
    {"connector": "gone-connector", "delivery_id": "x", "ticket_id": "1", "kind": "comment"},
]


@pytest.mark.parametrize("stored", BROKEN_EVENTS)
def test_a_stored_event_that_does_not_read_back_is_dead_lettered(
    endpoint: Endpoint, stored: dict[str, Any]
) -> None:
    celery = create_celery(endpoint.runtime.config, endpoint.runtime, task_always_eager=True)
    with endpoint.runtime.store.session() as session:
        delivery = Delivery(
            connector="zendesk", delivery_id="broken", ticket_id="1", event=stored, status="queued"
        )
        session.add(delivery)
        session.flush()
        pk = delivery.id

    result = celery.tasks[HANDLE_EVENT].apply_async(args=[pk])

    assert result.get() == "dead"
    with endpoint.runtime.store.session() as session:
        [letter] = session.scalars(select(DeadLetter)).all()
        assert session.get(Delivery, pk).status == "dead"
    assert letter.delivery_pk == pk and letter.error
