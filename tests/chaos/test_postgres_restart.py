"""PostgreSQL restarted while webhooks keep coming and workers are busy.

Every open connection dies with the restart. The web process and the workers must carry on with
new connections once the server is back, without being restarted themselves; webhooks that could
not be recorded meanwhile answer 503 and are delivered again. The server here is the test's own.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import requests

from tests.chaos.harness import (
    Sender,
    assert_guarantees,
    count,
    make_events,
    seed,
    service,
    wait_until_settled,
)
from tests.chaos.servers import throwaway_postgres
from tests.integration.fake_zendesk import FakeZendesk

DOWN_SECONDS = 5.0


def test_database_restart_under_load_needs_no_restart_of_the_service(
    workdir: Path, broker_url: str, zendesk: FakeZendesk
) -> None:
    events = make_events(tickets=200, per_ticket=2, first_ticket=50_000)
    seed(zendesk, events)
    window: dict[str, float] = {}

    with throwaway_postgres() as postgres:
        database_url = postgres.database_url("chaos_restart")
        with service(workdir, database_url, broker_url, zendesk) as svc:

            def restart() -> None:
                postgres.stop("fast")  # sessions are cut, as in a failover or an upgrade
                window["down"] = time.monotonic()
                time.sleep(DOWN_SECONDS)
                postgres.start()
                window["up"] = time.monotonic()

            breaker = threading.Thread(target=restart)

            def during(n: int) -> None:
                if n == len(events) // 4:
                    breaker.start()

            svc.start_web()
            svc.start_worker("worker-a")
            svc.start_worker("worker-b")
            pids = {name: p.pid for name, p in svc.workers.items()}
            web_pid = svc.web.pid if svc.web else None
            sender = Sender(svc)
            sender.send_all(events, threads=12, retry_for=120, pace=0.04, during=during)
            breaker.join(timeout=60)

            settled = wait_until_settled(svc, sender.acknowledged, timeout=240)
            result = count("PostgreSQL restarted under load", svc, sender, events, zendesk)
            after = [s for sent, _, s in sender.timeline if sent > window["up"] + 2]
            result["answers_after_restart"] = {s: after.count(s) for s in sorted(set(after))}
            assert settled, f"{result}\n{svc.logs()}"
            # The same processes did all of it: none died and none was restarted.
            assert svc.web is not None and svc.web.pid == web_pid and svc.web.poll() is None
            assert {n: p.pid for n, p in svc.workers.items()} == pids
            assert all(p.poll() is None for p in svc.workers.values())
            assert requests.get(f"{svc.url}/readyz", timeout=5).status_code == 200
            assert result["acknowledged"] == len(events), result
            assert result["decided"] == len(events), result
            assert_guarantees(result, svc)
