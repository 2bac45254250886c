"""``POST /webhooks/<connector>``: verify, parse, record, enqueue, acknowledge.

A webhook is acknowledged only once it is durably recorded and enqueued. Anything we refuse
(bad signature, malformed body) is neither recorded nor enqueued; anything we cannot store or
queue answers 503 so the helpdesk delivers it again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from bridge.feedback.signals import handle_signal
from bridge.store import repo
from bridge.web.services import services
from connectors.base import WebhookRejected, WebhookRequest

log = logging.getLogger(__name__)
webhooks = Blueprint("webhooks", __name__)


def _error(status: int, message: str, **extra: str) -> tuple[Response, int]:
    return jsonify(error=message, **extra), status


@webhooks.errorhandler(RequestEntityTooLarge)
def too_large(_: RequestEntityTooLarge) -> tuple[Response, int]:
    return _error(413, "request body too large")


@webhooks.route("/webhooks/<name>", methods=["POST", "HEAD"])
def receive(name: str) -> tuple[Response, int]:
    svc = services()
    connector = svc.runtime.connector(name)
    if connector is None:
        return _error(404, f"unknown connector {name!r}")
    if request.method == "HEAD":
        return jsonify(status="ok"), 200

    body = request.get_data(cache=False)  # raises RequestEntityTooLarge past the limit
    incoming = WebhookRequest(
        method=request.method,
        headers=dict(request.headers),
        body=body,
        query=request.args.to_dict(),
    )
    try:
        connector.verify(incoming, datetime.now(UTC))
        # After the signature check, so forged requests cannot spend a helpdesk's budget.
        limited = svc.rate_limiter and svc.rate_limiter.check(name, connector.type_name)
        if limited:
            return limited.response()
        event = connector.parse(incoming)
    except WebhookRejected as exc:
        log.info("webhook %s rejected (%d): %s", name, exc.status, exc.message)
        return jsonify(exc.to_json()), exc.status

    # Solved tickets and satisfaction ratings: recorded here, from the raw payload the stored
    # delivery would not keep.
    try:
        signal = handle_signal(svc.runtime, connector, event)
    except SQLAlchemyError:
        log.exception("webhook %s: database unavailable", name)
        return _error(503, "database unavailable; deliver again later")
    if event.message is None:
        if signal is not None:
            return jsonify(status="recorded", detail=signal), 200
        return jsonify(status="ignored", reason=f"{event.kind} carries no message"), 200

    engine = svc.runtime.store.engine
    try:
        delivery_pk = repo.insert_queued_delivery(engine, name, event.to_json())
    except repo.DuplicateDelivery:
        return jsonify(status="duplicate", delivery_id=event.delivery_id), 200
    except SQLAlchemyError:
        log.exception("webhook %s: database unavailable", name)
        return _error(503, "database unavailable; deliver again later")

    try:
        svc.enqueue(delivery_pk)
    except Exception:
        log.exception("webhook %s: broker unavailable", name)
        _forget(delivery_pk)
        return _error(503, "queue unavailable; deliver again later")
    return jsonify(status="accepted", delivery_id=event.delivery_id), 202


def _forget(delivery_pk: int) -> None:
    """Undo the record so the helpdesk's redelivery is not mistaken for a duplicate."""
    try:
        repo.delete_delivery(services().runtime.store.engine, delivery_pk)
    except SQLAlchemyError:
        # Left queued and never touched: the stale sweep enqueues it later.
        log.exception("could not remove delivery %s after a failed enqueue", delivery_pk)
