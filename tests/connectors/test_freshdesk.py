"""The Freshdesk connector against real payload fixtures and mocked REST calls."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

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
from connectors.freshdesk import (
    AUTOMATION_BODY_TEMPLATE,
    AUTOMATION_RULES,
    DEFAULT_SECRET_HEADER,
    PERFORMED_BY_SLOT,
    PERFORMERS,
    AutomationBodySchema,
    FreshdeskConnector,
    FreshdeskSettings,
    FreshdeskSettingsSchema,
    automation_body,
    html_to_text,
    text_to_html,
)
from tests.connectors import shared
from tests.connectors.shared import FixtureBytes, FixtureJson, as_body

SECRET = "s3cr3t-For-Freshdesk-Webhooks-0123"
API_KEY = "abcdefghij1234567890"
BOT_ID = "1"  # the SDK mocks' agent, who also wrote the mock conversations
BOT_NAME = "Support Bot"
API = "https://acme.freshdesk.com/api/v2"
NOW = datetime(2025, 2, 11, 14, 32, 5, tzinfo=UTC)
AUTH = "Basic " + base64.b64encode(f"{API_KEY}:X".encode()).decode()
SETTINGS: dict[str, Any] = {
    "domain": "acme",
    "webhook_secret": SECRET,
    "api_key": API_KEY,
    "bot_agent_id": BOT_ID,
    "bot_agent_name": BOT_NAME,
}


def load_settings(**overrides: Any) -> FreshdeskSettings:
    return shared.load_settings_with(FreshdeskSettingsSchema(), SETTINGS, overrides)


def make_connector(sleeps: list[float] | None = None, **overrides: Any) -> FreshdeskConnector:
    return shared.build_connector(FreshdeskConnector, load_settings(**overrides), sleeps)


def dry_run_connector(**overrides: Any) -> FreshdeskConnector:
    """What the README quick start uses: a domain and a secret, no API key."""
    config = {"domain": "acme", "webhook_secret": SECRET, **overrides}
    return FreshdeskConnector("support", FreshdeskSettingsSchema().load(config))


def signed(connector: FreshdeskConnector, body: bytes) -> WebhookRequest:
    return shared.sign_request(connector, body, NOW)


def receive(connector: FreshdeskConnector, body: bytes) -> Event:
    return shared.verify_and_parse(connector, body, NOW)


def rule_body(rule: str, **values: str) -> dict[str, str]:
    """A rendered body of the ``rule`` rule, with the keys that rule's template carries."""
    body = {key: "" for key in json.loads(automation_body(rule))}
    body.update(ticket_id="42", performed_by=rule, requester_name="Jordan Lee")
    body.update(values)
    return body


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


# -- settings ------------------------------------------------------------------------------
def test_registered_under_its_type_name() -> None:
    assert connectors.registry()["freshdesk"] is FreshdeskConnector
    assert FreshdeskConnector.settings_schema is FreshdeskSettingsSchema


def test_settings_defaults_and_secrets_kept_out_of_repr() -> None:
    settings = FreshdeskSettingsSchema().load({"domain": "acme", "webhook_secret": SECRET})

    assert settings.domain == "acme.freshdesk.com"
    assert settings.base_url == "https://acme.freshdesk.com"
    assert settings.webhook_auth == "header"
    assert settings.webhook_secret_header == DEFAULT_SECRET_HEADER == "X-Helpdesk-Bridge-Secret"
    assert settings.webhook_username == "helpdesk-bridge"
    assert settings.timeout_seconds == 10.0
    assert settings.max_retries == 3
    assert settings.has_credentials is False
    assert settings.auth_header() is None
    assert SECRET not in repr(settings)
    assert API_KEY not in repr(load_settings())


@pytest.mark.parametrize(
    ("domain", "host"),
    [
        ("acme", "acme.freshdesk.com"),
        ("acme.freshdesk.com", "acme.freshdesk.com"),
        (" ACME.Freshdesk.com ", "acme.freshdesk.com"),
        ("support.example.com", "support.example.com"),
    ],
)
def test_domain_accepts_the_account_name_or_the_host(domain: str, host: str) -> None:
    settings = load_settings(domain=domain)

    assert settings.domain == host
    assert settings.base_url == f"https://{host}"


def test_settings_accept_base_url_override_and_numeric_bot_id() -> None:
    settings = load_settings(base_url="http://localhost:8089/api/v2/", bot_agent_id=123)

    assert settings.base_url == "http://localhost:8089"
    assert settings.bot_agent_id == "123"


def test_api_key_auth_header() -> None:
    header = load_settings().auth_header()

    assert header == AUTH
    assert base64.b64decode(AUTH.split(" ", 1)[1]) == f"{API_KEY}:X".encode()


@pytest.mark.parametrize(
    ("config", "errors"),
    [
        ({"domain": "acme"}, {"webhook_secret": "Missing data"}),
        ({"domain": "acme", "webhook_secret": " "}, {"webhook_secret": "must not be empty"}),
        ({"domain": "acme", "webhook_secret": "short"}, {"webhook_secret": "at least 16"}),
        (
            {"domain": "acme", "webhook_secret": "has a space in it, sadly"},
            {"webhook_secret": "without spaces"},
        ),
        ({"webhook_secret": SECRET}, {"domain": "Missing data"}),
        (
            {"domain": "https://acme.freshdesk.com/", "webhook_secret": SECRET},
            {"domain": "host name only"},
        ),
        ({"domain": "acme_co", "webhook_secret": SECRET}, {"domain": "host name"}),
        (
            {"domain": "acme", "webhook_secret": SECRET, "webhook_auth": "hmac"},
            {"webhook_auth": "'header' or 'basic'"},
        ),
        (
            {"domain": "acme", "webhook_secret": SECRET, "webhook_secret_header": "X Secret"},
            {"webhook_secret_header": "HTTP header name"},
        ),
        (
            {"domain": "acme", "webhook_secret": SECRET, "webhook_secret_header": "authorization"},
            {"webhook_secret_header": "webhook_auth: basic"},
        ),
        (
            {"domain": "acme", "webhook_secret": SECRET, "webhook_username": "a:b"},
            {"webhook_username": "':'"},
        ),
        (
            {"domain": "acme", "webhook_secret": SECRET, "api_key": API_KEY},
            {"bot_agent_id": "required when api_key", "bot_agent_name": "only by name"},
        ),
        (
            {
                "domain": "acme",
                "webhook_secret": SECRET,
                "api_key": API_KEY,
                "bot_agent_id": "me",
                "bot_agent_name": BOT_NAME,
            },
            {"bot_agent_id": "digits"},
        ),
        ({"domain": "acme", "webhook_secret": SECRET, "timeout": 5}, {"timeout": "Unknown"}),
        (
            {"domain": "acme", "webhook_secret": SECRET, "max_retries": -1},
            {"max_retries": "greater than or equal"},
        ),
    ],
)
def test_settings_errors_are_keyed_by_field(config: dict[str, Any], errors: dict[str, str]) -> None:
    shared.assert_errors_keyed_by_field(FreshdeskSettingsSchema(), config, errors)


# -- webhook secret ------------------------------------------------------------------------
def test_header_secret_round_trips_through_sign() -> None:
    connector = dry_run_connector()

    headers = connector.sign(b"{}", NOW)

    assert headers == {DEFAULT_SECRET_HEADER: SECRET}
    connector.verify(WebhookRequest(method="POST", headers=headers, body=b"{}"), NOW)


def test_header_secret_is_matched_case_insensitively_and_trimmed() -> None:
    connector = dry_run_connector(webhook_secret_header="X-Bridge-Token")
    headers = {"x-bridge-token": f" {SECRET}\n"}

    connector.verify(WebhookRequest(method="POST", headers=headers, body=b"{}"), NOW)


def test_wrong_header_secret_is_rejected() -> None:
    headers = {DEFAULT_SECRET_HEADER: SECRET + "x"}

    with pytest.raises(BadSignature, match="webhook_secret") as caught:
        dry_run_connector().verify(WebhookRequest(method="POST", headers=headers, body=b""), NOW)

    assert caught.value.status == 401


@pytest.mark.parametrize("headers", [{}, {DEFAULT_SECRET_HEADER: "  "}, {"X-Other": SECRET}])
def test_missing_header_secret_is_rejected(headers: dict[str, str]) -> None:
    with pytest.raises(BadSignature, match=f"missing {DEFAULT_SECRET_HEADER}"):
        dry_run_connector().verify(WebhookRequest(method="POST", headers=headers, body=b""), NOW)


def test_header_mode_does_not_accept_basic_auth() -> None:
    headers = {"Authorization": basic("helpdesk-bridge", SECRET)}

    with pytest.raises(BadSignature, match="missing"):
        dry_run_connector().verify(WebhookRequest(method="POST", headers=headers, body=b""), NOW)


def test_basic_secret_round_trips_through_sign() -> None:
    connector = dry_run_connector(webhook_auth="basic", webhook_username="freshdesk")

    headers = connector.sign(b"{}", NOW)

    assert headers == {"Authorization": basic("freshdesk", SECRET)}
    connector.verify(WebhookRequest(method="POST", headers=headers, body=b"{}"), NOW)


def test_basic_username_is_not_checked() -> None:
    connector = dry_run_connector(webhook_auth="basic")
    headers = {"authorization": basic("someone-else", SECRET)}

    connector.verify(WebhookRequest(method="POST", headers=headers, body=b""), NOW)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing Authorization"),
        ({"Authorization": basic("helpdesk-bridge", "wrong-password-000")}, "does not match"),
        ({"Authorization": f"Bearer {SECRET}"}, "not Basic auth"),
        ({"Authorization": "Basic not-base64!"}, "not valid Basic auth"),
        (
            {"Authorization": "Basic " + base64.b64encode(SECRET.encode()).decode()},
            "not valid Basic auth",
        ),
        ({DEFAULT_SECRET_HEADER: SECRET}, "missing Authorization"),
    ],
)
def test_bad_or_missing_basic_auth_is_rejected(headers: dict[str, str], message: str) -> None:
    connector = dry_run_connector(webhook_auth="basic")

    with pytest.raises(BadSignature, match=message):
        connector.verify(WebhookRequest(method="POST", headers=headers, body=b""), NOW)


# -- parsing: our automation template ------------------------------------------------------
def test_template_constant_matches_the_schema() -> None:
    assert list(AUTOMATION_BODY_TEMPLATE) == list(AutomationBodySchema().fields)
    for key, value in AUTOMATION_BODY_TEMPLATE.items():
        if key == "performed_by":
            assert value == PERFORMED_BY_SLOT
        else:
            assert value.startswith("{{") and value.endswith("}}")


@pytest.mark.parametrize("performed_by", PERFORMERS)
def test_each_rule_body_is_json_with_its_literal(performed_by: str) -> None:
    body = json.loads(automation_body(performed_by))

    assert body["performed_by"] == performed_by
    assert body["ticket_id"] == "{{ticket.id}}"
    # Freshdesk renders the event as non-JSON text, so it must sit inside quotes.
    assert '"event": "{{triggered_event}}"' in automation_body(performed_by)
    assert ("description" in body) == (performed_by == "new_ticket")
    assert ("comment" in body) == (performed_by != "new_ticket")
    assert set(body) <= set(AUTOMATION_BODY_TEMPLATE)


def test_unknown_performer_has_no_body() -> None:
    with pytest.raises(ValueError, match="performed_by"):
        automation_body("system")


def test_new_ticket_description_is_the_first_customer_message(
    fixture_bytes: FixtureBytes,
) -> None:
    body = fixture_bytes("freshdesk", "webhook_template.new_ticket.json")

    event = receive(make_connector(), body)

    assert event.connector == "support"
    assert event.kind == "comment"
    assert event.ticket_id == "1"
    assert event.delivery_id == "created:1"
    assert event.subject == "This is a sample ticket"
    assert event.tags == ("foo", "bar")
    assert event.customer.name == "Dummyname"
    assert event.customer.email == "dummyname@example.com"
    assert event.customer.fields == {"tags": ["foo", "bar"], "group": None, "status": "Open"}
    message = event.message
    assert message is not None
    assert message.role is Role.CUSTOMER
    assert message.id == "description:1"
    assert message.text == "This is a sample ticket, feel free to delete it."
    assert message.public is True
    assert event.raw["performed_by"] == "new_ticket"


def test_requester_reply(fixture_bytes: FixtureBytes) -> None:
    body = fixture_bytes("freshdesk", "webhook_template.requester_reply.json")

    event = receive(make_connector(), body)

    assert event.kind == "comment"
    assert event.delivery_id.startswith("comment:1:")
    message = event.message
    assert message is not None
    assert message.role is Role.CUSTOMER
    assert message.text == 'The link says "expired".\nWhat now?'
    assert message.id == "webhook:1:" + event.delivery_id.rsplit(":", 1)[1]


def test_agent_reply(fixture_bytes: FixtureBytes) -> None:
    body = fixture_bytes("freshdesk", "webhook_template.agent_reply.json")

    event = receive(make_connector(), body)

    assert event.message is not None
    assert event.message.role is Role.AGENT
    assert event.message.text == "This is a reply"
    assert event.customer.fields["group"] == "Helpdesk"


def test_reply_our_bot_posted_is_the_bot_not_a_human(fixture_bytes: FixtureBytes) -> None:
    # The agent rule fires on the bot's own API replies too; treating one as a human agent
    # would silence the bot after its first answer.
    body = fixture_bytes("freshdesk", "webhook_template.bot_reply.json")

    event = receive(make_connector(), body)

    assert event.message is not None
    assert event.message.role is Role.BOT
    assert event.message.text == "To reset your password, open Settings > Security."


def test_reply_our_bot_posted_without_a_configured_bot_name_is_an_agent(
    fixture_bytes: FixtureBytes,
) -> None:
    body = fixture_bytes("freshdesk", "webhook_template.bot_reply.json")

    event = receive(dry_run_connector(), body)

    assert event.message is not None
    assert event.message.role is Role.AGENT


@pytest.mark.parametrize(
    ("performed_by", "comment", "role"),
    [
        ("requester", "Jordan Lee : <div>Still broken</div>", Role.CUSTOMER),
        ("requester", "jordan  lee : <div>Still broken</div>", Role.CUSTOMER),
        # no readable author prefix: the rule's performer filter vouches for the requester
        ("requester", "<div>Still broken</div>", Role.CUSTOMER),
        # rendered after someone else commented: not the customer's words
        ("requester", "Rachel : <div>On it</div>", Role.AGENT),
        # the bot's name wins whichever rule fired, so it never answers itself
        ("requester", "Support Bot : <p>Try this</p>", Role.BOT),
        ("agent", "support bot : <p>Try this</p>", Role.BOT),
        ("agent", "System : <div>Auto-acknowledged</div>", Role.OTHER_BOT),
        ("agent", "Jordan Lee : <div>Still broken</div>", Role.AGENT),
        ("agent", "<div>no author</div>", Role.AGENT),
    ],
)
def test_webhook_role_precedence(performed_by: str, comment: str, role: Role) -> None:
    data = rule_body(performed_by, comment=comment, event="{reply_sent:sent}")

    event = receive(make_connector(), as_body(data))

    assert event.message is not None
    assert event.message.role is role


def test_requester_rule_without_a_requester_name_trusts_the_rule() -> None:
    data = rule_body("requester", comment="Jordan Lee : <div>Still broken</div>", requester_name="")

    event = receive(make_connector(), as_body(data))

    assert event.message is not None
    assert event.message.role is Role.CUSTOMER


def test_outbound_email_ticket_is_started_by_an_agent() -> None:
    data = rule_body("new_ticket", description="<p>Your order shipped</p>", source="Outbound Email")

    event = receive(make_connector(), as_body(data))

    assert event.message is not None
    assert event.message.role is Role.AGENT


def test_created_event_from_any_rule_reads_the_description() -> None:
    data = rule_body("requester", event="{ticket_action:created}", comment="")
    data["description"] = "<div>Hello</div>"

    event = receive(make_connector(), as_body(data))

    assert event.delivery_id == "created:42"
    assert event.message is not None
    assert event.message.text == "Hello"


@pytest.mark.parametrize("triggered", ["{note_type:private}", "{status:{from:2,to:4}}"])
def test_private_notes_and_property_changes_carry_no_message(triggered: str) -> None:
    data = rule_body("agent", event=triggered, comment="Jordan Lee : <div>older comment</div>")

    event = receive(make_connector(), as_body(data))

    assert event.kind == "ticket_event"
    assert event.message is None
    assert event.ticket_id == "42"


def test_public_note_is_a_message() -> None:
    data = rule_body("agent", event="{note_type:public}", comment="Rachel : <div>FYI</div>")

    event = receive(make_connector(), as_body(data))

    assert event.kind == "comment"
    assert event.message is not None
    assert event.message.role is Role.AGENT


def test_redelivery_dedupes_and_a_new_comment_does_not(fixture_json: FixtureJson) -> None:
    connector = make_connector()
    data = fixture_json("freshdesk", "webhook_template.requester_reply.json")
    later = copy.deepcopy(data)
    later["comment"] = "Dummyname : <div>Any news?</div>"

    first = receive(connector, as_body(data))
    again = receive(connector, as_body(data))
    other = receive(connector, as_body(later))

    assert first.delivery_id == again.delivery_id
    assert first.delivery_id != other.delivery_id


def test_tags_arrive_as_comma_separated_text_or_a_list() -> None:
    as_text = receive(make_connector(), as_body(rule_body("requester", tags="vip, billing,vip")))
    data: dict[str, Any] = rule_body("requester")
    data["tags"] = ["vip", " billing "]
    as_list = receive(make_connector(), as_body(data))

    assert as_text.tags == ("vip", "billing")
    assert as_list.tags == ("vip", "billing")


def test_values_arriving_as_json_numbers_are_accepted() -> None:
    data: dict[str, Any] = rule_body("requester")
    data["ticket_id"] = 42

    event = receive(make_connector(), as_body(data))

    assert event.ticket_id == "42"


@pytest.mark.parametrize(
    "name",
    [
        "webhook_ticket_created.zulip.json",
        "webhook_public_note.zulip.json",
        "webhook_private_note.zulip.json",
        "webhook_status_changed.zulip.json",
    ],
)
def test_someone_elses_body_names_the_first_missing_field(
    fixture_bytes: FixtureBytes, name: str
) -> None:
    body = fixture_bytes("freshdesk", name)

    with pytest.raises(MalformedPayload) as caught:
        receive(make_connector(), body)

    assert caught.value.field == "ticket_id"
    assert caught.value.message == "ticket_id: missing required field"
    assert caught.value.status == 400
    assert caught.value.to_json() == {
        "error": "ticket_id: missing required field",
        "field": "ticket_id",
    }


def test_zulip_body_unwrapped_still_lacks_our_performer(fixture_json: FixtureJson) -> None:
    inner = fixture_json("freshdesk", "webhook_ticket_created.zulip.json")["freshdesk_webhook"]

    with pytest.raises(MalformedPayload) as caught:
        receive(make_connector(), as_body(inner))

    assert caught.value.field == "performed_by"
    assert caught.value.message == "performed_by: missing required field"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (b"not json", "body", "body is not valid JSON"),
        (b"\xff\xfe", "body", "body is not valid JSON"),
        (b"[1, 2]", "body", "body is not a JSON object"),
        (as_body(rule_body("requester", ticket_id="")), "ticket_id", "missing required field"),
        (
            as_body(rule_body("requester", ticket_id="{{ticket.id}}")),
            "ticket_id",
            "not a ticket number: '{{ticket.id}}'",
        ),
        (
            as_body(rule_body("requester", performed_by=PERFORMED_BY_SLOT)),
            "performed_by",
            "paste the body",
        ),
        (
            as_body(rule_body("requester", performed_by="System")),
            "performed_by",
            "must be one of new_ticket, requester, agent",
        ),
    ],
)
def test_malformed_bodies_name_the_field(body: bytes, field: str, message: str) -> None:
    with pytest.raises(MalformedPayload) as caught:
        make_connector().parse(WebhookRequest(method="POST", headers={}, body=body))

    assert caught.value.field == field
    assert message in caught.value.message


# -- shipped replay examples ---------------------------------------------------------------
@pytest.mark.parametrize("case", shared.shipped_example_cases(["3001", "3002", "3003", "3003"]))
def test_shipped_examples_parse_with_a_dry_run_connector(case: tuple[str, str, Role, str]) -> None:
    shared.replay_shipped_example(dry_run_connector(), "freshdesk", case, NOW)


def test_shipped_examples_carry_exactly_their_rule_keys() -> None:
    paths = shared.example_paths("freshdesk")
    assert len(paths) == 4
    for path in paths:
        data = json.loads(path.read_text())
        expected = set(json.loads(automation_body(data["performed_by"])))
        assert set(data) == expected, path.name


# -- REST: without credentials -------------------------------------------------------------
@pytest.mark.parametrize("call", shared.API_CALLS)
@responses.activate
def test_api_calls_without_credentials_raise_not_configured(
    call: Callable[[FreshdeskConnector], Any],
) -> None:
    connector = dry_run_connector()

    assert connector.has_credentials is False
    with pytest.raises(NotConfigured, match="no Freshdesk API key"):
        call(connector)
    assert len(responses.calls) == 0


# -- REST: reading -------------------------------------------------------------------------
def authed() -> Any:
    return matchers.header_matcher({"Authorization": AUTH})


@responses.activate
def test_fetch_conversation_starts_with_the_description_and_follows_link_pages(
    fixture_json: FixtureJson,
) -> None:
    ticket = fixture_json("freshdesk", "api_view_ticket.response.python-freshdesk.json")
    requester = str(ticket["requester_id"])
    first_page = [
        {
            "id": 11,
            "user_id": int(requester),
            "body": "<div>Also, the <b>export</b> fails</div>",
            "body_text": "Also, the export fails",
            "private": False,
            "incoming": True,
            "source": 0,
            "created_at": "2016-05-18T05:00:00Z",
        },
        {
            "id": 12,
            "user_id": 77,
            "body": "<div>Checking logs</div>",
            "body_text": "Checking logs",
            "private": True,
            "incoming": False,
            "source": 2,
            "created_at": "2016-05-18T06:00:00Z",
        },
        {
            "id": 13,
            "user_id": 88,
            "body": "<div>Same here (cc)</div>",
            "body_text": "Same here (cc)",
            "private": False,
            "incoming": True,
            "source": 0,
            "created_at": "2016-05-18T07:00:00Z",
        },
        {
            "id": 14,
            "user_id": None,
            "body": "<div>Ticket auto-tagged</div>",
            "private": True,
            "incoming": False,
            "source": 2,
            "created_at": "2016-05-18T08:00:00Z",
        },
    ]
    next_link = f"{API}/tickets/1/conversations?page=2&per_page=100"
    last_page = fixture_json(
        "freshdesk", "api_list_ticket_conversations.response.python-freshdesk.json"
    )
    responses.add(responses.GET, f"{API}/tickets/1", json=ticket, match=[authed()])
    responses.add(
        responses.GET,
        f"{API}/tickets/1/conversations",
        json=first_page,
        headers={"Link": f'<{next_link}>; rel="next"'},
        match=[authed(), matchers.query_param_matcher({"per_page": "100"})],
    )
    responses.add(responses.GET, next_link, json=last_page, match=[authed()])

    messages = make_connector().fetch_conversation("1")

    assert [call.request.url for call in responses.calls] == [
        f"{API}/tickets/1",
        f"{API}/tickets/1/conversations?per_page=100",
        next_link,
    ]
    assert [m.id for m in messages] == ["description:1", "11", "12", "13", "14", "1", "2"]
    assert [m.role for m in messages] == [
        Role.CUSTOMER,  # the description: the customer's first message
        Role.CUSTOMER,  # the requester
        Role.AGENT,  # another agent's private note
        Role.CUSTOMER,  # a CC'd contact's email
        Role.OTHER_BOT,  # no author: an automation
        Role.BOT,  # our bot agent's private note (the mock conversations)
        Role.BOT,  # our bot agent's reply
    ]
    first = messages[0]
    assert first.text == "This is a sample ticket, feel free to delete it."
    assert first.author_id == requester
    assert first.created_at == datetime(2016, 5, 18, 4, 36, 4, tzinfo=UTC)
    assert messages[2].public is False
    assert messages[4].text == "Ticket auto-tagged"  # from the HTML when body_text is absent
    assert messages[6].text == "This is a reply"
    assert messages[6].author_id == "1"


@responses.activate
def test_fetch_conversation_sorts_by_creation_time(fixture_json: FixtureJson) -> None:
    ticket = fixture_json("freshdesk", "api_view_ticket.response.python-freshdesk.json")
    conversations = fixture_json(
        "freshdesk", "api_list_ticket_conversations.response.python-freshdesk.json"
    )
    responses.add(responses.GET, f"{API}/tickets/1", json=ticket)
    responses.add(responses.GET, f"{API}/tickets/1/conversations", json=conversations[::-1])

    messages = make_connector().fetch_conversation("1")

    assert [m.id for m in messages] == ["description:1", "1", "2"]


@responses.activate
def test_paging_refuses_to_follow_a_link_to_another_host(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.GET,
        f"{API}/tickets/1",
        json=fixture_json("freshdesk", "api_view_ticket.response.python-freshdesk.json"),
    )
    responses.add(
        responses.GET,
        f"{API}/tickets/1/conversations",
        json=[],
        headers={"Link": '<https://evil.example.com/api/v2/x?page=2>; rel="next"'},
    )

    with pytest.raises(HelpdeskError, match="another host"):
        make_connector().fetch_conversation("1")

    assert len(responses.calls) == 2


@responses.activate
def test_outbound_ticket_description_is_an_agents(fixture_json: FixtureJson) -> None:
    ticket = fixture_json("freshdesk", "api_view_ticket.response.python-freshdesk.json")
    ticket["source"] = 10
    responses.add(responses.GET, f"{API}/tickets/1", json=ticket)
    responses.add(responses.GET, f"{API}/tickets/1/conversations", json=[])

    messages = make_connector().fetch_conversation("1")

    assert [m.role for m in messages] == [Role.AGENT]


@responses.activate
def test_fetch_conversation_reports_a_missing_ticket() -> None:
    # Bad ids and routes can answer 404 with an empty body.
    responses.add(responses.GET, f"{API}/tickets/404404", status=404, body="")

    with pytest.raises(HelpdeskError) as caught:
        make_connector().fetch_conversation("404404")

    assert caught.value.status == 404
    assert caught.value.retryable is False


@responses.activate
def test_ticket_ids_must_be_numbers_before_any_call() -> None:
    with pytest.raises(HelpdeskError, match="not a Freshdesk ticket id"):
        make_connector().post_reply("../agents/me", "hi")

    assert len(responses.calls) == 0


@responses.activate
def test_validation_errors_carry_freshdesk_message(fixture_bytes: FixtureBytes) -> None:
    responses.add(
        responses.GET,
        f"{API}/groups",
        body=fixture_bytes("freshdesk", "api_error_400_page_limit.response.airbyte-test.json"),
        status=400,
        content_type="application/json",
    )

    with pytest.raises(HelpdeskError) as caught:
        make_connector().list_groups()

    assert caught.value.status == 400
    assert caught.value.vendor_message is not None
    assert "beyond the 300th page" in caught.value.vendor_message


@responses.activate
def test_list_groups_follows_link_pages(fixture_json: FixtureJson) -> None:
    next_link = f"{API}/groups?page=2&per_page=100"
    responses.add(
        responses.GET,
        f"{API}/groups",
        json=fixture_json("freshdesk", "api_list_groups.response.python-freshdesk.json"),
        headers={"Link": f'<{next_link}>; rel="next"'},
        match=[authed(), matchers.query_param_matcher({"per_page": "100"})],
    )
    responses.add(responses.GET, next_link, json=[{"id": 3, "name": "Billing"}])

    groups = make_connector().list_groups()

    assert groups == [
        Group(id="1", name="Entertainers"),
        Group(id="2", name="Helpdesk"),
        Group(id="3", name="Billing"),
    ]


@responses.activate
def test_list_groups_explains_a_non_admin_key() -> None:
    responses.add(
        responses.GET,
        f"{API}/groups",
        status=403,
        json={"code": "access_denied", "message": "You are not authorized to perform this action."},
    )

    with pytest.raises(HelpdeskError, match="admin's API key") as caught:
        make_connector().list_groups()

    assert caught.value.status == 403
    assert caught.value.retryable is False


@responses.activate
def test_check_credentials_uses_an_authenticated_call(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.GET,
        f"{API}/agents/me",
        json=fixture_json("freshdesk", "api_view_agent.response.python-freshdesk.json"),
        match=[authed()],
    )

    summary = make_connector().check_credentials()

    assert summary == "authenticated to acme.freshdesk.com as Rachel (agent 1)"


@responses.activate
def test_check_credentials_reports_rejected_credentials() -> None:
    responses.add(
        responses.GET,
        f"{API}/agents/me",
        status=401,
        json={"code": "invalid_credentials", "message": "You have to be logged in"},
    )
    sleeps: list[float] = []

    with pytest.raises(HelpdeskError, match="credentials were rejected") as caught:
        make_connector(sleeps).check_credentials()

    assert caught.value.status == 401
    assert caught.value.retryable is False
    assert caught.value.vendor_message == "invalid_credentials: You have to be logged in"
    assert sleeps == []


@responses.activate
def test_check_bot_identity_accepts_the_matching_agent(fixture_json: FixtureJson) -> None:
    agent = fixture_json("freshdesk", "api_view_agent.response.python-freshdesk.json")
    agent["contact"]["name"] = "Support  bot"
    responses.add(responses.GET, f"{API}/agents/me", json=agent, match=[authed()])

    summary = make_connector().check_bot_identity()

    assert "agent 1" in summary


@responses.activate
def test_check_bot_identity_explains_a_wrong_agent_id(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.GET,
        f"{API}/agents/me",
        json=fixture_json("freshdesk", "api_view_agent.response.python-freshdesk.json"),
    )

    with pytest.raises(HelpdeskError) as caught:
        make_connector(bot_agent_id="999").check_bot_identity()

    message = str(caught.value)
    assert "belongs to agent 1 (Rachel)" in message
    assert "bot_agent_id is 999" in message
    assert "Set bot_agent_id: 1" in message
    assert caught.value.retryable is False


@responses.activate
def test_check_bot_identity_explains_a_wrong_agent_name(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.GET,
        f"{API}/agents/me",
        json=fixture_json("freshdesk", "api_view_agent.response.python-freshdesk.json"),
    )

    with pytest.raises(HelpdeskError) as caught:
        make_connector().check_bot_identity()

    message = str(caught.value)
    assert "bot_agent_name is 'Support Bot'" in message
    assert "named 'Rachel'" in message
    assert "Set bot_agent_name: 'Rachel'" in message


@responses.activate
def test_list_help_articles_walks_categories_folders_articles(fixture_json: FixtureJson) -> None:
    folders = fixture_json("freshdesk", "api_list_solution_folders.response.python-freshdesk.json")
    folders.append({"id": 9, "name": "Internal", "visibility": 3})
    responses.add(
        responses.GET,
        f"{API}/solutions/categories",
        json=fixture_json(
            "freshdesk", "api_list_solution_categories.response.python-freshdesk.json"
        ),
        match=[authed()],
    )
    responses.add(responses.GET, f"{API}/solutions/categories/2/folders", json=folders)
    responses.add(
        responses.GET,
        f"{API}/solutions/folders/3/articles",
        json=fixture_json("freshdesk", "api_list_solution_articles.response.python-freshdesk.json"),
    )

    articles = list(make_connector().list_help_articles())

    assert len(articles) == 1  # the draft and the restricted folder stay out
    article = articles[0]
    assert isinstance(article, HelpArticle)
    assert article.id == "4"
    assert article.title == "Changing account details"
    assert article.body_html.startswith("Update your account details")
    assert article.url == "https://acme.freshdesk.com/support/solutions/articles/4"
    assert article.updated_at == datetime(2020, 10, 6, 11, 5, 53, tzinfo=UTC)
    assert article.section == "Getting Started"
    assert all("/solutions/folders/9/" not in (c.request.url or "") for c in responses.calls)


# -- REST: writing -------------------------------------------------------------------------
def groups_listed(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.GET,
        f"{API}/groups",
        json=fixture_json("freshdesk", "api_list_groups.response.python-freshdesk.json"),
    )


def written() -> list[tuple[str, str]]:
    return [
        (call.request.method or "", call.request.url or "")
        for call in responses.calls
        if call.request.method != "GET"
    ]


@responses.activate
def test_post_reply_sends_html_and_returns_the_conversation_id(
    fixture_json: FixtureJson,
) -> None:
    responses.add(
        responses.POST,
        f"{API}/tickets/1/reply",
        status=201,
        json=fixture_json("freshdesk", "api_create_reply.response.python-freshdesk.json"),
        match=[
            authed(),
            matchers.json_params_matcher(
                {"body": "<p>Open Settings &gt; Security.<br>Then &lt;Reset&gt;.</p><p>Bye</p>"},
                strict_match=True,
            ),
        ],
    )

    reply_id = make_connector().post_reply("1", "Open Settings > Security.\nThen <Reset>.\n\nBye")

    assert reply_id == "2"


@responses.activate
def test_post_note_is_private(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.POST,
        f"{API}/tickets/1/notes",
        status=201,
        json=fixture_json("freshdesk", "api_create_note.response.python-freshdesk.json"),
        match=[
            authed(),
            matchers.json_params_matcher(
                {"body": "<p>Brief for the team.</p>", "private": True}, strict_match=True
            ),
        ],
    )

    assert make_connector().post_note("1", "Brief for the team.") == "1"


@responses.activate
def test_reply_is_not_repeated_after_a_gateway_error() -> None:
    responses.add(responses.POST, f"{API}/tickets/1/reply", status=502)
    sleeps: list[float] = []

    with pytest.raises(HelpdeskError) as caught:
        make_connector(sleeps).post_reply("1", "hello")

    assert len(responses.calls) == 1
    assert caught.value.retryable is True  # by the task, which re-reads the ticket first
    assert sleeps == []


@responses.activate
def test_reply_is_retried_when_rate_limited(fixture_json: FixtureJson) -> None:
    url = f"{API}/tickets/1/reply"
    responses.add(responses.POST, url, status=429, body="", headers={"Retry-After": "3"})
    responses.add(
        responses.POST,
        url,
        status=201,
        json=fixture_json("freshdesk", "api_create_reply.response.python-freshdesk.json"),
    )
    sleeps: list[float] = []

    assert make_connector(sleeps).post_reply("1", "hello") == "2"
    assert sleeps == [3.0]


@responses.activate
def test_assign_group_by_name_resolves_once(fixture_json: FixtureJson) -> None:
    groups_listed(fixture_json)
    updated = fixture_json("freshdesk", "api_update_ticket.response.python-freshdesk.json")
    for ticket_id, group_id in (("7", 2), ("8", 1)):
        responses.add(
            responses.PUT,
            f"{API}/tickets/{ticket_id}",
            json=updated,
            match=[
                authed(),
                matchers.json_params_matcher({"group_id": group_id}, strict_match=True),
            ],
        )
    connector = make_connector()

    connector.assign_group("7", "Helpdesk")
    connector.assign_group("8", "entertainers")  # case differs

    gets = [call for call in responses.calls if call.request.method == "GET"]
    assert len(gets) == 1  # the name map is cached on the instance
    assert written() == [("PUT", f"{API}/tickets/7"), ("PUT", f"{API}/tickets/8")]


@responses.activate
def test_assign_group_by_id_needs_no_lookup() -> None:
    responses.add(
        responses.PUT,
        f"{API}/tickets/7",
        json={},
        match=[matchers.json_params_matcher({"group_id": 360001}, strict_match=True)],
    )

    make_connector().assign_group("7", "360001")

    assert len(responses.calls) == 1


@responses.activate
def test_unknown_group_names_the_known_groups_and_writes_nothing(
    fixture_json: FixtureJson,
) -> None:
    groups_listed(fixture_json)

    with pytest.raises(HelpdeskError) as caught:
        make_connector().assign_group("7", "Tier 3")

    assert caught.value.retryable is False
    assert "unknown Freshdesk group 'Tier 3'" in str(caught.value)
    assert "'Entertainers', 'Helpdesk'" in str(caught.value)
    assert written() == []


@responses.activate
def test_unknown_group_refreshes_a_stale_cache_once(fixture_json: FixtureJson) -> None:
    groups = fixture_json("freshdesk", "api_list_groups.response.python-freshdesk.json")
    responses.add(responses.GET, f"{API}/groups", json=groups)
    responses.add(responses.GET, f"{API}/groups", json=[*groups, {"id": 33, "name": "Tier 3"}])
    responses.add(responses.PUT, f"{API}/tickets/7", json={})
    connector = make_connector()

    connector.assign_group("7", "Helpdesk")
    connector.assign_group("7", "Tier 3")

    assert len([c for c in responses.calls if c.request.method == "GET"]) == 2
    assert json.loads(responses.calls[-1].request.body or b"{}") == {"group_id": 33}


@responses.activate
def test_add_tags_keeps_existing_tags(fixture_json: FixtureJson) -> None:
    ticket = fixture_json("freshdesk", "api_view_ticket.response.python-freshdesk.json")
    responses.add(responses.GET, f"{API}/tickets/1", json=ticket, match=[authed()])
    responses.add(
        responses.PUT,
        f"{API}/tickets/1",
        json=fixture_json("freshdesk", "api_update_ticket.response.python-freshdesk.json"),
        match=[
            authed(),
            matchers.json_params_matcher(
                {"tags": ["foo", "bar", "ai_escalated"]}, strict_match=True
            ),
        ],
    )

    make_connector().add_tags("1", ["ai_escalated", "FOO", " ", "ai_escalated"])

    assert written() == [("PUT", f"{API}/tickets/1")]


@responses.activate
def test_add_tags_skips_the_write_when_nothing_is_new(fixture_json: FixtureJson) -> None:
    ticket = fixture_json("freshdesk", "api_view_ticket.response.python-freshdesk.json")
    responses.add(responses.GET, f"{API}/tickets/1", json=ticket)
    connector = make_connector()

    connector.add_tags("1", ["bar"])
    connector.add_tags("1", [])

    assert len(responses.calls) == 1
    assert written() == []


@responses.activate
def test_escalate_sets_the_group_then_writes_the_note_then_tags(
    fixture_json: FixtureJson,
) -> None:
    groups_listed(fixture_json)
    updated = fixture_json("freshdesk", "api_update_ticket.response.python-freshdesk.json")
    responses.add(
        responses.PUT,
        f"{API}/tickets/1",
        json=updated,
        match=[matchers.json_params_matcher({"group_id": 2}, strict_match=True)],
    )
    responses.add(
        responses.POST,
        f"{API}/tickets/1/notes",
        status=201,
        json=fixture_json("freshdesk", "api_create_note.response.python-freshdesk.json"),
        match=[
            matchers.json_params_matcher(
                {"body": "<p>Escalation brief</p>", "private": True}, strict_match=True
            )
        ],
    )
    responses.add(
        responses.GET,
        f"{API}/tickets/1",
        json=fixture_json("freshdesk", "api_view_ticket.response.python-freshdesk.json"),
    )
    responses.add(
        responses.PUT,
        f"{API}/tickets/1",
        json=updated,
        match=[
            matchers.json_params_matcher(
                {"tags": ["foo", "bar", "ai_escalated", "ai_reason_human"]}, strict_match=True
            )
        ],
    )

    note_id = make_connector().escalate(
        "1", "Escalation brief", "Helpdesk", ["ai_escalated", "ai_reason_human"]
    )

    assert note_id == "1"
    assert [(c.request.method, c.request.url) for c in responses.calls] == [
        ("GET", f"{API}/groups?per_page=100"),
        ("PUT", f"{API}/tickets/1"),
        ("POST", f"{API}/tickets/1/notes"),
        ("GET", f"{API}/tickets/1"),
        ("PUT", f"{API}/tickets/1"),
    ]


@responses.activate
def test_escalate_without_group_or_tags_only_writes_the_note(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.POST,
        f"{API}/tickets/1/notes",
        status=201,
        json=fixture_json("freshdesk", "api_create_note.response.python-freshdesk.json"),
    )

    assert make_connector().escalate("1", "Brief", None, []) == "1"
    assert len(responses.calls) == 1


@responses.activate
def test_escalate_to_unknown_group_writes_nothing(fixture_json: FixtureJson) -> None:
    groups_listed(fixture_json)

    with pytest.raises(HelpdeskError, match="unknown Freshdesk group 'Nobody'"):
        make_connector().escalate("1", "Brief", "Nobody", ["ai_escalated"])

    assert written() == []


# -- wiring --------------------------------------------------------------------------------
def test_connect_returns_the_admin_ui_steps_with_each_rule_body() -> None:
    url = "https://bridge.example.com/webhooks/support"

    result = make_connector().connect(url)

    assert result.automated is False
    text = "\n".join(result.lines)
    assert text.count(f"URL: {url}") == len(AUTOMATION_RULES) == 3
    assert "Admin → Workflows → Automations → 'Ticket creation' tab" in text
    assert text.count("'Ticket updates' tab") == 2
    assert "When an action performed by: Requester" in text
    assert "When an action performed by: Agent" in text
    assert "Involves any of these events: Reply is sent" in text
    assert "Perform these actions: Trigger webhook" in text
    assert "Request type: POST" in text
    assert "Encoding: JSON" in text
    assert f"Custom headers: on; add {DEFAULT_SECRET_HEADER}" in text
    assert SECRET not in text  # printed steps end up in terminals and tickets
    assert API_KEY not in text
    assert "'Support Bot'" in text
    for performed_by in PERFORMERS:
        body_lines = [f"      {line}" for line in automation_body(performed_by).splitlines()]
        joined = "\n".join(body_lines)
        assert joined in text
        assert json.loads("\n".join(line.strip() for line in body_lines))


def test_connect_with_basic_auth_names_the_username() -> None:
    result = dry_run_connector(webhook_auth="basic").connect("https://b.example.com/webhooks/x")

    text = "\n".join(result.lines)
    assert "Requires authentication: on" in text
    assert "Username: helpdesk-bridge" in text
    assert "Password: this connector's webhook_secret" in text
    assert "Custom headers" not in text
    assert "dry_run" in text


def test_connect_is_the_same_every_time() -> None:
    connector = make_connector()

    assert connector.connect("https://b/x") == connector.connect("https://b/x")


# -- text conversion -----------------------------------------------------------------------
def test_html_to_text_keeps_line_structure(fixture_json: FixtureJson) -> None:
    article = fixture_json("freshdesk", "api_list_solution_articles.response.python-freshdesk.json")

    text = html_to_text(article[0]["description"])

    assert "Select account details from the menu bar.\n" in text
    assert "<b>" not in text
    assert html_to_text("<div>a &amp; b</div><div><br></div><div>c</div>") == "a & b\n\nc"
    assert html_to_text("") == ""


def test_text_to_html_escapes_and_keeps_paragraphs() -> None:
    assert text_to_html("a < b\nc\n\n\nd") == "<p>a &lt; b<br>c</p><p>d</p>"
    assert text_to_html("  ") == "<p></p>"
