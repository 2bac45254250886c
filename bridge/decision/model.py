"""Values the decision core takes and returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bridge.events import Customer, Message


class DecisionKind(StrEnum):
    REPLY = "reply"
    CLARIFY = "clarify"
    ESCALATE = "escalate"
    IGNORE = "ignore"  # not a customer message: our own, another bot's, a system event
    SILENT = "silent"  # a customer message the bot must not answer (a human has the ticket)

    @property
    def writes(self) -> bool:
        return self in (DecisionKind.REPLY, DecisionKind.CLARIFY, DecisionKind.ESCALATE)


class TicketStatus(StrEnum):
    OPEN = "open"
    ESCALATED = "escalated"
    HUMAN_ACTIVE = "human_active"


@dataclass(frozen=True)
class TicketView:
    """The part of stored ticket state the core reads."""

    status: TicketStatus = TicketStatus.OPEN
    bot_turns: int = 0
    clarifications: int = 0
    # when the ticket went to a human, and when a person last solved it
    handed_over_at: datetime | None = None
    solved_at: datetime | None = None

    def reopened_after_solve(self) -> bool:
        """A person solved the ticket after it was handed over (or taken), and it came back."""
        return (
            self.solved_at is not None
            and self.handed_over_at is not None
            and self.solved_at >= self.handed_over_at
        )


@dataclass(frozen=True)
class Situation:
    """Everything the core knows when it decides on one message."""

    message: Message | None
    conversation: Sequence[Message] = ()  # the ticket's messages, oldest first
    ticket: TicketView = field(default_factory=lambda: TicketView())
    customer: Customer = field(default_factory=Customer)
    subject: str | None = None
    tags: tuple[str, ...] = ()
    channel: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Citation:
    passage_id: str
    title: str
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"passage_id": self.passage_id, "title": self.title, "url": self.url}


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    reason: str
    rule_id: str | None = None
    text: str | None = None  # what the customer sees: the reply, question or handoff message
    citations: tuple[Citation, ...] = ()
    group: str | None = None
    tags: tuple[str, ...] = ()
    brief: str | None = None  # the internal note for the agent who takes over
    evidence: dict[str, Any] = field(default_factory=dict)
    confidence: float | None = None
    marks_human_active: bool = False  # the shell must record that a human has the ticket

    priority: str | None = None  # ticket priority to set on handoff
    rollout: str = "auto"  # draft: write the handoff as an internal note only
    language: str | None = None
