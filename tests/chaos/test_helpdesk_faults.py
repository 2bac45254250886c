"""The helpdesk's API misbehaving: 429 with Retry-After, bursts of 5xx, answers slower than the
client's timeout, connections reset, and some of those failures after the write was applied.

Every event must end written or dead-lettered: nothing lost, nothing posted twice.
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
from tests.integration.fake_zendesk import FakeZendesk, Faults


def test_rate_limits_errors_timeouts_and_resets_end_written_or_dead_lettered(
    workdir: Path, database_url: str, broker_url: str, zendesk: FakeZendesk
) -> None:
    events = make_events(tickets=150, per_ticket=2, first_ticket=20_000)
    seed(zendesk, events)
    # About one request in six fails; half of the failed comment writes were applied first.
    zendesk.faults = Faults(
        rate_limit=0.05,
        retry_after=1,
        server_error=0.03,
        burst=2,
        slow=0.04,
        slow_seconds=1.5,  # the connector's timeout is 1 s
        reset=0.04,
        after_write=0.5,
    )
    with service(workdir, database_url, broker_url, zendesk) as svc:
        svc.start_web()
        svc.start_worker("worker-a")
        svc.start_worker("worker-b")
        sender = Sender(svc)

        sender.send_all(events, copies=2, threads=12)

        settled = wait_until_settled(svc, sender.acknowledged, timeout=300)
        result = count("helpdesk 429/5xx/timeouts/resets", svc, sender, events, zendesk)
        assert settled, f"{result}\n{svc.logs()}"
        assert result["acknowledged"] == len(events), result
        injected = zendesk.injected
        assert injected["rate_limit"] and injected["server_error"], result
        assert injected["slow"] and injected["reset"], result
        assert any(kind.endswith("+applied") for kind in injected), result
        assert_guarantees(result, svc, allow_dead=True)
