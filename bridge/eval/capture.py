"""A helpdesk stand-in for evaluations: serves a case's turns, records what would be written.

The pipeline talks to it exactly as to a real connector: it reads the conversation (the
case's turns) before deciding and again just before writing, then posts replies, notes and
handoffs, which land in ``writes`` instead of on a helpdesk. It claims credentials so the
pipeline takes its full path (history read, re-check, writes), and it never touches a network.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from marshmallow import Schema

from bridge.events import Event, Message, Role
from connectors.base import (
    Connector,
    Group,
    HelpArticle,
    MalformedPayload,
    WebhookRequest,
    WiringResult,
)


class _NoSettings(Schema):
    pass


@dataclass(frozen=True)
class Write:
    """One call the pipeline made to write to the helpdesk."""

    action: str  # reply, note, escalate, assign_group or add_tags
    ticket_id: str
    text: str | None = None
    group: str | None = None
    tags: tuple[str, ...] = ()
    priority: str | None = None
    message_id: str | None = None

    @property
    def customer_visible(self) -> bool:
        return self.action == "reply"

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "text": self.text,
            "group": self.group,
            "tags": list(self.tags),
            "priority": self.priority,
        }


@dataclass
class _Ticket:
    messages: list[Message] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)


class CapturingConnector(Connector):
    """Any helpdesk type, answering from memory; one instance serves many tickets."""

    settings_schema: ClassVar[type[Schema]] = _NoSettings

    def __init__(self, name: str, type_name: str = "zendesk") -> None:
        super().__init__(name, None)
        # Per instance: the same class stands in for Zendesk, Intercom and Freshdesk.
        self.type_name = type_name  # type: ignore[misc]
        self._tickets: dict[str, _Ticket] = {}
        self._ids = itertools.count(1)

    # -- what a case sets up and reads back ------------------------------------------------

    def load(self, ticket_id: str, messages: list[Message]) -> None:
        """Serve ``messages`` (oldest first) as the ticket's conversation."""
        self._tickets[ticket_id] = _Ticket(messages=list(messages))

    def writes(self, ticket_id: str) -> list[Write]:
        ticket = self._tickets.get(ticket_id)
        return list(ticket.writes) if ticket else []

    def _ticket(self, ticket_id: str) -> _Ticket:
        return self._tickets.setdefault(ticket_id, _Ticket())

    def _record(self, write: Write, message: Message | None = None) -> None:
        ticket = self._ticket(write.ticket_id)
        ticket.writes.append(write)
        if message is not None:
            # Later reads see our post, as they would on the helpdesk.
            ticket.messages.append(message)

    def _message_id(self) -> str:
        return f"captured-{next(self._ids)}"

    # -- inbound: evaluations build events directly ----------------------------------------

    def verify(self, request: WebhookRequest, now: datetime) -> None:
        return None

    def parse(self, request: WebhookRequest) -> Event:
        raise MalformedPayload("the evaluation connector does not receive webhooks")

    def sign(self, body: bytes, now: datetime) -> dict[str, str]:
        return {}

    # -- outbound --------------------------------------------------------------------------

    @property
    def has_credentials(self) -> bool:
        return True

    def fetch_conversation(self, ticket_id: str) -> list[Message]:
        return list(self._ticket(ticket_id).messages)

    def post_reply(self, ticket_id: str, text: str) -> str | None:
        message_id = self._message_id()
        self._record(
            Write("reply", ticket_id, text=text, message_id=message_id),
            Message(message_id, Role.BOT, text),
        )
        return message_id

    def post_note(self, ticket_id: str, text: str) -> str | None:
        message_id = self._message_id()
        self._record(
            Write("note", ticket_id, text=text, message_id=message_id),
            Message(message_id, Role.BOT, text, public=False),
        )
        return message_id

    def assign_group(self, ticket_id: str, group: str) -> None:
        self._record(Write("assign_group", ticket_id, group=group))

    def add_tags(self, ticket_id: str, tags: list[str]) -> None:
        self._record(Write("add_tags", ticket_id, tags=tuple(tags)))

    def escalate(
        self,
        ticket_id: str,
        note: str,
        group: str | None,
        tags: list[str],
        priority: str | None = None,
    ) -> str | None:
        message_id = self._message_id()
        self._record(
            Write(
                "escalate",
                ticket_id,
                text=note,
                group=group,
                tags=tuple(tags),
                priority=priority,
                message_id=message_id,
            ),
            Message(message_id, Role.BOT, note, public=False),
        )
        return message_id

    def list_groups(self) -> list[Group]:
        return []

    def check_credentials(self) -> str:
        return "evaluation connector (nothing is sent)"

    def check_bot_identity(self) -> str:
        return "evaluation connector"

    def list_help_articles(self) -> Iterator[HelpArticle]:
        return iter(())

    def connect(self, webhook_url: str) -> WiringResult:
        return WiringResult(automated=False, lines=())
