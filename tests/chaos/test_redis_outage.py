"""Redis (the broker) stopped for 10 s while webhooks keep coming.

While it is down the endpoint must answer 503 (the helpdesk delivers again later) and never
acknowledge what it could not queue; once it is back every acknowledged webhook must end in a
decision. The Redis here is the test's own: stopping it cannot disturb anything else.
"""

from __future__ import annotations

import threading
import time
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
from tests.chaos.servers import throwaway_redis
from tests.integration.fake_zendesk import FakeZendesk

OUTAGE_SECONDS = 10.0


def test_broker_down_for_ten_seconds_under_load(
    workdir: Path, database_url: str, zendesk: FakeZendesk
) -> None:
    events = make_events(tickets=200, per_ticket=2, first_ticket=40_000)
    seed(zendesk, events)
    window: dict[str, float] = {}

    with (
        throwaway_redis() as redis_server,
        service(workdir, database_url, redis_server.url, zendesk) as svc,
    ):

        def outage() -> None:
            redis_server.stop()  # a clean shutdown: Redis keeps its append-only file
            window["down"] = time.monotonic()
            time.sleep(OUTAGE_SECONDS)
            window["up"] = time.monotonic()
            redis_server.start()

        breaker = threading.Thread(target=outage)

        def during(n: int) -> None:
            if n == len(events) // 4:
                breaker.start()

        svc.start_web()
        svc.start_worker("worker-a")
        svc.start_worker("worker-b")
        sender = Sender(svc)
        # About 25 webhooks a second for 16 s; each is sent again every 0.5 s until accepted.
        sender.send_all(events, threads=12, retry_for=120, pace=0.04, during=during)
        breaker.join(timeout=60)

        settled = wait_until_settled(svc, sender.acknowledged, timeout=240)
        result = count("Redis down 10 s under load", svc, sender, events, zendesk)
        # Answers to requests made while Redis was down (a second's grace for the stop itself).
        during_outage = [
            status
            for sent, answered, status in sender.timeline
            if sent > window["down"] + 1 and answered < window["up"]
        ]
        result["answers_while_down"] = {
            status: during_outage.count(status) for status in sorted(set(during_outage))
        }
        print(f"[chaos] answers while Redis was down: {result['answers_while_down']}")
        assert settled, f"{result}\n{svc.logs()}"
        assert during_outage and set(during_outage) == {503}, result
        assert result["acknowledged"] == len(events), result
        assert result["decided"] == len(events), result
        assert_guarantees(result, svc)
