"""The beat task that turns solved escalations into knowledge-base candidates."""

from __future__ import annotations

import logging

from celery import Task, shared_task

from bridge.learning.candidates import collect_pending
from tasks.celery_app import COLLECT_CANDIDATES, BridgeCelery

log = logging.getLogger(__name__)


@shared_task(bind=True, name=COLLECT_CANDIDATES, acks_late=False)
def collect_kb_candidates(self: Task) -> dict[str, int]:
    """Read the answers of tickets solved since the last run; usually a no-op.

    Not acknowledged late: a run cut short leaves its candidates in ``collecting``, and the
    next tick picks them up, so a redelivered run would only duplicate the work.
    """
    app: BridgeCelery = self.app  # type: ignore[assignment]
    runtime = app.runtime
    if not runtime.config.learning.enabled:
        return {}
    outcomes = collect_pending(runtime)
    if outcomes:
        log.info("learning loop: %s", dict(outcomes))
    return dict(outcomes)
