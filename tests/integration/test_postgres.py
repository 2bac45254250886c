"""The store on a real PostgreSQL server (a throwaway one when DATABASE_URL does not name one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from bridge.store import Store, repo
from tests.conftest import make_config
from tests.helpers import trigger_body

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_store(postgres_url: str) -> Store:
    store = Store(postgres_url)
    with store.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    store.migrate()
    yield store
    store.dispose()


def test_migrations_run_twice_and_constraints_hold(pg_store: Store) -> None:
    pg_store.migrate()  # idempotent
    event = {"delivery_id": "comment:1:1", "ticket_id": "1", "connector": "acme"}
    with pg_store.session() as session:
        repo.record_delivery(session, "acme", event)
    with pytest.raises(repo.DuplicateDelivery), pg_store.session() as session:
        repo.record_delivery(session, "acme", event)


def test_ticket_lock_admits_one_owner_at_a_time(pg_store: Store) -> None:
    with pg_store.session() as session:
        repo.ticket_state(session, "acme", "7")
    with pg_store.session() as session:
        assert repo.acquire_ticket_lock(session, "acme", "7", "worker-a", 60)
    with pg_store.session() as session:
        assert not repo.acquire_ticket_lock(session, "acme", "7", "worker-b", 60)
    with pg_store.session() as session:
        repo.release_ticket_lock(session, "acme", "7", "worker-a")
    with pg_store.session() as session:
        assert repo.acquire_ticket_lock(session, "acme", "7", "worker-b", 60)


def test_expired_lock_is_taken_over(pg_store: Store) -> None:
    with pg_store.session() as session:
        repo.ticket_state(session, "acme", "8")
        assert repo.acquire_ticket_lock(session, "acme", "8", "dead-worker", -1)
    with pg_store.session() as session:
        assert repo.acquire_ticket_lock(session, "acme", "8", "worker-b", 60)


def test_a_delivery_is_decided_on_postgres(tmp_path: Path, pg_store: Store) -> None:
    from tests.worker.test_pipeline import World

    config = make_config(
        tmp_path,
        pg_store.url,
        {"mode": "dry_run", "email": None, "api_token": None, "bot_user_id": None},
    )
    world = World(config, pg_store)
    outcome = world.process(world.deliver(trigger_body(text="agent please")))
    assert (outcome.kind, outcome.reason, outcome.write_status) == (
        "escalate",
        "human_request",
        "recorded",
    )
    assert world.ticket().status == "escalated"
