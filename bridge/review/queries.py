"""The numbers behind the review UI and ``helpdesk-bridge report``.

Loading (``load_*``, ``*_page``) is kept apart from counting (``summarise``): the counting
functions take plain records, so the definitions below can be checked against a hand count.

Definitions, per conversation (one ticket of one connector):

- **handled** in a period: the bot's first reply, clarifying question or handoff on the ticket
  falls in the period. Writes skipped because a human spoke first don't count as the bot's.
- **escalated**: the bot handed off before it had replied or asked anything.
- **assisted escalation**: the bot replied or asked a clarifying question, then handed off.
- **reopened**: the bot replied, and within the containment window after a reply the customer
  wrote again (without being handed off).
- **taken over**: the bot replied, and within the window an agent stepped in on their own.
- **pending**: the bot replied less than the window ago; too early to call it contained.
- **contained**: the bot replied, and the window passed with none of the above.
- **unanswered**: the bot only asked a clarifying question and the customer never came back.

The AI-resolved rate is contained / (handled - pending): conversations still inside their
window are left out rather than guessed.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, column, exists, func, inspect, or_, select, table, tuple_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bridge.review.clusters import Cluster, cluster_questions
from bridge.review.periods import Period
from bridge.store.models import DeadLetter, Decision, Delivery, Review, TicketState
from bridge.store.repo import question_text

ACTING = ("reply", "clarify", "escalate")
GAP_REASONS = ("missing_knowledge", "low_confidence")
OUTCOMES = (
    "contained",
    "reopened",
    "taken_over",
    "assisted_escalation",
    "escalated",
    "unanswered",
    "pending",
)
OUTCOME_TITLES = {
    "contained": "Contained by the AI",
    "reopened": "Reopened after an AI answer",
    "taken_over": "Taken over by an agent after the AI spoke",
    "assisted_escalation": "Assisted escalation (AI helped, then handed off)",
    "escalated": "Escalated straight away",
    "unanswered": "Clarifying question left unanswered",
    "pending": "Answered, still inside the window",
}
VERDICTS = {
    "right_call": "Right call",
    "should_have_answered": "Should have answered",
    "should_have_escalated_earlier": "Should have escalated earlier",
}
PAGE_SIZE = 50
_CHUNK = 400  # ids per IN (...) list: well below every database's parameter limit


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


# --- plain records ------------------------------------------------------------------------


@dataclass(frozen=True)
class Act:
    """One decision of the bot that said or did something on the ticket."""

    decision_id: int
    kind: str  # reply / clarify / escalate
    reason: str
    at: datetime


@dataclass
class Conversation:
    connector: str
    ticket_id: str
    acts: list[Act] = field(default_factory=list)  # oldest first
    customer_messages: list[datetime] = field(default_factory=list)  # oldest first
    escalated_at: datetime | None = None  # from the ticket state: when the handoff was made
    human_active_at: datetime | None = None  # when an agent first spoke after it

    @property
    def first_act(self) -> Act:
        return self.acts[0]

    @property
    def started_at(self) -> datetime:
        first = self.first_act.at
        earlier = [m for m in self.customer_messages if m <= first]
        return earlier[0] if earlier else first

    @property
    def handoff(self) -> Act | None:
        return next((a for a in self.acts if a.kind == "escalate"), None)

    def outcome(self, window: timedelta, now: datetime) -> str:
        handoff = self.handoff
        if handoff is not None:
            helped = any(a.kind in ("reply", "clarify") and a.at <= handoff.at for a in self.acts)
            return "assisted_escalation" if helped else "escalated"
        replies = [a.at for a in self.acts if a.kind == "reply"]
        human = self.human_active_at
        if not replies:
            # Only a clarifying question: the customer never got an answer from the bot.
            last = self.acts[-1].at
            if human is not None and human > last:
                return "taken_over"
            return "pending" if now < last + window else "unanswered"
        if any(r < m <= r + window for r in replies for m in self.customer_messages):
            return "reopened"
        if human is not None and any(r < human <= r + window for r in replies):
            return "taken_over"
        if now < replies[-1] + window:
            return "pending"
        return "contained"


@dataclass(frozen=True)
class Votes:
    up: int = 0
    down: int = 0

    def __add__(self, other: Votes) -> Votes:
        return Votes(self.up + other.up, self.down + other.down)

    @property
    def total(self) -> int:
        return self.up + self.down

    @property
    def up_rate(self) -> float | None:
        return self.up / self.total if self.total else None


@dataclass(frozen=True)
class Question:
    decision_id: int
    connector: str
    ticket_id: str
    reason: str
    text: str
    at: datetime


@dataclass(frozen=True)
class Bucket:
    start: datetime
    handled: int
    judged: int  # handled minus pending
    contained: int
    handed_off: int

    @property
    def pending(self) -> int:
        return self.handled - self.judged

    @property
    def ai_resolved_rate(self) -> float | None:
        return self.contained / self.judged if self.judged else None

    @property
    def handoff_rate(self) -> float | None:
        return self.handed_off / self.handled if self.handled else None


@dataclass
class Overview:
    period: Period
    connector: str | None
    window: timedelta
    handled: int
    outcomes: dict[str, int]
    ai_replies: int
    handoffs_by_reason: dict[str, int]
    median_seconds_to_escalation: float | None
    median_seconds_to_human: float | None
    votes: Votes | None  # None: feedback is not recorded on this installation
    top_gaps: list[Cluster]
    buckets: list[Bucket]
    bucket_label: str

    @property
    def judged(self) -> int:
        return self.handled - self.outcomes["pending"]

    @property
    def handed_off(self) -> int:
        return self.outcomes["escalated"] + self.outcomes["assisted_escalation"]

    @property
    def ai_resolved_rate(self) -> float | None:
        return self.outcomes["contained"] / self.judged if self.judged else None

    @property
    def handoff_rate(self) -> float | None:
        return self.handed_off / self.handled if self.handled else None

    def handoff_rate_of(self, reason: str) -> float | None:
        return self.handoffs_by_reason.get(reason, 0) / self.handled if self.handled else None

    def to_json(self) -> dict[str, Any]:
        votes = self.votes
        return {
            "period": {
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
                "label": self.period.label,
            },
            "connector": self.connector,
            "containment_window_hours": self.window.total_seconds() / 3600,
            "conversations_handled": self.handled,
            "outcomes": dict(self.outcomes),
            "ai_replies": self.ai_replies,
            "ai_resolved_rate": _round(self.ai_resolved_rate),
            "handoff_rate": _round(self.handoff_rate),
            "handoffs_by_reason": {
                reason: {"count": count, "rate": _round(self.handoff_rate_of(reason))}
                for reason, count in self.handoffs_by_reason.items()
            },
            "median_seconds_to_escalation": _round(self.median_seconds_to_escalation, 1),
            "median_seconds_escalation_to_human": _round(self.median_seconds_to_human, 1),
            "feedback": None
            if votes is None
            else {"up": votes.up, "down": votes.down, "up_rate": _round(votes.up_rate)},
            "top_unanswered": [
                {"questions": c.size, "example": c.representative, "terms": c.terms}
                for c in self.top_gaps
            ],
        }


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


# --- counting -----------------------------------------------------------------------------


def summarise(
    conversations: Iterable[Conversation],
    period: Period,
    *,
    connector: str | None,
    window: timedelta,
    now: datetime,
    ai_replies: int = 0,
    votes: Votes | None = None,
    gaps: Sequence[Question] = (),
    top_gaps: int = 5,
) -> Overview:
    """The overview of the conversations whose first bot action falls in ``period``."""
    handled = [c for c in conversations if c.acts and period.contains(c.first_act.at)]
    outcomes = dict.fromkeys(OUTCOMES, 0)
    by_reason: Counter[str] = Counter()
    to_escalation: list[float] = []
    to_human: list[float] = []
    per_bucket: dict[datetime, list[str]] = defaultdict(list)
    step, bucket_label = _bucket_size(period)
    for conversation in handled:
        outcome = conversation.outcome(window, now)
        outcomes[outcome] += 1
        per_bucket[_bucket_start(conversation.first_act.at, period, step)].append(outcome)
        handoff = conversation.handoff
        if handoff is None:
            continue
        by_reason[handoff.reason] += 1
        to_escalation.append((handoff.at - conversation.started_at).total_seconds())
        escalated, human = conversation.escalated_at, conversation.human_active_at
        if escalated is not None and human is not None and human >= escalated:
            to_human.append((human - escalated).total_seconds())

    buckets = []
    start = period.start
    while start < period.end:
        got = per_bucket.get(start, [])
        buckets.append(
            Bucket(
                start=start,
                handled=len(got),
                judged=sum(1 for o in got if o != "pending"),
                contained=got.count("contained"),
                handed_off=got.count("escalated") + got.count("assisted_escalation"),
            )
        )
        start += step
    return Overview(
        period=period,
        connector=connector,
        window=window,
        handled=len(handled),
        outcomes=outcomes,
        ai_replies=ai_replies,
        handoffs_by_reason=dict(by_reason.most_common()),
        median_seconds_to_escalation=statistics.median(to_escalation) if to_escalation else None,
        median_seconds_to_human=statistics.median(to_human) if to_human else None,
        votes=votes,
        top_gaps=cluster_questions([(q.decision_id, q.text) for q in gaps])[:top_gaps],
        buckets=buckets,
        bucket_label=bucket_label,
    )


def _bucket_size(period: Period) -> tuple[timedelta, str]:
    if period.length <= timedelta(days=2):
        return timedelta(hours=1), "hour"
    if period.length <= timedelta(days=62):
        return timedelta(days=1), "day"
    return timedelta(weeks=1), "week"


def _bucket_start(moment: datetime, period: Period, step: timedelta) -> datetime:
    return period.start + step * ((moment - period.start) // step)


# --- loading ------------------------------------------------------------------------------


def overview(
    session: Session,
    period: Period,
    *,
    connector: str | None,
    window: timedelta,
    now: datetime | None = None,
) -> Overview:
    """Everything the overview page and ``report`` show; both call this."""
    now = now or datetime.now(UTC)
    conversations = load_conversations(session, period, connector)
    reply_ids = list(
        session.scalars(
            _in_period(select(Decision.id), period, connector).where(
                Decision.kind == "reply", _not_skipped()
            )
        )
    )
    votes = feedback_votes(session, reply_ids)
    total_votes = None if votes is None else sum(votes.values(), Votes())
    return summarise(
        conversations,
        period,
        connector=connector,
        window=window,
        now=now,
        ai_replies=len(reply_ids),
        votes=total_votes,
        gaps=load_gap_questions(session, period, connector),
    )


def _in_period(query: Any, period: Period, connector: str | None) -> Any:
    query = query.where(Decision.created_at >= period.start, Decision.created_at < period.end)
    return query.where(Decision.connector == connector) if connector else query


def _not_skipped() -> Any:
    # A reply or handoff held back because a human spoke first was never the bot's doing.
    return or_(Decision.write_status.is_(None), Decision.write_status != "skipped")


def load_conversations(
    session: Session, period: Period, connector: str | None
) -> list[Conversation]:
    """Conversations with a bot action in the period, with their whole history."""
    tickets = session.execute(
        _in_period(select(Decision.connector, Decision.ticket_id), period, connector)
        .where(Decision.kind.in_(ACTING), _not_skipped())
        .distinct()
    ).all()
    found: dict[tuple[str, str], Conversation] = {
        (c, t): Conversation(connector=c, ticket_id=t) for c, t in tickets
    }
    keys = list(found)
    for chunk in _chunks(keys):
        where = tuple_(Decision.connector, Decision.ticket_id).in_(chunk)
        rows = session.execute(
            select(
                Decision.id,
                Decision.connector,
                Decision.ticket_id,
                Decision.kind,
                Decision.reason,
                Decision.created_at,
            ).where(where, Decision.kind.in_(ACTING), _not_skipped())
        ).all()
        for row in rows:
            act = Act(row.id, row.kind, row.reason, as_utc(row.created_at))
            found[(row.connector, row.ticket_id)].acts.append(act)
        deliveries = session.execute(
            select(
                Delivery.connector, Delivery.ticket_id, Delivery.received_at, Delivery.event
            ).where(tuple_(Delivery.connector, Delivery.ticket_id).in_(chunk))
        ).all()
        for row in deliveries:
            if _role(row.event) == "customer":
                found[(row.connector, row.ticket_id)].customer_messages.append(
                    as_utc(row.received_at)
                )
        states = session.execute(
            select(
                TicketState.connector,
                TicketState.ticket_id,
                TicketState.escalated_at,
                TicketState.human_active_at,
            ).where(tuple_(TicketState.connector, TicketState.ticket_id).in_(chunk))
        ).all()
        for row in states:
            conversation = found[(row.connector, row.ticket_id)]
            conversation.escalated_at = utc(row.escalated_at)
            conversation.human_active_at = utc(row.human_active_at)
    for conversation in found.values():
        conversation.acts.sort(key=lambda a: (a.at, a.decision_id))
        conversation.customer_messages.sort()
    return list(found.values())


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _role(event: dict[str, Any] | None) -> str | None:
    message = (event or {}).get("message") or {}
    return message.get("role")


def _text(event: dict[str, Any] | None) -> str:
    message = (event or {}).get("message") or {}
    return str(message.get("text") or "")


def load_gap_questions(session: Session, period: Period, connector: str | None) -> list[Question]:
    """Customer questions the docs could not answer (missing_knowledge / low_confidence)."""
    rows = session.execute(
        _in_period(
            select(
                Decision.id,
                Decision.connector,
                Decision.ticket_id,
                Decision.reason,
                Decision.created_at,
                Decision.evidence,
                Delivery.event,
            ).join(Delivery, Delivery.id == Decision.delivery_pk),
            period,
            connector,
        )
        .where(Decision.reason.in_(GAP_REASONS))
        .order_by(Decision.created_at, Decision.id)
    ).all()
    questions = [(r, question_text(r.evidence, r.event)) for r in rows]
    return [
        Question(r.id, r.connector, r.ticket_id, r.reason, text, as_utc(r.created_at))
        for r, text in questions
        if text.strip()
    ]


# --- feedback (a table another part of the service fills; absent on older databases) -----

_UP = {"1", "+1", "up", "thumbs_up", "positive", "yes", "true", "helpful"}
_DOWN = {"-1", "0", "down", "thumbs_down", "negative", "no", "false", "unhelpful"}


def vote_direction(value: Any) -> str | None:
    text = str(value).strip().lower()
    if text in _UP:
        return "up"
    if text in _DOWN:
        return "down"
    return None


def _has_table(session: Session, name: str) -> bool:
    try:
        return inspect(session.connection()).has_table(name)
    except SQLAlchemyError:
        return False


def feedback_votes(session: Session, decision_ids: Sequence[int]) -> dict[int, Votes] | None:
    """Thumbs per decision, or None when this database has no feedback table."""
    if not _has_table(session, "feedback"):
        return None
    feedback = table("feedback", column("decision_id"), column("vote"))
    votes: dict[int, Votes] = {}
    try:
        # A savepoint, so a surprise in that table cannot abort the page's transaction.
        with session.begin_nested():
            for chunk in _chunks(list(decision_ids)):
                rows = session.execute(
                    select(feedback.c.decision_id, feedback.c.vote).where(
                        feedback.c.decision_id.in_(chunk)
                    )
                ).all()
                for decision_id, vote in rows:
                    direction = vote_direction(vote)
                    one = Votes(up=int(direction == "up"), down=int(direction == "down"))
                    votes[decision_id] = votes.get(decision_id, Votes()) + one
    except SQLAlchemyError:
        return None
    return votes


def downvoted_ids(session: Session) -> set[int] | None:
    if not _has_table(session, "feedback"):
        return None
    feedback = table("feedback", column("decision_id"), column("vote"))
    try:
        with session.begin_nested():
            rows = session.execute(select(feedback.c.decision_id, feedback.c.vote)).all()
    except SQLAlchemyError:
        return None
    return {decision_id for decision_id, vote in rows if vote_direction(vote) == "down"}


# --- pages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandoffFilters:
    period: Period
    connector: str | None = None
    reason: str | None = None
    group: str | None = None
    reviewed: str | None = None  # "yes" / "no" / None for both


@dataclass
class Page:
    rows: list[Any]
    total: int
    number: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def handoffs_page(session: Session, filters: HandoffFilters, page: int = 1) -> Page:
    reviewed = exists().where(Review.decision_id == Decision.id)
    query = _in_period(select(Decision), filters.period, filters.connector).where(
        Decision.kind == "escalate"
    )
    if filters.reason:
        query = query.where(Decision.reason == filters.reason)
    if filters.group:
        query = query.where(Decision.group == filters.group)
    if filters.reviewed == "yes":
        query = query.where(reviewed)
    elif filters.reviewed == "no":
        query = query.where(~reviewed)
    return _paginate(session, query, page)


def _paginate(session: Session, query: Any, page: int) -> Page:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    number = max(1, min(page, max(1, -(-total // PAGE_SIZE))))
    rows = session.scalars(
        query.order_by(Decision.created_at.desc(), Decision.id.desc())
        .offset((number - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return Page(list(rows), total, number)


def latest_reviews(session: Session, decision_ids: Sequence[int]) -> dict[int, Review]:
    latest: dict[int, Review] = {}
    for chunk in _chunks(list(decision_ids)):
        rows = session.scalars(
            select(Review).where(Review.decision_id.in_(chunk)).order_by(Review.id)
        )
        for review in rows:
            latest[review.decision_id] = review
    return latest


def handoff_choices(session: Session) -> tuple[list[str], list[str]]:
    """The reasons and groups that occur, for the filter drop-downs."""
    escalations = select(Decision.reason, Decision.group).where(Decision.kind == "escalate")
    rows = session.execute(escalations.distinct()).all()
    reasons = sorted({r.reason for r in rows if r.reason})
    groups = sorted({r.group for r in rows if r.group})
    return reasons, groups


@dataclass(frozen=True)
class TranscriptEntry:
    at: datetime
    role: str
    text: str
    public: bool
    decision: Decision | None


def transcript(session: Session, connector: str, ticket_id: str) -> list[TranscriptEntry]:
    """The ticket's events in the order they arrived, each with what the bot decided."""
    rows = session.execute(
        select(Delivery, Decision)
        .outerjoin(Decision, Decision.delivery_pk == Delivery.id)
        .where(Delivery.connector == connector, Delivery.ticket_id == ticket_id)
        .order_by(Delivery.received_at, Delivery.id)
    ).all()
    entries = []
    position: dict[int, int] = {}
    for delivery, decision in rows:
        message = (delivery.event or {}).get("message") or {}
        position[delivery.id] = len(entries)
        entries.append(
            TranscriptEntry(
                at=as_utc(delivery.received_at),
                role=str(message.get("role") or "system"),
                text=str(message.get("text") or ""),
                public=bool(message.get("public", True)),
                decision=decision,
            )
        )
    # A burst of messages was decided once, on the first delivery: show that decision after
    # the burst's last message, and the "coalesced" record in the first one's place.
    for delivery, decision in rows:
        joined = (decision.evidence or {}).get("coalesced") if decision is not None else None
        last = position.get(joined[-1]) if joined else None
        if last is not None:
            first = position[delivery.id]
            entries[first], entries[last] = (
                replace(entries[first], decision=entries[last].decision),
                replace(entries[last], decision=entries[first].decision),
            )
    return entries


def question_of(session: Session, decision: Decision) -> str:
    event = session.scalar(select(Delivery.event).where(Delivery.id == decision.delivery_pk))
    return question_text(decision.evidence, event)


def ticket_state_of(session: Session, connector: str, ticket_id: str) -> TicketState | None:
    return session.scalars(
        select(TicketState).where(
            TicketState.connector == connector, TicketState.ticket_id == ticket_id
        )
    ).first()


def add_review(
    session: Session, decision_id: int, verdict: str, comment: str, reviewer: str
) -> Review:
    if verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}")
    review = Review(
        decision_id=decision_id, verdict=verdict, comment=comment.strip(), reviewer=reviewer
    )
    session.add(review)
    session.flush()
    return review


@dataclass(frozen=True)
class ReplyRow:
    decision: Decision
    question: str
    votes: Votes | None


def replies_page(
    session: Session,
    period: Period,
    connector: str | None,
    *,
    only_downvoted: bool = False,
    page: int = 1,
) -> tuple[Page, bool]:
    """AI replies, newest first; the flag says whether feedback is recorded at all."""
    query = _in_period(select(Decision), period, connector).where(Decision.kind == "reply")
    down = downvoted_ids(session) if only_downvoted else set()
    if only_downvoted:
        query = query.where(Decision.id.in_(sorted(down or ())))
    result = _paginate(session, query, page)
    votes = feedback_votes(session, [d.id for d in result.rows])
    events = dict(
        session.execute(
            select(Delivery.id, Delivery.event).where(
                Delivery.id.in_([d.delivery_pk for d in result.rows])
            )
        ).all()
    )
    result.rows = [
        ReplyRow(
            d,
            question_text(d.evidence, events.get(d.delivery_pk)),
            None if votes is None else votes.get(d.id, Votes()),
        )
        for d in result.rows
    ]
    return result, votes is not None


# --- candidates (a table the learning loop fills; absent on older databases) -------------

_CANDIDATE_COLUMNS = (
    "id",
    "connector",
    "ticket_id",
    "question",
    "answer",
    "ticket_url",
    "status",
    "created_at",
)
_candidates = table("kb_candidates", *(column(name) for name in _CANDIDATE_COLUMNS))


@dataclass(frozen=True)
class Candidate:
    id: int
    connector: str
    ticket_id: str
    question: str
    answer: str
    ticket_url: str | None
    status: str
    created_at: datetime | None


def candidates_available(session: Session) -> bool:
    return _has_table(session, "kb_candidates")


def pending_candidates(session: Session, connector: str | None = None) -> list[Candidate]:
    if not candidates_available(session):
        return []
    query = select(_candidates).where(_candidates.c.status == "pending")
    if connector:
        query = query.where(_candidates.c.connector == connector)
    try:
        with session.begin_nested():
            rows = session.execute(query.order_by(_candidates.c.id.desc())).mappings().all()
    except SQLAlchemyError:
        return []
    return [_candidate(row) for row in rows]


def candidate(session: Session, candidate_id: int) -> Candidate | None:
    if not candidates_available(session):
        return None
    row = (
        session.execute(select(_candidates).where(_candidates.c.id == candidate_id))
        .mappings()
        .first()
    )
    return _candidate(row) if row else None


def mark_candidate_rejected(session: Session, candidate_id: int) -> bool:
    result = session.execute(
        update(_candidates)
        .where(and_(_candidates.c.id == candidate_id, _candidates.c.status == "pending"))
        .values(status="rejected")
    )
    return bool(result.rowcount)


def _candidate(row: Any) -> Candidate:
    created = row["created_at"]
    if isinstance(created, str):  # SQLite without a declared type hands back text
        created = datetime.fromisoformat(created)
    return Candidate(
        id=int(row["id"]),
        connector=str(row["connector"] or ""),
        ticket_id=str(row["ticket_id"] or ""),
        question=str(row["question"] or ""),
        answer=str(row["answer"] or ""),
        ticket_url=row["ticket_url"],
        status=str(row["status"] or ""),
        created_at=utc(created),
    )


# --- dead letters -------------------------------------------------------------------------


def dead_letters(session: Session, *, resolved: bool = False, page: int = 1) -> Page:
    done = DeadLetter.resolved_at.is_not(None)
    query = select(DeadLetter).where(done if resolved else ~done)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    number = max(1, min(page, max(1, -(-total // PAGE_SIZE))))
    rows = session.scalars(
        query.order_by(DeadLetter.created_at.desc(), DeadLetter.id.desc())
        .offset((number - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return Page(list(rows), total, number)


def unresolved_dead_letters(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(DeadLetter).where(DeadLetter.resolved_at.is_(None))
        )
        or 0
    )
