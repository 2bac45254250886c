"""The normalized shapes every connector produces and the decision core consumes.

Connectors turn vendor payloads and API responses into these; nothing past the connector
layer ever sees a vendor field name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"  # our own bot
    OTHER_BOT = "other_bot"  # automations and vendor bots that are not ours
    SYSTEM = "system"  # pings, status changes and other events without a message


@dataclass(frozen=True)
class Message:
    """One comment or message on a ticket."""

    id: str
    role: Role
    text: str
    public: bool = True
    author_id: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Customer:
    id: str | None = None
    name: str | None = None
    email: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """A verified, parsed webhook delivery."""

    connector: str
    delivery_id: str
    ticket_id: str
    kind: str  # e.g. "comment", "ping"
    message: Message | None
    customer: Customer = field(default_factory=Customer)
    subject: str | None = None
    tags: tuple[str, ...] = ()
    channel: str | None = None  # how the ticket reached the helpdesk: email, web, chat, ...
    raw: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        msg = self.message
        return {
            "connector": self.connector,
            "delivery_id": self.delivery_id,
            "ticket_id": self.ticket_id,
            "kind": self.kind,
            "message": None
            if msg is None
            else {
                "id": msg.id,
                "role": msg.role.value,
                "text": msg.text,
                "public": msg.public,
                "author_id": msg.author_id,
                "created_at": msg.created_at.isoformat() if msg.created_at else None,
            },
            "customer": {
                "id": self.customer.id,
                "name": self.customer.name,
                "email": self.customer.email,
                "fields": self.customer.fields,
            },
            "subject": self.subject,
            "tags": list(self.tags),
            "channel": self.channel,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        msg = data.get("message")
        cust = data.get("customer") or {}
        return cls(
            connector=data["connector"],
            delivery_id=data["delivery_id"],
            ticket_id=data["ticket_id"],
            kind=data["kind"],
            message=None
            if msg is None
            else Message(
                id=msg["id"],
                role=Role(msg["role"]),
                text=msg["text"],
                public=msg.get("public", True),
                author_id=msg.get("author_id"),
                created_at=datetime.fromisoformat(msg["created_at"])
                if msg.get("created_at")
                else None,
            ),
            customer=Customer(
                id=cust.get("id"),
                name=cust.get("name"),
                email=cust.get("email"),
                fields=cust.get("fields") or {},
            ),
            subject=data.get("subject"),
            tags=tuple(data.get("tags") or ()),
            channel=data.get("channel"),
        )


def comparable(text: str) -> str:
    """A message's text as two renderings of it compare: spacing and case aside, and only its
    start, since a helpdesk may append to what it shows (signatures, links)."""
    return re.sub(r"\s+", " ", text).strip().lower()[:120]


def locate(messages: Sequence[Message], wanted: Message) -> int | None:
    """Where ``wanted`` sits in a conversation fetched from the helpdesk.

    By id where the helpdesk's webhook and API share ids; otherwise (Freshdesk's webhooks carry
    no comment id) the newest customer message with the same text.
    """
    for index, candidate in enumerate(messages):
        if candidate.id == wanted.id:
            return index
    text = comparable(wanted.text)
    for index in range(len(messages) - 1, -1, -1):
        candidate = messages[index]
        if candidate.role is Role.CUSTOMER and comparable(candidate.text) == text:
            return index
    return None
