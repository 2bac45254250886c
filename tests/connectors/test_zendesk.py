"""The Zendesk connector against real payload fixtures and mocked REST calls."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from marshmallow import ValidationError
from responses import matchers

import connectors
from bridge.events import Event, Role
from connectors.base import (
    BadSignature,
    Group,
    HelpdeskError,
    MalformedPayload,
    NotConfigured,
    WebhookRequest,
)
from connectors.zendesk import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TRIGGER_BODY_TEMPLATE,
    TriggerBodySchema,
    ZendeskConnector,
    ZendeskSettings,
    ZendeskSettingsSchema,
)

# The static secret Zendesk signs builder test requests with (zendesk.md §1.6).
DOC_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
SECRET = "wMZJU7Dlw7pdGPBAs7fz3lVSjF5Hef8mqD7avv5n7zs="
BOT_ID = "6130907993114"
API = "https://acme.zendesk.com/api/v2"
NOW = datetime(2025, 2, 11, 14, 32, 5, tzinfo=UTC)
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "webhooks" / "zendesk"

FixtureBytes = Callable[[str, str], bytes]
FixtureJson = Callable[[str, str], Any]


def load_settings(**overrides: Any) -> ZendeskSettings:
    config: dict[str, Any] = {
        "subdomain": "acme",
        "signing_secret": SECRET,
        "email": "support-bot@example.com",
        "api_token": "api-token-123",
        "bot_user_id": BOT_ID,
    }
    config.update(overrides)
    return ZendeskSettingsSchema().load({k: v for k, v in config.items() if v is not None})


def make_connector(sleeps: list[float] | None = None, **overrides: Any) -> ZendeskConnector:
    recorder: list[float] = sleeps if sleeps is not None else []
    return ZendeskConnector("support", load_settings(**overrides), sleep=recorder.append)


def dry_run_connector() -> ZendeskConnector:
    """What the README quick start uses: a secret, no credentials, no bot user id."""
    settings = ZendeskSettingsSchema().load({"subdomain": "acme", "signing_secret": SECRET})
    return ZendeskConnector("support", settings)


def signed(connector: ZendeskConnector, body: bytes, now: datetime = NOW) -> WebhookRequest:
    return WebhookRequest(method="POST", headers=connector.sign(body, now), body=body)


def receive(connector: ZendeskConnector, body: bytes) -> Event:
    """The web layer's order: verify, then parse."""
    request = signed(connector, body)
    connector.verify(request, NOW)
    return connector.parse(request)


def as_body(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


def trigger_body(**values: str) -> dict[str, str]:
    body = {key: "" for key in TRIGGER_BODY_TEMPLATE}
    body.update(ticket_id="42", comment_id="501", author_id="9001", requester_id="9001")
    body.update(values)
    return body


# -- settings ------------------------------------------------------------------------------
def test_registered_under_its_type_name() -> None:
    assert connectors.registry()["zendesk"] is ZendeskConnector
    assert ZendeskConnector.settings_schema is ZendeskSettingsSchema


def test_settings_defaults_and_secrets_kept_out_of_repr() -> None:
    settings = ZendeskSettingsSchema().load({"subdomain": "acme", "signing_secret": SECRET})

    assert settings.base_url == "https://acme.zendesk.com"
    assert settings.timeout_seconds == 10.0
    assert settings.max_retries == 3
    assert settings.max_webhook_age_seconds == 300
    assert settings.has_credentials is False
    assert SECRET not in repr(settings)


def test_settings_accept_base_url_override_and_numeric_bot_id() -> None:
    settings = load_settings(base_url="http://localhost:8089/api/v2/", bot_user_id=123)

    assert settings.base_url == "http://localhost:8089"
    assert settings.bot_user_id == "123"


@pytest.mark.parametrize(
    ("config", "errors"),
    [
        ({"signing_secret": SECRET}, {"subdomain": "Missing data"}),
        ({"subdomain": "acme"}, {"signing_secret": "Missing data"}),
        ({"subdomain": "acme.zendesk.com", "signing_secret": SECRET}, {"subdomain": "only the"}),
        ({"subdomain": "acme", "signing_secret": " "}, {"signing_secret": "must not be empty"}),
        (
            {"subdomain": "acme", "signing_secret": SECRET, "email": "a@example.com"},
            {"api_token": "required when email", "bot_user_id": "required when API"},
        ),
        (
            {"subdomain": "acme", "signing_secret": SECRET, "api_token": "t", "bot_user_id": "1"},
            {"email": "required when api_token"},
        ),
        (
            {
                "subdomain": "acme",
                "signing_secret": SECRET,
                "email": "a@example.com",
                "api_token": "t",
                "oauth_token": "o",
                "bot_user_id": "1",
            },
            {"oauth_token": "not both"},
        ),
        (
            {"subdomain": "acme", "signing_secret": SECRET, "oauth_token": "o"},
            {"bot_user_id": "required when API credentials are set"},
        ),
        (
            {"subdomain": "acme", "signing_secret": SECRET, "bot_user_id": "me"},
            {"bot_user_id": "digits"},
        ),
        ({"subdomain": "acme", "signing_secret": SECRET, "timeout": 5}, {"timeout": "Unknown"}),
        (
            {"subdomain": "acme", "signing_secret": SECRET, "max_retries": -1},
            {"max_retries": "greater than or equal"},
        ),
    ],
)
def test_settings_errors_are_keyed_by_field(config: dict[str, Any], errors: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as caught:
        ZendeskSettingsSchema().load(config)

    messages = caught.value.messages
    assert isinstance(messages, dict)
    assert set(messages) == set(errors)
    for field_name, fragment in errors.items():
        assert fragment in " ".join(messages[field_name])


def test_api_token_auth_header() -> None:
    header = load_settings().auth_header()

    assert header is not None
    scheme, encoded = header.split(" ", 1)
    assert scheme == "Basic"
    assert base64.b64decode(encoded) == b"support-bot@example.com/token:api-token-123"


@responses.activate
def test_oauth_token_is_sent_as_bearer() -> None:
    responses.add(responses.GET, f"{API}/groups.json", json={"groups": [], "meta": {}})
    connector = make_connector(email=None, api_token=None, oauth_token="oauth-abc")

    connector.check_credentials()

    assert responses.calls[0].request.headers["Authorization"] == "Bearer oauth-abc"


# -- signatures ----------------------------------------------------------------------------
def test_documented_test_vector() -> None:
    connector = make_connector(signing_secret=DOC_SECRET)
    body = b'{"event":"ticket.updated","id":123}'
    sent_at = datetime(2021, 3, 25, 5, 9, 27, tzinfo=UTC)

    headers = connector.sign(body, sent_at)

    assert headers == {
        SIGNATURE_HEADER: "S/RDdU2ERmj7LHDDoWJ2onPYH+t7/f2+LTM4dL7UiLM=",
        TIMESTAMP_HEADER: "2021-03-25T05:09:27Z",
    }
    request = WebhookRequest(method="POST", headers=headers, body=body)
    connector.verify(request, sent_at + timedelta(seconds=30))


def test_headers_are_matched_case_insensitively() -> None:
    connector = make_connector()
    body = b'{"ticket_id":"1"}'
    headers = {name.lower(): value for name, value in connector.sign(body, NOW).items()}

    connector.verify(WebhookRequest(method="POST", headers=headers, body=body), NOW)


def test_tampered_body_is_rejected() -> None:
    connector = make_connector()
    request = signed(connector, b'{"ticket_id":"1"}')
    tampered = WebhookRequest(method="POST", headers=request.headers, body=b'{"ticket_id":"2"}')

    with pytest.raises(BadSignature, match="does not match") as caught:
        connector.verify(tampered, NOW)

    assert caught.value.status == 401


def test_wrong_secret_is_rejected() -> None:
    body = b'{"ticket_id":"1"}'
    request = signed(make_connector(signing_secret="another-secret"), body)

    with pytest.raises(BadSignature, match="signing_secret"):
        make_connector().verify(request, NOW)


def test_base64_decoded_secret_is_not_what_zendesk_uses() -> None:
    # Zendesk keys the HMAC with the secret string itself, even though it looks like base64.
    connector = make_connector()
    body = b'{"ticket_id":"1"}'
    stamp = connector.sign(body, NOW)[TIMESTAMP_HEADER]
    decoded_key = base64.b64decode(SECRET)
    digest = hmac.new(decoded_key, stamp.encode() + body, hashlib.sha256).digest()
    headers = {SIGNATURE_HEADER: base64.b64encode(digest).decode(), TIMESTAMP_HEADER: stamp}

    with pytest.raises(BadSignature):
        connector.verify(WebhookRequest(method="POST", headers=headers, body=body), NOW)


@pytest.mark.parametrize("missing", [SIGNATURE_HEADER, TIMESTAMP_HEADER])
def test_missing_header_is_rejected(missing: str) -> None:
    connector = make_connector()
    body = b"{}"
    headers = {k: v for k, v in connector.sign(body, NOW).items() if k != missing}

    with pytest.raises(BadSignature, match=f"missing {missing}"):
        connector.verify(WebhookRequest(method="POST", headers=headers, body=body), NOW)


def test_signature_that_is_not_base64_is_rejected() -> None:
    connector = make_connector()
    headers = connector.sign(b"{}", NOW)
    headers[SIGNATURE_HEADER] = "not base64!"

    with pytest.raises(BadSignature, match="not base64"):
        connector.verify(WebhookRequest(method="POST", headers=headers, body=b"{}"), NOW)


@pytest.mark.parametrize(
    ("offset", "word"), [(timedelta(seconds=-301), "old"), (timedelta(seconds=301), "future")]
)
def test_timestamps_outside_the_window_are_rejected(offset: timedelta, word: str) -> None:
    connector = make_connector()
    request = signed(connector, b"{}", now=NOW + offset)

    with pytest.raises(BadSignature, match=word):
        connector.verify(request, NOW)


def test_timestamps_inside_the_window_are_accepted() -> None:
    connector = make_connector(max_webhook_age_seconds=60)

    connector.verify(signed(connector, b"{}", now=NOW - timedelta(seconds=59)), NOW)
    connector.verify(signed(connector, b"{}", now=NOW + timedelta(seconds=59)), NOW)


def test_unparseable_timestamp_is_rejected_even_when_signed() -> None:
    connector = make_connector()
    body = b"{}"
    stamp = "yesterday"
    headers = {SIGNATURE_HEADER: connector._signature(stamp, body), TIMESTAMP_HEADER: stamp}

    with pytest.raises(BadSignature, match="RFC 3339"):
        connector.verify(WebhookRequest(method="POST", headers=headers, body=body), NOW)


def test_fractional_second_timestamps_are_accepted() -> None:
    connector = make_connector()
    body = b"{}"
    stamp = "2025-02-11T14:32:05.254571515Z"
    headers = {SIGNATURE_HEADER: connector._signature(stamp, body), TIMESTAMP_HEADER: stamp}

    connector.verify(WebhookRequest(method="POST", headers=headers, body=body), NOW)


# -- parsing: real fixtures ----------------------------------------------------------------
def test_ticket_comment_added_by_staff(fixture_bytes: FixtureBytes) -> None:
    body = fixture_bytes("zendesk", "webhook_event_ticket_comment_added.third-party-sample.json")

    event = receive(make_connector(), body)

    assert event.connector == "support"
    assert event.kind == "comment"
    assert event.ticket_id == "5158"
    assert event.delivery_id == "comment:5158:9876543210"
    assert event.subject == "Cannot login to mobile app"
    assert event.tags == ("mobile", "login", "priority-support")
    assert event.customer.id == "8447388090494"
    assert event.customer.fields["tags"] == ["mobile", "login", "priority-support"]
    assert event.customer.fields["organization_id"] == "8447346622462"
    message = event.message
    assert message is not None
    assert message.role is Role.AGENT
    assert message.id == "9876543210"
    assert message.text == "We are investigating this issue and will update you shortly."
    assert message.public is True
    assert message.author_id == "8447388090495"
    assert message.created_at == datetime(2025, 1, 8, 14, 25, 30, 123456, tzinfo=UTC)


def test_ticket_comment_added_by_our_bot(fixture_bytes: FixtureBytes) -> None:
    body = fixture_bytes("zendesk", "webhook_event_ticket_comment_added.third-party-sample.json")

    event = receive(make_connector(bot_user_id="8447388090495"), body)

    assert event.message is not None
    assert event.message.role is Role.BOT


@pytest.mark.parametrize(
    ("author", "role"),
    [
        ({"id": "8447388090494", "is_staff": False}, Role.CUSTOMER),
        # Without the staff flag: the requester is the customer, anyone else a human agent.
        ({"id": "8447388090494"}, Role.CUSTOMER),
        ({"id": "1234"}, Role.AGENT),
    ],
)
def test_ticket_comment_added_roles(
    fixture_json: FixtureJson, author: dict[str, Any], role: Role
) -> None:
    data = fixture_json("zendesk", "webhook_event_ticket_comment_added.third-party-sample.json")
    data["event"]["comment"]["author"] = author

    event = receive(make_connector(), as_body(data))

    assert event.message is not None
    assert event.message.role is role


def test_messaging_message_from_answer_bot(fixture_bytes: FixtureBytes) -> None:
    body = fixture_bytes(
        "zendesk", "webhook_event_messaging_ticket_message_added.docs-example.json"
    )

    event = receive(make_connector(), body)

    assert event.kind == "comment"
    assert event.ticket_id == "141"
    assert event.delivery_id == "message:141:67ab5f55155becd183e284cb"
    message = event.message
    assert message is not None
    assert message.role is Role.OTHER_BOT
    assert message.text == "Hi there. How can I help you today?"
    assert message.author_id == "zd:answerBot"
    assert message.created_at is not None


@pytest.mark.parametrize(
    ("actor", "role"),
    [
        ({"id": "abc123", "type": "user"}, Role.CUSTOMER),
        ({"id": "abc123", "type": "end-user"}, Role.CUSTOMER),
        ({"id": "777", "type": "agent"}, Role.AGENT),
        ({"id": BOT_ID, "type": "agent"}, Role.BOT),
        ({"id": "zd:answerBot", "type": "bot"}, Role.OTHER_BOT),
        ({"id": "x", "type": "something-new"}, Role.AGENT),
    ],
)
def test_messaging_actor_roles(
    fixture_json: FixtureJson, actor: dict[str, str], role: Role
) -> None:
    data = fixture_json("zendesk", "webhook_event_messaging_ticket_message_added.docs-example.json")
    data["event"]["actor"] = actor

    event = receive(make_connector(), as_body(data))

    assert event.message is not None
    assert event.message.role is role


def test_other_ticket_events_have_no_message(fixture_json: FixtureJson) -> None:
    data = fixture_json("zendesk", "webhook_event_ticket_comment_added.third-party-sample.json")
    data["type"] = "zen:event-type:ticket.status_changed"
    data["event"] = {"current": "SOLVED", "previous": "OPEN"}

    event = receive(make_connector(), as_body(data))

    assert event.kind == "ticket_event"
    assert event.message is None
    assert event.ticket_id == "5158"
    assert event.delivery_id == "d4f5c389-8f4a-4c2e-a1b9-8e4f39c71d52"


def test_non_ticket_event_types_are_refused(fixture_json: FixtureJson) -> None:
    data = fixture_json("zendesk", "webhook_event_ticket_comment_added.third-party-sample.json")
    data["type"] = "zen:event-type:user.created"

    with pytest.raises(MalformedPayload) as caught:
        receive(make_connector(), as_body(data))

    assert caught.value.field == "type"


def test_someone_elses_trigger_body_names_the_first_missing_field(
    fixture_bytes: FixtureBytes,
) -> None:
    body = fixture_bytes("zendesk", "webhook_trigger_json_body.zulip.json")

    with pytest.raises(MalformedPayload) as caught:
        receive(make_connector(), body)

    assert caught.value.field == "comment_id"
    assert caught.value.message == "comment_id: missing required field"
    assert caught.value.status == 400
    assert caught.value.to_json() == {
        "error": "comment_id: missing required field",
        "field": "comment_id",
    }


# -- parsing: our trigger template ---------------------------------------------------------
def test_trigger_template_end_user_comment(fixture_bytes: FixtureBytes) -> None:
    body = fixture_bytes("zendesk", "webhook_trigger_template.end_user_comment.json")

    event = receive(make_connector(), body)

    assert event.kind == "comment"
    assert event.ticket_id == "35436"
    assert event.delivery_id == "comment:35436:1274"
    assert event.subject == "Help, my printer is on fire!"
    assert event.tags == ("enterprise", "other_tag")
    assert event.customer.id == "20978392"
    assert event.customer.name == "Printer Owner"
    assert event.customer.email == "owner@example.com"
    assert event.customer.fields == {"organization": "Acme", "tags": ["enterprise", "other_tag"]}
    message = event.message
    assert message is not None
    assert message.role is Role.CUSTOMER
    assert message.text == 'The printer is still "colorful".\nWhat now?'
    assert message.public is True
    assert message.author_id == "20978392"
    assert event.raw["ticket_id"] == "35436"


def test_trigger_template_agent_private_note(fixture_bytes: FixtureBytes) -> None:
    body = fixture_bytes("zendesk", "webhook_trigger_template.agent_private_note.json")

    event = receive(make_connector(), body)

    assert event.message is not None
    assert event.message.role is Role.AGENT
    assert event.message.public is False


def test_template_constant_matches_the_schema() -> None:
    assert list(TRIGGER_BODY_TEMPLATE) == list(TriggerBodySchema().fields)
    for value in TRIGGER_BODY_TEMPLATE.values():
        assert value.startswith("{{") and value.endswith("}}")


@pytest.mark.parametrize(
    ("values", "role"),
    [
        # bot id wins over everything else
        ({"author_id": BOT_ID, "requester_id": BOT_ID, "author_role": "End-user"}, Role.BOT),
        # the requester is the customer even when the update was made by an agent
        ({"author_id": "9001", "requester_id": "9001", "author_role": "Admin"}, Role.CUSTOMER),
        ({"author_id": "555", "author_role": "End-user"}, Role.CUSTOMER),
        ({"author_id": "555", "author_role": "end user"}, Role.CUSTOMER),
        ({"author_id": "555", "author_role": "Agent"}, Role.AGENT),
        ({"author_id": "555", "author_role": "Admin"}, Role.AGENT),
        ({"author_id": "555", "author_role": "Light Agent"}, Role.AGENT),
        ({"author_id": "555", "author_role": "", "via": "Rule"}, Role.OTHER_BOT),
        ({"author_id": "555", "author_role": "Agent", "via": "Rule"}, Role.AGENT),
        # unknown author: a human, so the bot stays out of it
        ({"author_id": "555", "author_role": "", "via": "Mail"}, Role.AGENT),
    ],
)
def test_trigger_role_precedence(values: dict[str, str], role: Role) -> None:
    values.setdefault("requester_id", "9001")

    event = receive(make_connector(), as_body(trigger_body(**values)))

    assert event.message is not None
    assert event.message.role is role


def test_same_comment_dedupes_across_deliveries_and_shapes(fixture_json: FixtureJson) -> None:
    connector = make_connector()
    envelope = fixture_json("zendesk", "webhook_event_ticket_comment_added.third-party-sample.json")
    via_trigger = trigger_body(ticket_id="5158", comment_id="9876543210")

    first = receive(connector, as_body(via_trigger))
    again = receive(connector, as_body(via_trigger))
    as_event = receive(connector, as_body(envelope))

    assert first.delivery_id == again.delivery_id == as_event.delivery_id


def test_values_arriving_as_json_numbers_and_booleans_are_accepted() -> None:
    data: dict[str, Any] = trigger_body()
    data.update(ticket_id=42, comment_id=501, author_id=9001, requester_id=9001, is_public=False)

    event = receive(make_connector(), as_body(data))

    assert event.ticket_id == "42"
    assert event.message is not None
    assert event.message.public is False
    assert event.message.role is Role.CUSTOMER


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (b"not json", "body", "body is not valid JSON"),
        (b"[1, 2]", "body", "body is not valid JSON"),
        (b"\xff\xfe", "body", "body is not valid JSON"),
        (as_body(trigger_body(ticket_id="")), "ticket_id", "ticket_id: missing required field"),
        (as_body(trigger_body(author_id="  ")), "author_id", "author_id: missing required field"),
        (
            as_body(trigger_body(ticket_id="{{ticket.id}}")),
            "ticket_id",
            "ticket_id: not a ticket number: '{{ticket.id}}'",
        ),
        (
            as_body(trigger_body(is_public="maybe")),
            "is_public",
            "is_public: must be true or false",
        ),
    ],
)
def test_malformed_bodies_name_the_field(body: bytes, field: str, message: str) -> None:
    with pytest.raises(MalformedPayload) as caught:
        make_connector().parse(WebhookRequest(method="POST", headers={}, body=body))

    assert caught.value.field == field
    assert caught.value.message == message


def test_missing_nested_envelope_field_is_named_by_path(fixture_json: FixtureJson) -> None:
    data = fixture_json("zendesk", "webhook_event_ticket_comment_added.third-party-sample.json")
    del data["event"]["comment"]["id"]

    with pytest.raises(MalformedPayload) as caught:
        make_connector().parse(WebhookRequest(method="POST", headers={}, body=as_body(data)))

    assert caught.value.field == "event.comment.id"
    assert caught.value.message == "event.comment.id: missing required field"


# -- shipped replay examples ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "ticket_id", "role"),
    [
        ("01_how_to_question.json", "1001", Role.CUSTOMER),
        ("02_human_request.json", "1002", Role.CUSTOMER),
        ("03_agent_comment.json", "1003", Role.AGENT),
        ("04_customer_after_agent.json", "1003", Role.CUSTOMER),
    ],
)
def test_shipped_examples_parse_with_a_dry_run_connector(
    name: str, ticket_id: str, role: Role
) -> None:
    connector = dry_run_connector()

    event = receive(connector, (EXAMPLES_DIR / name).read_bytes())

    assert event.ticket_id == ticket_id
    assert event.message is not None
    assert event.message.role is role
    assert event.message.text


def test_shipped_examples_cover_every_template_key() -> None:
    for path in sorted(EXAMPLES_DIR.glob("*.json")):
        assert set(json.loads(path.read_text())) == set(TRIGGER_BODY_TEMPLATE), path.name


# -- REST: without credentials -------------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.fetch_conversation("1"),
        lambda c: c.post_reply("1", "hi"),
        lambda c: c.post_note("1", "note"),
        lambda c: c.assign_group("1", "Support"),
        lambda c: c.add_tags("1", ["a"]),
        lambda c: c.list_groups(),
        lambda c: c.check_credentials(),
        lambda c: c.escalate("1", "note", "Support", ["a"]),
    ],
)
@responses.activate
def test_api_calls_without_credentials_raise_not_configured(
    call: Callable[[ZendeskConnector], Any],
) -> None:
    connector = dry_run_connector()

    assert connector.has_credentials is False
    with pytest.raises(NotConfigured, match="no Zendesk API credentials"):
        call(connector)
    assert len(responses.calls) == 0


# -- REST: reading -------------------------------------------------------------------------
@responses.activate
def test_fetch_conversation_follows_cursor_pages_with_sideloaded_roles(
    fixture_json: FixtureJson,
) -> None:
    next_link = (
        f"{API}/tickets/33/comments.json?include=users&page%5Bafter%5D=c1&page%5Bsize%5D=100"
    )
    first_page = {
        "comments": [
            {
                "id": 1,
                "author_id": 501,
                "body": "<p>My export fails</p>",
                "plain_body": "My export fails",
                "public": True,
                "via": {"channel": "web"},
                "created_at": "2024-09-06T18:40:00Z",
            },
            {
                "id": 2,
                "author_id": int(BOT_ID),
                "body": "Try Settings > Export.",
                "public": True,
                "via": {"channel": "api"},
                "created_at": "2024-09-06T18:41:00Z",
            },
            {
                "id": 3,
                "author_id": 502,
                "body": "Your request was received.",
                "public": True,
                "via": {"channel": "rule"},
                "created_at": "2024-09-06T18:42:00Z",
            },
            {
                "id": 4,
                "author_id": 999,
                "body": "Someone not in the sideload.",
                "public": False,
                "via": {"channel": "web"},
                "created_at": "2024-09-06T18:43:00Z",
            },
        ],
        "users": [
            {"id": 501, "role": "end-user", "name": "Customer"},
            {"id": int(BOT_ID), "role": "agent", "name": "Support Bot"},
            {"id": 502, "role": "admin", "name": "Automation owner"},
        ],
        "meta": {"has_more": True, "after_cursor": "c1"},
        "links": {"next": next_link},
    }
    # The real last page says has_more=false while still carrying a next link.
    last_page = fixture_json(
        "zendesk", "api_list_ticket_comments.cursor.response.zenpy-cassette.json"
    )
    last_page["users"] = [{"id": 26155588908179, "role": "admin", "name": "Joshua Teitelbaum"}]
    responses.add(
        responses.GET,
        f"{API}/tickets/33/comments.json",
        json=first_page,
        match=[matchers.query_param_matcher({"page[size]": "100", "include": "users"})],
    )
    responses.add(responses.GET, next_link, json=last_page)

    messages = make_connector().fetch_conversation("33")

    assert len(responses.calls) == 2
    assert responses.calls[1].request.url == next_link
    assert [m.id for m in messages] == ["1", "2", "3", "4", "33144692244499"]
    assert [m.role for m in messages] == [
        Role.CUSTOMER,
        Role.BOT,
        Role.OTHER_BOT,
        Role.AGENT,
        Role.AGENT,
    ]
    assert messages[0].text == "My export fails"
    assert messages[0].author_id == "501"
    assert messages[0].created_at == datetime(2024, 9, 6, 18, 40, tzinfo=UTC)
    assert messages[3].public is False
    assert messages[4].text == "Some comment"


@responses.activate
def test_fetch_conversation_reports_a_missing_ticket(fixture_bytes: FixtureBytes) -> None:
    responses.add(
        responses.GET,
        f"{API}/tickets/404404/comments.json",
        body=fixture_bytes(
            "zendesk", "api_error_404_record_not_found.response.zenpy-cassette.json"
        ),
        status=404,
        content_type="application/json",
    )

    with pytest.raises(HelpdeskError) as caught:
        make_connector().fetch_conversation("404404")

    assert caught.value.status == 404
    assert caught.value.retryable is False
    assert caught.value.vendor_message == "RecordNotFound: Not found"


@responses.activate
def test_ticket_ids_must_be_numbers_before_any_call() -> None:
    with pytest.raises(HelpdeskError, match="not a Zendesk ticket id"):
        make_connector().post_reply("../users/1", "hi")

    assert len(responses.calls) == 0


@responses.activate
def test_list_groups_follows_cursor_pages(fixture_json: FixtureJson) -> None:
    first_page = fixture_json(
        "zendesk", "api_list_groups.cursor_page_size_1.response.zenpy-cassette.json"
    )
    next_link = first_page["links"]["next"]
    last_page = {
        "groups": [
            {"id": 6130852536999, "name": "Billing", "deleted": False},
            {"id": 6130852537000, "name": "Old team", "deleted": True},
        ],
        "meta": {"has_more": False},
        "links": {"next": None},
    }
    responses.add(
        responses.GET,
        f"{API}/groups.json",
        json=first_page,
        match=[matchers.query_param_matcher({"page[size]": "100"})],
    )
    responses.add(responses.GET, next_link, json=last_page)

    groups = make_connector().list_groups()

    assert groups == [
        Group(id="6130852536346", name="Support"),
        Group(id="6130852536999", name="Billing"),
    ]


@responses.activate
def test_check_credentials_uses_groups_not_users_me(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.GET,
        f"{API}/groups.json",
        json=fixture_json(
            "zendesk", "api_list_groups.cursor_page_size_1.response.zenpy-cassette.json"
        ),
        match=[matchers.query_param_matcher({"page[size]": "1"})],
    )

    summary = make_connector().check_credentials()

    assert summary == "authenticated to acme.zendesk.com; at least 2 groups visible"


@responses.activate
def test_check_credentials_reports_rejected_credentials() -> None:
    responses.add(
        responses.GET, f"{API}/groups.json", status=401, json={"error": "Couldn't authenticate you"}
    )
    sleeps: list[float] = []

    with pytest.raises(HelpdeskError, match="credentials were rejected") as caught:
        make_connector(sleeps).check_credentials()

    assert caught.value.status == 401
    assert caught.value.retryable is False
    assert sleeps == []


# -- REST: writing -------------------------------------------------------------------------
def put_ticket(ticket_id: str, expected: dict[str, Any], response: Any) -> None:
    responses.add(
        responses.PUT,
        f"{API}/tickets/{ticket_id}.json",
        json=response,
        match=[matchers.json_params_matcher({"ticket": expected}, strict_match=True)],
    )


def groups_listed(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.GET,
        f"{API}/groups.json",
        json=fixture_json("zendesk", "api_list_groups.response.oas-example.json"),
    )


def written(method: str = "PUT") -> list[str]:
    return [call.request.url or "" for call in responses.calls if call.request.method == method]


@responses.activate
def test_post_reply_is_a_public_comment_and_returns_its_id(fixture_json: FixtureJson) -> None:
    put_ticket(
        "35436",
        {"comment": {"body": "Here is how to reset it.", "public": True}},
        fixture_json("zendesk", "api_update_ticket.response.oas-example.json"),
    )

    comment_id = make_connector().post_reply("35436", "Here is how to reset it.")

    assert comment_id == "206091192547"


@responses.activate
def test_post_note_is_a_private_comment(fixture_json: FixtureJson) -> None:
    put_ticket(
        "35436",
        {"comment": {"body": "Brief for the team.", "public": False}},
        fixture_json("zendesk", "api_update_ticket.response.oas-example.json"),
    )

    assert make_connector().post_note("35436", "Brief for the team.") == "206091192547"


@responses.activate
def test_reply_is_not_repeated_after_a_gateway_error() -> None:
    responses.add(responses.PUT, f"{API}/tickets/35436.json", status=502)
    sleeps: list[float] = []

    with pytest.raises(HelpdeskError) as caught:
        make_connector(sleeps).post_reply("35436", "hello")

    assert len(responses.calls) == 1
    assert caught.value.retryable is True  # by the task, which re-reads the ticket first
    assert sleeps == []


@responses.activate
def test_reply_is_retried_when_rate_limited(fixture_json: FixtureJson) -> None:
    url = f"{API}/tickets/35436.json"
    responses.add(responses.PUT, url, status=429, body="slow down", headers={"Retry-After": "3"})
    responses.add(
        responses.PUT,
        url,
        json=fixture_json("zendesk", "api_update_ticket.response.oas-example.json"),
    )
    sleeps: list[float] = []

    assert make_connector(sleeps).post_reply("35436", "hello") == "206091192547"
    assert sleeps == [3.0]


@responses.activate
def test_assign_group_by_name_resolves_once_and_clears_assignee(
    fixture_json: FixtureJson,
) -> None:
    groups_listed(fixture_json)
    put_ticket("7", {"group_id": 122, "assignee_id": None}, {"ticket": {"id": 7}})
    put_ticket("8", {"group_id": 211, "assignee_id": None}, {"ticket": {"id": 8}})
    connector = make_connector()

    connector.assign_group("7", "MCs")
    connector.assign_group("8", "djs")  # case differs from "DJs"

    assert len(written("GET")) == 1  # the name map is cached on the instance
    assert len(written("PUT")) == 2


@responses.activate
def test_assign_group_by_id_needs_no_lookup() -> None:
    put_ticket("7", {"group_id": 360001, "assignee_id": None}, {"ticket": {"id": 7}})

    make_connector().assign_group("7", "360001")

    assert written("GET") == []


@responses.activate
def test_unknown_group_names_the_known_groups_and_writes_nothing(
    fixture_json: FixtureJson,
) -> None:
    groups_listed(fixture_json)

    with pytest.raises(HelpdeskError) as caught:
        make_connector().assign_group("7", "Tier 3")

    assert caught.value.retryable is False
    assert "'Tier 3'" in str(caught.value)
    assert "'DJs', 'MCs'" in str(caught.value)
    assert written("PUT") == []


@responses.activate
def test_unknown_group_refreshes_a_stale_cache_once(fixture_json: FixtureJson) -> None:
    groups = fixture_json("zendesk", "api_list_groups.response.oas-example.json")
    with_new_group = copy.deepcopy(groups)
    with_new_group["groups"].append({"id": 333, "name": "Tier 3"})
    responses.add(responses.GET, f"{API}/groups.json", json=groups)
    responses.add(responses.GET, f"{API}/groups.json", json=with_new_group)
    put_ticket("7", {"group_id": 122, "assignee_id": None}, {})
    put_ticket("7", {"group_id": 333, "assignee_id": None}, {})
    connector = make_connector()

    connector.assign_group("7", "MCs")
    connector.assign_group("7", "Tier 3")

    assert len(written("GET")) == 2


@responses.activate
def test_escalate_writes_note_and_group_in_one_update_then_tags(
    fixture_json: FixtureJson,
) -> None:
    groups_listed(fixture_json)
    put_ticket(
        "35436",
        {
            "comment": {"body": "Escalation brief", "public": False},
            "group_id": 211,
            "assignee_id": None,
        },
        fixture_json("zendesk", "api_update_ticket.response.oas-example.json"),
    )
    responses.add(
        responses.PUT,
        f"{API}/tickets/35436/tags.json",
        json=fixture_json("zendesk", "api_ticket_tags.response.oas-example.json"),
        match=[matchers.json_params_matcher({"tags": ["ai_escalated", "ai_reason_human"]})],
    )

    note_id = make_connector().escalate(
        "35436", "Escalation brief", "DJs", ["ai_escalated", "ai_reason_human"]
    )

    assert note_id == "206091192547"
    assert written("PUT") == [f"{API}/tickets/35436.json", f"{API}/tickets/35436/tags.json"]


@responses.activate
def test_escalate_without_group_or_tags_only_writes_the_note(fixture_json: FixtureJson) -> None:
    put_ticket(
        "35436",
        {"comment": {"body": "Brief", "public": False}},
        fixture_json("zendesk", "api_update_ticket.response.oas-example.json"),
    )

    make_connector().escalate("35436", "Brief", None, [])

    assert len(responses.calls) == 1


@responses.activate
def test_escalate_to_unknown_group_writes_nothing(fixture_json: FixtureJson) -> None:
    groups_listed(fixture_json)

    with pytest.raises(HelpdeskError, match="unknown Zendesk group 'Nobody'"):
        make_connector().escalate("35436", "Brief", "Nobody", ["ai_escalated"])

    assert written("PUT") == []


@responses.activate
def test_add_tags_puts_to_the_tags_endpoint(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.PUT,
        f"{API}/tickets/35436/tags.json",
        json=fixture_json("zendesk", "api_ticket_tags.response.oas-example.json"),
        match=[matchers.json_params_matcher({"tags": ["urgent", "printer"]}, strict_match=True)],
    )
    connector = make_connector()

    connector.add_tags("35436", ["urgent", "printer", "urgent", " "])
    connector.add_tags("35436", [])

    assert len(responses.calls) == 1
