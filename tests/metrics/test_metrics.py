"""GET /metrics: Prometheus text, counted from the database, moving as conversations happen."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import responses
from kombu import Connection, Exchange, Queue
from prometheus_client.parser import text_string_to_metric_families

from bridge.store import Store, repo
from bridge.store.models import Delivery
from bridge.web.metrics import BrokerQueue
from tasks.celery_app import prepare_embedded_broker
from tests.feedback.world import COMMENTS, TICKET, Service, feedback_config, links_in
from tests.helpers import REQUESTER, comment, comments_page, trigger_body, update_response

QUESTION = "Hi, how do I reset my password? I can't remember it."


@pytest.fixture
def service(tmp_path: Path, store: Store) -> Service:
    return Service(feedback_config(tmp_path, store), store)


def scrape(service: Service) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, keyed by sample name and sorted labels."""
    response = service.client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@responses.activate
def test_counters_move_as_a_conversation_goes_through(service: Service) -> None:
    before = scrape(service)
    assert value(before, "helpdesk_bridge_webhooks_received_total", connector="acme") == 0
    assert value(before, "helpdesk_bridge_answerer_latency_seconds_count") == 0

    assert service.post(trigger_body(text=QUESTION)).status_code == 202
    queued = scrape(service)
    assert value(queued, "helpdesk_bridge_webhooks_received_total", connector="acme") == 1
    assert value(queued, "helpdesk_bridge_deliveries", connector="acme", status="queued") == 1

    from tasks.pipeline import process_delivery

    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, QUESTION)))
    responses.put(TICKET, json=update_response(601))
    process_delivery(service.runtime, service.enqueued[-1], owner="test")
    after = scrape(service)
    assert value(after, "helpdesk_bridge_deliveries", connector="acme", status="done") == 1
    assert value(after, "helpdesk_bridge_deliveries", connector="acme", status="queued") == 0
    [decision] = service.decisions()
    decided = (
        "helpdesk_bridge_decisions_total",
        (("connector", "acme"), ("kind", "reply"), ("reason", decision.reason)),
    )
    assert after[decided] == 1
    assert value(after, "helpdesk_bridge_answerer_latency_seconds_count") == 1
    assert value(after, "helpdesk_bridge_answerer_latency_seconds_bucket", le="+Inf") == 1
    assert value(after, "helpdesk_bridge_answerer_tokens_total", connector="acme") == 0

    service.open(links_in(decision.text or "")["down"])
    voted = scrape(service)
    assert (
        value(voted, "helpdesk_bridge_feedback_votes", connector="acme", source="link", vote="down")
        == 1
    )

    # The same webhook again is a duplicate: nothing new is counted.
    assert service.post(trigger_body(text=QUESTION)).status_code == 200
    assert scrape(service)[decided] == 1


def test_retries_and_dead_letters_are_counted(service: Service) -> None:
    service.post(trigger_body(text=QUESTION))
    with service.store.session() as session:
        delivery = session.get(Delivery, service.enqueued[-1])
        delivery.attempts = 3
        repo.dead_letter(session, delivery, "helpdesk error after 3 attempts", attempts=3)
    samples = scrape(service)
    assert value(samples, "helpdesk_bridge_task_retries_total", connector="acme") == 2
    assert value(samples, "helpdesk_bridge_dead_letters_total", connector="acme") == 1
    assert value(samples, "helpdesk_bridge_dead_letters_unresolved", connector="acme") == 1
    assert value(samples, "helpdesk_bridge_deliveries", connector="acme", status="dead") == 1


def test_queue_depth_of_the_embedded_broker(service: Service) -> None:
    prepare_embedded_broker(service.config)
    assert value(scrape(service), "helpdesk_bridge_queue_depth", queue="bridge") == 0
    queue = Queue("bridge", Exchange("bridge", type="direct"), routing_key="bridge")
    with Connection(service.config.embedded_broker_url) as connection:
        producer = connection.Producer()
        for n in range(2):
            producer.publish(
                {"n": n}, exchange=queue.exchange, routing_key="bridge", declare=[queue]
            )
    samples = scrape(service)
    assert value(samples, "helpdesk_bridge_broker_up") == 1
    assert value(samples, "helpdesk_bridge_queue_depth", queue="bridge") == 2


def test_an_unreachable_broker_leaves_the_other_metrics(tmp_path: Path, store: Store) -> None:
    config = feedback_config(tmp_path, store)
    service = Service(replace(config, broker_url="redis://127.0.0.1:1/0"), store)
    samples = scrape(service)
    assert value(samples, "helpdesk_bridge_broker_up") == 0
    assert ("helpdesk_bridge_kb_candidates", ()) not in samples  # no rows, no series
    assert any(name == "helpdesk_bridge_broker_up" for name, _ in samples)


def test_a_database_outage_fails_the_scrape(service: Service) -> None:
    service.store.engine.dispose()
    original = service.store.session

    def broken():  # type: ignore[no-untyped-def]
        raise RuntimeError("database down")

    service.store.session = broken  # type: ignore[method-assign]
    try:
        assert service.client.get("/metrics").status_code == 503
    finally:
        service.store.session = original  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    from tests.integration.servers import redis_server

    with redis_server() as url:
        yield url


@pytest.mark.integration
def test_queue_depth_on_redis_counts_every_priority(redis_url: str) -> None:
    import redis

    # A queue of its own: the server may be shared with workers of other tests.
    name = f"metrics-test-{uuid.uuid4().hex[:8]}"
    broker = BrokerQueue(redis_url, queue=name)
    assert broker.length() == 0
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name)
    with Connection(redis_url) as connection:
        producer = connection.Producer()
        for priority in (0, 0, 6, 9):
            producer.publish(
                {"priority": priority},
                exchange=queue.exchange,
                routing_key=name,
                declare=[queue],
                priority=priority,
            )
    client = redis.Redis.from_url(redis_url)
    try:
        assert broker.length() == 4
        [up, depth] = list(broker.metrics())
        assert up.samples[0].value == 1 and depth.samples[0].value == 4
    finally:
        client.delete(*client.keys(f"*{name}*"))
