"""The Zendesk connector against real payload fixtures and mocked REST calls."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import responses
from responses import matchers

import connectors
from bridge.events import Event, Role
from connectors.base import (
    BadSignature,
    Group,
    HelpArticle,
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
from tests.connectors import shared
from tests.connectors.shared import FixtureBytes, FixtureJson, as_body
from tests.openapi_contract import assert_valid_request, load_spec

# The static secret Zendesk signs builder test requests with (zendesk.md §1.6).
DOC_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
SECRET = "wMZJU7Dlw7pdGPBAs7fz3lVSjF5Hef8mqD7avv5n7zs="
BOT_ID = "6130907993114"
API = "https://acme.zendesk.com/api/v2"
NOW = datetime(2025, 2, 11, 14, 32, 5, tzinfo=UTC)
SETTINGS: dict[str, Any] = {
    "subdomain": "acme",
    "signing_secret": SECRET,
    "email": "support-bot@example.com",
    "api_token": "api-token-123",
    "bot_user_id": BOT_ID,
}


def load_settings(**overrides: Any) -> ZendeskSettings:
    return shared.load_settings_with(ZendeskSettingsSchema(), SETTINGS, overrides)


def make_connector(sleeps: list[float] | None = None, **overrides: Any) -> ZendeskConnector:
    return shared.build_connector(ZendeskConnector, load_settings(**overrides), sleeps)


def dry_run_connector() -> ZendeskConnector:
    """What the README quick start uses: a secret, no credentials, no bot user id."""
    settings = ZendeskSettingsSchema().load({"subdomain": "acme", "signing_secret": SECRET})
    return ZendeskConnector("support", settings)


def signed(connector: ZendeskConnector, body: bytes, now: datetime = NOW) -> WebhookRequest:
    return shared.sign_request(connector, body, now)


def receive(connector: ZendeskConnector, body: bytes) -> Event:
    return shared.verify_and_parse(connector, body, NOW)


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
            {"oauth_token": "only one kind of credentials"},
        ),
        (
            {
                "subdomain": "acme",
                "signing_secret": SECRET,
                "oauth_client_id": "bridge",
                "bot_user_id": "1",
            },
            {"oauth_client_secret": "required when oauth_client_id is set"},
        ),
        (
            {
                "subdomain": "acme",
                "signing_secret": SECRET,
                "oauth_client_secret": "s",
                "bot_user_id": "1",
            },
            {"oauth_client_id": "required when oauth_client_secret is set"},
        ),
        (
            {
                "subdomain": "acme",
                "signing_secret": SECRET,
                "oauth_client_id": "bridge",
                "oauth_client_secret": "s",
                "oauth_token": "o",
                "bot_user_id": "1",
            },
            {"oauth_client_id": "only one kind of credentials"},
        ),
        (
            {
                "subdomain": "acme",
                "signing_secret": SECRET,
                "oauth_client_id": "bridge",
                "oauth_client_secret": "s",
                "email": "a@example.com",
                "api_token": "t",
            },
            {
                "oauth_client_id": "only one kind of credentials",
                "bot_user_id": "required when API credentials are set",
            },
        ),
        (
            {"subdomain": "acme", "signing_secret": SECRET, "oauth_scopes": "read"},
            {"oauth_scopes": "only used with oauth_client_id"},
        ),
        (
            {"subdomain": "acme", "signing_secret": SECRET, "oauth_client_id": "bridge"},
            {
                "oauth_client_secret": "required when oauth_client_id is set",
                "bot_user_id": "required when API credentials are set",
            },
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
    shared.assert_errors_keyed_by_field(ZendeskSettingsSchema(), config, errors)


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
        (b"[1, 2]", "body", "body is not a JSON object"),
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
@pytest.mark.parametrize("case", shared.shipped_example_cases(["1001", "1002", "1003", "1003"]))
def test_shipped_examples_parse_with_a_dry_run_connector(case: tuple[str, str, Role, str]) -> None:
    shared.replay_shipped_example(dry_run_connector(), "zendesk", case, NOW)


def test_shipped_examples_cover_every_template_key() -> None:
    for path in shared.example_paths("zendesk"):
        assert set(json.loads(path.read_text())) == set(TRIGGER_BODY_TEMPLATE), path.name


# -- REST: without credentials -------------------------------------------------------------
@pytest.mark.parametrize(
    "call", [*shared.API_CALLS, lambda c: c.connect("https://bridge.example.com/webhooks/support")]
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
SPEC = "zendesk-support.yaml"
# The request shape zendesk.md §1.2 documents for the webhooks API (which is not in the spec).
WEBHOOK_KEYS = {
    "name",
    "description",
    "status",
    "endpoint",
    "http_method",
    "request_format",
    "subscriptions",
    "authentication",
}


def assert_requests_match_contract() -> int:
    """Check every request body sent so far against Zendesk's documented request shapes.

    Support endpoints are validated against the OpenAPI description; the tags endpoints are
    in it without a body schema, and the webhooks API is not in it at all, so those are
    matched against the documented shapes explicitly. Returns how many bodies were checked.
    """
    checked = 0
    for call in responses.calls:
        request = call.request
        if not request.body:
            continue
        body = json.loads(request.body)
        path = urlsplit(request.url or "").path
        method = request.method or ""
        if path.startswith("/api/v2/webhooks"):
            assert_webhook_request(method, path, body)
        elif re.fullmatch(r"/api/v2/tickets/\d+/tags(\.json)?", path):
            operation = load_spec(SPEC)["paths"]["/api/v2/tickets/{ticket_id}/tags"]
            assert method.lower() in operation
            assert set(body) == {"tags"}
            assert body["tags"] and all(isinstance(tag, str) for tag in body["tags"])
        elif path == "/oauth/tokens":
            continue  # checked field by field in the OAuth tests
        else:
            assert_valid_request(SPEC, method, request.url or "", body)
        checked += 1
    return checked


def assert_webhook_request(method: str, path: str, body: Any) -> None:
    assert re.fullmatch(r"/api/v2/webhooks(/[A-Za-z0-9]+)?", path), path
    assert method == ("POST" if path == "/api/v2/webhooks" else "PUT")
    assert set(body) == {"webhook"}
    webhook = body["webhook"]
    assert set(webhook) <= WEBHOOK_KEYS
    assert webhook["status"] == "active"
    assert webhook["http_method"] == "POST"
    assert webhook["request_format"] == "json"
    assert webhook["subscriptions"] == ["conditional_ticket_events"]
    assert urlsplit(webhook["endpoint"]).scheme == "https"
    assert isinstance(webhook["name"], str) and webhook["name"]


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
    assert assert_requests_match_contract() == 1


@responses.activate
def test_post_note_is_a_private_comment(fixture_json: FixtureJson) -> None:
    put_ticket(
        "35436",
        {"comment": {"body": "Brief for the team.", "public": False}},
        fixture_json("zendesk", "api_update_ticket.response.oas-example.json"),
    )

    assert make_connector().post_note("35436", "Brief for the team.") == "206091192547"
    assert assert_requests_match_contract() == 1


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
    assert assert_requests_match_contract() == 2


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
    assert assert_requests_match_contract() == 2


@responses.activate
def test_assign_group_by_id_needs_no_lookup() -> None:
    put_ticket("7", {"group_id": 360001, "assignee_id": None}, {"ticket": {"id": 7}})

    make_connector().assign_group("7", "360001")

    assert written("GET") == []
    assert assert_requests_match_contract() == 1


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
    assert assert_requests_match_contract() == 2


@responses.activate
def test_escalate_without_group_or_tags_only_writes_the_note(fixture_json: FixtureJson) -> None:
    put_ticket(
        "35436",
        {"comment": {"body": "Brief", "public": False}},
        fixture_json("zendesk", "api_update_ticket.response.oas-example.json"),
    )

    make_connector().escalate("35436", "Brief", None, [])

    assert len(responses.calls) == 1
    assert assert_requests_match_contract() == 1


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
    assert assert_requests_match_contract() == 1


@responses.activate
def test_low_rate_limit_budget_defers_a_reply_without_sending_it(
    fixture_json: FixtureJson,
) -> None:
    responses.add(
        responses.GET,
        f"{API}/groups.json",
        json=fixture_json("zendesk", "api_list_groups.response.oas-example.json"),
        # Headers as Zendesk sends them (zendesk.md §4), with the budget nearly spent.
        headers={
            "x-rate-limit": "700",
            "x-rate-limit-remaining": "4",
            "ratelimit-limit": "700",
            "ratelimit-remaining": "4",
            "ratelimit-reset": "48",
        },
    )
    connector = make_connector()
    connector.list_groups()

    with pytest.raises(HelpdeskError) as caught:
        connector.post_reply("35436", "hello")

    assert caught.value.retryable is True
    assert caught.value.retry_after is not None and 47 <= caught.value.retry_after <= 48
    assert written("PUT") == []
    assert connector.http.rate_limit is not None
    assert connector.http.rate_limit.remaining == 4


# -- OAuth client credentials --------------------------------------------------------------
TOKEN_URL = "https://acme.zendesk.com/oauth/tokens"
CLIENT = {
    "email": None,
    "api_token": None,
    "oauth_client_id": "helpdesk_bridge",
    "oauth_client_secret": "client-secret-xyz",
}


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def oauth_connector(clock: Clock | None = None, **overrides: Any) -> ZendeskConnector:
    settings = load_settings(**{**CLIENT, **overrides})
    return ZendeskConnector("support", settings, sleep=[].append, clock=clock or Clock())


def token_issued(
    access_token: str, expires_in: int | None = 1800, scope: str = "read write"
) -> None:
    """The token endpoint's answer, in the fields the OAS documents for grant-type tokens."""
    responses.add(
        responses.POST,
        TOKEN_URL,
        json={
            "access_token": access_token,
            "token_type": "bearer",
            "scope": scope,
            "expires_in": expires_in,
        },
        match=[
            matchers.json_params_matcher(
                {
                    "grant_type": "client_credentials",
                    "client_id": "helpdesk_bridge",
                    "client_secret": "client-secret-xyz",
                    "scope": scope,
                },
                strict_match=True,
            )
        ],
    )


def groups_ok() -> None:
    responses.add(responses.GET, f"{API}/groups.json", json={"groups": [], "meta": {}})


def api_tokens() -> list[str]:
    return [
        call.request.headers.get("Authorization", "")
        for call in responses.calls
        if "/api/v2/" in (call.request.url or "")
    ]


def token_requests() -> list[Any]:
    return [call.request for call in responses.calls if call.request.url == TOKEN_URL]


def test_client_credentials_settings() -> None:
    settings = load_settings(**CLIENT)

    assert settings.uses_client_credentials is True
    assert settings.has_credentials is True
    assert settings.oauth_scopes == "read write"
    assert settings.auth_header() is None  # tokens are fetched at run time
    assert settings.token_url == TOKEN_URL
    assert "client-secret-xyz" not in repr(settings)
    assert load_settings(**CLIENT, oauth_scopes="tickets:write read").oauth_scopes == (
        "tickets:write read"
    )
    local = load_settings(**CLIENT, base_url="http://localhost:8089")
    assert local.token_url == "http://localhost:8089/oauth/tokens"


@responses.activate
def test_token_is_fetched_once_and_reused() -> None:
    token_issued("tok-1")
    groups_ok()
    connector = oauth_connector()

    connector.check_credentials()
    connector.check_credentials()

    assert len(token_requests()) == 1
    token_request = token_requests()[0]
    assert "Authorization" not in token_request.headers  # the client proves itself in the body
    assert token_request.headers["Content-Type"] == "application/json"
    assert api_tokens() == ["Bearer tok-1", "Bearer tok-1"]


@responses.activate
def test_token_is_renewed_shortly_before_it_expires() -> None:
    clock = Clock()
    token_issued("tok-1", expires_in=1800)
    token_issued("tok-2", expires_in=1800)  # answered in order of registration
    groups_ok()
    connector = oauth_connector(clock)
    connector.check_credentials()

    clock.now += 1800 - 61  # still more than a minute left
    connector.check_credentials()
    clock.now += 2  # now within the last minute
    connector.check_credentials()

    assert len(token_requests()) == 2
    assert api_tokens() == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


@responses.activate
def test_token_without_expiry_is_kept_until_refused() -> None:
    clock = Clock()
    token_issued("tok-1", expires_in=None)
    groups_ok()
    connector = oauth_connector(clock)

    connector.check_credentials()
    clock.now += 30 * 86400
    connector.check_credentials()

    assert len(token_requests()) == 1


@responses.activate
def test_refused_token_is_renewed_once_and_the_call_repeated(fixture_json: FixtureJson) -> None:
    token_issued("tok-1")
    token_issued("tok-2")  # responses answers registrations for one URL in order
    url = f"{API}/tickets/35436.json"
    responses.add(responses.PUT, url, status=401, json={"error": "Couldn't authenticate you"})
    responses.add(
        responses.PUT,
        url,
        json=fixture_json("zendesk", "api_update_ticket.response.oas-example.json"),
    )
    connector = oauth_connector()
    assert len(responses.calls) == 0  # building the connector fetches nothing

    comment_id = connector.post_reply("35436", "hello")

    assert comment_id == "206091192547"
    assert len(token_requests()) == 2
    assert api_tokens() == ["Bearer tok-1", "Bearer tok-2"]
    assert assert_requests_match_contract() == 2


@responses.activate
def test_refused_token_renewal_happens_once_per_request() -> None:
    token_issued("tok-1")
    responses.add(
        responses.GET, f"{API}/groups.json", status=401, json={"error": "Couldn't authenticate you"}
    )
    connector = oauth_connector()

    with pytest.raises(HelpdeskError, match="credentials were rejected"):
        connector.check_credentials()

    assert len(token_requests()) == 2
    assert len(api_tokens()) == 2


@responses.activate
def test_rejected_client_credentials_say_which_settings_to_check() -> None:
    responses.add(
        responses.POST,
        TOKEN_URL,
        status=401,
        json={"error": "invalid_client", "error_description": "Client authentication failed"},
    )
    connector = oauth_connector()

    with pytest.raises(HelpdeskError, match="oauth_client_id, oauth_client_secret") as caught:
        connector.check_credentials()

    assert caught.value.status == 401
    assert caught.value.retryable is False
    assert caught.value.vendor_message == "invalid_client: Client authentication failed"
    assert api_tokens() == []


@responses.activate
def test_token_endpoint_follows_the_base_url() -> None:
    responses.add(
        responses.POST, "http://localhost:8089/oauth/tokens", json={"access_token": "local"}
    )
    responses.add(responses.GET, "http://localhost:8089/api/v2/groups.json", json={"groups": []})

    oauth_connector(base_url="http://localhost:8089").check_credentials()

    assert responses.calls[1].request.headers["Authorization"] == "Bearer local"


# -- bot identity --------------------------------------------------------------------------
ME_ID = "35436"  # the user in the OAS users/me example


@responses.activate
def test_bot_identity_matches_the_credentials(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.GET,
        f"{API}/users/me.json",
        json=fixture_json("zendesk", "api_show_current_user.response.oas-example.json"),
    )

    summary = make_connector(bot_user_id=ME_ID).check_bot_identity()

    assert summary == "bot is user 35436 (Johnny Agent, agent), the user the credentials act as"


@responses.activate
def test_bot_identity_mismatch_explains_the_consequence(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.GET,
        f"{API}/users/me.json",
        json=fixture_json("zendesk", "api_show_current_user.response.oas-example.json"),
    )

    with pytest.raises(HelpdeskError) as caught:
        make_connector().check_bot_identity()

    message = str(caught.value)
    assert f"bot_user_id is {BOT_ID}" in message
    assert "act as user 35436" in message
    assert "human agent" in message
    assert 'bot_user_id: "35436"' in message
    assert caught.value.retryable is False


@responses.activate
def test_anonymous_users_me_is_a_failure_not_an_identity() -> None:
    # Bad credentials on users/me: 200 and an anonymous user with no id (zendesk.md §0).
    responses.add(
        responses.GET,
        f"{API}/users/me.json",
        json={"user": {"id": None, "name": "Anonymous user", "role": "end-user", "email": None}},
    )

    with pytest.raises(HelpdeskError, match="anonymous user"):
        make_connector().check_bot_identity()


# -- help center ---------------------------------------------------------------------------
def article(article_id: int, **fields: Any) -> dict[str, Any]:
    """A published, public article with the fields zendesk.md §3 lists (OAS ArticleObject)."""
    data: dict[str, Any] = {
        "id": article_id,
        "url": f"{API}/help_center/en-us/articles/{article_id}.json",
        "html_url": f"https://acme.zendesk.com/hc/en-us/articles/{article_id}-Title",
        "title": f"Article {article_id}",
        "body": f"<p>Body of {article_id}</p>",
        "locale": "en-us",
        "source_locale": "en-us",
        "section_id": 360001,
        "author_id": 888887,
        "draft": False,
        "user_segment_id": None,
        "permission_group_id": 123,
        "created_at": "2024-01-02T03:04:05Z",
        "updated_at": "2024-05-06T07:08:09Z",
    }
    data.update(fields)
    return data


@responses.activate
def test_help_articles_follow_cursor_pages_and_skip_drafts_and_restricted(
    fixture_json: FixtureJson,
) -> None:
    next_link = f"{API}/help_center/articles.json?page%5Bafter%5D=a1&page%5Bsize%5D=100"
    # The OAS example's only article is a draft restricted to a user segment.
    draft = fixture_json("zendesk", "api_hc_list_articles.response.oas-example.json")["articles"]
    responses.add(
        responses.GET,
        f"{API}/help_center/articles.json",
        json={
            "articles": [article(1), *draft, article(2, user_segment_id=7)],
            "meta": {"has_more": True, "after_cursor": "a1"},
            "links": {"next": next_link},
        },
        match=[matchers.query_param_matcher({"page[size]": "100"})],
    )
    responses.add(
        responses.GET,
        next_link,
        json={
            "articles": [
                article(3, section_id=None, body=None),
                article(4, draft=True),
                article(5, user_segment_ids=[9]),
            ],
            "meta": {"has_more": False},
            "links": {"next": next_link},
        },
    )

    articles = list(make_connector().list_help_articles())

    assert [a.id for a in articles] == ["1", "3"]
    assert articles[0] == HelpArticle(
        id="1",
        title="Article 1",
        body_html="<p>Body of 1</p>",
        url="https://acme.zendesk.com/hc/en-us/articles/1-Title",
        updated_at=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
        locale="en-us",
        section="360001",
    )
    assert articles[1].section is None
    assert articles[1].body_html == ""
    assert len(responses.calls) == 2


@responses.activate
def test_help_articles_also_follow_offset_pages() -> None:
    # Without cursor support the answer pages by next_page (zendesk.md §3).
    page_2 = f"{API}/help_center/articles.json?page=2&per_page=100"
    responses.add(
        responses.GET,
        f"{API}/help_center/articles.json",
        json={"articles": [article(1)], "next_page": page_2, "count": 2},
    )
    responses.add(
        responses.GET, page_2, json={"articles": [article(2)], "next_page": None, "count": 2}
    )

    assert [a.id for a in make_connector().list_help_articles()] == ["1", "2"]


# -- connect -------------------------------------------------------------------------------
WEBHOOK_URL = "https://bridge.example.com/webhooks/support"
WEBHOOK_ID = "01HANAHHBNJDDW768TX5J4YFX7"  # from the recorded create-webhook response
WIRING_NAME = "helpdesk-bridge: support"


def our_webhook(**fields: Any) -> dict[str, Any]:
    """Our webhook as the list would show it, shaped like the recorded create response."""
    data: dict[str, Any] = {
        "id": WEBHOOK_ID,
        "name": WIRING_NAME,
        "status": "active",
        "subscriptions": ["conditional_ticket_events"],
        "created_at": "2023-09-18T23:38:21.941443513Z",
        "created_by": "6130907993114",
        "endpoint": WEBHOOK_URL,
        "http_method": "POST",
        "request_format": "json",
    }
    data.update(fields)
    return data


def webhooks_listed(*webhooks: dict[str, Any]) -> None:
    responses.add(
        responses.GET,
        f"{API}/webhooks",
        json={"webhooks": list(webhooks), "meta": {"has_more": False}, "links": {"next": None}},
        match=[matchers.query_param_matcher({"page[size]": "100"})],
    )


def secret_shown(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.GET,
        f"{API}/webhooks/{WEBHOOK_ID}/signing_secret",
        json=fixture_json(
            "zendesk", "api_show_webhook_signing_secret.response.zenpy-cassette.json"
        ),
    )


def triggers_listed(*triggers: dict[str, Any]) -> None:
    responses.add(
        responses.GET,
        f"{API}/triggers.json",
        json={"triggers": list(triggers), "meta": {"has_more": False}, "links": {"next": None}},
        match=[matchers.query_param_matcher({"page[size]": "100"})],
    )


def sent(method: str, url: str) -> list[Any]:
    return [
        json.loads(call.request.body)
        for call in responses.calls
        if call.request.method == method and call.request.url == url
    ]


def assert_is_our_trigger(trigger: dict[str, Any]) -> None:
    assert trigger["title"] == WIRING_NAME
    assert trigger["active"] is True
    conditions = trigger["conditions"]["all"]
    assert {"field": "comment_is_public", "value": "not_relevant"} in conditions
    assert {"field": "current_via_id", "operator": "is_not", "value": "5"} in conditions
    [action] = trigger["actions"]
    assert action["field"] == "notification_webhook"
    webhook_id, body = action["value"]
    assert webhook_id == WEBHOOK_ID
    assert json.loads(body) == TRIGGER_BODY_TEMPLATE


@responses.activate
def test_connect_on_a_fresh_account_creates_webhook_and_trigger(
    fixture_json: FixtureJson,
) -> None:
    webhooks_listed(
        # someone else's webhook, and an event-subscribed one to our URL: neither is reused
        our_webhook(id="01OTHER", name="Slack", endpoint="https://hooks.example.com/x"),
        our_webhook(id="01EVENTS", subscriptions=["zen:event-type:ticket.comment_added"]),
    )
    responses.add(
        responses.POST,
        f"{API}/webhooks",
        status=201,
        json=fixture_json("zendesk", "api_create_webhook_basic_auth.response.zenpy-cassette.json"),
    )
    secret_shown(fixture_json)
    triggers_listed({"id": 25, "title": "Close and Save", "actions": [], "conditions": {}})
    responses.add(
        responses.POST,
        f"{API}/triggers.json",
        status=201,
        json={"trigger": {"id": 360099, "title": WIRING_NAME}},
    )

    result = make_connector().connect(WEBHOOK_URL)

    [webhook_body] = sent("POST", f"{API}/webhooks")
    recorded = fixture_json("zendesk", "api_create_webhook_basic_auth.request.zenpy-cassette.json")
    assert set(webhook_body["webhook"]) <= set(recorded["webhook"])
    assert webhook_body["webhook"]["endpoint"] == WEBHOOK_URL
    assert webhook_body["webhook"]["name"] == WIRING_NAME
    [trigger_body_sent] = sent("POST", f"{API}/triggers.json")
    assert_is_our_trigger(trigger_body_sent["trigger"])
    assert assert_requests_match_contract() == 2
    assert result.automated is True
    assert result.lines[0] == f"created webhook {WIRING_NAME!r} ({WEBHOOK_ID}) -> {WEBHOOK_URL}"
    assert result.lines[1] == f"created trigger {WIRING_NAME!r} (360099)"
    assert "ZENDESK_SIGNING_SECRET=wMZJU7Dlw7pdGPBAs7fz3lVSjF5Hef8mqD7avv5n7zs=" in result.lines
    assert any("connectors.support.signing_secret" in line for line in result.lines)


@responses.activate
def test_connect_again_finds_both_and_creates_nothing(fixture_json: FixtureJson) -> None:
    webhooks_listed(our_webhook())
    secret_shown(fixture_json)
    triggers_listed(
        {"id": 25, "title": "Close and Save"},
        {"id": 360099, "title": WIRING_NAME, "conditions": {}, "actions": []},
    )
    responses.add(
        responses.PUT,
        f"{API}/triggers/360099.json",
        json={"trigger": {"id": 360099, "title": WIRING_NAME}},
    )

    result = make_connector().connect(WEBHOOK_URL)

    assert written("POST") == []
    assert written("PUT") == [f"{API}/triggers/360099.json"]
    [update] = sent("PUT", f"{API}/triggers/360099.json")
    assert_is_our_trigger(update["trigger"])
    assert assert_requests_match_contract() == 1
    assert result.lines[0] == (
        f"webhook {WIRING_NAME!r} ({WEBHOOK_ID}) already sends to {WEBHOOK_URL}"
    )
    assert result.lines[1] == f"updated trigger {WIRING_NAME!r} (360099)"
    # The test connector is configured with this very secret.
    assert "ZENDESK_SIGNING_SECRET=wMZJU7Dlw7pdGPBAs7fz3lVSjF5Hef8mqD7avv5n7zs=" in result.lines
    assert "connectors.support.signing_secret already holds this secret" in result.lines


@responses.activate
def test_connect_moves_our_webhook_to_a_new_url(fixture_json: FixtureJson) -> None:
    webhooks_listed(our_webhook(endpoint="https://old.example.com/webhooks/support"))
    responses.add(responses.PUT, f"{API}/webhooks/{WEBHOOK_ID}", json={"webhook": our_webhook()})
    secret_shown(fixture_json)
    triggers_listed({"id": 360099, "title": WIRING_NAME})
    responses.add(responses.PUT, f"{API}/triggers/360099.json", json={"trigger": {"id": 360099}})

    result = make_connector(signing_secret="old-secret").connect(WEBHOOK_URL)

    [update] = sent("PUT", f"{API}/webhooks/{WEBHOOK_ID}")
    assert update["webhook"]["endpoint"] == WEBHOOK_URL
    assert written("POST") == []
    assert assert_requests_match_contract() == 2
    assert result.lines[0].startswith(f"updated webhook {WIRING_NAME!r} ({WEBHOOK_ID}): endpoint")
    assert any(
        "put it in the config as connectors.support.signing_secret" in line for line in result.lines
    )


@responses.activate
def test_connect_reports_duplicate_triggers_and_updates_the_oldest(
    fixture_json: FixtureJson,
) -> None:
    webhooks_listed(our_webhook())
    secret_shown(fixture_json)
    triggers_listed({"id": 900, "title": WIRING_NAME}, {"id": 77, "title": WIRING_NAME})
    responses.add(responses.PUT, f"{API}/triggers/77.json", json={"trigger": {"id": 77}})

    result = make_connector().connect(WEBHOOK_URL)

    assert written("PUT") == [f"{API}/triggers/77.json"]
    assert any("(900)" in line and "sent twice" in line for line in result.lines)


@pytest.mark.parametrize("url", ["/webhooks/support", "bridge.example.com/webhooks/support"])
@responses.activate
def test_connect_needs_an_absolute_url(url: str) -> None:
    with pytest.raises(HelpdeskError, match="not an absolute"):
        make_connector().connect(url)

    assert len(responses.calls) == 0
