"""Intercom: signed conversation webhooks in; replies, notes, team assignment and tags over REST.

Webhooks come from an app in Intercom's Developer Hub, one endpoint for every topic. Each
notification carries the conversation with only the part that caused it, so the newest part
(or the conversation's first message, for a new conversation) becomes the Event's message.
Both item shapes are read: the current 2.x one (``source``, ``contacts``) and the 1.x one
(``conversation_message``, ``user``) that apps still pinned to an old API version send.

A conversation id is the ticket id. Everything written goes through the teammate seat named by
``bot_admin_id``, which is also how the bot recognises its own parts when they come back.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from bs4 import BeautifulSoup, NavigableString, Tag
from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validates_schema,
)

from bridge.events import Customer, Event, Message, Role
from connectors.base import (
    BadSignature,
    Connector,
    Group,
    HelpArticle,
    HelpdeskError,
    MalformedPayload,
    NotConfigured,
    TicketSignal,
    WebhookRequest,
    WiringResult,
)
from connectors.http import HttpClient
from connectors.payload import (
    MISSING,
    NOT_EMPTY,
    ConnectorSettingsSchema,
    DigitsId,
    Flag,
    LenientSchema,
    StrippedString,
    Text,
    digits_only,
    load_payload,
    nested,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER: Final = "X-Hub-Signature"
VERSION_HEADER: Final = "Intercom-Version"
#: The newest numbered version Intercom publishes a spec for; the request bodies here are
#: checked against it.
DEFAULT_API_VERSION: Final = "2.16"
REGION_BASE_URLS: Final[dict[str, str]] = {
    "us": "https://api.intercom.io",
    "eu": "https://api.eu.intercom.io",
    "au": "https://api.au.intercom.io",
}
#: What ``connect`` asks the admin to subscribe the app's webhook to.
WEBHOOK_TOPICS: Final[tuple[str, ...]] = (
    "conversation.user.created",
    "conversation.user.replied",
    "conversation.admin.replied",
    "conversation.admin.noted",
    "conversation.admin.assigned",
    "conversation.admin.closed",
    "conversation.operator.replied",
)

# Topics whose message is the conversation's first one (``source``) rather than a part.
_CREATED_TOPICS: Final = frozenset(
    {"conversation.user.created", "conversation.admin.single.created"}
)
# Topics the bridge learns from rather than answers: a teammate closed the conversation (the
# learning loop), and the customer rated it (satisfaction feedback).
_CLOSED_TOPIC: Final = "conversation.admin.closed"
_RATING_TOPIC: Final = "conversation.rating.added"
# Where a teammate opens a conversation, per region.
_INBOX_HOSTS: Final[dict[str, str]] = {
    "us": "https://app.intercom.com",
    "eu": "https://app.eu.intercom.com",
    "au": "https://app.au.intercom.com",
}
# A translated copy of an admin reply that also arrives as conversation.admin.replied.
_DUPLICATE_TOPICS: Final = frozenset({"conversation.admin.replied.translated"})
_CUSTOMER_TYPES: Final = frozenset({"user", "lead", "contact"})
_STAFF_TYPES: Final = frozenset({"admin", "team"})
# Parts that are messages even without a body (an attachment-only comment is still a message).
_MESSAGE_PARTS: Final = frozenset({"comment", "note"})
# Assignments a teammate makes by hand (rules and away mode assign automatically).
_HAND_ASSIGNMENTS: Final = frozenset({"assignment", "assign_and_reopen"})
_PART_KINDS: Final[dict[str, str]] = {
    "assignment": "assignment",
    "assign_and_reopen": "assignment",
    "away_mode_assignment": "assignment",
    "default_assignment": "assignment",
    "close": "closed",
    "open": "opened",
    "snoozed": "snoozed",
    "unsnoozed": "unsnoozed",
}
# ``source.delivered_as`` values meaning the first message was sent by automation, not typed
# by a teammate.
_AUTOMATED_SOURCES: Final = frozenset({"campaigns_initiated", "operator_initiated", "automated"})
_OPERATOR_EMAIL: Final = re.compile(r"^operator\+[^@]*@intercom\.io$", re.IGNORECASE)
_PLAN_WORDS: Final = frozenset({"plan", "tier", "subscription"})
_HEX_SHA1: Final = re.compile(r"[0-9a-f]{40}")
_LOOKS_LIKE_HTML: Final = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>")
_BLOCK_TAGS: Final = [
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "tr",
    "table",
]
_PAGE_SIZE: Final = 50
# A runaway paging loop is stopped here; real help centers are far smaller.
_MAX_PAGES: Final = 500


# -- settings ------------------------------------------------------------------------------
@dataclass(frozen=True)
class IntercomSettings:
    """A validated ``connectors.<name>`` block; secrets are left out of ``repr``."""

    client_secret: str = field(repr=False)
    base_url: str
    region: str | None = "us"  # None when base_url was given explicitly
    access_token: str | None = field(default=None, repr=False)
    bot_admin_id: str | None = None
    api_version: str = DEFAULT_API_VERSION
    timeout_seconds: float = 10.0
    max_retries: int = 3

    @property
    def has_credentials(self) -> bool:
        return bool(self.access_token)


class _ApiVersion(fields.Field):
    """``2.16``-style versions, or ``Preview``. Must be quoted: YAML reads 2.10 as 2.1."""

    default_error_messages = {
        "type": "must be a quoted string such as '2.16' (YAML reads an unquoted 2.10 as 2.1)",
        "invalid": "must look like '2.16' (or 'Preview')",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self.make_error("type")
        text = value.strip()
        if text.lower() == "preview":
            return "Preview"
        if not re.fullmatch(r"\d+\.\d+", text):
            raise self.make_error("invalid")
        return text


class _Region(fields.Field):
    default_error_messages = {"invalid": "must be one of: us, eu, au"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = str(value).strip().lower() if isinstance(value, str) else ""
        if text not in REGION_BASE_URLS:
            raise self.make_error("invalid")
        return text


class IntercomSettingsSchema(ConnectorSettingsSchema):
    """The Intercom-specific keys of one ``connectors.<name>`` block."""

    client_secret = StrippedString(required=True, validate=NOT_EMPTY)
    access_token = StrippedString(load_default=None, validate=NOT_EMPTY)
    bot_admin_id = DigitsId(kind="an Intercom admin id", load_default=None)
    api_version = _ApiVersion(load_default=DEFAULT_API_VERSION)
    region = _Region(load_default=None)

    # Runs even when a field failed, so one load reports every problem at once; presence is
    # read from the original input so a malformed value is not also reported as missing.
    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _check_combinations(
        self, data: Mapping[str, Any], original: Mapping[str, Any], **kwargs: Any
    ) -> None:
        def given(key: str) -> bool:
            return original.get(key) is not None

        errors: dict[str, list[str]] = {}
        if given("access_token") and not given("bot_admin_id"):
            errors["bot_admin_id"] = [
                "required when access_token is set: the id of the teammate the bot posts as"
            ]
        if given("region") and given("base_url"):
            errors["base_url"] = ["give either region or base_url, not both"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _make_settings(self, data: dict[str, Any], **kwargs: Any) -> IntercomSettings:
        base_url = data.pop("base_url", None)
        region = data.pop("region", None)
        if base_url:
            region = None
        else:
            region = region or "us"
            base_url = REGION_BASE_URLS[region]
        return IntercomSettings(base_url=base_url.rstrip("/"), region=region, **data)


# -- webhook payload shapes ----------------------------------------------------------------
class _Timestamp(fields.Field):
    """Unix seconds as Intercom sends them; an odd value is not worth losing a message."""

    def __init__(self) -> None:
        super().__init__(load_default=None, allow_none=True)

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> datetime | None:
        return _from_unix(value)


class _Attributes(fields.Field):
    """A free-form ``custom_attributes`` object; anything that is not one is ignored."""

    def __init__(self) -> None:
        super().__init__(load_default=dict)

    def deserialize(
        self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any
    ) -> Any:
        return super().deserialize({} if value is None else value, attr, data, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return value if isinstance(value, dict) else {}


_conversation_number = digits_only("a conversation id")


class _AuthorSchema(LenientSchema):
    type = Text(required=True)
    id = Text()
    name = Text()
    email = Text()
    from_ai_agent = Flag(default=False, from_text=False)
    is_ai_answer = Flag(default=False, from_text=False)


class _PartSchema(LenientSchema):
    id = Text(required=True)
    part_type = Text()
    body = Text()
    created_at = _Timestamp()
    author = nested(_AuthorSchema, required=True)
    app_package_code = Text()


class _PartListSchema(LenientSchema):
    conversation_parts = fields.List(fields.Nested(_PartSchema), load_default=list, allow_none=True)


class _SourceSchema(LenientSchema):
    """``source`` (2.x) and ``conversation_message`` (1.x): the conversation's first message."""

    id = Text(required=True)
    subject = Text()
    body = Text()
    delivered_as = Text()
    author = nested(_AuthorSchema, required=True)


class _ContactSchema(LenientSchema):
    id = Text()
    external_id = Text()
    name = Text()
    email = Text()
    custom_attributes = _Attributes()


class _ContactListSchema(LenientSchema):
    contacts = fields.List(fields.Nested(_ContactSchema), load_default=list, allow_none=True)


class _UserSchema(LenientSchema):
    """The 1.x ``user`` object: the contact the conversation is with."""

    type = Text()
    id = Text()
    user_id = Text()
    name = Text()
    email = Text()
    custom_attributes = _Attributes()


class _TagSchema(LenientSchema):
    name = Text()


class _TagListSchema(LenientSchema):
    tags = fields.List(fields.Nested(_TagSchema), load_default=list, allow_none=True)


class ConversationSchema(LenientSchema):
    """A conversation as webhooks (``data.item``) and ``GET /conversations/{id}`` give it."""

    id = Text(required=True, validate=_conversation_number)
    created_at = _Timestamp()
    title = Text()
    source = nested(_SourceSchema, required=False)
    conversation_message = nested(_SourceSchema, required=False)
    contacts = nested(_ContactListSchema, required=False)
    user = nested(_UserSchema, required=False)
    conversation_parts = nested(_PartListSchema, required=False)
    tags = nested(_TagListSchema, required=False)
    custom_attributes = _Attributes()


class _DataSchema(LenientSchema):
    item = fields.Dict(
        required=True,
        error_messages={"required": MISSING, "null": MISSING, "invalid": "must be an object"},
    )


class NotificationSchema(LenientSchema):
    """The envelope every webhook shares."""

    topic = Text(required=True)
    id = Text()
    app_id = Text()
    created_at = _Timestamp()
    delivery_attempts = fields.Integer(load_default=None, allow_none=True)
    data = nested(_DataSchema, required=True)


def _from_unix(value: Any) -> datetime | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


# -- text ----------------------------------------------------------------------------------
def html_to_text(value: str) -> str:
    """Plain text from an Intercom body, which is HTML (or already plain text from 2.15 on).

    Paragraphs stay apart by a blank line and a link keeps its address, so the answerer and
    the escalation brief see what the customer saw.
    """
    if not value:
        return ""
    if not _LOOKS_LIKE_HTML.search(value):
        return value.strip()
    soup = BeautifulSoup(value, "html.parser")
    for hidden in soup.find_all(["script", "style"]):
        hidden.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for link in soup.find_all("a"):
        href = link.get("href")
        label = link.get_text().strip()
        is_web = isinstance(href, str) and href.startswith(("http://", "https://"))
        if is_web and label and label != href:
            link.append(f" ({href})")
    for item in soup.find_all("li"):
        item.insert(0, NavigableString("- "))
    for block in soup.find_all(_BLOCK_TAGS):
        if isinstance(block, Tag):
            block.insert_before("\n")
            block.append("\n")
    lines = [" ".join(line.split()) for line in soup.get_text().splitlines()]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip()


def text_to_html(text: str) -> str:
    """The body we post: escaped text, blank-line paragraphs as ``<p>``, newlines as ``<br>``.

    Intercom renders bodies as HTML, so plain newlines would otherwise run lines together
    and a ``<`` in an answer would be read as markup.
    """
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    rendered = [
        "<p>" + "<br>".join(html.escape(line, quote=False) for line in p.splitlines()) + "</p>"
        for p in paragraphs
    ]
    return "".join(rendered) or "<p></p>"


def _plan_fields(*attribute_sets: Mapping[str, Any]) -> dict[str, Any]:
    """Plan- or tier-like custom attributes, which routing and the brief may use."""
    found: dict[str, Any] = {}
    for attributes in attribute_sets:
        for key, value in attributes.items():
            words = set(re.split(r"[^a-z0-9]+", str(key).lower()))
            if not words & _PLAN_WORDS:
                continue
            if isinstance(value, bool) or value is None or value == "":
                continue
            if isinstance(value, str | int | float):
                found.setdefault(str(key), value)
    return found


# -- the connector -------------------------------------------------------------------------
class IntercomConnector(Connector):
    type_name = "intercom"
    settings_schema: ClassVar[type[Schema]] = IntercomSettingsSchema
    vendor = "Intercom"
    missing_credentials = "access token; set access_token and bot_admin_id"
    ticket_id_kind = "an Intercom conversation id"
    group_noun = "team"

    def __init__(
        self,
        name: str,
        settings: IntercomSettings,
        *,
        http: HttpClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(name, settings)
        self.settings: IntercomSettings = settings
        if http is None and settings.access_token:
            http = HttpClient(
                settings.base_url,
                headers={
                    "Authorization": f"Bearer {settings.access_token}",
                    # Pinned on every call: without it the app's Developer Hub setting
                    # applies, and response shapes change between versions.
                    VERSION_HEADER: settings.api_version,
                    "Accept": "application/json",
                },
                timeout=settings.timeout_seconds,
                max_retries=settings.max_retries,
                sleep=sleep,
            )
        self._http = http
        self._teams: list[Group] | None = None
        self._tag_ids: dict[str, str] | None = None
        self._warned_v1 = False

    # -- inbound -------------------------------------------------------------------------
    def _signature(self, body: bytes) -> str:
        digest = hmac.new(self.settings.client_secret.encode("utf-8"), body, hashlib.sha1)
        return digest.hexdigest()

    def verify(self, request: WebhookRequest, now: datetime) -> None:
        # Intercom signs the body only: no timestamp, so nothing here depends on ``now``;
        # redeliveries and replays are caught by the notification id instead.
        header = request.header(SIGNATURE_HEADER)
        if not header:
            raise BadSignature(f"missing {SIGNATURE_HEADER} header")
        scheme, _, given = header.strip().partition("=")
        given = given.strip().lower()
        if scheme.strip().lower() != "sha1" or not _HEX_SHA1.fullmatch(given):
            raise BadSignature(f"{SIGNATURE_HEADER} is not of the form sha1=<40 hex digits>")
        if not hmac.compare_digest(given.encode("ascii"), self._signature(request.body).encode()):
            raise BadSignature(
                "signature does not match the body; check the connector's client_secret "
                "against the app's client secret (Developer Hub > your app > Basic information)"
            )

    def sign(self, body: bytes, now: datetime) -> dict[str, str]:
        return {SIGNATURE_HEADER: f"sha1={self._signature(body)}"}

    def parse(self, request: WebhookRequest) -> Event:
        data = self._json_object(request)
        envelope = load_payload(NotificationSchema, data)
        topic: str = envelope["topic"]
        if topic == "ping":
            return Event(
                connector=self.name,
                # Intercom's test notification has a null id; nothing is recorded for it.
                delivery_id=envelope["id"] or "ping",
                ticket_id="",
                kind="ping",
                message=None,
                raw=data,
            )
        if not envelope["id"]:
            raise MalformedPayload(f"id: {MISSING}", field="id")
        if not topic.startswith("conversation."):
            # Acknowledged, not refused: Intercom pauses an endpoint that keeps failing, and
            # an extra topic ticked in the Developer Hub (contacts, tags on parts, tickets)
            # should not cost the real ones.
            return Event(
                connector=self.name,
                delivery_id=envelope["id"],
                ticket_id="",
                kind="unsupported_topic",
                message=None,
                raw=data,
            )

        item = load_payload(ConversationSchema, envelope["data"]["item"], prefix="data.item")
        self._note_version(item)
        message, kind = self._webhook_message(topic, item)
        return Event(
            connector=self.name,
            delivery_id=envelope["id"],
            ticket_id=item["id"],
            kind=kind,
            message=message,
            customer=self._customer(item),
            subject=self._subject(item),
            tags=self._tags(item),
            raw=data,
        )

    def ticket_signal(self, event: Event) -> TicketSignal | None:
        topic = event.raw.get("topic")
        if topic not in (_CLOSED_TOPIC, _RATING_TOPIC) or not event.ticket_id:
            return None
        app_id = str(event.raw.get("app_id") or "")
        host = _INBOX_HOSTS.get(self.settings.region or "us", _INBOX_HOSTS["us"])
        url = f"{host}/a/apps/{app_id}/conversations/{event.ticket_id}" if app_id else None
        if topic == _CLOSED_TOPIC:
            return TicketSignal("solved", event.ticket_id, ticket_url=url)
        item = (event.raw.get("data") or {}).get("item") or {}
        rating = item.get("conversation_rating") if isinstance(item, dict) else None
        score = rating.get("rating") if isinstance(rating, dict) else None
        if not isinstance(score, int | float) or isinstance(score, bool):
            return None
        vote = "up" if score >= 4 else "down" if score <= 2 else "neutral"
        remark = str(rating.get("remark") or "").strip() or None
        return TicketSignal(
            "rating", event.ticket_id, vote=vote, score=float(score), comment=remark, ticket_url=url
        )

    def _note_version(self, item: Mapping[str, Any]) -> None:
        is_v1 = item["source"] is None and item["conversation_message"] is not None
        if is_v1 and not self._warned_v1:
            self._warned_v1 = True
            log.warning(
                "connector %s: Intercom sends 1.x webhook bodies; set the app's API "
                "version in the Developer Hub to %s",
                self.name,
                self.settings.api_version,
            )

    def _webhook_message(self, topic: str, item: Mapping[str, Any]) -> tuple[Message | None, str]:
        """The message a notification is about, and the Event kind."""
        if topic in _DUPLICATE_TOPICS:
            return None, "translation"
        if topic == _RATING_TOPIC:
            # The item's newest part is an old message, not something said now.
            return None, "rating"
        source = item["source"] or item["conversation_message"]
        if topic in _CREATED_TOPICS:
            if source is None:
                field_name = "data.item.source"
                raise MalformedPayload(f"{field_name}: {MISSING}", field=field_name)
            return self._source_message(source, item["created_at"]), "comment"

        parts = (item["conversation_parts"] or {}).get("conversation_parts") or []
        newest = _newest(parts)
        if newest is None:
            return None, "conversation_event"
        message = self._part_message(newest)
        if message is None:
            return None, _PART_KINDS.get(newest["part_type"], "conversation_event")
        return message, "comment"

    def _source_message(self, source: Mapping[str, Any], created_at: datetime | None) -> Message:
        author = source["author"]
        role = self._role(author)
        if role is Role.AGENT and source["delivered_as"] in _AUTOMATED_SOURCES:
            # Campaigns and series are sent in a teammate's name, but nobody typed them.
            role = Role.OTHER_BOT
        return Message(
            id=source["id"],
            role=role,
            text=html_to_text(source["body"]),
            public=True,
            author_id=author["id"] or None,
            created_at=created_at,
        )

    def _part_message(self, part: Mapping[str, Any]) -> Message | None:
        """A part as a message, or None for parts that are only state changes.

        Comments and notes always count; any other part counts when it carries text: an
        assignment can carry a message to the customer, and a contact writing into a closed
        conversation arrives as an ``open`` part with their words in it.
        """
        text = html_to_text(part["body"])
        author = part["author"]
        if part["part_type"] not in _MESSAGE_PARTS and not text:
            # A teammate reassigning the conversation by hand has taken it over, even without
            # a word: an empty internal message by them makes the bot step back.
            if part["part_type"] in _HAND_ASSIGNMENTS and self._role(author) is Role.AGENT:
                return Message(
                    id=part["id"],
                    role=Role.AGENT,
                    text="",
                    public=False,
                    author_id=author["id"] or None,
                    created_at=part["created_at"],
                )
            return None
        return Message(
            id=part["id"],
            role=self._role(author),
            text=text,
            public=part["part_type"] != "note",
            author_id=author["id"] or None,
            created_at=part["created_at"],
        )

    def _role(self, author: Mapping[str, Any]) -> Role:
        """Who wrote a part, from its author; the first matching rule wins.

        1. Our ``bot_admin_id``: BOT, so the bot never answers itself.
        2. ``bot`` (Fin, Operator), parts Intercom flags as written by its AI agent, and
           admins with Operator's ``operator+…@intercom.io`` address: OTHER_BOT.
        3. ``admin`` and ``team``: AGENT, a human.
        4. ``user``, ``lead``, ``contact`` and any type we do not know: CUSTOMER. Staff are
           always ``admin``, ``team`` or ``bot``, so an unknown type is someone outside.
        """
        author_type = author["type"].lower()
        author_id = author["id"]
        bot_id = self.settings.bot_admin_id
        if bot_id and author_id == bot_id and author_type in _STAFF_TYPES:
            return Role.BOT
        if author_type == "bot" or author["from_ai_agent"] or author["is_ai_answer"]:
            return Role.OTHER_BOT
        if author_type in _STAFF_TYPES:
            if _OPERATOR_EMAIL.match(author["email"]):
                return Role.OTHER_BOT
            return Role.AGENT
        return Role.CUSTOMER

    def _customer(self, item: Mapping[str, Any]) -> Customer:
        contacts = (item["contacts"] or {}).get("contacts") or []
        contact = contacts[0] if contacts else None
        user = item["user"]
        attribute_sets: list[Mapping[str, Any]] = [item["custom_attributes"]]
        if contact is not None:
            attribute_sets.append(contact["custom_attributes"])
        if user is not None:
            attribute_sets.append(user["custom_attributes"])

        # Names and emails: the contact object when it has them, else a customer-authored
        # first message or part (2.x contacts in webhooks carry only ids).
        authors: list[Mapping[str, Any]] = []
        for candidate in (contact, user):
            if candidate is not None:
                authors.append(candidate)
        source = item["source"] or item["conversation_message"]
        parts = (item["conversation_parts"] or {}).get("conversation_parts") or []
        for message_author in [p["author"] for p in reversed(parts)] + (
            [source["author"]] if source is not None else []
        ):
            if message_author["type"].lower() in _CUSTOMER_TYPES:
                authors.append(message_author)

        def first(key: str) -> str | None:
            return next((a[key] for a in authors if a.get(key)), None)

        return Customer(
            id=first("id"),
            name=first("name"),
            email=first("email"),
            fields=_plan_fields(*attribute_sets),
        )

    @staticmethod
    def _subject(item: Mapping[str, Any]) -> str | None:
        source = item["source"] or item["conversation_message"]
        subject = html_to_text(source["subject"]) if source is not None else ""
        return subject or item["title"] or None

    @staticmethod
    def _tags(item: Mapping[str, Any]) -> tuple[str, ...]:
        tags = (item["tags"] or {}).get("tags") or []
        return tuple(tag["name"] for tag in tags if tag["name"])

    # -- outbound ------------------------------------------------------------------------
    @property
    def has_credentials(self) -> bool:
        return self.settings.has_credentials

    @property
    def _bot_admin_id(self) -> str:
        if not self.settings.bot_admin_id:
            raise NotConfigured(f"connector {self.name!r} has no bot_admin_id")
        return self.settings.bot_admin_id

    def fetch_conversation(self, ticket_id: str) -> list[Message]:
        ref = self._ticket_ref(ticket_id)
        response = self.http.get(f"conversations/{ref}")
        try:
            item = load_payload(ConversationSchema, response, prefix="conversation")
        except MalformedPayload as exc:
            # A worker-side failure, not a refused webhook: report it as the API call's.
            raise HelpdeskError(
                f"GET /conversations/{ref} answered with an unexpected body",
                vendor_message=exc.message,
                retryable=False,
            ) from exc
        messages: list[Message] = []
        source = item["source"] or item["conversation_message"]
        if source is not None:
            messages.append(self._source_message(source, item["created_at"]))
        parts = (item["conversation_parts"] or {}).get("conversation_parts") or []
        for part in _oldest_first(parts):
            message = self._part_message(part)
            if message is not None:
                messages.append(message)
        return messages

    def post_reply(self, ticket_id: str, text: str) -> str | None:
        return self._reply(ticket_id, "comment", text)

    def post_note(self, ticket_id: str, text: str) -> str | None:
        return self._reply(ticket_id, "note", text)

    def _reply(self, ticket_id: str, message_type: str, text: str) -> str | None:
        bot_id = self._bot_admin_id
        response = self.http.post(
            f"conversations/{self._ticket_ref(ticket_id)}/reply",
            json={
                "message_type": message_type,
                "type": "admin",
                "admin_id": bot_id,
                "body": text_to_html(text),
            },
        )
        return _created_part_id(response, bot_id, message_type)

    def assign_group(self, ticket_id: str, group: str) -> None:
        team = self._team(group)
        self._assign(ticket_id, team)

    def _assign(self, ticket_id: str, team: Group) -> None:
        self.http.post(
            f"conversations/{self._ticket_ref(ticket_id)}/parts",
            json={
                "message_type": "assignment",
                "type": "team",
                "admin_id": self._bot_admin_id,
                "assignee_id": team.id,
            },
            # Assigning to the same team twice leaves the same state.
            idempotent=True,
        )

    def add_tags(self, ticket_id: str, tags: list[str]) -> None:
        self._attach_tags(ticket_id, self._tag_refs(tags))

    def _tag_refs(self, tags: Sequence[str]) -> list[str]:
        """Tag ids for the names, creating the tags that do not exist yet."""
        wanted = list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))
        return [self._tag_id(tag) for tag in wanted]

    def _attach_tags(self, ticket_id: str, tag_ids: Sequence[str]) -> None:
        ref = self._ticket_ref(ticket_id)
        # Intercom's endpoint takes one tag per call.
        for tag_id in dict.fromkeys(tag_ids):
            self.http.post(
                f"conversations/{ref}/tags",
                json={"id": tag_id, "admin_id": self._bot_admin_id},
                idempotent=True,  # a tag already on the conversation stays on it once
            )

    def escalate(
        self,
        ticket_id: str,
        note: str,
        group: str | None,
        tags: list[str],
        priority: str | None = None,
    ) -> str | None:
        # Resolve (and create missing tags) before anything touches the conversation: an
        # unknown team must fail before the note is written, or a retry would add it twice.
        team = self._team(group) if group else None
        tag_ids = self._tag_refs(tags)
        # Note first, so whoever the conversation lands with sees why.
        note_id = self.post_note(ticket_id, note)
        if team is not None:
            self._assign(ticket_id, team)
        self._attach_tags(ticket_id, tag_ids)
        if priority in ("high", "urgent"):
            self._prioritise(ticket_id, priority)
        return note_id

    def _prioritise(self, ticket_id: str, priority: str) -> None:
        """Mark the conversation as priority. Only the Preview API version takes a level;
        2.x versions before it cannot set priority at all, so there it is left to the team."""
        if self.settings.api_version != "Preview":
            log.info(
                "conversation %s: priority %s not set (API version %s cannot set it)",
                ticket_id,
                priority,
                self.settings.api_version,
            )
            return
        self.http.put(
            f"conversations/{self._ticket_ref(ticket_id)}",
            json={"priority": priority, "admin_id": self._bot_admin_id},
        )

    def list_groups(self) -> list[Group]:
        response = self.http.get("teams")
        teams = response.get("teams") if isinstance(response, dict) else None
        groups = [
            Group(id=str(team["id"]), name=str(team.get("name") or ""))
            for team in teams or []
            if isinstance(team, dict) and team.get("id") is not None
        ]
        self._teams = groups
        return groups

    def list_admins(self) -> list[dict[str, Any]]:
        """Every teammate of the workspace, as Intercom returns them."""
        response = self.http.get("admins")
        admins = response.get("admins") if isinstance(response, dict) else None
        return [admin for admin in admins or [] if isinstance(admin, dict)]

    def check_credentials(self) -> str:
        me = self.http.get("me")
        if not isinstance(me, dict) or me.get("type") != "admin" or not me.get("id"):
            raise HelpdeskError(
                "GET /me did not describe a teammate; the access token is not acting as an "
                "admin of the workspace",
                retryable=False,
            )
        app = me.get("app") if isinstance(me.get("app"), dict) else {}
        summary = (
            f"authenticated to Intercom app {app.get('name') or '?'} "
            f"({app.get('id_code') or '?'}) as {me.get('name') or '?'} (admin {me['id']}); "
            f"API version {self.settings.api_version}"
        )
        region = str(app.get("region") or "").lower()
        if region and self.settings.region and region != self.settings.region:
            summary += (
                f"; note: the workspace is in region {region.upper()} but the connector uses "
                f"{self.settings.region.upper()} (set region: {region})"
            )
        return summary

    def check_bot_identity(self) -> str:
        """The bot's seat must be an admin of this workspace.

        Replies are posted with ``admin_id`` = ``bot_admin_id``, and Intercom records that
        admin as the author, so this id is what tells the bot's own parts apart. It is not
        required to be the token's owner (``GET /me``): an access token may post as any
        teammate. A difference is reported, since it usually means a copied id.
        """
        bot_id = self._bot_admin_id
        try:
            admin = self.http.get(f"admins/{bot_id}")
        except HelpdeskError as exc:
            if exc.status == 404:
                raise HelpdeskError(
                    f"bot_admin_id {bot_id} is not an admin of this workspace; "
                    f"teammates: {self._admin_names()}",
                    status=404,
                    vendor_message=exc.vendor_message,
                    retryable=False,
                ) from exc
            raise
        if not isinstance(admin, dict) or str(admin.get("id")) != bot_id:
            raise HelpdeskError(
                f"GET /admins/{bot_id} did not return that admin; teammates: {self._admin_names()}",
                retryable=False,
            )
        description = f"bot posts as {admin.get('name') or '?'} (admin {bot_id})"
        me = self.http.get("me")
        me_id = str(me.get("id")) if isinstance(me, dict) and me.get("id") else None
        if me_id and me_id != bot_id:
            description += (
                f"; the access token belongs to admin {me_id}, which is allowed, but check "
                "that bot_admin_id is the seat meant for the bot"
            )
        elif me_id:
            description += "; the access token belongs to the same admin"
        if admin.get("has_inbox_seat") is False:
            description += "; warning: this admin has no inbox seat"
        return description

    def _admin_names(self) -> str:
        try:
            admins = self.list_admins()
        except HelpdeskError:
            return "(could not list admins)"
        shown = [f"{a.get('name') or '?'} ({a.get('id')})" for a in admins[:20]]
        more = f" and {len(admins) - 20} more" if len(admins) > 20 else ""
        return (", ".join(shown) or "none") + more

    def list_help_articles(self) -> Iterator[HelpArticle]:
        params: dict[str, Any] = {"page": 1, "per_page": _PAGE_SIZE}
        for number in range(1, _MAX_PAGES + 1):
            page = self.http.get("articles", params=params)
            if not isinstance(page, dict):
                return
            articles = page.get("data") or []
            for article in articles:
                if isinstance(article, dict) and article.get("state") == "published":
                    yield _article(article)
            pages = page.get("pages") if isinstance(page.get("pages"), dict) else {}
            following = pages.get("next") if isinstance(pages.get("next"), dict) else {}
            if following.get("starting_after"):
                # Cursor paging where the API offers it, page numbers otherwise.
                params = {"per_page": _PAGE_SIZE, "starting_after": following["starting_after"]}
                continue
            total = pages.get("total_pages")
            if not articles or not isinstance(total, int) or number >= total:
                return
            params = {"page": number + 1, "per_page": _PAGE_SIZE}
        raise HelpdeskError(f"GET /articles: more than {_MAX_PAGES} pages; refusing to read on")

    def connect(self, webhook_url: str) -> WiringResult:
        env = re.sub(r"[^A-Z0-9]+", "_", self.name.upper()).strip("_") or "INTERCOM"
        version = self.settings.api_version
        lines = [
            "Intercom has no API for webhook subscriptions: set this up in the Developer Hub "
            "(nothing was changed).",
            "1. Open https://app.intercom.com/a/apps/_/developer-hub and choose the app whose "
            "access token the bridge uses (create a private app if there is none).",
            f"2. In the app, open Webhooks and set the endpoint URL to: {webhook_url}",
            "3. Subscribe to these topics: " + ", ".join(WEBHOOK_TOPICS),
            f"4. Set the app's API version to {version}: webhook bodies follow the app's "
            "version, not the Intercom-Version header the bridge sends.",
            "5. Save. Intercom checks the URL (HEAD) and may send a 'ping' test notification; "
            "the bridge answers both with 200.",
            "6. In the app, open Basic information and copy the Client secret: it signs every "
            f"webhook ({SIGNATURE_HEADER}).",
            f"7. Put it in the bridge's environment: {env}_CLIENT_SECRET=<client secret>",
            f"   and in this connector's config: client_secret: ${{{env}_CLIENT_SECRET}}",
            "8. To reply (not needed for dry_run): copy the access token from the app's "
            f"Authentication page into {env}_ACCESS_TOKEN (access_token: "
            f"${{{env}_ACCESS_TOKEN}}) and set bot_admin_id to the teammate the bot posts as "
            "(GET /admins lists them); `helpdesk-bridge doctor` checks both.",
        ]
        if not webhook_url.startswith("https://"):
            lines.append(
                "Warning: the endpoint URL is not https; Intercom may refuse it, and the "
                "webhook bodies carry customer data."
            )
        return WiringResult(automated=False, lines=tuple(lines))

    # -- helpers -------------------------------------------------------------------------
    def _team(self, group: str) -> Group:
        """The team for a name or id, refreshing a stale cached list once before failing."""
        wanted = group.strip()
        refreshed = self._teams is None
        if self._teams is None:
            self.list_groups()
        found = _match_team(self._teams or [], wanted)
        if found is None and not refreshed:
            self.list_groups()
            found = _match_team(self._teams or [], wanted)
        if found is None:
            raise self._unknown_group(wanted, (team.name for team in self._teams or []))
        return found

    def _tag_id(self, name: str) -> str:
        if self._tag_ids is None:
            response = self.http.get("tags")
            listed = response.get("data") if isinstance(response, dict) else None
            self._tag_ids = {
                str(tag["name"]).casefold(): str(tag["id"])
                for tag in listed or []
                if isinstance(tag, dict) and tag.get("name") and tag.get("id") is not None
            }
        key = name.casefold()  # Intercom tag names are case-insensitive
        if key not in self._tag_ids:
            created = self.http.post("tags", json={"name": name}, idempotent=True)
            if not isinstance(created, dict) or created.get("id") is None:
                raise HelpdeskError(f"POST /tags for {name!r} returned no tag id")
            self._tag_ids[key] = str(created["id"])
        return self._tag_ids[key]


def _oldest_first(parts: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Parts by time; parts without one keep their place at the start (sort is stable)."""
    floor = datetime.min.replace(tzinfo=UTC)
    return sorted(parts, key=lambda part: part["created_at"] or floor)


def _newest(parts: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    ordered = _oldest_first(parts)
    return ordered[-1] if ordered else None


def _created_part_id(response: Any, bot_id: str, part_type: str) -> str | None:
    """The id of the part a reply created: the reply endpoint answers with the conversation.

    The newest part of the requested type that the bot's seat wrote is ours: the ticket lock
    keeps the bridge from writing twice at once.
    """
    if not isinstance(response, dict):
        return None
    container = response.get("conversation_parts")
    parts = container.get("conversation_parts") if isinstance(container, dict) else None
    best: tuple[float, int, str] | None = None
    for index, part in enumerate(parts or []):
        if not isinstance(part, dict) or part.get("id") is None:
            continue
        author = part.get("author") if isinstance(part.get("author"), dict) else {}
        if str(author.get("id")) != bot_id or part.get("part_type") != part_type:
            continue
        created = _from_unix(part.get("created_at"))
        key = (created.timestamp() if created else 0.0, index, str(part["id"]))
        if best is None or key > best:
            best = key
    return best[2] if best else None


def _match_team(teams: Sequence[Group], wanted: str) -> Group | None:
    for team in teams:
        if team.id == wanted:
            return team
    exact = [team for team in teams if team.name == wanted]
    if len(exact) == 1:
        return exact[0]
    # Config files are typed by hand; accept a different case when it is unambiguous.
    folded = [team for team in teams if team.name.casefold() == wanted.casefold()]
    return folded[0] if len(folded) == 1 else None


def _article(article: Mapping[str, Any]) -> HelpArticle:
    url = article.get("url")
    locale = article.get("default_locale")
    return HelpArticle(
        id=str(article.get("id")),
        title=str(article.get("title") or ""),
        body_html=str(article.get("body") or ""),
        url=str(url) if url else None,
        updated_at=_from_unix(article.get("updated_at")),
        locale=str(locale) if locale else None,
    )


CONNECTOR = IntercomConnector
