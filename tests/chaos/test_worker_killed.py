"""Workers killed with SIGKILL in the middle of their tasks, one after the other.

Nothing runs at exit: no acknowledgement, no lock released, no step recorded. The broker hands the
unacknowledged tasks out again, the ticket locks expire, and the pipeline resumes from the steps
it recorded, looking at the ticket first for a comment that was posted but not recorded.
"""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import func, select

from bridge.store import Decision, Delivery
from tests.chaos.harness import (
    Sender,
    Service,
    assert_guarantees,
    count,
    make_events,
    seed,
    service,
    wait_until_settled,
)
from tests.integration.fake_zendesk import FakeZendesk


def _finished(svc: Service) -> int:
    with svc.store.session() as session:
        return session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status == "done")
        )


def _in_flight(svc: Service) -> int:
    """Deliveries started but not finished: a decision without its writes, or attempts made."""
    with svc.store.session() as session:
        pending = session.scalar(
            select(func.count()).select_from(Decision).where(Decision.write_status == "pending")
        )
        started = session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.status != "done", Delivery.attempts > 0)
        )
    return max(pending or 0, started or 0)


def _wait_for_finished(svc: Service, at_least: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while _finished(svc) < at_least and time.monotonic() < deadline:
        time.sleep(0.1)


def test_sigkilled_worker_tasks_complete_after_restart_without_duplicate_posts(
    workdir: Path, database_url: str, broker_url: str, zendesk: FakeZendesk
) -> None:
    events = make_events(tickets=120, per_ticket=2)
    seed(zendesk, events)
    # Each write is applied, then answered a little later: a kill lands between the comment
    # existing on the ticket and the worker recording that it posted it.
    zendesk.write_latency = 0.25
    with service(workdir, database_url, broker_url, zendesk) as svc:
        svc.start_web()
        sender = Sender(svc)
        sender.send_all(events, threads=16)
        assert len(sender.acknowledged) == len(events)

        # Two workers; each in turn is killed mid-task and started again, while the other
        # keeps going.
        svc.start_worker("worker-a", concurrency=4)
        svc.start_worker("worker-b", concurrency=4)
        killed_in_flight = []
        for name, fraction in (("worker-a", 0.2), ("worker-b", 0.55)):
            _wait_for_finished(svc, int(len(events) * fraction))
            svc.kill_worker(name)
            killed_in_flight.append(_in_flight(svc))
            svc.start_worker(name, concurrency=4)

        settled = wait_until_settled(svc, sender.acknowledged, timeout=240)
        result = count("SIGKILL mid-task, twice", svc, sender, events, zendesk)
        result["in_flight_at_kills"] = killed_in_flight
        print(f"[chaos] in flight when killed: {killed_in_flight}")
        assert settled, f"{result}\n{svc.logs()}"
        assert all(n > 0 for n in killed_in_flight), result  # the kills did land mid-task
        assert_guarantees(result, svc)
        assert result["decided"] == len(events), result
