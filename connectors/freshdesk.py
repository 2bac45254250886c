"""Freshdesk: automation-rule webhooks in; conversations, groups, tags and solutions over REST v2.

Freshdesk does not sign webhooks. The admin adds automation rules whose "Trigger webhook"
action posts our JSON body (``AUTOMATION_BODY_TEMPLATE``, rendered per rule by
``automation_body``) with a shared secret in a custom header or as the HTTP Basic password;
``verify`` checks that secret and nothing else, since nothing in the body can be checked.

Freshdesk's placeholders carry no comment id, author id or timestamp. So:

* who acted comes from ``performed_by``, a literal each rule's body sets. The rule's own
  "performed by" filter guarantees it.
* the comment's author name comes from the ``Name : <html>`` prefix that
  ``{{ticket.latest_public_comment}}`` renders. It is the only way to tell our bot's replies
  from a human agent's in a webhook, which is why ``bot_agent_name`` is a setting.
* the delivery id is built from the ticket id and a digest of the rendered comment.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Final
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup
from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)
from requests.utils import parse_header_links

from bridge.events import Customer, Event, Message, Role
from connectors.base import (
    BadSignature,
    Connector,
    Group,
    HelpArticle,
    HelpdeskError,
    TicketSignal,
    WebhookRequest,
    WiringResult,
)
from connectors.http import HttpClient
from connectors.payload import (
    NOT_EMPTY,
    ConnectorSettingsSchema,
    DigitsId,
    LenientSchema,
    StrippedString,
    Tags,
    Text,
    digits_only,
    load_payload,
    parse_time,
    present,
)

# Freshdesk's priority numbers: 1 low, 2 medium, 3 high, 4 urgent.
_PRIORITIES = {"low": 1, "normal": 2, "high": 3, "urgent": 4}

DEFAULT_SECRET_HEADER: Final = "X-Helpdesk-Bridge-Secret"
DEFAULT_WEBHOOK_USERNAME: Final = "helpdesk-bridge"
MIN_SECRET_LENGTH: Final = 16

#: ``performed_by`` values, one per automation rule.
NEW_TICKET: Final = "new_ticket"
REQUESTER: Final = "requester"
AGENT: Final = "agent"
PERFORMERS: Final = (NEW_TICKET, REQUESTER, AGENT)

#: Stands for the literal each rule's body puts in ``performed_by``; see ``automation_body``.
PERFORMED_BY_SLOT: Final = "<performed_by>"

#: Every key a rule body may carry. Freshdesk inserts placeholder values as text, so each one
#: is quoted, including ``{{triggered_event}}``, which renders non-JSON like
#: ``{ticket_action:created}``. ``description`` is sent only by the new-ticket rule and
#: ``comment`` only by the update rules (see ``automation_body``).
AUTOMATION_BODY_TEMPLATE: Final[dict[str, str]] = {
    "ticket_id": "{{ticket.id}}",
    "performed_by": PERFORMED_BY_SLOT,
    "event": "{{triggered_event}}",
    "description": "{{ticket.description}}",
    "comment": "{{ticket.latest_public_comment}}",
    "subject": "{{ticket.subject}}",
    "status": "{{ticket.status}}",
    "source": "{{ticket.source}}",
    "tags": "{{ticket.tags}}",
    "group": "{{ticket.group.name}}",
    "requester_name": "{{ticket.requester.name}}",
    "requester_email": "{{ticket.requester.email}}",
    "ticket_url": "{{ticket.url}}",
}


@dataclass(frozen=True)
class AutomationRule:
    """One automation rule the admin adds; ``connect`` turns these into UI steps."""

    name: str
    tab: str
    performed_by: str
    performer: str | None  # "When an action performed by"; ticket-creation rules have none
    events: tuple[str, ...]
    purpose: str


AUTOMATION_RULES: Final[tuple[AutomationRule, ...]] = (
    AutomationRule(
        name="helpdesk-bridge: new ticket",
        tab="Ticket creation",
        performed_by=NEW_TICKET,
        performer=None,
        events=(),
        purpose="the customer's first message (the ticket description)",
    ),
    AutomationRule(
        name="helpdesk-bridge: customer replied",
        tab="Ticket updates",
        performed_by=REQUESTER,
        performer="Requester",
        events=("Reply is sent",),
        purpose="every later customer message",
    ),
    AutomationRule(
        name="helpdesk-bridge: agent replied",
        tab="Ticket updates",
        performed_by=AGENT,
        performer="Agent",
        events=("Reply is sent",),
        purpose="a human agent answering, so the bot steps back at once",
    ),
)

# Keys each kind of rule leaves out. A description with a stray quote would break the JSON of
# every later delivery on the ticket if Freshdesk does not escape it (the sheet leaves that
# open), so update rules do not carry it; a new ticket has no comment yet.
_OMITTED: Final[dict[str, frozenset[str]]] = {
    NEW_TICKET: frozenset({"comment"}),
    REQUESTER: frozenset({"description"}),
    AGENT: frozenset({"description"}),
}


def automation_body(performed_by: str) -> str:
    """The exact JSON text to paste into the "Content" box of one rule's webhook action."""
    if performed_by not in PERFORMERS:
        raise ValueError(f"performed_by must be one of {', '.join(PERFORMERS)}")
    body = {
        key: performed_by if value == PERFORMED_BY_SLOT else value
        for key, value in AUTOMATION_BODY_TEMPLATE.items()
        if key not in _OMITTED[performed_by]
    }
    return json.dumps(body, indent=2, ensure_ascii=False)


# Ticket source 10 is "Outbound email": an agent wrote the description to the customer.
_OUTBOUND_SOURCE: Final = 10
_PUBLISHED: Final = 2  # solution article status
_PUBLIC_FOLDER: Final = 1  # solution folder visibility "all users"
_PAGE_SIZE: Final = 100
# Freshdesk refuses list pages past 300; the cap only stops a paging loop.
_MAX_PAGES: Final = 300
_DIGEST_CHARS: Final = 20
# How ``{{ticket.latest_public_comment}}`` names a comment with no user behind it.
_SYSTEM_AUTHOR: Final = "system"
_EVENT_RE: Final = re.compile(r"^\{\s*([A-Za-z_]+)\s*:\s*(.*?)\s*\}$", re.DOTALL)
# ``{{triggered_event}}`` of a status change: ``{status:{from:2,to:4}}``.
_STATUS_TO_RE: Final = re.compile(r"\bto\s*:\s*(\d+)")
_SOLVED_STATUSES: Final = frozenset({4, 5})  # Resolved, Closed
_HEADER_NAME_RE: Final = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_HOST_RE: Final = re.compile(
    r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+"
)


# -- settings ------------------------------------------------------------------------------
@dataclass(frozen=True)
class FreshdeskSettings:
    """A validated ``connectors.<name>`` block; secrets are left out of ``repr``."""

    domain: str
    webhook_secret: str = field(repr=False)
    base_url: str
    webhook_auth: str = "header"
    webhook_secret_header: str = DEFAULT_SECRET_HEADER
    webhook_username: str = DEFAULT_WEBHOOK_USERNAME
    api_key: str | None = field(default=None, repr=False)
    bot_agent_id: str | None = None
    bot_agent_name: str | None = None
    timeout_seconds: float = 10.0
    max_retries: int = 3

    @property
    def has_credentials(self) -> bool:
        return bool(self.api_key)

    def auth_header(self) -> str | None:
        if not self.api_key:
            return None
        # The key is the username; Freshdesk ignores the password, "X" is the convention.
        raw = f"{self.api_key}:X".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


class _Domain(fields.String):
    """``acme`` or ``acme.freshdesk.com``, stored as the full host name."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        host = super()._deserialize(value, attr, data, **kwargs).strip().lower().rstrip(".")
        if "://" in host or "/" in host:
            raise ValidationError("give the host name only, e.g. acme.freshdesk.com")
        if host and "." not in host:
            # A bare account name is the common way to write it; Freshdesk appends the rest.
            host = f"{host}.freshdesk.com"
        if not _HOST_RE.fullmatch(host):
            raise ValidationError("must be a host name such as acme.freshdesk.com")
        return host


def _check_secret(value: str) -> None:
    if not value:
        raise ValidationError("must not be empty")
    if len(value) < MIN_SECRET_LENGTH:
        # It is the only thing standing between the internet and the bot's inbox.
        raise ValidationError(
            f"must be at least {MIN_SECRET_LENGTH} characters; generate one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    if not all("!" <= char <= "~" for char in value):
        # It is sent as a header value, where spaces and non-ASCII get mangled.
        raise ValidationError("use printable ASCII without spaces")


def _check_header_name(value: str) -> None:
    if not _HEADER_NAME_RE.fullmatch(value):
        raise ValidationError("must be an HTTP header name such as X-Helpdesk-Bridge-Secret")
    if value.lower() == "authorization":
        raise ValidationError("to send the secret as Basic auth, set webhook_auth: basic")


def _check_username(value: str) -> None:
    if not value:
        raise ValidationError("must not be empty")
    if ":" in value:
        raise ValidationError("must not contain ':' (Basic auth splits on it)")


class FreshdeskSettingsSchema(ConnectorSettingsSchema):
    """The Freshdesk-specific keys of one ``connectors.<name>`` block."""

    domain = _Domain(required=True)
    webhook_secret = StrippedString(required=True, validate=_check_secret)
    webhook_auth = fields.String(
        load_default="header",
        validate=validate.OneOf(["header", "basic"], error="must be 'header' or 'basic'"),
    )
    webhook_secret_header = StrippedString(
        load_default=DEFAULT_SECRET_HEADER, validate=_check_header_name
    )
    webhook_username = StrippedString(
        load_default=DEFAULT_WEBHOOK_USERNAME, validate=_check_username
    )
    api_key = StrippedString(load_default=None, validate=NOT_EMPTY)
    bot_agent_id = DigitsId(kind="a Freshdesk agent id", load_default=None)
    bot_agent_name = StrippedString(load_default=None, validate=NOT_EMPTY)

    # Runs even when a field failed, so one load reports every problem at once; presence is
    # read from the original input so a malformed value is not also reported as missing.
    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _check_bot_identity(
        self, data: Mapping[str, Any], original: Mapping[str, Any], **kwargs: Any
    ) -> None:
        if original.get("api_key") is None:
            return
        errors: dict[str, list[str]] = {}
        if original.get("bot_agent_id") is None:
            errors["bot_agent_id"] = [
                "required when api_key is set: the id of the agent the key belongs to, so the "
                "bot can tell its own replies from a human agent's"
            ]
        if original.get("bot_agent_name") is None:
            errors["bot_agent_name"] = [
                "required when api_key is set: webhook bodies name a comment's author only by "
                "name, so this is how the bot recognises its own replies"
            ]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _make_settings(self, data: dict[str, Any], **kwargs: Any) -> FreshdeskSettings:
        base_url = data.pop("base_url", None) or f"https://{data['domain']}"
        # Accept a pasted API root too; the client appends /api/v2 itself.
        base_url = re.sub(r"(/api/v2)?/*$", "", base_url)
        return FreshdeskSettings(base_url=base_url, **data)


# -- webhook payload shape -----------------------------------------------------------------
_ticket_number = digits_only("a ticket number")


def _performer(value: str) -> None:
    present(value)
    if value == PERFORMED_BY_SLOT:
        raise ValidationError(
            f"still {PERFORMED_BY_SLOT!r}; paste the body `helpdesk-bridge connect` prints "
            "for this rule"
        )
    if value not in PERFORMERS:
        raise ValidationError(f"must be one of {', '.join(PERFORMERS)}, not {value[:40]!r}")


class AutomationBodySchema(LenientSchema):
    """A rendered rule body; declared in the order errors are reported."""

    ticket_id = Text(required=True, validate=_ticket_number)
    performed_by = Text(required=True, validate=_performer)
    event = Text()
    description = Text()
    comment = Text()
    subject = Text()
    status = Text()
    source = Text()
    tags = Tags(separated_by="comma", unique=True)
    group = Text()
    requester_name = Text()
    requester_email = Text()
    ticket_url = Text()


def _triggered_event(raw: str) -> tuple[str, str]:
    """``{note_type:private}`` → ``("note_type", "private")``; the value may be nested, as in
    ``{status:{from:4,to:6}}``. Anything else is kept whole as the name."""
    match = _EVENT_RE.match(raw.strip())
    if not match:
        return raw.strip().lower(), ""
    return match.group(1).lower(), match.group(2).strip().lower()


def _split_comment(rendered: str) -> tuple[str, str]:
    """``Name : <html>`` → (name, html). Without the separator the author is unknown."""
    author, separator, body = rendered.partition(" : ")
    # A name never holds markup; a "prefix" that does is part of the body, not an author.
    if not separator or "<" in author or len(author) > 200:
        return "", rendered
    return author.strip(), body


def html_to_text(markup: str) -> str:
    """Readable text from Freshdesk's HTML bodies: block elements and ``<br>`` become line
    breaks, so the answerer sees sentences rather than one run-on line."""
    if not markup.strip():
        return ""
    soup = BeautifulSoup(markup, "html.parser")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(
        ["p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"]
    ):
        block.insert_after("\n")
    lines = [" ".join(line.split()) for line in soup.get_text().splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def text_to_html(text: str) -> str:
    """Our plain-text replies as the HTML body Freshdesk expects: paragraphs and line breaks
    kept, everything escaped."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    if not paragraphs:
        return "<p></p>"
    return "".join(
        "<p>" + html.escape(p, quote=False).replace("\n", "<br>") + "</p>" for p in paragraphs
    )


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:_DIGEST_CHARS]


def _id(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _same_name(left: str | None, right: str | None) -> bool:
    return (
        bool(left and right)
        and " ".join(str(left).split()).casefold() == " ".join(str(right).split()).casefold()
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def description_message_id(ticket_id: str) -> str:
    """The id given to a ticket's description, which is not a conversation in Freshdesk.

    Webhooks and ``fetch_conversation`` use the same id, so the worker sees one message.
    """
    return f"description:{ticket_id}"


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


# -- the connector -------------------------------------------------------------------------
class FreshdeskConnector(Connector):
    type_name = "freshdesk"
    settings_schema: ClassVar[type[Schema]] = FreshdeskSettingsSchema
    vendor = "Freshdesk"
    missing_credentials = "API key; set api_key (with bot_agent_id and bot_agent_name)"
    ticket_id_kind = "a Freshdesk ticket id"
    # Admins paste the body into each rule by hand, and an unquoted placeholder breaks it.
    json_hint = (
        "check the rule's Content box against the body `helpdesk-bridge connect` prints "
        "(every placeholder in double quotes)"
    )

    def __init__(
        self,
        name: str,
        settings: FreshdeskSettings,
        *,
        http: HttpClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(name, settings)
        self.settings: FreshdeskSettings = settings
        auth = settings.auth_header()
        if http is None and auth is not None:
            http = HttpClient(
                f"{settings.base_url}/api/v2/",
                headers={"Authorization": auth},
                timeout=settings.timeout_seconds,
                max_retries=settings.max_retries,
                sleep=sleep,
            )
        self._http = http

    # -- inbound -------------------------------------------------------------------------
    def verify(self, request: WebhookRequest, now: datetime) -> None:
        # No timestamp or signature exists to check, so ``now`` plays no part: a captured
        # delivery can be replayed, which is why the worker re-reads the ticket before acting.
        if self.settings.webhook_auth == "basic":
            given = self._basic_password(request)
            where = "the Basic auth password"
        else:
            header = self.settings.webhook_secret_header
            value = request.header(header)
            if value is None or not value.strip():
                raise BadSignature(f"missing {header} header")
            given = value.strip()
            where = f"the {header} header"
        if not _secret_matches(given, self.settings.webhook_secret):
            raise BadSignature(
                f"{where} does not match; check the connector's webhook_secret against the "
                "automation rule's webhook settings in Freshdesk"
            )

    def _basic_password(self, request: WebhookRequest) -> str:
        value = request.header("Authorization")
        if value is None or not value.strip():
            raise BadSignature("missing Authorization header (the rule must use Basic auth)")
        scheme, _, encoded = value.strip().partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            raise BadSignature("Authorization header is not Basic auth")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise BadSignature("Authorization header is not valid Basic auth") from None
        # The username is not checked: it is not secret, and a changed username in Freshdesk
        # should not start rejecting deliveries.
        _, separator, password = decoded.partition(":")
        if not separator:
            raise BadSignature("Authorization header is not valid Basic auth")
        return password

    def sign(self, body: bytes, now: datetime) -> dict[str, str]:
        secret = self.settings.webhook_secret
        if self.settings.webhook_auth == "basic":
            raw = f"{self.settings.webhook_username}:{secret}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
        return {self.settings.webhook_secret_header: secret}

    def parse(self, request: WebhookRequest) -> Event:
        data = self._json_object(request)
        body = load_payload(AutomationBodySchema, data)

        ticket_id: str = body["ticket_id"]
        event_name, event_value = _triggered_event(body["event"])
        customer = Customer(
            name=body["requester_name"] or None,
            email=body["requester_email"] or None,
            fields={
                "tags": list(body["tags"]),
                "group": body["group"] or None,
                "status": body["status"] or None,
            },
        )
        common: dict[str, Any] = {
            "connector": self.name,
            "ticket_id": ticket_id,
            "customer": customer,
            "subject": body["subject"] or None,
            "tags": body["tags"],
            "raw": data,
        }

        if body["performed_by"] == NEW_TICKET or (event_name, event_value) == (
            "ticket_action",
            "created",
        ):
            message = Message(
                id=description_message_id(ticket_id),
                role=self._description_role(body["source"]),
                text=html_to_text(body["description"]),
                public=True,
            )
            # A ticket is created once, so the ticket id alone dedupes every redelivery.
            return Event(
                delivery_id=f"created:{ticket_id}", kind="comment", message=message, **common
            )

        if (event_name, event_value) == ("note_type", "private") or event_value.startswith("{"):
            # A private note or a property change: the body's comment is the latest *public*
            # one, not what happened, so there is no message to hand on.
            return Event(
                delivery_id=f"event:{ticket_id}:{_digest(body['event'], body['comment'])}",
                kind="ticket_event",
                message=None,
                **common,
            )

        author, comment_html = _split_comment(body["comment"])
        digest = _digest(body["comment"])
        message = Message(
            id=f"webhook:{ticket_id}:{digest}",
            role=self._webhook_role(body["performed_by"], author, body["requester_name"]),
            text=html_to_text(comment_html),
            public=True,  # it is the latest public comment by construction
        )
        return Event(
            # No comment id is available, so the rendered comment (author prefix included)
            # stands in for it: redeliveries and a second rule firing on it collapse together.
            # Two identical messages by the same person in a row collapse too, which costs at
            # most one repeated answer.
            delivery_id=f"comment:{ticket_id}:{digest}",
            kind="comment",
            message=message,
            **common,
        )

    def ticket_signal(self, event: Event) -> TicketSignal | None:
        """A status change to Resolved or Closed. Freshdesk's webhooks carry no satisfaction
        rating (its survey results are only in the API), so ratings never come from here."""
        if event.kind != "ticket_event":
            return None
        name, value = _triggered_event(str(event.raw.get("event") or ""))
        match = _STATUS_TO_RE.search(value) if name == "status" else None
        if match is None or int(match.group(1)) not in _SOLVED_STATUSES:
            return None
        url = f"{self.settings.base_url}/a/tickets/{event.ticket_id}"
        return TicketSignal("solved", event.ticket_id, ticket_url=url)

    @staticmethod
    def _description_role(source: str) -> Role:
        # An outbound email ticket is started by an agent writing to the customer.
        normalized = source.strip().lower()
        if normalized == str(_OUTBOUND_SOURCE) or "outbound" in normalized:
            return Role.AGENT
        return Role.CUSTOMER

    def _webhook_role(self, performed_by: str, author: str, requester_name: str) -> Role:
        """Who wrote the comment a rule body carries; the first matching rule wins.

        1. The author is ``bot_agent_name``: BOT, whichever rule fired. Freshdesk may render
           the body after a later comment landed, and the bot must never answer itself.
        2. The author is Freshdesk's "System": OTHER_BOT.
        3. The requester rule, with the requester as the author, or with nothing to compare
           (no readable author or no requester name): CUSTOMER. The rule's own performer
           filter vouches for it.
        4. Otherwise AGENT: an agent rule, or a comment by someone we cannot place. Going
           quiet by mistake costs one slower answer; answering by mistake talks over a human.
        """
        if _same_name(author, self.settings.bot_agent_name):
            return Role.BOT
        if author.casefold() == _SYSTEM_AUTHOR:
            return Role.OTHER_BOT
        if performed_by == REQUESTER and (
            not author or not requester_name or _same_name(author, requester_name)
        ):
            return Role.CUSTOMER
        return Role.AGENT

    # -- outbound ------------------------------------------------------------------------
    @property
    def has_credentials(self) -> bool:
        return self.settings.has_credentials

    def _pages(self, path: str, params: Mapping[str, Any] | None) -> Iterator[list[Any]]:
        """Follow ``Link: <…>; rel="next"`` until it is absent."""
        http = self.http
        url = path
        query: Mapping[str, Any] | None = params
        own_host = urlsplit(http.base_url).netloc
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            body, headers = http.request_with_headers("GET", url, params=query)
            yield body if isinstance(body, list) else []
            next_url = _next_link(_header(headers, "Link"))
            if not next_url:
                return
            next_url = urljoin(http.url_for(url), next_url)
            if urlsplit(next_url).netloc != own_host:
                # The API key rides along on every request; never hand it to another host.
                raise HelpdeskError(f"Freshdesk paging pointed at another host: {next_url}")
            if next_url in seen:
                raise HelpdeskError(f"Freshdesk paging repeated itself at {next_url}")
            seen.add(next_url)
            url, query = next_url, None  # the link already carries every parameter
        # Stopping quietly would drop the newest messages, which matter most.
        raise HelpdeskError(f"{path}: more than {_MAX_PAGES} pages; refusing to read on")

    def fetch_conversation(self, ticket_id: str) -> list[Message]:
        ref = self._ticket_ref(ticket_id)
        ticket = self.http.get(f"tickets/{ref}")
        ticket = ticket if isinstance(ticket, dict) else {}
        requester_id = _id(ticket.get("requester_id"))

        messages: list[Message] = []
        description = ticket.get("description_text") or html_to_text(
            str(ticket.get("description") or "")
        )
        if description.strip():
            # The first customer message is the description; it is not a conversation.
            author = requester_id
            role = Role.AGENT if ticket.get("source") == _OUTBOUND_SOURCE else Role.CUSTOMER
            if self.settings.bot_agent_id and author == self.settings.bot_agent_id:
                role = Role.BOT
            messages.append(
                Message(
                    id=description_message_id(ref),
                    role=role,
                    text=description.strip(),
                    public=True,
                    author_id=author,
                    created_at=parse_time(ticket.get("created_at")),
                )
            )

        conversations: list[dict[str, Any]] = []
        for page in self._pages(f"tickets/{ref}/conversations", {"per_page": _PAGE_SIZE}):
            conversations.extend(item for item in page if isinstance(item, dict))
        # Oldest first in practice, but not promised; a stable sort keeps ties in API order.
        conversations.sort(key=lambda item: parse_time(item.get("created_at")) or _EPOCH)
        messages.extend(self._conversation_message(item, requester_id) for item in conversations)
        return messages

    def _conversation_message(self, item: Mapping[str, Any], requester_id: str | None) -> Message:
        text = item.get("body_text") or html_to_text(str(item.get("body") or ""))
        return Message(
            id=str(item.get("id")),
            role=self._conversation_role(item, requester_id),
            text=str(text).strip(),
            public=not item.get("private", False),
            author_id=_id(item.get("user_id")),
            created_at=parse_time(item.get("created_at")),
        )

    def _conversation_role(self, item: Mapping[str, Any], requester_id: str | None) -> Role:
        """Bot id, then author-less entries, then the requester, then what the entry says.

        * no ``user_id``: nobody wrote it, so it is an automation or system entry (OTHER_BOT).
          Treating those as agents would silence the bot on every ticket an automation
          touches.
        * a private note by anyone but the bot or requester: only agents write those.
        * ``incoming``: it came from outside Freshdesk, e.g. a CC'd contact's email, so it is
          the customer's side.
        * anyone else is an agent: wrongly going quiet costs one slower answer, while
          treating a person as the customer would have the bot talk over a human.
        """
        user_id = _id(item.get("user_id"))
        if self.settings.bot_agent_id and user_id == self.settings.bot_agent_id:
            return Role.BOT
        if user_id is None:
            return Role.OTHER_BOT
        if requester_id and user_id == requester_id:
            return Role.CUSTOMER
        if item.get("private"):
            return Role.AGENT
        if item.get("incoming"):
            return Role.CUSTOMER
        return Role.AGENT

    def post_reply(self, ticket_id: str, text: str) -> str | None:
        ref = self._ticket_ref(ticket_id)
        created = self.http.post(f"tickets/{ref}/reply", json={"body": text_to_html(text)})
        return _id(created.get("id")) if isinstance(created, dict) else None

    def post_note(self, ticket_id: str, text: str) -> str | None:
        ref = self._ticket_ref(ticket_id)
        # ``private`` defaults to true, but a note the customer should not see is too
        # important to leave to a default.
        created = self.http.post(
            f"tickets/{ref}/notes", json={"body": text_to_html(text), "private": True}
        )
        return _id(created.get("id")) if isinstance(created, dict) else None

    def assign_group(self, ticket_id: str, group: str) -> None:
        ref = self._ticket_ref(ticket_id)
        group_id = self._group_id(group)
        self._set_group(ref, group_id)

    def _set_group(self, ref: str, group_id: int) -> None:
        # The assigned agent is kept: clearing it with ``responder_id: null`` is not
        # confirmed to be accepted, and a rejected update would lose the reassignment.
        self.http.put(f"tickets/{ref}", json={"group_id": group_id})

    def escalate(
        self,
        ticket_id: str,
        note: str,
        group: str | None,
        tags: list[str],
        priority: str | None = None,
    ) -> str | None:
        ref = self._ticket_ref(ticket_id)
        # Resolve first: an unknown group must fail before anything is written.
        group_id = self._group_id(group) if group else None
        # Freshdesk cannot update and add a note in one call. The group goes first because
        # setting it again is harmless, so a retry after a failed note repeats nothing visible;
        # the other order would post the note twice when the group update fails.
        update: dict[str, Any] = {}
        if group_id is not None:
            update["group_id"] = group_id
        if priority:
            update["priority"] = _PRIORITIES[priority]
        if update:
            self.http.put(f"tickets/{ref}", json=update)
        note_id = self.post_note(ref, note)
        if tags:
            self.add_tags(ref, tags)
        return note_id

    def add_tags(self, ticket_id: str, tags: list[str]) -> None:
        wanted = list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))
        if not wanted:
            return
        ref = self._ticket_ref(ticket_id)
        ticket = self.http.get(f"tickets/{ref}")
        current = ticket.get("tags") if isinstance(ticket, dict) else None
        existing = [str(tag) for tag in current or []]
        have = {tag.casefold() for tag in existing}
        missing = [tag for tag in wanted if tag.casefold() not in have]
        if not missing:
            return
        # The API replaces the whole list, so the current tags are sent back with ours.
        self.http.put(f"tickets/{ref}", json={"tags": existing + missing})

    def list_groups(self) -> list[Group]:
        groups: list[Group] = []
        try:
            for page in self._pages("groups", {"per_page": _PAGE_SIZE}):
                for item in page:
                    if isinstance(item, dict) and item.get("id") is not None:
                        groups.append(Group(id=str(item["id"]), name=str(item.get("name") or "")))
        except HelpdeskError as exc:
            if exc.status != 403:
                raise
            raise HelpdeskError(
                "listing Freshdesk groups needs an admin's API key; use group ids in routing "
                "instead of names, or give the bot agent an admin role",
                status=exc.status,
                vendor_message=exc.vendor_message,
                retryable=False,
                method=exc.method,
                url=exc.url,
            ) from exc
        self._group_ids = {group.name: int(group.id) for group in groups}
        return groups

    def check_credentials(self) -> str:
        # Every Freshdesk API call needs the key; a missing or wrong one answers 401.
        me = self.http.get("agents/me")
        me = me if isinstance(me, dict) else {}
        name = (me.get("contact") or {}).get("name") or "an unnamed agent"
        host = urlsplit(self.settings.base_url).netloc
        return f"authenticated to {host} as {name} (agent {_id(me.get('id'))})"

    def check_bot_identity(self) -> str:
        me = self.http.get("agents/me")
        me = me if isinstance(me, dict) else {}
        agent_id = _id(me.get("id"))
        name = str((me.get("contact") or {}).get("name") or "").strip()
        expected_id = self.settings.bot_agent_id
        if agent_id != expected_id:
            raise HelpdeskError(
                f"the API key belongs to agent {agent_id} ({name or 'no name'}), but "
                f"bot_agent_id is {expected_id}: the bot's replies carry user_id {agent_id}, "
                "so it would take them for a human agent's and go quiet. Set bot_agent_id: "
                f"{agent_id}, or use the bot agent's own API key",
                retryable=False,
            )
        expected_name = self.settings.bot_agent_name
        if expected_name and not _same_name(name, expected_name):
            raise HelpdeskError(
                f"bot_agent_name is {expected_name!r}, but agent {agent_id} is named "
                f"{name!r} in Freshdesk: webhook bodies name a comment's author only by name, "
                "so the bot's own replies would look like a human agent's. Set "
                f"bot_agent_name: {name!r}",
                retryable=False,
            )
        return f"the API key acts as {name} (agent {agent_id}), matching bot_agent_id"

    def list_help_articles(self) -> Iterator[HelpArticle]:
        portal = self.settings.base_url
        for categories in self._pages("solutions/categories", None):
            for category in categories:
                category_id = _numeric(category.get("id")) if isinstance(category, dict) else None
                if category_id is None:
                    continue
                yield from self._category_articles(category_id, portal)

    def _category_articles(self, category_id: str, portal: str) -> Iterator[HelpArticle]:
        for folders in self._pages(f"solutions/categories/{category_id}/folders", None):
            for folder in folders:
                if not isinstance(folder, dict):
                    continue
                folder_id = _numeric(folder.get("id"))
                # Folders visible to logged-in or selected customers only stay out of the
                # knowledge base. A folder without the field (only seen in mocks) counts as
                # public, since the API documents it on every folder.
                visibility = folder.get("visibility", _PUBLIC_FOLDER)
                if folder_id is None or visibility != _PUBLIC_FOLDER:
                    continue
                section = str(folder.get("name") or "") or None
                for articles in self._pages(f"solutions/folders/{folder_id}/articles", None):
                    for article in articles:
                        if not isinstance(article, dict):
                            continue
                        if article.get("status") != _PUBLISHED or article.get("id") is None:
                            continue  # drafts are not answers yet
                        article_id = str(article["id"])
                        yield HelpArticle(
                            id=article_id,
                            title=str(article.get("title") or ""),
                            body_html=str(article.get("description") or ""),
                            url=f"{portal}/support/solutions/articles/{article_id}",
                            updated_at=parse_time(article.get("updated_at")),
                            section=section,
                        )

    def connect(self, webhook_url: str) -> WiringResult:
        """Freshdesk has no API for automation rules, so this returns the admin-UI steps."""
        return WiringResult(automated=False, lines=tuple(self._wiring_lines(webhook_url)))

    def _wiring_lines(self, webhook_url: str) -> Iterator[str]:
        settings = self.settings
        yield (
            "Freshdesk has no API for automation rules: add these rules by hand, signed in "
            f"as an admin of {settings.domain}. Running this again prints the same steps; "
            "if a rule already exists, edit it rather than adding a second one."
        )
        yield ""
        if settings.has_credentials:
            yield (
                f"The bot agent: the agent named {settings.bot_agent_name!r} "
                f"(id {settings.bot_agent_id}) whose API key is this connector's api_key. "
                "Keep that name unique: webhook bodies identify the bot's replies by it."
            )
        else:
            yield (
                "No api_key is configured: deliveries are decided from the webhook body alone "
                "and nothing is written back (dry_run)."
            )
        yield ""
        for number, rule in enumerate(AUTOMATION_RULES, start=1):
            yield from self._rule_lines(number, rule, webhook_url)
            yield ""
        yield "Notes:"
        yield (
            "  - Older accounts call the tabs Dispatch'r (ticket creation) and Observer "
            "(ticket updates). Event and performer labels can differ slightly between "
            "account generations; pick the closest match in the rule editor."
        )
        yield (
            "  - Leave 'Note is added' out of the agent rule: the bot writes private notes "
            "too, and a note's author is not in the webhook body. Human notes are still "
            "seen when the bot re-reads the ticket through the API."
        )
        yield (
            "  - Freshdesk does not sign webhooks: the secret is the only proof a delivery "
            "is genuine. Keep the URL on HTTPS and the secret out of shared documents."
        )

    def _rule_lines(self, number: int, rule: AutomationRule, webhook_url: str) -> Iterator[str]:
        total = len(AUTOMATION_RULES)
        yield (
            f"Rule {number} of {total}, for {rule.purpose}: Admin → Workflows → Automations → "
            f"'{rule.tab}' tab → New rule"
        )
        yield f"  Rule name: {rule.name}"
        if rule.performer is None:
            yield (
                "  Conditions: every ticket. If the editor insists on one, match ANY of "
                "'Source is Email' and 'Source is not Email'."
            )
            yield (
                "  If this tab runs only the first matching rule, move this rule to the top "
                "so other rules cannot stop it."
            )
        else:
            yield f"  When an action performed by: {rule.performer}"
            yield f"  Involves any of these events: {', '.join(rule.events)}"
            yield (
                "  On tickets with these properties: every ticket (if required, match ANY of "
                "'Source is Email' and 'Source is not Email')."
            )
        yield "  Perform these actions: Trigger webhook"
        yield "    Request type: POST"
        yield f"    URL: {webhook_url}"
        if self.settings.webhook_auth == "basic":
            yield "    Requires authentication: on"
            yield f"      Username: {self.settings.webhook_username}"
            yield "      Password: this connector's webhook_secret"
        else:
            yield "    Requires authentication: off"
            yield (
                f"    Custom headers: on; add {self.settings.webhook_secret_header} with "
                "this connector's webhook_secret as the value"
            )
        yield "    Encoding: JSON"
        yield "    Content: Advanced; paste exactly:"
        for line in automation_body(rule.performed_by).splitlines():
            yield f"      {line}"
        yield "  Save."


def _secret_matches(given: str, expected: str) -> bool:
    # Comparing fixed-length digests keeps the time taken independent of the secret's length.
    return hmac.compare_digest(
        hashlib.sha256(given.encode("utf-8")).digest(),
        hashlib.sha256(expected.encode("utf-8")).digest(),
    )


def _next_link(value: str | None) -> str | None:
    if not value:
        return None
    for link in parse_header_links(value):
        if "next" in str(link.get("rel", "")).split() and link.get("url"):
            return str(link["url"])
    return None


def _numeric(value: Any) -> str | None:
    # Ids from API responses still go into URL paths; only plain numbers are used.
    text = _id(value)
    return text if text and text.isascii() and text.isdigit() else None


CONNECTOR = FreshdeskConnector
