"""SQLAlchemy models. Schema changes go through Alembic migrations in ``bridge/migrations``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Delivery(Base):
    """One webhook we accepted. Unique per connector and delivery id: redeliveries do nothing."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("connector", "delivery_id", name="uq_delivery"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connector: Mapped[str] = mapped_column(String(100))
    delivery_id: Mapped[str] = mapped_column(String(255))
    ticket_id: Mapped[str] = mapped_column(String(100), index=True)
    # queued -> done | dead; "received": recorded by a path that enqueues separately
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    event: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # When a worker last picked it up (or it was enqueued again): a pending delivery left
    # untouched for long has lost its task, to a web process that died before enqueueing or to
    # a broker that lost its data.
    touched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TicketState(Base):
    """What the bot knows about one ticket across events."""

    __tablename__ = "ticket_states"
    __table_args__ = (UniqueConstraint("connector", "ticket_id", name="uq_ticket_state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connector: Mapped[str] = mapped_column(String(100))
    ticket_id: Mapped[str] = mapped_column(String(100))
    # open: the bot may answer; escalated / human_active: the bot stays silent
    status: Mapped[str] = mapped_column(String(20), default="open")
    bot_turns: Mapped[int] = mapped_column(Integer, default=0)
    clarifications: Mapped[int] = mapped_column(Integer, default=0)
    escalation_reason: Mapped[str | None] = mapped_column(String(50), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    human_active_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # When a person last solved the ticket: the bot may resume after it if the policy allows
    solved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    lock_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lock_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Decision(Base):
    """What the bot decided for one delivery, and what it wrote back."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_pk: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), unique=True
    )
    connector: Mapped[str] = mapped_column(String(100), index=True)
    ticket_id: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # reply / clarify / escalate / ignore / silent
    reason: Mapped[str] = mapped_column(String(50))
    rule_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    citations: Mapped[list[Any]] = mapped_column(JSON, default=list)
    group: Mapped[str | None] = mapped_column(String(200), nullable=True)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    brief: Mapped[str | None] = mapped_column(Text, nullable=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    confidence: Mapped[float | None] = mapped_column(nullable=True)
    priority: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # auto: act; draft: the handoff goes into an internal note for an agent to approve
    rollout: Mapped[str] = mapped_column(String(10), default="auto", server_default="auto")
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    mode: Mapped[str] = mapped_column(String(20))
    policy_digest: Mapped[str] = mapped_column(String(32))
    # pending: decided, not yet written; written; skipped (a human spoke first); recorded (dry run)
    write_status: Mapped[str] = mapped_column(String(20), default="pending")
    # the write-back steps already done, so a task run again after a crash resumes, not repeats
    writes_done: Mapped[list[Any]] = mapped_column(JSON, default=list)
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)  # LLM tokens, all kinds
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PostedMessage(Base):
    """A message the bot wrote to the helpdesk; lets us recognise our own comments later."""

    __tablename__ = "posted_messages"
    __table_args__ = (UniqueConstraint("connector", "message_id", name="uq_posted_message"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connector: Mapped[str] = mapped_column(String(100))
    ticket_id: Mapped[str] = mapped_column(String(100), index=True)
    message_id: Mapped[str] = mapped_column(String(100))
    decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("decisions.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DeadLetter(Base):
    """An event that failed after every retry: kept with its error, never dropped."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_pk: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL"), nullable=True
    )
    connector: Mapped[str] = mapped_column(String(100))
    ticket_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    event: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Review(Base):
    """A reviewer's verdict on one decision, kept as history: a later verdict does not erase."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(
        ForeignKey("decisions.id", ondelete="CASCADE"), index=True
    )
    # right_call / should_have_answered / should_have_escalated_earlier
    verdict: Mapped[str] = mapped_column(String(40))
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- knowledge base ----------------------------------------------------------------------
#
# Documents and their passages live here, not only in the index files: an incremental refresh
# skips unchanged pages (a 304 carries no body), so the index can only be rebuilt, by any
# process on any machine, from what the database kept. The index files are a cache of it.


class KbSource(Base):
    """One knowledge source: from the config file, or added with ``helpdesk-bridge kb``."""

    __tablename__ = "kb_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # type and location, e.g. "url:https://help.example.com/": how the config finds its row
    key: Mapped[str] = mapped_column(String(2048), unique=True)
    type: Mapped[str] = mapped_column(String(20))  # path / url / helpdesk
    origin: Mapped[str] = mapped_column(String(20))  # config / cli
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    refresh_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_refresh_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_status: Mapped[str | None] = mapped_column(String(20), nullable=True)  # ok / error
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # held while a refresh runs, so a slow crawl is never started twice
    lock_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lock_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KbDocument(Base):
    """A file, web page or help-center article, with what is needed to skip it when unchanged."""

    __tablename__ = "kb_documents"
    __table_args__ = (UniqueConstraint("source_id", "key", name="uq_kb_document"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("kb_sources.id", ondelete="CASCADE"), index=True
    )
    # relative file path, canonical page URL or article id: unique within the source
    key: Mapped[str] = mapped_column(String(2048))
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)  # public link
    fetch_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)  # as requested
    title: Mapped[str] = mapped_column(Text, default="")
    etag: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_modified: Mapped[str | None] = mapped_column(String(100), nullable=True)
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)  # raw bytes
    text_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)  # its passages
    links: Mapped[list[Any]] = mapped_column(JSON, default=list)  # pages: where to crawl next
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KbChunk(Base):
    """One passage of a document, in document order."""

    __tablename__ = "kb_chunks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("kb_documents.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    passage_id: Mapped[str] = mapped_column(Text)
    title_path: Mapped[list[Any]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)


class KbIndexState(Base):
    """A single row: the revision of the knowledge base, changed whenever its passages are.

    Each process compares it with the revision of the index it serves; a cheap primary-key
    read is how web and worker processes on other machines notice a refresh.
    """

    __tablename__ = "kb_index_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- feedback and learning ---------------------------------------------------------------


class Feedback(Base):
    """A customer's verdict on the bot: a vote through a reply's link, or a helpdesk rating.

    ``key`` makes each verdict one row that a later one replaces: ``link:<decision id>`` for a
    reply's links (one vote per reply), ``helpdesk:<connector>:<ticket id>`` for the ticket's
    satisfaction rating (helpdesks keep only the latest rating too).
    """

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    # the rated reply; for a helpdesk rating, the ticket's latest reply when there was one
    decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("decisions.id", ondelete="CASCADE"), nullable=True, index=True
    )
    connector: Mapped[str] = mapped_column(String(100))
    ticket_id: Mapped[str] = mapped_column(String(100), index=True)
    source: Mapped[str] = mapped_column(String(20))  # link / helpdesk
    vote: Mapped[str] = mapped_column(String(10))  # up / down / neutral
    # the helpdesk's own score (Intercom 1-5, Zendesk good 1 / bad 0); None for link votes
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class KbCandidate(Base):
    """A human agent's answer to an escalated ticket, proposed for the knowledge base.

    collecting (the ticket was solved; the answer is still to be read from the helpdesk) ->
    pending (waiting for a reviewer) -> approved | rejected; skipped when the ticket held no
    public agent answer, failed when it could not be read. Only approved rows are indexed.
    """

    __tablename__ = "kb_candidates"
    __table_args__ = (UniqueConstraint("connector", "ticket_id", name="uq_kb_candidate"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connector: Mapped[str] = mapped_column(String(100))
    ticket_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), index=True)
    question: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    ticket_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    escalation_reason: Mapped[str | None] = mapped_column(String(50), nullable=True)
    # the handoff that sent the ticket to a human
    decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("decisions.id", ondelete="SET NULL"), nullable=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewer: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    solved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
