"""The beat task that keeps the knowledge base fresh: each source on its own interval."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from bridge.knowledge.refresh import KnowledgeBase
from tasks.celery_app import REFRESH_KNOWLEDGE, BridgeCelery

log = logging.getLogger(__name__)


@shared_task(bind=True, name=REFRESH_KNOWLEDGE, acks_late=False)
def refresh_knowledge(self: Task) -> dict[str, Any]:
    """Refresh every source whose interval has passed; runs every minute, usually a no-op.

    Not acknowledged late: a crawl interrupted by a dying worker is simply picked up by a
    later tick once its source lock expires, rather than redelivered while still locked.
    """
    app: BridgeCelery = self.app  # type: ignore[assignment]
    runtime = app.runtime
    knowledge = KnowledgeBase.from_config(runtime.config, runtime.store, runtime.connectors)
    knowledge.sync_config_sources()
    reports = knowledge.refresh(due_only=True, owner=self.request.id or None)
    summary = {
        "refreshed": sum(1 for r in reports if not r.busy and not r.error),
        "changed": sum(1 for r in reports if r.changed_index),
        "failed": sum(1 for r in reports if r.error),
        "busy": sum(1 for r in reports if r.busy),
    }
    if reports:
        log.info("knowledge refresh tick: %s", summary)
    return summary
