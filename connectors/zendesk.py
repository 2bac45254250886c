"""Zendesk Support: signed webhooks in, ticket comments, groups and tags over REST v2.

Also: help-center articles for the knowledge base, ``connect`` (creates or updates the
webhook and the trigger that feeds it), and OAuth client-credentials tokens, since Zendesk
is retiring API tokens.

Inbound, three body shapes are understood: the JSON body of our documented trigger template
(``TRIGGER_BODY_TEMPLATE``), and Zendesk's own event envelopes for
``ticket.comment_added`` and ``messaging_ticket.message_added``. Any other ticket event
envelope becomes a ``ticket_event`` without a message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, Literal
from urllib.parse import urlsplit

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
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
    TicketSignal,
    WebhookRequest,
    WiringResult,
)
from connectors.http import HttpClient
from connectors.payload import (
    NOT_EMPTY,
    ConnectorSettingsSchema,
    DigitsId,
    Flag,
    LenientSchema,
    StrippedString,
    Tags,
    Text,
    digits_only,
    load_payload,
    nested,
    parse_time,
)

SIGNATURE_HEADER: Final = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER: Final = "X-Zendesk-Webhook-Signature-Timestamp"

#: The JSON body admins paste into a trigger's "Notify webhook" action. Zendesk renders each
#: placeholder as text, so every value is quoted and arrives as a string.
TRIGGER_BODY_TEMPLATE: Final[dict[str, str]] = {
    "ticket_id": "{{ticket.id}}",
    "comment_id": "{{ticket.latest_comment.id}}",
    "author_id": "{{ticket.latest_comment.author.id}}",
    "author_role": "{{current_user.role}}",
    "is_public": "{{ticket.latest_comment.is_public}}",
    "body": "{{ticket.latest_comment.value}}",
    "subject": "{{ticket.title}}",
    "tags": "{{ticket.tags}}",
    "via": "{{ticket.via}}",
    "requester_id": "{{ticket.requester.id}}",
    "requester_name": "{{ticket.requester.name}}",
    "requester_email": "{{ticket.requester.email}}",
    "organization": "{{ticket.organization.name}}",
}

#: Bodies of two optional triggers: conditions "Status changed to Solved" and "Satisfaction
#: changed". They tell the bridge a person solved a ticket it handed off (the learning loop)
#: and how the customer rated it. ``rating`` may also be a literal ``good`` or ``bad`` (one
#: trigger per rating), for accounts whose placeholders render in another language.
SOLVED_TRIGGER_BODY: Final[dict[str, str]] = {
    "bridge_event": "solved",
    "ticket_id": "{{ticket.id}}",
}
SATISFACTION_TRIGGER_BODY: Final[dict[str, str]] = {
    "bridge_event": "satisfaction",
    "ticket_id": "{{ticket.id}}",
    "rating": "{{satisfaction.current_rating}}",
    "comment": "{{satisfaction.current_comment}}",
}
_BRIDGE_EVENTS: Final = frozenset({"solved", "satisfaction"})
_STATUS_CHANGED: Final = "zen:event-type:ticket.status_changed"
_SOLVED_STATUSES: Final = frozenset({"solved", "closed"})

_EVENT_PREFIX: Final = "zen:event-type:"
_COMMENT_ADDED: Final = "zen:event-type:ticket.comment_added"
_MESSAGE_ADDED: Final = "zen:event-type:messaging_ticket.message_added"
_TICKET_EVENT_PREFIXES: Final = ("zen:event-type:ticket.", "zen:event-type:messaging_ticket.")

_END_USER_ROLES: Final = frozenset({"end user", "enduser", "end-user", "end_user", "user"})
_PAGE_SIZE: Final = 100
# 100 pages of 100 is far beyond any real ticket; the cap only stops a paging loop.
_MAX_PAGES: Final = 100
#: ``scope`` asked for with the client-credentials grant: the bridge reads tickets, users,
#: groups and articles and writes tickets, webhooks and triggers.
DEFAULT_OAUTH_SCOPES: Final = "read write"
#: A token is renewed this long before Zendesk says it expires, so a request never races it.
_TOKEN_EXPIRY_MARGIN: Final = 60.0
#: Help centers are larger than ticket threads; this cap is again only a loop guard.
_MAX_ARTICLE_PAGES: Final = 1000
#: Webhook subscription for trigger-connected webhooks (zendesk.md §1.1).
_TRIGGER_SUBSCRIPTION: Final = "conditional_ticket_events"
#: ``current_via_id`` of updates made through the API (zendesk.md §1.3 via ids).
_VIA_WEB_SERVICE: Final = "5"
_WEBHOOK_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


# -- settings ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ZendeskSettings:
    """A validated ``connectors.<name>`` block; secrets are left out of ``repr``."""

    subdomain: str
    signing_secret: str = field(repr=False)
    base_url: str
    email: str | None = None
    api_token: str | None = field(default=None, repr=False)
    oauth_token: str | None = field(default=None, repr=False)
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = field(default=None, repr=False)
    oauth_scopes: str = DEFAULT_OAUTH_SCOPES
    bot_user_id: str | None = None
    timeout_seconds: float = 10.0
    max_retries: int = 3
    max_webhook_age_seconds: int = 300

    @property
    def uses_client_credentials(self) -> bool:
        return bool(self.oauth_client_id and self.oauth_client_secret)

    @property
    def has_credentials(self) -> bool:
        return bool(
            self.oauth_token or (self.email and self.api_token) or self.uses_client_credentials
        )

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth/tokens"

    def auth_header(self) -> str | None:
        """The fixed ``Authorization`` value; None for client credentials, whose tokens
        are fetched and renewed at run time."""
        if self.oauth_token:
            return f"Bearer {self.oauth_token}"
        if self.email and self.api_token:
            raw = f"{self.email}/token:{self.api_token}".encode()
            return "Basic " + base64.b64encode(raw).decode("ascii")
        return None


def _check_subdomain(value: str) -> None:
    if "." in value or "/" in value:
        raise ValidationError("use only the subdomain, e.g. 'acme' for acme.zendesk.com")
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", value):
        raise ValidationError("must contain only letters, digits and hyphens")


class ZendeskSettingsSchema(ConnectorSettingsSchema):
    """The Zendesk-specific keys of one ``connectors.<name>`` block."""

    subdomain = StrippedString(required=True, validate=[NOT_EMPTY, _check_subdomain])
    signing_secret = StrippedString(required=True, validate=NOT_EMPTY)
    email = fields.Email(load_default=None)
    api_token = StrippedString(load_default=None, validate=NOT_EMPTY)
    oauth_token = StrippedString(load_default=None, validate=NOT_EMPTY)
    oauth_client_id = StrippedString(load_default=None, validate=NOT_EMPTY)
    oauth_client_secret = StrippedString(load_default=None, validate=NOT_EMPTY)
    oauth_scopes = StrippedString(load_default=DEFAULT_OAUTH_SCOPES, validate=NOT_EMPTY)
    bot_user_id = DigitsId(kind="a Zendesk user id", load_default=None)
    max_webhook_age_seconds = fields.Integer(load_default=300, validate=validate.Range(min=1))

    # Runs even when a field failed, so one load reports every problem at once; presence is
    # read from the original input so a malformed value is not also reported as missing.
    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _check_credentials(
        self, data: Mapping[str, Any], original: Mapping[str, Any], **kwargs: Any
    ) -> None:
        def given(key: str) -> bool:
            return original.get(key) is not None

        errors: dict[str, list[str]] = {}

        def pair(first: str, second: str) -> None:
            if given(first) and not given(second):
                errors[second] = [f"required when {first} is set"]
            if given(second) and not given(first):
                errors[first] = [f"required when {second} is set"]

        pair("email", "api_token")
        pair("oauth_client_id", "oauth_client_secret")
        # Each kind is reported under its first key; a half-given pair still counts, so
        # the admin hears about both problems at once.
        kinds = [
            ("email", ("email", "api_token")),
            ("oauth_token", ("oauth_token",)),
            ("oauth_client_id", ("oauth_client_id", "oauth_client_secret")),
        ]
        present = [key for key, keys in kinds if any(given(k) for k in keys)]
        for key in present[1:]:
            errors.setdefault(key, []).append(
                "set only one kind of credentials: email + api_token, oauth_token, or "
                "oauth_client_id + oauth_client_secret"
            )
        if given("oauth_scopes") and "oauth_client_id" not in present:
            errors["oauth_scopes"] = ["only used with oauth_client_id + oauth_client_secret"]
        if present and not given("bot_user_id"):
            errors["bot_user_id"] = ["required when API credentials are set"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _make_settings(self, data: dict[str, Any], **kwargs: Any) -> ZendeskSettings:
        base_url = data.pop("base_url", None) or f"https://{data['subdomain']}.zendesk.com"
        # Accept a pasted API root too; the client appends /api/v2 itself.
        base_url = re.sub(r"(/api/v2)?/*$", "", base_url)
        return ZendeskSettings(base_url=base_url, **data)


# -- webhook payload shapes ----------------------------------------------------------------
_ticket_number = digits_only("a ticket number")


class TriggerBodySchema(LenientSchema):
    """The rendered ``TRIGGER_BODY_TEMPLATE``; declared in the order errors are reported."""

    ticket_id = Text(required=True, validate=_ticket_number)
    comment_id = Text(required=True)
    author_id = Text(required=True)
    author_role = Text()
    is_public = Flag(default=True, from_text=True)
    body = Text()
    subject = Text()
    tags = Tags()
    via = Text()
    requester_id = Text()
    requester_name = Text()
    requester_email = Text()
    organization = Text()


class _TicketDetailSchema(LenientSchema):
    id = Text(required=True, validate=_ticket_number)
    requester_id = Text()
    organization_id = Text()
    subject = Text()
    tags = Tags()


class _EnvelopeSchema(LenientSchema):
    type = Text(required=True)
    id = Text(required=True)
    time = Text()
    detail = nested(_TicketDetailSchema, required=True)


class _CommentAuthorSchema(LenientSchema):
    id = Text(required=True)
    is_staff = Flag(default=None, from_text=True)
    name = Text()


class _CommentSchema(LenientSchema):
    id = Text(required=True)
    body = Text()
    is_public = Flag(default=True, from_text=True)
    author = nested(_CommentAuthorSchema, required=True)


class _CommentEventSchema(LenientSchema):
    comment = nested(_CommentSchema, required=True)


class CommentAddedSchema(_EnvelopeSchema):
    event = nested(_CommentEventSchema, required=True)


class _ActorSchema(LenientSchema):
    id = Text()
    type = Text()
    name = Text()


class _ChatMessageSchema(LenientSchema):
    id = Text(required=True)
    body = Text()


class _MessageEventSchema(LenientSchema):
    actor = nested(_ActorSchema, required=True)
    message = nested(_ChatMessageSchema, required=True)


class MessageAddedSchema(_EnvelopeSchema):
    event = nested(_MessageEventSchema, required=True)


def _satisfaction(value: Any) -> tuple[Literal["up", "down", "neutral"], float] | None:
    """A rendered rating as (vote, score): good/bad (score 1/0), or a 1-5 CSAT score."""
    text = str(value or "").strip().lower()
    if text.startswith("good"):
        return "up", 1.0
    if text.startswith("bad"):
        return "down", 0.0
    if text.isdigit() and 1 <= int(text) <= 5:
        score = int(text)
        return ("up" if score >= 4 else "down" if score <= 2 else "neutral"), float(score)
    return None


def _normalize_role(value: str) -> str:
    return " ".join(value.lower().replace("_", " ").split())


# -- OAuth client credentials --------------------------------------------------------------
class ClientCredentialsToken:
    """Access tokens from Zendesk's client-credentials grant, fetched when first needed,
    reused until shortly before they expire, and renewed early when Zendesk refuses one.

    ``headers`` and ``renew`` plug into ``HttpClient(auth=..., on_unauthorized=...)``.
    """

    def __init__(
        self,
        settings: ZendeskSettings,
        http: HttpClient,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._http = http
        self._clock = clock
        # Worker threads share one connector; one fetch serves all of them.
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at: float | None = None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token()}"}

    def renew(self) -> bool:
        """Forget the cached token so the next request fetches a new one."""
        with self._lock:
            self._token = None
            self._renew_at = None
        return True

    def access_token(self) -> str:
        with self._lock:
            if self._token is None or (
                self._renew_at is not None and self._clock() >= self._renew_at
            ):
                self._token, self._renew_at = self._fetch()
            return self._token

    def _fetch(self) -> tuple[str, float | None]:
        settings = self._settings
        body = {
            "grant_type": "client_credentials",
            "client_id": settings.oauth_client_id,
            "client_secret": settings.oauth_client_secret,
            "scope": settings.oauth_scopes,
        }
        try:
            # Asking twice only mints a second token, so a retry after a 5xx is harmless.
            data = self._http.post(settings.token_url, json=body, idempotent=True)
        except HelpdeskError as exc:
            if exc.status in {400, 401, 403}:
                raise HelpdeskError(
                    "Zendesk refused the OAuth client credentials; check oauth_client_id, "
                    "oauth_client_secret and oauth_scopes against the OAuth client in Admin "
                    "Center (Apps and integrations > APIs > OAuth clients)",
                    status=exc.status,
                    vendor_message=exc.vendor_message,
                    retryable=False,
                    method="POST",
                    url=settings.token_url,
                ) from exc
            raise
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise HelpdeskError(
                "Zendesk's token endpoint answered without an access_token",
                method="POST",
                url=settings.token_url,
            )
        expires_in = data.get("expires_in")
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            # Clients created before April 2026 get tokens without an expiry; such a token
            # is renewed only when Zendesk refuses it.
            return token, None
        margin = min(_TOKEN_EXPIRY_MARGIN, expires_in / 2)
        return token, self._clock() + expires_in - margin


# -- the connector -------------------------------------------------------------------------
class ZendeskConnector(Connector):
    type_name = "zendesk"
    settings_schema: ClassVar[type[Schema]] = ZendeskSettingsSchema
    vendor = "Zendesk"
    missing_credentials = (
        "API credentials; set oauth_client_id + oauth_client_secret, oauth_token, or "
        "email + api_token"
    )
    ticket_id_kind = "a Zendesk ticket id"

    def __init__(
        self,
        name: str,
        settings: ZendeskSettings,
        *,
        http: HttpClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name, settings)
        self.settings: ZendeskSettings = settings
        self.token: ClientCredentialsToken | None = None
        if http is None and settings.has_credentials:
            http = self._make_http(settings, sleep, clock)
        self._http = http

    def _make_http(
        self,
        settings: ZendeskSettings,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> HttpClient:
        def client(**auth: Any) -> HttpClient:
            return HttpClient(
                f"{settings.base_url}/api/v2/",
                timeout=settings.timeout_seconds,
                max_retries=settings.max_retries,
                sleep=sleep,
                clock=clock,
                **auth,
            )

        if settings.uses_client_credentials:
            # The token endpoint gets a client of its own: it must not send the (missing
            # or expired) bearer token, nor recurse into renewing it on a 401.
            self.token = ClientCredentialsToken(settings, client(), clock)
            return client(auth=self.token.headers, on_unauthorized=self.token.renew)
        return client(headers={"Authorization": settings.auth_header()})

    # -- inbound -------------------------------------------------------------------------
    def _signature(self, timestamp: str, body: bytes) -> str:
        digest = hmac.new(
            self.settings.signing_secret.encode("utf-8"),
            timestamp.encode("utf-8") + body,
            hashlib.sha256,
        ).digest()
        return base64.b64encode(digest).decode("ascii")

    def verify(self, request: WebhookRequest, now: datetime) -> None:
        signature = request.header(SIGNATURE_HEADER)
        timestamp = request.header(TIMESTAMP_HEADER)
        if not signature:
            raise BadSignature(f"missing {SIGNATURE_HEADER} header")
        if not timestamp:
            raise BadSignature(f"missing {TIMESTAMP_HEADER} header")
        try:
            given = base64.b64decode(signature.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise BadSignature(f"{SIGNATURE_HEADER} is not base64") from None
        # The timestamp string is signed exactly as sent, so it is used unparsed here.
        expected = base64.b64decode(self._signature(timestamp, request.body))
        if not hmac.compare_digest(given, expected):
            raise BadSignature(
                "signature does not match the body; check the connector's signing_secret "
                "against the webhook's signing secret in Zendesk"
            )

        sent_at = parse_time(timestamp.strip())
        if sent_at is None:
            raise BadSignature(f"{TIMESTAMP_HEADER} is not an RFC 3339 time: {timestamp[:40]!r}")
        current = now if now.tzinfo else now.replace(tzinfo=UTC)
        skew = abs((current - sent_at).total_seconds())
        window = self.settings.max_webhook_age_seconds
        if skew > window:
            # A captured delivery replayed later is still correctly signed; the window is
            # what stops it, and a far-future stamp would otherwise extend that window.
            direction = "old" if sent_at < current else "in the future"
            raise BadSignature(
                f"signature timestamp {timestamp.strip()} is {skew:.0f} s {direction}; "
                f"accepted: within {window} s (check the server clock if this repeats)"
            )

    def sign(self, body: bytes, now: datetime) -> dict[str, str]:
        current = now if now.tzinfo else now.replace(tzinfo=UTC)
        timestamp = current.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {SIGNATURE_HEADER: self._signature(timestamp, body), TIMESTAMP_HEADER: timestamp}

    def parse(self, request: WebhookRequest) -> Event:
        data = self._json_object(request)
        event_type = data.get("type")
        if isinstance(event_type, str) and event_type.startswith(_EVENT_PREFIX):
            if event_type == _COMMENT_ADDED:
                return self._parse_comment_added(data)
            if event_type == _MESSAGE_ADDED:
                return self._parse_message_added(data)
            if event_type.startswith(_TICKET_EVENT_PREFIXES):
                return self._parse_ticket_event(data)
            raise MalformedPayload(
                f"type: unsupported event type {event_type!r}; subscribe the webhook to "
                "ticket events only",
                field="type",
            )
        if "bridge_event" in data:
            return self._parse_bridge_event(data)
        return self._parse_trigger_body(data)

    def _parse_bridge_event(self, data: dict[str, Any]) -> Event:
        kind = str(data.get("bridge_event") or "").strip().lower()
        if kind not in _BRIDGE_EVENTS:
            raise MalformedPayload(
                f"bridge_event: must be one of {', '.join(sorted(_BRIDGE_EVENTS))}",
                field="bridge_event",
            )
        ticket_id = str(data.get("ticket_id") or "").strip()
        if not ticket_id.isdigit():
            raise MalformedPayload("ticket_id: must be a ticket number", field="ticket_id")
        return Event(
            connector=self.name,
            delivery_id=f"{kind}:{ticket_id}",
            ticket_id=ticket_id,
            kind=kind,
            message=None,
            raw=data,
        )

    def ticket_signal(self, event: Event) -> TicketSignal | None:
        url = f"{self.settings.base_url}/agent/tickets/{event.ticket_id}"
        raw = event.raw
        if event.kind == "solved":
            return TicketSignal("solved", event.ticket_id, ticket_url=url)
        if event.kind == "satisfaction":
            rating = _satisfaction(raw.get("rating"))
            if rating is None:  # offered or unoffered: asked, not answered
                return None
            vote, score = rating
            comment = str(raw.get("comment") or "").strip() or None
            return TicketSignal(
                "rating", event.ticket_id, vote=vote, score=score, comment=comment, ticket_url=url
            )
        if raw.get("type") == _STATUS_CHANGED:
            change = raw.get("event") if isinstance(raw.get("event"), dict) else {}
            detail = raw.get("detail") if isinstance(raw.get("detail"), dict) else {}
            current = str(change.get("current") or detail.get("status") or "").lower()
            if current in _SOLVED_STATUSES:
                return TicketSignal("solved", event.ticket_id, ticket_url=url)
        return None

    def _parse_trigger_body(self, data: dict[str, Any]) -> Event:
        body = load_payload(TriggerBodySchema, data)
        ticket_id, comment_id = body["ticket_id"], body["comment_id"]
        tags: tuple[str, ...] = body["tags"]
        message = Message(
            id=comment_id,
            role=self._trigger_role(body),
            text=body["body"],
            public=body["is_public"] if body["is_public"] is not None else True,
            author_id=body["author_id"],
        )
        customer = Customer(
            id=body["requester_id"] or None,
            name=body["requester_name"] or None,
            email=body["requester_email"] or None,
            fields={"organization": body["organization"] or None, "tags": list(tags)},
        )
        return Event(
            connector=self.name,
            # Keyed on the comment, not the invocation: Zendesk may deliver one comment
            # through two invocations (two triggers, or a re-sent invocation).
            delivery_id=f"comment:{ticket_id}:{comment_id}",
            ticket_id=ticket_id,
            kind="comment",
            message=message,
            customer=customer,
            subject=body["subject"] or None,
            tags=tags,
            raw=data,
        )

    def _trigger_role(self, body: Mapping[str, Any]) -> Role:
        """Who wrote the comment a trigger body describes; the first matching rule wins.

        1. ``author_id`` is ``bot_user_id``: BOT, whatever else the body says, so the bot
           never answers itself.
        2. ``author_id`` is ``requester_id``: CUSTOMER. ``{{current_user.role}}`` describes
           whoever made the update, which is not the comment author when an integration
           posts on the customer's behalf, so the id match is trusted more.
        3. ``author_role``: an end-user role is CUSTOMER; any other non-blank role (agent,
           admin, light agent, custom agent roles) is AGENT.
        4. ``via`` is ``Rule``: OTHER_BOT. ``{{ticket.via}}`` is the channel the ticket came
           through rather than the comment, so it is only a hint and is looked at last.
        5. Otherwise AGENT: an author we cannot place is treated as a human, so the bot goes
           quiet rather than talking over a person.
        """
        author = body["author_id"]
        if self.settings.bot_user_id and author == self.settings.bot_user_id:
            return Role.BOT
        if body["requester_id"] and author == body["requester_id"]:
            return Role.CUSTOMER
        role = _normalize_role(body["author_role"])
        if role:
            return Role.CUSTOMER if role in _END_USER_ROLES else Role.AGENT
        if _normalize_role(body["via"]) == "rule":
            return Role.OTHER_BOT
        return Role.AGENT

    def _parse_comment_added(self, data: dict[str, Any]) -> Event:
        envelope = load_payload(CommentAddedSchema, data)
        detail = envelope["detail"]
        comment = envelope["event"]["comment"]
        author = comment["author"]
        ticket_id = detail["id"]

        # Bot first; then Zendesk's own staff flag; without the flag fall back to the
        # requester match, and treat anyone else as a human agent (the safe side).
        if self.settings.bot_user_id and author["id"] == self.settings.bot_user_id:
            role = Role.BOT
        elif author["is_staff"] is not None:
            role = Role.AGENT if author["is_staff"] else Role.CUSTOMER
        elif detail["requester_id"] and author["id"] == detail["requester_id"]:
            role = Role.CUSTOMER
        else:
            role = Role.AGENT

        message = Message(
            id=comment["id"],
            role=role,
            text=comment["body"],
            public=comment["is_public"] if comment["is_public"] is not None else True,
            author_id=author["id"],
            created_at=parse_time(envelope["time"]),
        )
        return Event(
            connector=self.name,
            # Same key as the trigger shape, so both kinds of webhook dedupe together.
            delivery_id=f"comment:{ticket_id}:{comment['id']}",
            ticket_id=ticket_id,
            kind="comment",
            message=message,
            customer=self._envelope_customer(detail),
            subject=detail["subject"] or None,
            tags=detail["tags"],
            raw=data,
        )

    def _parse_message_added(self, data: dict[str, Any]) -> Event:
        envelope = load_payload(MessageAddedSchema, data)
        detail = envelope["detail"]
        actor = envelope["event"]["actor"]
        chat_message = envelope["event"]["message"]
        ticket_id = detail["id"]
        message = Message(
            id=chat_message["id"],
            role=self._actor_role(actor),
            text=chat_message["body"],
            public=True,  # messaging conversations have no internal messages
            author_id=actor["id"] or None,
            created_at=parse_time(envelope["time"]),
        )
        return Event(
            connector=self.name,
            delivery_id=f"message:{ticket_id}:{chat_message['id']}",
            ticket_id=ticket_id,
            kind="comment",
            message=message,
            customer=self._envelope_customer(detail),
            subject=detail["subject"] or None,
            tags=detail["tags"],
            raw=data,
        )

    def _actor_role(self, actor: Mapping[str, str]) -> Role:
        """Bot id first; Zendesk's own bots (type ``system``, ids like ``zd:answerBot``) are
        other bots; then the actor type; an unknown type counts as a human agent."""
        actor_id, actor_type = actor["id"], _normalize_role(actor["type"])
        if self.settings.bot_user_id and actor_id == self.settings.bot_user_id:
            return Role.BOT
        if actor_type == "system" or actor_id.startswith("zd:"):
            return Role.OTHER_BOT
        if actor_type in _END_USER_ROLES:
            return Role.CUSTOMER
        return Role.AGENT

    def _parse_ticket_event(self, data: dict[str, Any]) -> Event:
        envelope = load_payload(_EnvelopeSchema, data)
        detail = envelope["detail"]
        return Event(
            connector=self.name,
            delivery_id=envelope["id"],
            ticket_id=detail["id"],
            kind="ticket_event",
            message=None,
            customer=self._envelope_customer(detail),
            subject=detail["subject"] or None,
            tags=detail["tags"],
            raw=data,
        )

    @staticmethod
    def _envelope_customer(detail: Mapping[str, Any]) -> Customer:
        # Envelopes carry ids only; the organization name is not known here.
        extra: dict[str, Any] = {"organization": None, "tags": list(detail["tags"])}
        if detail["organization_id"]:
            extra["organization_id"] = detail["organization_id"]
        return Customer(id=detail["requester_id"] or None, fields=extra)

    # -- outbound ------------------------------------------------------------------------
    @property
    def has_credentials(self) -> bool:
        return self.settings.has_credentials

    def _pages(
        self, path: str, params: dict[str, Any], max_pages: int = _MAX_PAGES
    ) -> Iterator[dict[str, Any]]:
        """Follow cursor pages (``links.next`` while ``meta.has_more``) or, from endpoints
        that ignore ``page[size]``, offset pages (``next_page``)."""
        http = self.http
        url = path
        query: dict[str, Any] | None = params
        seen: set[str] = set()
        for _ in range(max_pages):
            page = http.get(url, params=query)
            if not isinstance(page, dict):
                return
            yield page
            meta, links = page.get("meta") or {}, page.get("links") or {}
            if "has_more" in meta:
                # A cursor page's last link stays set after the end; has_more decides.
                next_url = links.get("next") if meta.get("has_more") else None
            else:
                next_url = page.get("next_page")
            if not next_url:
                return
            if next_url in seen:
                raise HelpdeskError(f"Zendesk paging repeated itself at {next_url}")
            seen.add(next_url)
            url, query = next_url, None  # the link already carries every parameter
        # Stopping quietly would drop the newest comments, which matter most.
        raise HelpdeskError(f"{path}: more than {max_pages} pages; refusing to read on")

    def fetch_conversation(self, ticket_id: str) -> list[Message]:
        comments: list[dict[str, Any]] = []
        user_roles: dict[str, str] = {}
        path = f"tickets/{self._ticket_ref(ticket_id)}/comments.json"
        for page in self._pages(path, {"page[size]": _PAGE_SIZE, "include": "users"}):
            comments.extend(page.get("comments") or [])
            for user in page.get("users") or []:
                if user.get("id") is not None:
                    user_roles[str(user["id"])] = str(user.get("role") or "")
        return [self._comment_message(comment, user_roles) for comment in comments]

    def _comment_message(
        self, comment: Mapping[str, Any], user_roles: Mapping[str, str]
    ) -> Message:
        author = comment.get("author_id")
        author_id = str(author) if author is not None else None
        text = comment.get("plain_body") or comment.get("body") or ""
        return Message(
            id=str(comment.get("id")),
            role=self._comment_role(comment, author_id, user_roles),
            text=text,
            public=bool(comment.get("public", True)),
            author_id=author_id,
            created_at=parse_time(comment.get("created_at")),
        )

    def _comment_role(
        self, comment: Mapping[str, Any], author_id: str | None, user_roles: Mapping[str, str]
    ) -> Role:
        """Bot id, then trigger/automation comments, then the sideloaded user's role.

        An author missing from the sideload, or with a role we do not know, counts as an
        agent: wrongly going silent costs one slower answer, while wrongly treating a person
        as the customer would have the bot talk over a human who took the ticket.
        """
        if self.settings.bot_user_id and author_id == self.settings.bot_user_id:
            return Role.BOT
        via = comment.get("via") or (comment.get("metadata") or {}).get("via") or {}
        if isinstance(via, dict) and via.get("channel") == "rule":
            return Role.OTHER_BOT
        role = _normalize_role(user_roles.get(author_id or "", ""))
        if role in _END_USER_ROLES:
            return Role.CUSTOMER
        return Role.AGENT

    def post_reply(self, ticket_id: str, text: str) -> str | None:
        return self._update(ticket_id, {"comment": {"body": text, "public": True}})

    def post_note(self, ticket_id: str, text: str) -> str | None:
        return self._update(ticket_id, {"comment": {"body": text, "public": False}})

    def assign_group(self, ticket_id: str, group: str) -> None:
        group_id = self._group_id(group)
        self._update(ticket_id, {"group_id": group_id, "assignee_id": None})

    def escalate(
        self,
        ticket_id: str,
        note: str,
        group: str | None,
        tags: list[str],
        priority: str | None = None,
    ) -> str | None:
        # Resolve first: an unknown group must fail before the note is written, or a retry
        # would add the same note twice.
        group_id = self._group_id(group) if group else None
        update: dict[str, Any] = {"comment": {"body": note, "public": False}}
        if group_id is not None:
            # One update: the note, the new group and the cleared assignee land together.
            update.update(group_id=group_id, assignee_id=None)
        if priority:
            update["priority"] = priority  # Zendesk's own scale: low, normal, high, urgent
        note_id = self._update(ticket_id, update)
        self.add_tags(ticket_id, tags)
        return note_id

    def add_tags(self, ticket_id: str, tags: list[str]) -> None:
        wanted = list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))
        if not wanted:
            return
        # PUT on the tags endpoint adds to the existing set; PUT on the ticket would replace it.
        self.http.put(f"tickets/{self._ticket_ref(ticket_id)}/tags.json", json={"tags": wanted})

    def list_groups(self) -> list[Group]:
        groups: list[Group] = []
        for page in self._pages("groups.json", {"page[size]": _PAGE_SIZE}):
            for item in page.get("groups") or []:
                if item.get("deleted"):
                    continue
                groups.append(Group(id=str(item["id"]), name=str(item.get("name") or "")))
        self._group_ids = {group.name: int(group.id) for group in groups}
        return groups

    def check_credentials(self) -> str:
        # Not users/me: with bad credentials it answers 200 as an anonymous user.
        page = self.http.get("groups.json", params={"page[size]": 1})
        page = page if isinstance(page, dict) else {}
        count = len(page.get("groups") or [])
        host = urlsplit(self.settings.base_url).netloc
        if (page.get("meta") or {}).get("has_more"):
            return f"authenticated to {host}; at least {count + 1} groups visible"
        if count == 0:
            return f"authenticated to {host}; no groups visible, so escalations cannot reassign"
        return f"authenticated to {host}; {count} group visible"

    def check_bot_identity(self) -> str:
        bot = self.settings.bot_user_id
        data = self.http.get("users/me.json")
        user = data.get("user") if isinstance(data, dict) else None
        user = user if isinstance(user, dict) else {}
        user_id = user.get("id")
        if user_id is None:
            # users/me answers 200 with an anonymous user instead of 401 on bad credentials.
            raise HelpdeskError(
                "Zendesk answered users/me as an anonymous user (no id): the credentials "
                "were not accepted, so the bot's identity cannot be confirmed",
                retryable=False,
            )
        who = f"user {user_id} ({user.get('name') or 'no name'}, {user.get('role') or 'no role'})"
        if bot is None:
            raise HelpdeskError(
                f"bot_user_id is not set; the credentials act as {who}: set "
                f'bot_user_id: "{user_id}"',
                retryable=False,
            )
        if str(user_id) != bot:
            raise HelpdeskError(
                f"the credentials act as {who}, but bot_user_id is {bot}: the bot's replies "
                f"will be written by {user_id}, which it would not recognise as its own and "
                "would take for a human agent's (and go quiet); set "
                f'bot_user_id: "{user_id}" or use the bot user\'s credentials',
                retryable=False,
            )
        return f"bot is {who}, the user the credentials act as"

    def list_help_articles(self) -> Iterator[HelpArticle]:
        pages = self._pages(
            "help_center/articles.json", {"page[size]": _PAGE_SIZE}, _MAX_ARTICLE_PAGES
        )
        for page in pages:
            for item in page.get("articles") or []:
                if not isinstance(item, dict) or item.get("id") is None:
                    continue
                # Drafts are unpublished, and a user segment limits who may read an
                # article: neither may be quoted to a customer.
                if item.get("draft") or item.get("user_segment_id") is not None:
                    continue
                if item.get("user_segment_ids"):
                    continue
                section = item.get("section_id")
                yield HelpArticle(
                    id=str(item["id"]),
                    title=str(item.get("title") or ""),
                    body_html=str(item.get("body") or ""),
                    url=item.get("html_url") or None,
                    updated_at=parse_time(item.get("updated_at")),
                    locale=item.get("locale") or None,
                    section=str(section) if section is not None else None,
                )

    # -- wiring --------------------------------------------------------------------------
    @property
    def wiring_name(self) -> str:
        """Name of the webhook and title of the trigger ``connect`` manages; finding them
        again by this name is what makes a second run update instead of duplicate."""
        return f"helpdesk-bridge: {self.name}"

    def webhook_definition(self, webhook_url: str) -> dict[str, Any]:
        return {
            "name": self.wiring_name,
            "description": (
                "Receives ticket comments from the trigger of the same name. Managed by "
                "helpdesk-bridge connect."
            ),
            "status": "active",
            "endpoint": webhook_url,
            "http_method": "POST",
            "request_format": "json",
            # Trigger-connected: the trigger's action sends our own JSON body.
            "subscriptions": [_TRIGGER_SUBSCRIPTION],
        }

    def trigger_definition(self, webhook_id: str) -> dict[str, Any]:
        return {
            "title": self.wiring_name,
            "description": (
                "Sends every new comment, public or internal, to helpdesk-bridge, except "
                "updates made through the API. Managed by helpdesk-bridge connect; edits "
                "are overwritten when it runs again."
            ),
            "active": True,
            "conditions": {
                "all": [
                    # Any comment: internal notes too, so an agent taking over is noticed
                    # at once rather than at the bot's next reply.
                    {"field": "comment_is_public", "value": "not_relevant"},
                    # Not API updates: the bot's own replies would otherwise come back.
                    {"field": "current_via_id", "operator": "is_not", "value": _VIA_WEB_SERVICE},
                ],
                "any": [],
            },
            "actions": [
                {
                    "field": "notification_webhook",
                    "value": [webhook_id, json.dumps(TRIGGER_BODY_TEMPLATE, indent=2)],
                }
            ],
        }

    def connect(self, webhook_url: str) -> WiringResult:
        parts = urlsplit(webhook_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise HelpdeskError(f"not an absolute http(s) URL: {webhook_url!r}")
        lines: list[str] = []
        webhook_id = self._ensure_webhook(webhook_url, lines)
        secret = self._signing_secret(webhook_id)
        self._ensure_trigger(webhook_id, lines)
        lines.append(
            "comments made through the API (the bot's and other integrations') do not fire "
            "the trigger; the bridge still sees them when it re-reads a ticket"
        )
        lines.append(f"ZENDESK_SIGNING_SECRET={secret}")
        if secret == self.settings.signing_secret:
            lines.append(f"connectors.{self.name}.signing_secret already holds this secret")
        else:
            lines.append(
                f"put it in the config as connectors.{self.name}.signing_secret (e.g. "
                "signing_secret: ${ZENDESK_SIGNING_SECRET}) and restart the web process; "
                "until then deliveries are refused as badly signed"
            )
        return WiringResult(automated=True, lines=tuple(lines))

    def _ensure_webhook(self, webhook_url: str, lines: list[str]) -> str:
        """Reuse our webhook (matched by endpoint, then name), correcting it if needed,
        or create it; return its id."""
        wanted = self.webhook_definition(webhook_url)
        candidates = [
            item
            for page in self._pages("webhooks", {"page[size]": _PAGE_SIZE})
            for item in page.get("webhooks") or []
            if isinstance(item, dict)
            # Subscriptions are fixed at creation; an event-subscribed webhook cannot be
            # the target of a trigger, so it is not ours to reuse.
            and _TRIGGER_SUBSCRIPTION in (item.get("subscriptions") or [])
        ]

        def rank(item: Mapping[str, Any]) -> int:
            same_url = item.get("endpoint") == webhook_url
            same_name = item.get("name") == self.wiring_name
            return 2 * same_url + same_name

        ranked = sorted((w for w in candidates if rank(w)), key=rank, reverse=True)
        if not ranked:
            created = self.http.post("webhooks", json={"webhook": wanted})
            webhook_id = self._webhook_id(created)
            lines.append(f"created webhook {self.wiring_name!r} ({webhook_id}) -> {webhook_url}")
            return webhook_id

        found = ranked[0]
        webhook_id = self._webhook_id({"webhook": found})
        keys = ("name", "status", "endpoint", "http_method", "request_format")
        stale = [key for key in keys if found.get(key) != wanted[key]]
        if stale:
            self.http.put(f"webhooks/{webhook_id}", json={"webhook": wanted})
            lines.append(
                f"updated webhook {found.get('name')!r} ({webhook_id}): "
                f"{', '.join(stale)} -> {webhook_url}"
            )
        else:
            lines.append(
                f"webhook {self.wiring_name!r} ({webhook_id}) already sends to {webhook_url}"
            )
        return webhook_id

    @staticmethod
    def _webhook_id(response: Any) -> str:
        webhook = response.get("webhook") if isinstance(response, dict) else None
        webhook_id = webhook.get("id") if isinstance(webhook, dict) else None
        # The id goes into URL paths: accept only what Zendesk's ULID-like ids look like.
        if not isinstance(webhook_id, str) or not _WEBHOOK_ID.fullmatch(webhook_id):
            raise HelpdeskError(f"Zendesk returned a webhook without a usable id: {webhook_id!r}")
        return webhook_id

    def _signing_secret(self, webhook_id: str) -> str:
        data = self.http.get(f"webhooks/{webhook_id}/signing_secret")
        holder = data.get("signing_secret") if isinstance(data, dict) else None
        secret = holder.get("secret") if isinstance(holder, dict) else None
        if not isinstance(secret, str) or not secret:
            raise HelpdeskError(f"Zendesk returned no signing secret for webhook {webhook_id}")
        return secret

    def _ensure_trigger(self, webhook_id: str, lines: list[str]) -> None:
        """Create our trigger, or rewrite the one with our title to the current definition."""
        ours = [
            item
            for page in self._pages("triggers.json", {"page[size]": _PAGE_SIZE})
            for item in page.get("triggers") or []
            if isinstance(item, dict) and item.get("title") == self.wiring_name
        ]
        body = {"trigger": self.trigger_definition(webhook_id)}
        if not ours:
            created = self.http.post("triggers.json", json=body)
            trigger = created.get("trigger") if isinstance(created, dict) else None
            trigger_id = trigger.get("id") if isinstance(trigger, dict) else None
            lines.append(f"created trigger {self.wiring_name!r} ({trigger_id})")
            return
        # The oldest (lowest id) is the one earlier runs have been updating.
        ours.sort(key=lambda item: int(item["id"]) if str(item.get("id")).isdigit() else 2**63)
        trigger_id = str(ours[0].get("id"))
        if not (trigger_id.isascii() and trigger_id.isdigit()):
            raise HelpdeskError(f"Zendesk listed a trigger without a usable id: {trigger_id!r}")
        # A PUT replaces conditions and actions wholesale, so this is safe to repeat.
        self.http.put(f"triggers/{trigger_id}.json", json=body)
        lines.append(f"updated trigger {self.wiring_name!r} ({trigger_id})")
        for extra in ours[1:]:
            lines.append(
                f"another trigger is also titled {self.wiring_name!r} ({extra.get('id')}); "
                "delete it in Admin Center, or comments are sent twice"
            )

    # -- helpers -------------------------------------------------------------------------
    def _update(self, ticket_id: str, ticket: dict[str, Any]) -> str | None:
        """PUT one ticket update; return the id of the comment it created, if any."""
        response = self.http.put(
            f"tickets/{self._ticket_ref(ticket_id)}.json",
            json={"ticket": ticket},
            # A repeated PUT with a comment posts the comment twice.
            idempotent="comment" not in ticket,
        )
        audit = response.get("audit") if isinstance(response, dict) else None
        for event in (audit or {}).get("events") or []:
            if event.get("type") == "Comment" and event.get("id") is not None:
                return str(event["id"])
        return None


CONNECTOR = ZendeskConnector
