"""The interface every helpdesk connector implements, the errors it raises, and the parts of
it that read the same for every helpdesk (API access, webhook JSON, ids and group names).

A connector knows one helpdesk: how its webhooks are signed and shaped, and how its REST API
reads a conversation and writes replies, notes, groups and tags. It never decides anything.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from marshmallow import Schema

from bridge.events import Event, Message

if TYPE_CHECKING:
    # Only for annotations: connectors.http imports this module for HelpdeskError.
    from connectors.http import HttpClient

log = logging.getLogger(__name__)

#: Column sizes of the deliveries table: an id longer than its column could not be stored,
#: and the database error would answer 503 and have the helpdesk send it again forever.
MAX_DELIVERY_ID = 255
MAX_TICKET_ID = 100
#: How many known group names an "unknown group" error lists: enough to spot a typo, short
#: enough to read in a log line.
_SHOWN_GROUPS = 20


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
class TicketSignal:
    """What a message-less webhook says about a ticket that the bridge learns from.

    ``solved``: a person solved or closed the ticket. ``rating``: the customer rated it
    through the helpdesk's own satisfaction survey; ``vote`` is the rating on the bridge's
    up/down scale and ``score`` the helpdesk's own number.
    """

    kind: Literal["solved", "rating"]
    ticket_id: str
    vote: Literal["up", "down", "neutral"] | None = None
    score: float | None = None
    comment: str | None = None
    ticket_url: str | None = None  # where an agent opens the ticket, when known


@dataclass(frozen=True)
class WiringResult:
    """What ``helpdesk-bridge connect`` did or asks the admin to do, line by line."""

    automated: bool  # True when the webhook was created through the API
    lines: tuple[str, ...]


class Connector(ABC):
    """Base class: one instance per configured connector (a name in the config file).

    Every subclass's ``verify`` and ``parse`` are wrapped (see ``__init_subclass__``) so that
    no body, however hostile, gets anything but a ``WebhookRejected`` out of them, and every
    event they return can be stored.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Both are pure functions of the request, so a failure is a property of the body and
        # would repeat on every redelivery: a 5xx would only make the helpdesk retry it
        # forever (and Intercom pause the endpoint). Wrapping here covers every connector,
        # including ones added later, without each repeating the same guards.
        for name, guard in (("verify", _guard_verify), ("parse", _guard_parse)):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_guarded", False):
                setattr(cls, name, guard(method))

    #: value of ``connectors.<name>.type`` that selects this class
    type_name: ClassVar[str]
    #: marshmallow schema for the connector-specific keys; ``load`` must return ``settings``
    settings_schema: ClassVar[type[Schema]]

    # What the helpers below put in the messages an admin reads; a connector that uses a
    # helper sets the attributes it reads.
    #: the helpdesk's name, as in "unknown Zendesk group"
    vendor: ClassVar[str]
    #: what is missing and how to set it, after "has no <vendor> " (see ``http``)
    missing_credentials: ClassVar[str]
    #: what a ticket id should be, after "not " (see ``_ticket_ref``)
    ticket_id_kind: ClassVar[str]
    #: what the helpdesk calls the groups ``assign_group`` takes
    group_noun: ClassVar[str] = "group"
    #: how to fix a webhook body that is not JSON, where the admin wrote the body themselves
    json_hint: ClassVar[str] = ""

    def __init__(self, name: str, settings: Any) -> None:
        self.name = name
        self.settings = settings
        # Left None by a connector without API credentials, so ``http`` refuses every call.
        self._http: HttpClient | None = None
        # Group name -> numeric id as ``list_groups`` last saw them; None until first needed.
        self._group_ids: dict[str, int] | None = None

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

    def ticket_signal(self, event: Event) -> TicketSignal | None:
        """The solved ticket or satisfaction rating a parsed event reports, else None.

        Not abstract: a helpdesk whose webhooks carry neither simply never reports one.
        """
        return None

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

    # -- shared by the connectors ----------------------------------------------------------
    @property
    def http(self) -> HttpClient:
        """The client for the helpdesk's API; ``NotConfigured`` when there are no credentials."""
        if not self.has_credentials or self._http is None:
            raise NotConfigured(
                f"connector {self.name!r} has no {self.vendor} {self.missing_credentials}"
            )
        return self._http

    def _json_object(self, request: WebhookRequest) -> dict[str, Any]:
        """The webhook body as a JSON object, or ``MalformedPayload`` saying why it is not."""
        try:
            data = json.loads(request.body)
        except ValueError:
            hint = f"; {self.json_hint}" if self.json_hint else ""
            raise MalformedPayload(f"body is not valid JSON{hint}", field="body") from None
        if not isinstance(data, dict):
            raise MalformedPayload("body is not a JSON object", field="body")
        return data

    def _ticket_ref(self, ticket_id: str) -> str:
        """The ticket id as it goes into an API path."""
        # Anything but digits could point the call elsewhere (``../``, a query string).
        text = str(ticket_id).strip()
        if not (text.isascii() and text.isdigit()):
            raise HelpdeskError(f"not {self.ticket_id_kind}: {text[:40]!r}")
        return text

    def _group_id(self, group: str) -> int:
        """The id of a group given by id or by name, for helpdesks whose group ids are numbers.

        Names are looked up in ``_group_ids``, which the connector's ``list_groups`` refills.
        """
        wanted = group.strip()
        if wanted.isascii() and wanted.isdigit():
            return int(wanted)
        refreshed = self._group_ids is None
        if self._group_ids is None:
            self.list_groups()
        found = self._match_group(wanted)
        if found is None and not refreshed:
            # The cached list may predate a group created since the worker started.
            self.list_groups()
            found = self._match_group(wanted)
        if found is None:
            raise self._unknown_group(wanted, self._group_ids or {})
        return found

    def _match_group(self, wanted: str) -> int | None:
        groups = self._group_ids or {}
        if wanted in groups:
            return groups[wanted]
        # Config files are typed by hand; accept a different case when it is unambiguous.
        matches = [gid for name, gid in groups.items() if name.casefold() == wanted.casefold()]
        return matches[0] if len(matches) == 1 else None

    def _unknown_group(self, wanted: str, names: Iterable[str]) -> HelpdeskError:
        """The error for a group that does not exist, naming the ones that do.

        Not retryable: a name that is not in the helpdesk's list will not appear on its own.
        """
        known = sorted(names)
        shown = ", ".join(repr(name) for name in known[:_SHOWN_GROUPS])
        more = f" and {len(known) - _SHOWN_GROUPS} more" if len(known) > _SHOWN_GROUPS else ""
        noun = self.group_noun
        return HelpdeskError(
            f"unknown {self.vendor} {noun} {wanted!r}; known {noun}s: {shown or 'none'}{more}",
            retryable=False,
        )


# -- guards around verify and parse ------------------------------------------------------------
def _guard_verify(verify: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(verify)
    def guarded(self: Connector, request: WebhookRequest, now: datetime) -> None:
        try:
            verify(self, request, now)
        except WebhookRejected:
            raise
        except Exception as exc:
            log.warning("connector %s: verify failed on a request", self.name, exc_info=True)
            raise BadSignature(f"request could not be verified ({type(exc).__name__})") from exc

    guarded._guarded = True  # type: ignore[attr-defined]
    return guarded


def _guard_parse(parse: Callable[..., Event]) -> Callable[..., Event]:
    @functools.wraps(parse)
    def guarded(self: Connector, request: WebhookRequest) -> Event:
        try:
            event = parse(self, request)
        except WebhookRejected:
            raise
        except RecursionError as exc:
            # json.loads recurses once per nesting level: a body of "[" * 100000 exhausts it.
            raise MalformedPayload("body is nested too deeply", field="body") from exc
        except Exception as exc:
            log.warning("connector %s: parse failed on a body", self.name, exc_info=True)
            raise MalformedPayload(
                f"body could not be read ({type(exc).__name__})", field="body"
            ) from exc
        return storable(event)

    guarded._guarded = True  # type: ignore[attr-defined]
    return guarded


def storable(event: Event) -> Event:
    """The event as it can be stored, or MalformedPayload when it cannot be.

    NUL characters are dropped and lone surrogates (half of an escaped emoji) replaced rather
    than refused: PostgreSQL text cannot hold NUL and no database driver encodes a lone
    surrogate, and a customer's message is kept even when some client mangled it.
    """
    if len(event.delivery_id) > MAX_DELIVERY_ID:
        raise MalformedPayload(f"delivery id is longer than {MAX_DELIVERY_ID} characters")
    if len(event.ticket_id) > MAX_TICKET_ID:
        raise MalformedPayload(f"ticket id is longer than {MAX_TICKET_ID} characters")
    try:
        # Python's json reads NaN and Infinity, but JSON columns refuse them.
        encoded = json.dumps(event.to_json(), allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise MalformedPayload(
            "body holds a value that cannot be stored as JSON (NaN or Infinity)", field="body"
        ) from exc
    if "\\u0000" not in encoded and not _SURROGATE.search(encoded):
        return event
    return replace(Event.from_json(_storable_text(event.to_json())), raw=event.raw)


# json.loads pairs up escaped surrogates that belong together: any left are lone halves.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable_text(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value.replace("\x00", ""))
    if isinstance(value, dict):
        return {_storable_text(key): _storable_text(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_storable_text(item) for item in value]
    return value
