"""The Celery tasks: retries with backoff, then the dead-letter table. Never a dropped event."""

from __future__ import annotations

import logging
import math
import random
import uuid
from datetime import UTC, datetime, timedelta

from celery import Task, shared_task
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from bridge.config import WorkerConfig
from bridge.store import repo
from bridge.store.models import Delivery
from connectors.base import HelpdeskError
from tasks.celery_app import HANDLE_EVENT, REQUEUE_STALE, BridgeCelery
from tasks.pipeline import RetryLater, UnknownConnector, process_delivery

log = logging.getLogger(__name__)


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter (attempt 0 is the first retry)."""
    return random.uniform(0, min(cap, base * (2**attempt)))


#: The longest pause between two looks at a busy ticket.
MAX_WAIT_COUNTDOWN = 15.0


def wait_countdown(base: float, attempt: int) -> float:
    """A busy ticket is looked at again soon, then less and less often."""
    return min(MAX_WAIT_COUNTDOWN, base * 2 ** min(attempt, 10))


def wait_budget(worker: WorkerConfig) -> int:
    """Attempts a delivery may spend waiting for its ticket before it is dead-lettered."""
    window = (
        worker.lock_timeout_seconds
        + worker.visibility_timeout_seconds
        + worker.max_retries * worker.retry_backoff_max_seconds
    )
    return worker.max_retries + 10 + math.ceil(window / MAX_WAIT_COUNTDOWN)


# No Celery retry limit: the budgets here decide, by kind (waits, failures).
@shared_task(
    bind=True, name=HANDLE_EVENT, acks_late=True, reject_on_worker_lost=True, max_retries=None
)
def handle_event(self: Task, delivery_pk: int, failures: int = 0, waits: int = 0) -> str | None:
    """Process one delivery; ``failures`` and ``waits`` count the earlier runs of each kind.

    They are counted apart because Celery's own retry count mixes them: a delivery that waited
    for its ticket a dozen times must still get every retry of a helpdesk failure after that.
    """
    app: BridgeCelery = self.app  # type: ignore[assignment]
    runtime = app.runtime
    worker = runtime.config.worker
    # One owner per run, not per task id: the broker may hand a copy of this very message to
    # another worker while this run is still going (a visibility timeout passed), and the two
    # must not share the ticket lock.
    owner = uuid.uuid4().hex
    attempts = (self.request.retries or 0) + 1

    def again(countdown: float, *, failed: bool) -> Exception:
        counts = {"failures": failures + failed, "waits": waits + (not failed)}
        return self.retry(args=[delivery_pk], kwargs=counts, countdown=countdown)

    try:
        outcome = process_delivery(runtime, delivery_pk, owner)
        return outcome.kind if outcome else None
    except RetryLater as exc:
        # Waits don't count as failures. The ticket may be locked by a killed worker, or its
        # earlier event may be that worker's task, which the broker hands out again only after
        # the visibility timeout, or one still retrying a helpdesk failure: wait out all of it.
        if waits < wait_budget(worker):
            countdown = exc.countdown if exc.exact else wait_countdown(exc.countdown, waits)
            raise again(countdown, failed=False) from exc
        error = f"gave up waiting after {attempts} attempts: {exc.reason}"
    except UnknownConnector as exc:
        error = str(exc)
    except HelpdeskError as exc:
        if exc.retryable and failures < worker.max_retries:
            countdown = exc.retry_after or backoff_seconds(
                failures, worker.retry_backoff_seconds, worker.retry_backoff_max_seconds
            )
            log.warning(
                "delivery %s: %s; retry %d in %.1fs", delivery_pk, exc, failures + 1, countdown
            )
            raise again(countdown, failed=True) from exc
        error = f"helpdesk error after {attempts} attempts: {exc}"
    except Exception as exc:  # a bug or an unexpected failure: retry, then keep it visible
        if database_unavailable(exc) and waits < wait_budget(worker):
            # A restart or failover of the database is not this event's fault: wait for it
            # like a busy ticket rather than spend the retries meant for real failures.
            log.warning("delivery %s: database unavailable (%s); waiting", delivery_pk, exc)
            raise again(wait_countdown(1.0, waits), failed=False) from exc
        log.exception("delivery %s failed", delivery_pk)
        if failures < worker.max_retries:
            countdown = backoff_seconds(
                failures, worker.retry_backoff_seconds, worker.retry_backoff_max_seconds
            )
            raise again(countdown, failed=True) from exc
        error = f"{type(exc).__name__}: {exc}"

    try:
        with runtime.store.session() as session:
            delivery = session.get(Delivery, delivery_pk)
            if delivery is not None:
                repo.dead_letter(session, delivery, error, attempts=attempts)
    except SQLAlchemyError as exc:
        # Until it is in the table the event is recorded nowhere but in this message, and
        # finishing the task would acknowledge (drop) it: run it again later instead.
        log.error(
            "delivery %s: cannot dead-letter it yet (%s); will run it again", delivery_pk, exc
        )
        raise again(MAX_WAIT_COUNTDOWN, failed=False) from exc
    log.error("delivery %s dead-lettered: %s", delivery_pk, error)
    return "dead"


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached, rather than refused a query."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


@shared_task(bind=True, name=REQUEUE_STALE)
def requeue_stale_deliveries(self: Task) -> int:
    """Pending deliveries whose task was lost go out again (see ``repo.lost_deliveries``)."""
    app: BridgeCelery = self.app  # type: ignore[assignment]
    store, worker = app.runtime.store, app.runtime.config.worker
    # Picked up, then idle past any retry countdown and any redelivery of a killed worker's
    # task: nothing will run it any more.
    idle = worker.visibility_timeout_seconds + worker.retry_backoff_max_seconds
    with store.session() as session:
        lost = repo.lost_deliveries(
            session,
            never_started=timedelta(seconds=worker.requeue_after_seconds),
            idle=timedelta(seconds=idle),
        )
        ids = [delivery.id for delivery in lost]
        now = datetime.now(UTC)
        for delivery in lost:
            delivery.status = "queued"
            delivery.touched_at = now  # not enqueued again before it has had its chance
    # Marked first, enqueued after: a worker may finish a task before this function returns.
    for delivery_pk in ids:
        try:
            handle_event.apply_async(args=[delivery_pk])
        except Exception:
            log.exception("could not requeue delivery %s; will try again", delivery_pk)
            with store.session() as session:
                delivery = session.get(Delivery, delivery_pk)
                if delivery is not None and delivery.status == "queued":
                    delivery.touched_at = None
    if ids:
        log.warning("requeued %d deliveries whose task was lost", len(ids))
    return len(ids)
