"""The Celery application, configured from the bridge's config (never from globals)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from celery import Celery
from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bridge.config import AppConfig
from bridge.runtime import Runtime

HANDLE_EVENT = "bridge.handle_event"
REQUEUE_STALE = "bridge.requeue_stale_deliveries"
REFRESH_KNOWLEDGE = "bridge.refresh_knowledge"
COLLECT_CANDIDATES = "bridge.collect_kb_candidates"


class BridgeCelery(Celery):
    """A Celery app that carries the process's Runtime for its tasks."""

    def __init__(self, config: AppConfig, runtime: Runtime | None = None, **kwargs: Any) -> None:
        super().__init__("helpdesk-bridge", **kwargs)
        self.bridge_config = config
        self._runtime = runtime

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = Runtime(self.bridge_config)
        return self._runtime


class _RedisChannel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        # Once Redis drops the connection, kombu (5.7) clears the connection's client but keeps
        # using the old channel: to put in-flight messages back and to acknowledge tasks that
        # finish later. Without a client that fails with AttributeError, which Celery takes for
        # an unrecoverable error: the worker exits and nothing is processed once Redis is back.
        # As a connection error it is logged and survived; the messages stay in Redis's unacked
        # set and are handed out again after the visibility timeout.
        if self.connection.client is None:
            raise RedisConnectionError("this channel's broker connection was closed")
        return super()._connparams(asynchronous=asynchronous)

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        # kombu builds a new Redis client for every publish, and building one fills a table
        # of ~170 response callbacks: a sixth of what enqueueing a webhook costs. One client
        # per channel does the same (it takes connections from the channel's pool), and a new
        # one is made when the pool is replaced after a lost connection.
        if client:
            yield client
            return
        pool = self.pool
        publisher = getattr(self, "_publisher", None)
        if publisher is None or publisher.connection_pool is not pool:
            publisher = self._publisher = self._create_client()
        yield publisher


class RedisTransport(kombu_redis.Transport):
    """kombu's Redis transport, with a channel that survives a lost connection."""

    Channel = _RedisChannel


def create_celery(
    config: AppConfig, runtime: Runtime | None = None, **overrides: Any
) -> BridgeCelery:
    app = BridgeCelery(config, runtime, broker=config.effective_broker_url)
    embedded = config.broker_url is None
    if embedded:
        config.data_dir.mkdir(parents=True, exist_ok=True)
    app.conf.update(
        # A task is acknowledged only once it finished: a killed worker's task runs again,
        # and the pipeline's recorded write steps keep that from double-posting.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue="bridge",
        broker_connection_retry_on_startup=True,
        # Fail fast when the broker is down so the webhook can answer 503 and be retried.
        task_publish_retry=True,
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        # The embedded (SQLAlchemy) transport hands its options to create_engine, so it gets
        # none; it polls the broker file once a second.
        broker_transport_options=(
            {}
            if embedded
            else {
                "socket_connect_timeout": 2,
                "socket_timeout": 5,
                # How soon a killed worker's unacknowledged tasks are handed out again.
                "visibility_timeout": config.worker.visibility_timeout_seconds,
                **_restore_sweep(config.worker.visibility_timeout_seconds),
            }
        ),
        worker_hijack_root_logger=False,
        beat_schedule={
            "requeue-stale-deliveries": {
                "task": REQUEUE_STALE,
                "schedule": timedelta(seconds=60),
            },
            # Cheap when nothing is due: each source keeps its own refresh_minutes.
            "refresh-knowledge": {
                "task": REFRESH_KNOWLEDGE,
                "schedule": timedelta(seconds=60),
            },
            # Escalated tickets a human solved: their answers become candidates for review.
            "collect-kb-candidates": {
                "task": COLLECT_CANDIDATES,
                "schedule": timedelta(seconds=60),
            },
        },
    )
    if config.effective_broker_url.split("://", 1)[0] in ("redis", "rediss"):
        app.conf.broker_transport = "tasks.celery_app:RedisTransport"
    app.conf.update(overrides)
    # Importing registers the tasks on this app.
    import tasks.handle_event
    import tasks.knowledge
    import tasks.learning  # noqa: F401

    return app


def _restore_sweep(visibility_timeout: float) -> dict[str, int]:
    """How often a worker looks for tasks to hand out again, in step with the timeout.

    kombu looks every ``interval * throttle`` seconds (100 by default): fine against an hour's
    timeout, but it would add minutes to a short one.
    """
    sweep = max(1.0, min(100.0, visibility_timeout / 5))
    interval = max(1, int(min(10.0, sweep)))
    return {
        "unacked_restore_interval": interval,
        "unacked_restore_throttle": max(1, round(sweep / interval)),
    }


def prepare_embedded_broker(config: AppConfig, attempts: int = 3) -> None:
    """Create the embedded broker's tables and queue once, before processes start using it.

    kombu's SQLAlchemy transport creates a queue on first use, guarded only by an in-process
    lock: a web process and a worker starting together on a new data folder can both try, and
    the loser crashes on the unique constraint. Declaring the queue up front avoids that race.
    """
    if config.broker_url is not None:
        return
    from kombu import Connection, Exchange, Queue
    from sqlalchemy.exc import IntegrityError

    config.data_dir.mkdir(parents=True, exist_ok=True)
    queue = Queue("bridge", Exchange("bridge", type="direct"), routing_key="bridge")
    for attempt in range(attempts):
        try:
            with Connection(config.embedded_broker_url) as connection:
                queue(connection.default_channel).declare()
            return
        except IntegrityError:
            if attempt == attempts - 1:
                raise
