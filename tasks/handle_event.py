"""The Celery tasks: retries with backoff, then the dead-letter table. Never a dropped event."""

from __future__ import annotations

import logging
import random
import uuid
from datetime import timedelta

from celery import Task, shared_task

from bridge.store import repo
from bridge.store.models import Delivery
from connectors.base import HelpdeskError
from tasks.celery_app import HANDLE_EVENT, REQUEUE_STALE, BridgeCelery
from tasks.pipeline import RetryLater, UnknownConnector, process_delivery

log = logging.getLogger(__name__)


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter (attempt 0 is the first retry)."""
    return random.uniform(0, min(cap, base * (2**attempt)))


@shared_task(bind=True, name=HANDLE_EVENT, acks_late=True, reject_on_worker_lost=True)
def handle_event(self: Task, delivery_pk: int) -> str | None:
    app: BridgeCelery = self.app  # type: ignore[assignment]
    runtime = app.runtime
    worker = runtime.config.worker
    owner = self.request.id or uuid.uuid4().hex
    retries = self.request.retries or 0
    try:
        outcome = process_delivery(runtime, delivery_pk, owner)
        return outcome.kind if outcome else None
    except RetryLater as exc:
        # Lock waits don't count as failures: allow enough of them to outlast a lock's TTL.
        lock_budget = worker.max_retries + int(worker.lock_timeout_seconds / exc.countdown) + 1
        if retries < lock_budget:
            raise self.retry(countdown=exc.countdown, max_retries=lock_budget) from exc
        error = f"gave up waiting after {retries + 1} attempts: {exc.reason}"
    except UnknownConnector as exc:
        error = str(exc)
    except HelpdeskError as exc:
        if exc.retryable and retries < worker.max_retries:
            countdown = exc.retry_after or backoff_seconds(
                retries, worker.retry_backoff_seconds, worker.retry_backoff_max_seconds
            )
            log.warning(
                "delivery %s: %s; retry %d in %.1fs", delivery_pk, exc, retries + 1, countdown
            )
            raise self.retry(countdown=countdown, max_retries=worker.max_retries) from exc
        error = f"helpdesk error after {retries + 1} attempts: {exc}"
    except Exception as exc:  # a bug or an unexpected failure: retry, then keep it visible
        log.exception("delivery %s failed", delivery_pk)
        if retries < worker.max_retries:
            countdown = backoff_seconds(
                retries, worker.retry_backoff_seconds, worker.retry_backoff_max_seconds
            )
            raise self.retry(countdown=countdown, max_retries=worker.max_retries) from exc
        error = f"{type(exc).__name__}: {exc}"

    with runtime.store.session() as session:
        delivery = session.get(Delivery, delivery_pk)
        if delivery is not None:
            repo.dead_letter(session, delivery, error, attempts=retries + 1)
    log.error("delivery %s dead-lettered: %s", delivery_pk, error)
    return "dead"


@shared_task(bind=True, name=REQUEUE_STALE)
def requeue_stale_deliveries(self: Task) -> int:
    """Deliveries recorded but never enqueued (the web process died in between) go out again."""
    app: BridgeCelery = self.app  # type: ignore[assignment]
    store = app.runtime.store
    with store.session() as session:
        stale = repo.stale_deliveries(session, older_than=timedelta(minutes=2))
        ids = [delivery.id for delivery in stale]
        for delivery in stale:
            delivery.status = "queued"
    # Marked first, enqueued after: a worker may finish a task before this function returns.
    for delivery_pk in ids:
        try:
            handle_event.apply_async(args=[delivery_pk])
        except Exception:
            log.exception("could not requeue delivery %s; will try again", delivery_pk)
            with store.session() as session:
                delivery = session.get(Delivery, delivery_pk)
                if delivery is not None and delivery.status == "queued":
                    delivery.status = "received"
    return len(ids)
