"""``GET /metrics``: Prometheus metrics, read from the database at scrape time.

The web processes (gunicorn runs several) and the workers are separate processes, often on
separate machines, and only the web ones are scraped. In-process counters would each see a
slice of the traffic, and the workers' would never be seen at all. prometheus_client's
multiprocess mode only merges processes that share one directory on one host. Everything
here is counted from rows the service writes anyway (deliveries, decisions, dead letters,
feedback, candidates), so any web process answers with the same totals, a restart resets
nothing, and recording costs nothing extra on the hot path. The broker's queue length is
asked of the broker itself.

Counters are totals of rows that are only ever added; a retention job deleting old rows
shows up as a counter reset, which ``rate()`` handles.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Final

from flask import Blueprint, Response, current_app, request
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import case, create_engine, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bridge.config import AppConfig
from bridge.store import Store
from bridge.store.models import DeadLetter, Decision, Delivery, Feedback, KbCandidate
from bridge.web.services import services

log = logging.getLogger(__name__)
metrics = Blueprint("metrics", __name__)

PREFIX: Final = "helpdesk_bridge"
QUEUE: Final = "bridge"  # Celery's task_default_queue (tasks/celery_app.py)
# Seconds; from a cache-warm extractive answer to a slow LLM call with retries.
LATENCY_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# kombu's Redis transport keeps one list per priority step after the first: "<queue>\x06\x16<n>".
_REDIS_PRIORITY_SUFFIXES: Final = ("", "\x06\x163", "\x06\x166", "\x06\x169")


class StoreCollector(Collector):
    """Builds every metric from the database (and the broker) each time it is scraped."""

    def __init__(self, store: Store, broker_url: str) -> None:
        self.store = store
        self.broker = BrokerQueue(broker_url)

    def collect(self) -> Iterator[Metric]:
        with self.store.session() as session:
            received = CounterMetricFamily(
                f"{PREFIX}_webhooks_received",
                "Webhooks accepted and recorded (redeliveries and refused ones excluded).",
                labels=["connector"],
            )
            by_status = GaugeMetricFamily(
                f"{PREFIX}_deliveries",
                "Recorded webhooks by processing status (received, queued, done, dead).",
                labels=["connector", "status"],
            )
            retries = CounterMetricFamily(
                f"{PREFIX}_task_retries",
                "Times a delivery was processed again after a failed attempt.",
                labels=["connector"],
            )
            totals: dict[str, int] = {}
            retried: dict[str, int] = {}
            rows = session.execute(
                select(
                    Delivery.connector,
                    Delivery.status,
                    func.count(),
                    func.sum(case((Delivery.attempts > 1, Delivery.attempts - 1), else_=0)),
                ).group_by(Delivery.connector, Delivery.status)
            ).all()
            for connector, status, count, extra in rows:
                by_status.add_metric([connector, status], count)
                totals[connector] = totals.get(connector, 0) + count
                retried[connector] = retried.get(connector, 0) + int(extra or 0)
            for connector, count in sorted(totals.items()):
                received.add_metric([connector], count)
                retries.add_metric([connector], retried[connector])
            yield from (received, by_status, retries)

            decisions = CounterMetricFamily(
                f"{PREFIX}_decisions",
                "Decisions by connector, kind (reply, clarify, escalate, ...) and reason.",
                labels=["connector", "kind", "reason"],
            )
            for connector, kind, reason, count in session.execute(
                select(Decision.connector, Decision.kind, Decision.reason, func.count()).group_by(
                    Decision.connector, Decision.kind, Decision.reason
                )
            ):
                decisions.add_metric([connector, kind, reason], count)
            yield decisions
            yield self._latency(session)
            yield self._tokens(session)

            dead = CounterMetricFamily(
                f"{PREFIX}_dead_letters",
                "Events that failed after every retry.",
                labels=["connector"],
            )
            unresolved = GaugeMetricFamily(
                f"{PREFIX}_dead_letters_unresolved",
                "Dead letters nobody has resolved yet.",
                labels=["connector"],
            )
            for connector, count, open_count in session.execute(
                select(
                    DeadLetter.connector,
                    func.count(),
                    func.sum(case((DeadLetter.resolved_at.is_(None), 1), else_=0)),
                ).group_by(DeadLetter.connector)
            ):
                dead.add_metric([connector], count)
                unresolved.add_metric([connector], int(open_count or 0))
            yield from (dead, unresolved)

            votes = GaugeMetricFamily(
                f"{PREFIX}_feedback_votes",
                "Current customer verdicts: reply links (link) and helpdesk ratings (helpdesk).",
                labels=["connector", "source", "vote"],
            )
            for connector, source, vote, count in session.execute(
                select(Feedback.connector, Feedback.source, Feedback.vote, func.count()).group_by(
                    Feedback.connector, Feedback.source, Feedback.vote
                )
            ):
                votes.add_metric([connector, source, vote], count)
            yield votes

            candidates = GaugeMetricFamily(
                f"{PREFIX}_kb_candidates",
                "Knowledge-base candidates from human answers, by review status.",
                labels=["status"],
            )
            for status, count in session.execute(
                select(KbCandidate.status, func.count()).group_by(KbCandidate.status)
            ):
                candidates.add_metric([status], count)
            yield candidates

        yield from self.broker.metrics()

    @staticmethod
    def _tokens(session: Session) -> CounterMetricFamily:
        tokens = CounterMetricFamily(
            f"{PREFIX}_answerer_tokens",
            "LLM tokens the answerer reported (input and output, all kinds).",
            labels=["connector"],
        )
        for connector, used in session.execute(
            select(Decision.connector, func.sum(Decision.tokens)).group_by(Decision.connector)
        ):
            tokens.add_metric([connector], int(used or 0))
        return tokens

    @staticmethod
    def _latency(session: Session) -> HistogramMetricFamily:
        """Time to decide, for decisions where the answerer was consulted.

        Those are the ones with a confidence; decisions made by the rules alone take
        milliseconds and would hide the answerer's latency.
        """
        latency = Decision.latency_ms
        consulted = Decision.confidence.is_not(None) & latency.is_not(None)
        columns = [
            func.sum(case((latency <= bound * 1000, 1), else_=0)) for bound in LATENCY_BUCKETS
        ]
        row = session.execute(
            select(*columns, func.count(), func.sum(latency)).where(consulted)
        ).one()
        *cumulative, count, total_ms = row
        buckets = [
            (_le(bound), int(below or 0))
            for bound, below in zip(LATENCY_BUCKETS, cumulative, strict=True)
        ]
        buckets.append(("+Inf", int(count)))
        histogram = HistogramMetricFamily(
            f"{PREFIX}_answerer_latency_seconds",
            "Time to decide a message the answerer was asked about (history, retrieval, answer).",
        )
        histogram.add_metric([], buckets, sum_value=int(total_ms or 0) / 1000)
        return histogram


def _le(bound: float) -> str:
    return repr(float(bound))


class BrokerQueue:
    """The broker's queue length: ``LLEN`` on Redis, a row count on the embedded broker."""

    def __init__(self, url: str, queue: str = QUEUE) -> None:
        self.url = url
        self.queue = queue
        self._engine: Engine | None = None
        self._redis: Any = None

    def metrics(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            f"{PREFIX}_broker_up", "Whether the broker answered the queue-length query."
        )
        depth = GaugeMetricFamily(
            f"{PREFIX}_queue_depth", "Tasks waiting in the broker queue.", labels=["queue"]
        )
        try:
            length = self.length()
        except Exception as exc:  # a broker outage must not take the other metrics down
            log.warning("metrics: cannot read the queue length: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        if length is not None:
            depth.add_metric([self.queue], length)
            yield depth

    def length(self) -> int | None:
        if self.url.startswith(("redis://", "rediss://")):
            return self._redis_length()
        if self.url.startswith("sqla+"):
            return self._embedded_length()
        return None  # another transport: no cheap way to ask

    def _redis_length(self) -> int:
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=2)
        pipe = self._redis.pipeline(transaction=False)
        for suffix in _REDIS_PRIORITY_SUFFIXES:
            pipe.llen(self.queue + suffix)
        return sum(int(n) for n in pipe.execute())

    def _embedded_length(self) -> int:
        if self._engine is None:
            self._engine = create_engine(self.url.removeprefix("sqla+"))
        # kombu's SQLAlchemy transport: a message is waiting while it is visible.
        query = text(
            "SELECT COUNT(*) FROM kombu_message m JOIN kombu_queue q ON m.queue_id = q.id "
            "WHERE q.name = :queue AND m.visible"
        )
        with self._engine.connect() as connection:
            return int(connection.execute(query, {"queue": self.queue}).scalar() or 0)


def registry_for(config: AppConfig, store: Store) -> CollectorRegistry:
    """A registry of its own per app: the process-global one would mix apps (and tests)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store, config.effective_broker_url))
    return registry


@metrics.get("/metrics")
def scrape() -> Response:
    registry = current_app.extensions.get("bridge_metrics")
    if registry is None:
        runtime = services().runtime
        # Two first scrapes at once may both build one; either is as good.
        registry = current_app.extensions.setdefault(
            "bridge_metrics", registry_for(runtime.config, runtime.store)
        )
    # Prometheus asks for OpenMetrics or the classic text format in Accept; both are served.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    try:
        body = encode(registry)
    except Exception:
        # Most likely the database is down: fail the scrape so `up` alerts, not empty data.
        log.exception("metrics scrape failed")
        return Response("metrics unavailable\n", status=503, mimetype="text/plain")
    return Response(body, content_type=content_type)
