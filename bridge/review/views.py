"""The read-mostly pages: overview, handoffs (and judging one), replies, knowledge gaps."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from bridge.review import charts, periods, queries
from bridge.review.clusters import cluster_questions
from bridge.review.formatting import pct, reason_title
from bridge.review.web import page_url, review, reviewer, state
from bridge.store.models import Decision, KbChunk, Review
from bridge.web.services import services

log = logging.getLogger(__name__)
MAX_COMMENT = 4000


# --- shared filter handling ---------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _period(default: str = periods.DEFAULT_SPAN) -> periods.Period:
    return periods.from_request(request.args.to_dict(), default, _now())


def _connector() -> str | None:
    return request.args.get("connector", "").strip() or None


def _page() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _window() -> timedelta:
    return timedelta(hours=state().settings.containment_window_hours)


def _connectors() -> list[str]:
    return sorted(services().runtime.config.connectors)


def _filters(period: periods.Period, **extra: Any) -> dict[str, Any]:
    """What the filter bar shows as selected."""
    custom = period.since is None
    last_day = (period.end - timedelta(seconds=1)).date().isoformat()
    return {
        "since": period.since or "",
        "from": period.start.date().isoformat() if custom else "",
        "to": last_day if custom else "",
        "connector": _connector() or "",
        "presets": periods.PRESETS,
        "connectors": _connectors(),
        "period_label": period.label,
        # the same period again, for links to other pages
        "period_args": (
            {"since": period.since}
            if not custom
            else {"since": "", "from": period.start.date().isoformat(), "to": last_day}
        ),
        **extra,
    }


# --- overview -----------------------------------------------------------------------------


@review.get("/")
def overview() -> str:
    period, connector, now = _period(), _connector(), _now()
    with services().runtime.store.session() as session:
        data = queries.overview(session, period, connector=connector, window=_window(), now=now)
        dead = queries.unresolved_dead_letters(session)
    labels = [_bucket_label(b.start, data.bucket_label) for b in data.buckets]
    rates = charts.rate_chart(
        labels,
        [
            charts.Series(
                "AI-resolved",
                [b.ai_resolved_rate for b in data.buckets],
                "resolved",
                provisional=[b.pending > 0 for b in data.buckets],
            ),
            charts.Series("Handed off", [b.handoff_rate for b in data.buckets], "handoff"),
        ],
        [b.handled for b in data.buckets],
        title=f"AI-resolved and handoff rates per {data.bucket_label}",
    )
    by_reason = charts.bar_chart(
        [
            (reason_title(reason), count, f"{count} · {pct(data.handoff_rate_of(reason))}")
            for reason, count in data.handoffs_by_reason.items()
        ],
        title="Handoffs by reason",
    )
    return render_template(
        "review/overview.html",
        data=data,
        outcome_titles=queries.OUTCOME_TITLES,
        rate_chart=rates,
        reason_chart=by_reason,
        dead_letters=dead,
        filters=_filters(period),
        window_hours=state().settings.containment_window_hours,
    )


def _bucket_label(start: datetime, unit: str) -> str:
    if unit == "hour":
        return start.strftime("%d %b %H:%M")
    if unit == "week":
        return "wk " + start.strftime("%d %b")
    return start.strftime("%d %b")


# --- handoffs -----------------------------------------------------------------------------


@review.get("/handoffs")
def handoffs() -> str:
    period = _period("30d")
    reviewed = request.args.get("reviewed", "")
    filters = queries.HandoffFilters(
        period=period,
        connector=_connector(),
        reason=request.args.get("reason", "").strip() or None,
        group=request.args.get("group", "").strip() or None,
        reviewed=reviewed if reviewed in ("yes", "no") else None,
    )
    with services().runtime.store.session() as session:
        result = queries.handoffs_page(session, filters, _page())
        latest = queries.latest_reviews(session, [d.id for d in result.rows])
        reasons, groups = queries.handoff_choices(session)
    return render_template(
        "review/handoffs.html",
        page=result,
        latest=latest,
        verdicts=queries.VERDICTS,
        page_url=page_url,
        filters=_filters(
            period,
            reason=filters.reason or "",
            group=filters.group or "",
            reviewed=filters.reviewed or "",
            reasons=reasons,
            groups=groups,
        ),
    )


@review.get("/handoffs/<int:decision_id>")
def handoff(decision_id: int) -> str:
    with services().runtime.store.session() as session:
        decision = session.get(Decision, decision_id)
        if decision is None:
            abort(404, description=f"There is no decision {decision_id}.")
        entries = queries.transcript(session, decision.connector, decision.ticket_id)
        ticket = queries.ticket_state_of(session, decision.connector, decision.ticket_id)
        question = queries.question_of(session, decision)
        reviews = list(
            session.scalars(
                select(Review).where(Review.decision_id == decision_id).order_by(Review.id.desc())
            )
        )
        cited = _cited_passages(session, entries)
    live_hits, live_error = None, None
    if request.args.get("search") and question:
        try:
            live_hits = services().runtime.retriever.search(question, k=5)
        except Exception as exc:  # the page must still show the handoff itself
            log.exception("knowledge search for decision %s failed", decision_id)
            live_error = f"{type(exc).__name__}: {exc}"
    seconds_to_human = None
    if ticket and ticket.escalated_at and ticket.human_active_at:
        escalated = queries.as_utc(ticket.escalated_at)
        human = queries.as_utc(ticket.human_active_at)
        if human >= escalated:
            seconds_to_human = (human - escalated).total_seconds()
    return render_template(
        "review/handoff.html",
        decision=decision,
        entries=entries,
        ticket=ticket,
        question=question,
        reviews=reviews,
        verdicts=queries.VERDICTS,
        cited=cited,
        live_hits=live_hits,
        live_error=live_error,
        seconds_to_human=seconds_to_human,
    )


def _cited_passages(session: Any, entries: list[queries.TranscriptEntry]) -> dict[str, str]:
    """The text of every passage a reply on this ticket cited, as the knowledge base has it."""
    ids = {
        str(c.get("passage_id"))
        for e in entries
        if e.decision is not None
        for c in (e.decision.citations or [])
        if isinstance(c, dict) and c.get("passage_id")
    }
    if not ids:
        return {}
    rows = session.execute(
        select(KbChunk.passage_id, KbChunk.text).where(KbChunk.passage_id.in_(sorted(ids)))
    ).all()
    return {passage_id: text for passage_id, text in rows}


@review.post("/handoffs/<int:decision_id>/review")
def judge(decision_id: int) -> BaseResponse:
    verdict = request.form.get("verdict", "")
    if verdict not in queries.VERDICTS:
        abort(400, description="Choose one of the verdicts.")
    comment = request.form.get("comment", "")[:MAX_COMMENT]
    with services().runtime.store.session() as session:
        if session.get(Decision, decision_id) is None:
            abort(404, description=f"There is no decision {decision_id}.")
        queries.add_review(session, decision_id, verdict, comment, reviewer())
    flash(f"Saved: {queries.VERDICTS[verdict]}.", "ok")
    return redirect(url_for("review.handoff", decision_id=decision_id))


# --- replies ------------------------------------------------------------------------------


@review.get("/replies")
def replies() -> str:
    period = _period("30d")
    only_down = request.args.get("vote") == "down"
    with services().runtime.store.session() as session:
        result, has_feedback = queries.replies_page(
            session, period, _connector(), only_downvoted=only_down, page=_page()
        )
    return render_template(
        "review/replies.html",
        page=result,
        has_feedback=has_feedback,
        page_url=page_url,
        filters=_filters(period, vote="down" if only_down else ""),
    )


# --- knowledge gaps -----------------------------------------------------------------------


@review.get("/gaps")
def gaps() -> str:
    period = _period("30d")
    with services().runtime.store.session() as session:
        questions = queries.load_gap_questions(session, period, _connector())
    by_id = {q.decision_id: q for q in questions}
    clusters = cluster_questions([(q.decision_id, q.text) for q in questions])
    return render_template(
        "review/gaps.html",
        clusters=clusters,
        by_id=by_id,
        total=len(questions),
        filters=_filters(period),
    )
