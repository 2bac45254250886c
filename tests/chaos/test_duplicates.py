"""Every webhook three times, concurrently and out of order, to two workers behind one web process.

Helpdesks deliver at least once: the same comment arrives again after a timeout, from a second
trigger, or from a retry storm. Each event must still get exactly one decision and at most one
write-back, with two worker processes racing for the same tickets.
"""

from __future__ import annotations

from pathlib import Path

from tests.chaos.harness import (
    Sender,
    assert_guarantees,
    count,
    make_events,
    seed,
    service,
    wait_until_settled,
)
from tests.integration.fake_zendesk import FakeZendesk


def test_thousand_events_three_times_each_two_workers_one_web(
    workdir: Path, database_url: str, broker_url: str, zendesk: FakeZendesk
) -> None:
    # 1,000 events on 500 tickets: a question, then another question or a request for a person.
    events = make_events(tickets=500, per_ticket=2)
    seed(zendesk, events)
    with service(workdir, database_url, broker_url, zendesk) as svc:
        svc.start_web()
        svc.start_worker("worker-a")
        svc.start_worker("worker-b")
        sender = Sender(svc)

        sender.send_all(events, copies=3, threads=16)

        settled = wait_until_settled(svc, sender.acknowledged)
        result = count("3x delivery, 2 workers + 1 web", svc, sender, events, zendesk)
        assert settled, f"{result}\n{svc.logs()}"
        assert result["acknowledged"] == len(events), result
        assert result["decided"] == len(events), result
        assert result["posted"] > 0
        assert_guarantees(result, svc)
