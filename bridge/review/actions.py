"""Pages that change things: knowledge-base candidates and dead letters."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from bridge.review import queries
from bridge.review.web import page_url, review, reviewer
from bridge.store.models import DeadLetter, Delivery
from bridge.web.services import services

log = logging.getLogger(__name__)
LEARNING_MODULE = "bridge.learning.candidates"
MAX_TEXT = 20_000


def learning_function(name: str) -> Callable[..., Any] | None:
    """A function of the learning module, or None on an installation without it."""
    try:
        module = importlib.import_module(LEARNING_MODULE)
    except ImportError:
        return None
    function = getattr(module, name, None)
    return function if callable(function) else None


# --- candidates ---------------------------------------------------------------------------


@review.get("/candidates")
def candidates() -> str:
    connector = request.args.get("connector", "").strip() or None
    with services().runtime.store.session() as session:
        available = queries.candidates_available(session)
        rows = queries.pending_candidates(session, connector)
    return render_template(
        "review/candidates.html",
        candidates=rows,
        available=available,
        can_approve=learning_function("approve_candidate") is not None,
        connector=connector or "",
        connectors=sorted(services().runtime.config.connectors),
    )


def _pending(candidate_id: int) -> queries.Candidate:
    with services().runtime.store.session() as session:
        found = queries.candidate(session, candidate_id)
    if found is None:
        abort(404, description=f"There is no candidate {candidate_id}.")
    return found


@review.post("/candidates/<int:candidate_id>/approve")
def approve(candidate_id: int) -> BaseResponse:
    found = _pending(candidate_id)
    back = redirect(url_for("review.candidates"))
    if found.status != "pending":
        flash(f"Candidate {candidate_id} was already {found.status}.", "error")
        return back
    question = request.form.get("question", "").strip()[:MAX_TEXT]
    answer = request.form.get("answer", "").strip()[:MAX_TEXT]
    if not question or not answer:
        flash("A curated answer needs both the question and the answer.", "error")
        return back
    approve_candidate = learning_function("approve_candidate")
    if approve_candidate is None:
        flash("Approving needs the learning module, which this installation lacks.", "error")
        return back
    store = services().runtime.store
    try:
        approve_candidate(store, candidate_id, question, answer, reviewer())
    except Exception as exc:  # shown to the reviewer rather than a bare 500
        log.exception("approving candidate %s failed", candidate_id)
        flash(f"Could not approve candidate {candidate_id}: {exc}", "error")
        return back
    flash(f"Approved: “{_clip(question)}” is now a curated answer in the knowledge base.", "ok")
    return back


@review.post("/candidates/<int:candidate_id>/reject")
def reject(candidate_id: int) -> BaseResponse:
    found = _pending(candidate_id)
    back = redirect(url_for("review.candidates"))
    if found.status != "pending":
        flash(f"Candidate {candidate_id} was already {found.status}.", "error")
        return back
    store = services().runtime.store
    reject_candidate = learning_function("reject_candidate")
    if reject_candidate is not None:
        reject_candidate(store, candidate_id, reviewer())
    else:
        with store.session() as session:
            queries.mark_candidate_rejected(session, candidate_id)
    flash(f"Rejected: “{_clip(found.question)}”.", "ok")
    return back


def _clip(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- dead letters -------------------------------------------------------------------------


@review.get("/dead-letters")
def dead_letters() -> str:
    resolved = request.args.get("show") == "resolved"
    try:
        page_number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page_number = 1
    with services().runtime.store.session() as session:
        page = queries.dead_letters(session, resolved=resolved, page=page_number)
        pks = [letter.delivery_pk for letter in page.rows if letter.delivery_pk]
        statuses = dict(
            session.execute(select(Delivery.id, Delivery.status).where(Delivery.id.in_(pks))).all()
        )
    return render_template(
        "review/dead_letters.html",
        page=page,
        resolved=resolved,
        statuses=statuses,
        page_url=page_url,
    )


@review.post("/dead-letters/<int:letter_id>/retry")
def retry(letter_id: int) -> BaseResponse:
    """Queue the event again. The letter counts as resolved; a new failure makes a new one."""
    store = services().runtime.store
    back = redirect(url_for("review.dead_letters"))
    with store.session() as session:
        letter = _letter(session, letter_id)
        if letter.resolved_at is not None:
            flash(f"Dead letter {letter_id} was already resolved.", "error")
            return back
        delivery = session.get(Delivery, letter.delivery_pk) if letter.delivery_pk else None
        if delivery is None:
            delivery = _delivery_again(session, letter)
            if delivery is None:
                flash(f"Dead letter {letter_id} has no usable event to queue again.", "error")
                return back
            letter.delivery_pk = delivery.id
        previous_status = delivery.status
        # Marked before it is queued: a fast worker may pick it up before this returns.
        delivery.status = "queued"
        delivery.finished_at = None
        letter.resolved_at = datetime.now(UTC)
        delivery_pk = delivery.id
    try:
        services().enqueue(delivery_pk)
    except Exception as exc:
        log.exception("re-enqueueing delivery %s failed", delivery_pk)
        with store.session() as session:
            letter = _letter(session, letter_id)
            letter.resolved_at = None
            delivery = session.get(Delivery, delivery_pk)
            if delivery is not None and delivery.status == "queued":
                delivery.status = previous_status
        flash(f"Could not queue dead letter {letter_id} again: {exc}", "error")
        return back
    flash(f"Dead letter {letter_id} queued again (delivery {delivery_pk}).", "ok")
    return back


@review.post("/dead-letters/<int:letter_id>/discard")
def discard(letter_id: int) -> BaseResponse:
    with services().runtime.store.session() as session:
        letter = _letter(session, letter_id)
        if letter.resolved_at is None:
            letter.resolved_at = datetime.now(UTC)
    flash(f"Dead letter {letter_id} discarded.", "ok")
    return redirect(url_for("review.dead_letters"))


def _delivery_again(session: Any, letter: DeadLetter) -> Delivery | None:
    """The letter's delivery row is gone: find it by its ids, or record its event anew."""
    event = letter.event or {}
    delivery_id, ticket_id = event.get("delivery_id"), event.get("ticket_id")
    if not delivery_id or not ticket_id:
        return None
    existing = session.scalars(
        select(Delivery).where(
            Delivery.connector == letter.connector, Delivery.delivery_id == str(delivery_id)
        )
    ).first()
    if existing is not None:
        return existing
    delivery = Delivery(
        connector=letter.connector,
        delivery_id=str(delivery_id),
        ticket_id=str(ticket_id),
        event=event,
        status="received",
    )
    session.add(delivery)
    session.flush()
    return delivery


def _letter(session: Any, letter_id: int) -> DeadLetter:
    letter = session.get(DeadLetter, letter_id)
    if letter is None:
        abort(404, description=f"There is no dead letter {letter_id}.")
    return letter
