"""The Celery task layer: waiting for a busy ticket, requeueing lost deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bridge.store import DeadLetter, Decision, Delivery, Store, repo
from tasks.celery_app import HANDLE_EVENT, REQUEUE_STALE, create_celery
from tasks.pipeline import RetryLater
from tests.conftest import make_config
from tests.helpers import trigger_body
from tests.worker.test_pipeline import World

DRY = {"mode": "dry_run", "email": None, "api_token": None, "bot_user_id": None}


@pytest.fixture
def world(tmp_path: Path, store: Store) -> World:
    return World(make_config(tmp_path, store.url, DRY), store)


def test_an_event_waits_while_an_earlier_event_of_its_ticket_is_pending(world: World) -> None:
    first = world.deliver(trigger_body(comment_id="1", text="agent please"))
    second = world.deliver(trigger_body(comment_id="2", text="How do I export my notes?"))
    with pytest.raises(RetryLater, match="earlier event"):
        world.process(second)
    # Both messages were waiting when the first was processed: one decision covers them.
    assert world.process(first).reason == "human_request"
    assert world.process(second) is None
    with world.runtime.store.session() as session:
        rows = {row.delivery_pk: row for row in session.scalars(select(Decision))}
    assert rows[first].evidence["coalesced"] == [second]
    assert (rows[second].kind, rows[second].reason) == ("ignore", "coalesced")


def test_an_event_waits_while_another_worker_holds_the_ticket(world: World) -> None:
    pk = world.deliver(trigger_body())
    with world.runtime.store.session() as session:
        assert repo.acquire_ticket_lock(session, "acme", "42", "other-worker", 60)
    with pytest.raises(RetryLater, match="holds the ticket lock"):
        world.process(pk)
    with world.runtime.store.session() as session:
        repo.release_ticket_lock(session, "acme", "42", "other-worker")
    assert world.process(pk).kind == "reply"


def test_a_ticket_that_stays_locked_ends_in_the_dead_letter_table(world: World) -> None:
    celery = create_celery(world.config, world.runtime, task_always_eager=True)
    pk = world.deliver(trigger_body())
    with world.runtime.store.session() as session:
        repo.ticket_state(session, "acme", "42")
        assert repo.acquire_ticket_lock(session, "acme", "42", "stuck-worker", 3600)

    celery.tasks[HANDLE_EVENT].apply_async(args=[pk])

    with world.runtime.store.session() as session:
        [letter] = session.scalars(select(DeadLetter)).all()
    assert "another worker holds the ticket lock" in letter.error


def test_deliveries_recorded_but_never_queued_are_requeued(world: World) -> None:
    celery = create_celery(world.config, world.runtime, task_always_eager=True)
    never_enqueued = world.deliver(trigger_body(ticket_id="50", comment_id="1"))
    fresh = world.deliver(trigger_body(ticket_id="51", comment_id="2"))
    abandoned = world.deliver(trigger_body(ticket_id="52", comment_id="3"))
    waiting = world.deliver(trigger_body(ticket_id="53", comment_id="4"))
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    with world.runtime.store.session() as session:
        session.get(Delivery, never_enqueued).received_at = datetime.now(UTC) - timedelta(
            seconds=world.config.worker.requeue_after_seconds + 5
        )
        # Picked up, then left longer than any retry or redelivery: its task is gone.
        session.get(Delivery, abandoned).received_at = long_ago
        session.get(Delivery, abandoned).touched_at = long_ago
        # Picked up a minute ago and waiting for its retry: left alone.
        session.get(Delivery, waiting).received_at = long_ago
        session.get(Delivery, waiting).touched_at = datetime.now(UTC) - timedelta(minutes=1)

    assert celery.tasks[REQUEUE_STALE].apply_async().get() == 2

    with world.runtime.store.session() as session:
        assert session.get(Delivery, never_enqueued).status == "done"
        assert session.get(Delivery, abandoned).status == "done"
        assert session.get(Delivery, fresh).status == "received"
        assert session.get(Delivery, waiting).status == "received"
