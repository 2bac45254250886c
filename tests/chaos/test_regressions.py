"""Each product bug the chaos suite found, pinned down by a small deterministic test.

These need no server and run with the ordinary suite (they are not marked ``chaos``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bridge.store import DeadLetter, Store
from connectors.base import HelpdeskError
from tasks import handle_event as tasks_module
from tasks.celery_app import HANDLE_EVENT, _restore_sweep, create_celery
from tasks.handle_event import MAX_WAIT_COUNTDOWN, wait_budget
from tasks.pipeline import RetryLater
from tests.conftest import make_config
from tests.helpers import REQUESTER, trigger_body
from tests.integration.fake_zendesk import FakeZendesk, fake_zendesk
from tests.worker.test_pipeline import World

HUMAN = "I want to talk to a real person please."


@pytest.fixture
def zendesk() -> Iterator[FakeZendesk]:
    with fake_zendesk() as fake:
        yield fake


@pytest.fixture
def world(tmp_path: Path, store: Store, zendesk: FakeZendesk) -> World:
    return World(make_config(tmp_path, store.url, {"base_url": zendesk.base_url}), store)


def test_a_handoff_note_posted_before_a_failure_is_not_posted_again(
    world: World, zendesk: FakeZendesk
) -> None:
    """Found by the SIGKILL test: the escalate step re-posted the brief after a crash."""
    zendesk.add_customer_comment("42", 501, REQUESTER, HUMAN)
    tag_failures = iter(range(3))  # the tag update fails on every attempt of the first run

    def fail_tags(method: str, path: str, headers: dict[str, str], body: Any) -> Any:
        if path.endswith("/tags.json") and next(tag_failures, None) is not None:
            return 500, {"error": "InternalError"}
        return None

    zendesk.intercept = fail_tags
    pk = world.deliver(trigger_body(text=HUMAN))
    with pytest.raises(HelpdeskError):
        world.process(pk)  # message and note are on the ticket; the tags failed
    assert len(zendesk.bot_comments("42")) == 2

    outcome = world.process(pk)  # the retry

    assert (outcome.kind, outcome.write_status) == ("escalate", "written")
    bodies = [c["body"] for c in zendesk.bot_comments("42")]
    assert len(bodies) == 2, bodies  # one handoff message, one brief: nothing twice
    assert zendesk.duplicates() == {}
    assert zendesk.tag_updates["42"] == 1
    moves = [w for w in zendesk.writes if w[2].get("ticket", {}).get("group_id")]
    assert moves, "the group is still set on the retry"


class Scripted:
    """Stands in for process_delivery: raises the listed exceptions, then succeeds."""

    def __init__(self, *outcomes: BaseException) -> None:
        self.outcomes = list(outcomes)
        self.owners: list[str] = []

    def __call__(self, runtime: Any, delivery_pk: int, owner: str) -> None:
        self.owners.append(owner)
        if self.outcomes:
            raise self.outcomes.pop(0)


def _run(world: World, monkeypatch: pytest.MonkeyPatch, scripted: Scripted) -> Any:
    monkeypatch.setattr(tasks_module, "process_delivery", scripted)
    celery = create_celery(world.config, world.runtime, task_always_eager=True)
    pk = world.deliver(trigger_body())
    return celery.tasks[HANDLE_EVENT].apply_async(args=[pk]).get()


def _dead_letters(world: World) -> list[DeadLetter]:
    with world.runtime.store.session() as session:
        return list(session.scalars(select(DeadLetter)))


def test_waiting_for_a_ticket_does_not_use_up_the_retries_of_a_failure(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the fault test: after a dozen waits, one helpdesk error dead-lettered."""
    waits = [RetryLater(1, "an earlier event on this ticket is still pending")] * 12
    failure = HelpdeskError("PUT failed", status=500, retryable=True)
    scripted = Scripted(*waits, failure, failure)  # max_retries is 2: two failures are allowed
    assert _run(world, monkeypatch, scripted) is None
    assert _dead_letters(world) == []
    assert len(scripted.owners) == 15


def test_a_database_outage_is_waited_out_and_never_drops_the_event(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the PostgreSQL restart: failures during the outage dead-lettered, and a failed
    dead-letter write lost the event."""
    down = OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    scripted = Scripted(*[down] * 8)  # far more than max_retries (2)
    assert _run(world, monkeypatch, scripted) is None
    assert _dead_letters(world) == []


def test_an_event_that_cannot_be_dead_lettered_yet_is_run_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = ValueError("a bug")
    scripted = Scripted(broken, broken, broken)  # the third failure dead-letters
    real = tasks_module.repo.dead_letter
    refusals = iter(range(1))

    def flaky_dead_letter(*args: Any, **kwargs: Any) -> Any:
        if next(refusals, None) is not None:
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        return real(*args, **kwargs)

    monkeypatch.setattr(tasks_module.repo, "dead_letter", flaky_dead_letter)
    _run(world, monkeypatch, scripted)
    # Refused once, the run came back (and succeeded: the script had no failures left).
    assert len(scripted.owners) == 4
    assert _dead_letters(world) == []


def test_each_run_of_a_task_holds_the_ticket_lock_under_its_own_name(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the PostgreSQL restart: a redelivered copy of a task still running shared its
    lock (both used the task id) and both decided; the second decision hit the unique key."""
    scripted = Scripted(RetryLater(1, "busy"), RetryLater(1, "busy"))
    _run(world, monkeypatch, scripted)
    assert len(set(scripted.owners)) == 3


def test_waiting_outlasts_a_killed_workers_lock_and_redelivery(tmp_path: Path) -> None:
    """Found by the SIGKILL test: a later event gave up before the broker re-delivered the
    earlier event a killed worker had held."""
    worker = make_config(tmp_path, "sqlite://").worker
    assert worker.visibility_timeout_seconds == 3600
    waited = (wait_budget(worker) - worker.max_retries) * MAX_WAIT_COUNTDOWN
    assert waited > worker.lock_timeout_seconds + worker.visibility_timeout_seconds


@pytest.mark.parametrize(
    ("visibility", "interval", "throttle"), [(3600, 10, 10), (10, 2, 1), (120, 10, 2)]
)
def test_unacknowledged_tasks_are_looked_for_in_step_with_the_timeout(
    visibility: float, interval: int, throttle: int
) -> None:
    sweep = _restore_sweep(visibility)
    assert sweep == {"unacked_restore_interval": interval, "unacked_restore_throttle": throttle}
    # The sweep comes well within the timeout, so recovery takes about the timeout itself.
    assert interval * throttle <= max(visibility / 5, 2)
