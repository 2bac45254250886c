"""The interface every helpdesk connector implements, and the errors it raises.

A connector knows one helpdesk: how its webhooks are signed and shaped, and how its REST API
reads a conversation and writes replies, notes, groups and tags. It never decides anything.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from marshmallow import Schema

from bridge.events import Event, Message


class WebhookRejected(Exception):
    """A webhook we refuse; carries the HTTP status to answer with."""

    status: int = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.field:
            body["field"] = self.field
        return body


class BadSignature(WebhookRejected):
    status = 401


class MalformedPayload(WebhookRejected):
    status = 400


class HelpdeskError(Exception):
    """A helpdesk API call that failed, with what the vendor said about it."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        vendor_message: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        detail = message
        if status is not None:
            detail = f"{message} (HTTP {status})"
        if vendor_message:
            detail = f"{detail}: {vendor_message}"
        super().__init__(detail)
        self.status = status
        self.vendor_message = vendor_message
        self.retryable = retryable
        self.retry_after = retry_after
        self.method = method
        self.url = url


class NotConfigured(HelpdeskError):
    """The connector has no credentials, so it cannot call the helpdesk at all."""


@dataclass(frozen=True)
class WebhookRequest:
    """The parts of an HTTP request a connector may look at.

    Headers are matched case-insensitively.
    """

    method: str
    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] | None = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


@dataclass(frozen=True)
class Group:
    """A group (Zendesk, Freshdesk) or team (Intercom) a ticket can be handed to."""

    id: str
    name: str


@dataclass(frozen=True)
class HelpArticle:
    """A published help-center article, for importing into the knowledge base."""

    id: str
    title: str
    body_html: str
    url: str | None = None
    updated_at: datetime | None = None
    locale: str | None = None
    section: str | None = None  # section, folder or collection name, when the API gives it


@dataclass(frozen=True)
class WiringResult:
    """What ``helpdesk-bridge connect`` did or asks the admin to do, line by line."""

    automated: bool  # True when the webhook was created through the API
    lines: tuple[str, ...]


class Connector(ABC):
    """Base class: one instance per configured connector (a name in the config file)."""

    #: value of ``connectors.<name>.type`` that selects this class
    type_name: ClassVar[str]
    #: marshmallow schema for the connector-specific keys; ``load`` must return ``settings``
    settings_schema: ClassVar[type[Schema]]

    def __init__(self, name: str, settings: Any) -> None:
        self.name = name
        self.settings = settings

    # -- inbound -------------------------------------------------------------------------
    @abstractmethod
    def verify(self, request: WebhookRequest, now: datetime) -> None:
        """Raise BadSignature unless the request provably comes from the helpdesk."""

    @abstractmethod
    def parse(self, request: WebhookRequest) -> Event:
        """Turn a verified request into an Event; raise MalformedPayload naming the field."""

    @abstractmethod
    def sign(self, body: bytes, now: datetime) -> dict[str, str]:
        """Headers that make ``verify`` accept ``body``: used by ``replay`` and tests."""

    # -- outbound ------------------------------------------------------------------------
    @property
    @abstractmethod
    def has_credentials(self) -> bool:
        """Whether API calls can be made at all (a dry-run connector may have none)."""

    @abstractmethod
    def fetch_conversation(self, ticket_id: str) -> list[Message]:
        """Every message on the ticket, oldest first, with roles resolved."""

    @abstractmethod
    def post_reply(self, ticket_id: str, text: str) -> str | None:
        """Post a public reply; return the id of the created message when the API tells it."""

    @abstractmethod
    def post_note(self, ticket_id: str, text: str) -> str | None:
        """Post an internal note visible to agents only; return its id when known."""

    @abstractmethod
    def assign_group(self, ticket_id: str, group: str) -> None:
        """Move the ticket to a group, given the group's name or id."""

    @abstractmethod
    def add_tags(self, ticket_id: str, tags: list[str]) -> None:
        """Add tags, keeping the ones already on the ticket."""

    @abstractmethod
    def list_groups(self) -> list[Group]:
        """Every group (team) tickets can be assigned to."""

    @abstractmethod
    def check_credentials(self) -> str:
        """Make an authenticated call; return a short description or raise HelpdeskError."""

    @abstractmethod
    def check_bot_identity(self) -> str:
        """Confirm the configured bot identity exists and is who the credentials act as.

        Return a short description; raise HelpdeskError when it is missing or wrong, since a
        wrong bot identity makes the bot mistake its own replies for someone else's.
        """

    @abstractmethod
    def list_help_articles(self) -> Iterator[HelpArticle]:
        """Every published, public article of the helpdesk's help center (drafts skipped)."""

    @abstractmethod
    def connect(self, webhook_url: str) -> WiringResult:
        """Wire the helpdesk to ``webhook_url``: through the API where the helpdesk allows it,
        else return the exact steps for its admin UI. Must be safe to run again."""

    @abstractmethod
    def escalate(
        self,
        ticket_id: str,
        note: str,
        group: str | None,
        tags: list[str],
        priority: str | None = None,
    ) -> str | None:
        """Internal note, reassign to the group, tag, and raise the priority when given
        (low / normal / high / urgent); return the note's id. Resolve the group before any write."""
