"""The Intercom connector against real payload fixtures and mocked REST calls."""

from __future__ import annotations

import copy
import json
import time
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
from connectors.intercom import (
    SIGNATURE_HEADER,
    WEBHOOK_TOPICS,
    IntercomConnector,
    IntercomSettings,
    IntercomSettingsSchema,
    html_to_text,
    text_to_html,
)
from tests.connectors import shared
from tests.connectors.shared import FixtureBytes, FixtureJson, as_body
from tests.openapi_contract import assert_valid_request

SECRET = "my_client_secret"
TOKEN = "dG9rOmFjY2Vzcy10b2tlbg=="
BOT_ID = "991267696"
API = "https://api.intercom.io"
SPEC = "intercom-2.16.yaml"
NOW = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)
SETTINGS: dict[str, Any] = {
    "client_secret": SECRET,
    "access_token": TOKEN,
    "bot_admin_id": BOT_ID,
}


def load_settings(**overrides: Any) -> IntercomSettings:
    return shared.load_settings_with(IntercomSettingsSchema(), SETTINGS, overrides)


def make_connector(sleeps: list[float] | None = None, **overrides: Any) -> IntercomConnector:
    return shared.build_connector(IntercomConnector, load_settings(**overrides), sleeps)


def dry_run_connector() -> IntercomConnector:
    """A secret and nothing else: what a dry run replaying the examples uses."""
    return IntercomConnector("support", IntercomSettingsSchema().load({"client_secret": SECRET}))


def receive(connector: IntercomConnector, body: bytes) -> Event:
    return shared.verify_and_parse(connector, body, NOW)


def v1(name: str) -> str:
    return f"webhook_conversation_{name}.v1-format.zulip.json"


def v2(name: str) -> str:
    return f"webhook_conversation_{name}.v2-format.zulip.json"


def api_headers() -> dict[str, str]:
    return {
        "Authorization": f"Bearer {TOKEN}",
        "Intercom-Version": "2.16",
        "Accept": "application/json",
    }


def post(path: str, body: dict[str, Any], response: Any, **kwargs: Any) -> None:
    """Expect one POST with exactly ``body`` and the API headers; check it against the spec."""
    assert_valid_request(SPEC, "POST", f"{API}/{path}", body)
    responses.add(
        responses.POST,
        f"{API}/{path}",
        json=response,
        match=[
            matchers.json_params_matcher(body, strict_match=True),
            matchers.header_matcher(api_headers()),
        ],
        **kwargs,
    )


def written() -> list[str]:
    return [
        f"{call.request.method} {call.request.path_url}"
        for call in responses.calls
        if call.request.method != "GET"
    ]


# -- settings ------------------------------------------------------------------------------
def test_registered_under_its_type_name() -> None:
    assert connectors.registry()["intercom"] is IntercomConnector
    assert IntercomConnector.settings_schema is IntercomSettingsSchema


def test_settings_defaults_and_secrets_kept_out_of_repr() -> None:
    settings = IntercomSettingsSchema().load({"client_secret": f" {SECRET}\n"})

    assert settings.client_secret == SECRET
    assert settings.base_url == API
    assert settings.region == "us"
    assert settings.api_version == "2.16"
    assert settings.timeout_seconds == 10.0
    assert settings.max_retries == 3
    assert settings.access_token is None
    assert settings.bot_admin_id is None
    assert settings.has_credentials is False
    assert SECRET not in repr(settings)
    assert TOKEN not in repr(load_settings())


@pytest.mark.parametrize(
    ("overrides", "base_url"),
    [
        ({"region": "EU"}, "https://api.eu.intercom.io"),
        ({"region": "au"}, "https://api.au.intercom.io"),
        ({"base_url": "http://localhost:8089/"}, "http://localhost:8089"),
    ],
)
def test_settings_region_or_base_url(overrides: dict[str, Any], base_url: str) -> None:
    assert load_settings(**overrides).base_url == base_url


def test_settings_accept_numeric_admin_id_and_other_versions() -> None:
    settings = load_settings(bot_admin_id=814860, api_version="2.15")

    assert settings.bot_admin_id == "814860"
    assert settings.api_version == "2.15"
    assert load_settings(api_version="preview").api_version == "Preview"


@pytest.mark.parametrize(
    ("config", "errors"),
    [
        ({}, {"client_secret": "Missing data"}),
        ({"client_secret": "  "}, {"client_secret": "must not be empty"}),
        (
            {"client_secret": SECRET, "access_token": TOKEN},
            {"bot_admin_id": "required when access_token is set"},
        ),
        (
            {"client_secret": SECRET, "access_token": TOKEN, "bot_admin_id": "me"},
            {"bot_admin_id": "digits only"},
        ),
        ({"client_secret": SECRET, "api_version": 2.1}, {"api_version": "quoted string"}),
        ({"client_secret": SECRET, "api_version": "v2"}, {"api_version": "must look like"}),
        ({"client_secret": SECRET, "region": "mars"}, {"region": "us, eu, au"}),
        (
            {"client_secret": SECRET, "region": "eu", "base_url": "https://x.example"},
            {"base_url": "not both"},
        ),
        ({"client_secret": SECRET, "base_url": "api.intercom.io"}, {"base_url": "URL"}),
        ({"client_secret": SECRET, "secret": "x"}, {"secret": "Unknown"}),
        ({"client_secret": SECRET, "max_retries": -1}, {"max_retries": "greater than"}),
        ({"client_secret": SECRET, "timeout_seconds": 0}, {"timeout_seconds": "greater than"}),
    ],
)
def test_settings_errors_are_keyed_by_field(config: dict[str, Any], errors: dict[str, str]) -> None:
    shared.assert_errors_keyed_by_field(IntercomSettingsSchema(), config, errors)


# -- signatures ----------------------------------------------------------------------------
def test_signature_test_vector() -> None:
    body = b'{"type":"notification_event","topic":"ping"}'
    connector = make_connector()

    headers = connector.sign(body, NOW)

    assert headers == {SIGNATURE_HEADER: "sha1=df20e6896dc53ced23e5b5b80d2f950504668f2f"}
    connector.verify(WebhookRequest(method="POST", headers=headers, body=body), NOW)


def test_signature_header_and_hex_case_do_not_matter() -> None:
    connector = make_connector()
    body = b"{}"
    value = connector.sign(body, NOW)[SIGNATURE_HEADER]
    headers = {SIGNATURE_HEADER.lower(): "SHA1=" + value.split("=", 1)[1].upper()}

    connector.verify(WebhookRequest(method="POST", headers=headers, body=body), NOW)


def test_tampered_body_is_rejected() -> None:
    connector = make_connector()
    headers = connector.sign(b'{"id":"1"}', NOW)

    with pytest.raises(BadSignature, match="does not match") as caught:
        connector.verify(WebhookRequest(method="POST", headers=headers, body=b'{"id":"2"}'), NOW)

    assert caught.value.status == 401


def test_wrong_secret_is_rejected() -> None:
    body = b"{}"
    headers = make_connector(client_secret="another-secret").sign(body, NOW)

    with pytest.raises(BadSignature, match="client_secret"):
        make_connector().verify(WebhookRequest(method="POST", headers=headers, body=body), NOW)


def test_missing_signature_is_rejected() -> None:
    with pytest.raises(BadSignature, match=f"missing {SIGNATURE_HEADER}"):
        make_connector().verify(WebhookRequest(method="POST", headers={}, body=b"{}"), NOW)


@pytest.mark.parametrize(
    "value",
    [
        "df20e6896dc53ced23e5b5b80d2f950504668f2f",  # no scheme
        "sha256=df20e6896dc53ced23e5b5b80d2f950504668f2f",
        "sha1=df20e6896dc53ced",
        "sha1=not-hex-not-hex-not-hex-not-hex-not-hex!",
    ],
)
def test_malformed_signature_is_rejected(value: str) -> None:
    request = WebhookRequest(method="POST", headers={SIGNATURE_HEADER: value}, body=b"{}")

    with pytest.raises(BadSignature, match="sha1=<40 hex digits>"):
        make_connector().verify(request, NOW)


# -- parsing: real fixtures ----------------------------------------------------------------
def test_ping(fixture_bytes: FixtureBytes) -> None:
    event = receive(make_connector(), fixture_bytes("intercom", "webhook_ping.zulip.json"))

    assert event.kind == "ping"
    assert event.message is None
    assert event.delivery_id == "ping"
    assert event.ticket_id == ""


def test_user_created_v1(fixture_bytes: FixtureBytes) -> None:
    event = receive(make_connector(), fixture_bytes("intercom", v1("user_created")))

    assert event.connector == "support"
    assert event.kind == "comment"
    assert event.delivery_id == "notif_3ac27816-d27c-45fd-a65a-bbaf021cf780"
    assert event.ticket_id == "21321941764"
    assert event.subject is None
    assert event.tags == ()
    assert event.customer.id == "5c9553cb27e377f24eed49f7"
    assert event.customer.name == "Rose Poodle from St. John's"
    assert event.customer.email is None
    message = event.message
    assert message is not None
    assert message.id == "331494375"
    assert message.role is Role.CUSTOMER
    assert message.text == "Hello everyone!"
    assert message.public is True
    assert message.author_id == "5c9553cb27e377f24eed49f7"
    assert message.created_at == datetime.fromtimestamp(1553290198, UTC)


def test_user_replied_v1(fixture_bytes: FixtureBytes) -> None:
    event = receive(make_connector(), fixture_bytes("intercom", v1("user_replied")))

    assert event.kind == "comment"
    assert event.ticket_id == "21322009097"
    assert event.delivery_id == "notif_2c71fff0-65ef-46be-bbfe-dbf637bbff15"
    assert event.customer.email == "jerryguitarist@gmail.com"
    message = event.message
    assert message is not None
    assert message.id == "2824391734"
    assert message.role is Role.CUSTOMER
    assert message.text == "Well, I need some help getting access to a developer account."
    assert message.created_at == datetime.fromtimestamp(1553291307, UTC)


def test_admin_replied_v1(fixture_bytes: FixtureBytes) -> None:
    event = receive(make_connector(), fixture_bytes("intercom", v1("admin_replied")))

    assert event.delivery_id == "notif_44d1f763-d3ad-4927-8e5c-da6cd6ca78d2"
    message = event.message
    assert message is not None
    assert message.role is Role.AGENT
    assert message.author_id == "1957471"
    assert message.text == "Hey Eeshan! How can I help?"
    assert message.public is True


def test_admin_assigned_with_a_message_is_an_agent_message(fixture_bytes: FixtureBytes) -> None:
    event = receive(make_connector(), fixture_bytes("intercom", v1("admin_assigned")))

    assert event.kind == "comment"
    assert event.message is not None
    assert event.message.role is Role.AGENT
    assert event.message.text == "Hey Eeshan! How can I help?"


def test_a_teammate_assigning_by_hand_takes_the_conversation_over(
    fixture_json: FixtureJson,
) -> None:
    data = fixture_json("intercom", v1("admin_assigned"))
    data["data"]["item"]["conversation_parts"]["conversation_parts"][0]["body"] = None

    event = receive(make_connector(), as_body(data))

    # An empty internal message by a human: the bot steps back without anyone writing.
    assert event.kind == "comment"
    assert event.message is not None
    assert (event.message.role, event.message.text, event.message.public) == (
        Role.AGENT,
        "",
        False,
    )
    assert event.ticket_id == "21322009097"
    assert event.delivery_id == "notif_b577ea09-0998-45cf-ade1-df4d102a58ec"


def test_admin_noted_v1_is_a_private_agent_message(fixture_bytes: FixtureBytes) -> None:
    event = receive(make_connector(), fixture_bytes("intercom", v1("admin_noted")))

    assert event.kind == "comment"
    message = event.message
    assert message is not None
    assert message.role is Role.AGENT
    assert message.public is False
    assert message.text == "Talk to Tim about this user's query."
    assert event.customer.name == "Eeshan Garg"


def test_admin_closed_v1_has_no_message(fixture_bytes: FixtureBytes) -> None:
    event = receive(make_connector(), fixture_bytes("intercom", v1("admin_closed")))

    assert event.kind == "closed"
    assert event.message is None
    assert event.delivery_id == "notif_2bc4bf3a-0064-4fb0-9e17-dc44d91bcb9b"


def test_operator_replied_v2_is_another_bot(fixture_bytes: FixtureBytes) -> None:
    event = receive(make_connector(), fixture_bytes("intercom", v2("operator_replied")))

    assert event.kind == "comment"
    assert event.ticket_id == "215472621202693"
    assert event.delivery_id == "notif_9108e504-998b-4afb-afd2-405cff43b99f"
    assert event.customer.id == "696205460674dbb9050aa7fd"
    assert event.customer.name is None
    assert event.customer.email is None
    # Conversation attributes here are flags, none of them plan-like.
    assert event.customer.fields == {}
    message = event.message
    assert message is not None
    assert message.id == "37358121213"
    assert message.role is Role.OTHER_BOT
    assert message.text == "shetty will reply as soon as they can."
    assert message.author_id == "9608808"
    assert message.created_at == datetime.fromtimestamp(1768031793, UTC)


def test_admin_open_assigned_v2_with_a_message(fixture_bytes: FixtureBytes) -> None:
    event = receive(make_connector(), fixture_bytes("intercom", v2("admin_open_assigned")))

    assert event.delivery_id == "notif_58e78c8e-1755-4e61-954a-dc1bb1cead0d"
    message = event.message
    assert message is not None
    assert message.role is Role.AGENT
    assert message.id == "37358198341"
    assert message.text == "aMSIJJO"


def test_priority_updated_v2_has_no_message(fixture_bytes: FixtureBytes) -> None:
    event = receive(make_connector(), fixture_bytes("intercom", v2("priority_updated")))

    assert event.kind == "conversation_event"
    assert event.message is None
    assert event.ticket_id == "215472621202693"
    assert event.delivery_id == "notif_92261e36-95a7-4a80-90ef-bda7b55287cf"


def test_a_part_our_bot_posted_comes_back_as_the_bot(fixture_bytes: FixtureBytes) -> None:
    # The loop guard: the bot's own reply triggers conversation.admin.replied too.
    body = fixture_bytes("intercom", v1("admin_replied"))

    event = receive(make_connector(bot_admin_id="1957471"), body)

    assert event.message is not None
    assert event.message.role is Role.BOT


def test_our_bot_note_v2_comes_back_as_the_bot(fixture_json: FixtureJson) -> None:
    data = fixture_json("intercom", v2("admin_open_assigned"))
    data["topic"] = "conversation.admin.noted"
    part = data["data"]["item"]["conversation_parts"]["conversation_parts"][0]
    part.update(part_type="note", body="<p>Escalation brief</p>", app_package_code="bridge")
    part["author"]["id"] = BOT_ID

    event = receive(make_connector(), as_body(data))

    message = event.message
    assert message is not None
    assert message.role is Role.BOT
    assert message.public is False
    assert message.text == "Escalation brief"


@pytest.mark.parametrize(
    ("author", "role"),
    [
        ({"type": "user", "id": "c1"}, Role.CUSTOMER),
        ({"type": "lead", "id": "c1"}, Role.CUSTOMER),
        ({"type": "contact", "id": "c1"}, Role.CUSTOMER),
        ({"type": "visitor", "id": "c1"}, Role.CUSTOMER),
        ({"type": "admin", "id": "814860"}, Role.AGENT),
        ({"type": "team", "id": "5017691"}, Role.AGENT),
        ({"type": "admin", "id": BOT_ID}, Role.BOT),
        ({"type": "bot", "id": "9608808", "name": "Fin"}, Role.OTHER_BOT),
        ({"type": "admin", "id": "274", "email": "operator+abcd1234@intercom.io"}, Role.OTHER_BOT),
        ({"type": "admin", "id": "274", "from_ai_agent": True}, Role.OTHER_BOT),
        # A customer whose id happens to equal the bot's admin id is still a customer.
        ({"type": "user", "id": BOT_ID}, Role.CUSTOMER),
    ],
)
def test_author_roles(fixture_json: FixtureJson, author: dict[str, Any], role: Role) -> None:
    data = fixture_json("intercom", v1("user_replied"))
    data["data"]["item"]["conversation_parts"]["conversation_parts"][0]["author"] = author

    event = receive(make_connector(), as_body(data))

    assert event.message is not None
    assert event.message.role is role


def test_customer_plan_attributes_subject_and_tags(fixture_json: FixtureJson) -> None:
    data = fixture_json("intercom", v2("operator_replied"))
    item = data["data"]["item"]
    item["custom_attributes"].update({"Plan": "Team", "Account tier": "gold", "plan_seats": None})
    item["contacts"]["contacts"][0]["custom_attributes"] = {"subscription": "annual", "x": 1}
    item["source"]["subject"] = "<p>Export &amp; sync</p>"
    item["tags"]["tags"] = [{"type": "tag", "id": "1", "name": "vip"}]

    event = receive(make_connector(), as_body(data))

    assert event.customer.fields == {
        "Plan": "Team",
        "Account tier": "gold",
        "subscription": "annual",
    }
    assert event.subject == "Export & sync"
    assert event.tags == ("vip",)


def test_the_newest_part_is_the_message(fixture_json: FixtureJson) -> None:
    data = fixture_json("intercom", v1("user_replied"))
    parts = data["data"]["item"]["conversation_parts"]["conversation_parts"]
    older = copy.deepcopy(parts[0])
    older.update(id="1", body="<p>older</p>", created_at=parts[0]["created_at"] - 60)
    parts.append(older)

    event = receive(make_connector(), as_body(data))

    assert event.message is not None
    assert event.message.id == "2824391734"


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("contact.user.created", "unsupported_topic"),
        ("conversation_part.tag.created", "unsupported_topic"),
        ("conversation.admin.replied.translated", "translation"),
    ],
)
def test_topics_without_a_message_are_acknowledged(
    fixture_json: FixtureJson, topic: str, kind: str
) -> None:
    data = fixture_json("intercom", v1("admin_replied"))
    data["topic"] = topic

    event = receive(make_connector(), as_body(data))

    assert event.kind == kind
    assert event.message is None


@pytest.mark.parametrize(
    ("edit", "field_path"),
    [
        (lambda d: d.pop("topic"), "topic"),
        (lambda d: d.update(id=None), "id"),
        (lambda d: d.pop("data"), "data"),
        (lambda d: d["data"].pop("item"), "data.item"),
        (lambda d: d["data"]["item"].pop("id"), "data.item.id"),
        (lambda d: d["data"]["item"].update(id="../admins"), "data.item.id"),
        (
            lambda d: d["data"]["item"]["conversation_parts"]["conversation_parts"][0].pop(
                "author"
            ),
            "data.item.conversation_parts.conversation_parts.0.author",
        ),
        (
            lambda d: d["data"]["item"]["conversation_parts"]["conversation_parts"][0][
                "author"
            ].pop("type"),
            "data.item.conversation_parts.conversation_parts.0.author.type",
        ),
    ],
)
def test_missing_fields_are_named(
    fixture_json: FixtureJson, edit: Callable[[dict[str, Any]], Any], field_path: str
) -> None:
    data = fixture_json("intercom", v1("user_replied"))
    edit(data)

    with pytest.raises(MalformedPayload) as caught:
        receive(make_connector(), as_body(data))

    assert caught.value.field == field_path
    assert caught.value.status == 400
    assert caught.value.message.startswith(f"{field_path}: ")


def test_created_conversation_without_its_first_message_is_refused(
    fixture_json: FixtureJson,
) -> None:
    data = fixture_json("intercom", v1("user_created"))
    del data["data"]["item"]["conversation_message"]

    with pytest.raises(MalformedPayload) as caught:
        receive(make_connector(), as_body(data))

    assert caught.value.field == "data.item.source"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "body is not valid JSON"),
        (b"[1, 2]", "body is not a JSON object"),
    ],
)
def test_body_that_is_not_a_json_object_is_refused(body: bytes, message: str) -> None:
    with pytest.raises(MalformedPayload) as caught:
        receive(make_connector(), body)

    assert caught.value.field == "body"
    assert caught.value.message == message


def test_old_item_shape_is_logged_once(
    fixture_bytes: FixtureBytes, caplog: pytest.LogCaptureFixture
) -> None:
    connector = make_connector()

    receive(connector, fixture_bytes("intercom", v1("user_replied")))
    receive(connector, fixture_bytes("intercom", v1("admin_noted")))
    receive(connector, fixture_bytes("intercom", v2("operator_replied")))

    warnings = [r for r in caplog.records if "1.x webhook bodies" in r.getMessage()]
    assert len(warnings) == 1
    assert "2.16" in warnings[0].getMessage()


def test_html_to_text() -> None:
    assert html_to_text("") == ""
    assert html_to_text("plain text, 2 < 3") == "plain text, 2 < 3"
    assert html_to_text("<p>Hi <b>Sam</b>,</p><p>see <a href='https://x.test/a'>the guide</a>") == (
        "Hi Sam,\n\nsee the guide (https://x.test/a)"
    )
    assert html_to_text("<p>a<br>b</p><ul><li>one</li><li>two</li></ul>") == (
        "a\nb\n\n- one\n\n- two"
    )
    assert html_to_text('<a href="https://x.test">https://x.test</a>') == "https://x.test"
    assert html_to_text("<p>Tom &amp; Jerry</p><script>alert(1)</script>") == "Tom & Jerry"


def test_text_to_html_escapes_and_keeps_paragraphs() -> None:
    html_body = text_to_html("Step 1: open <Settings>\nStep 2: save\n\nDone & dusted")

    assert (
        html_body == "<p>Step 1: open &lt;Settings&gt;<br>Step 2: save</p><p>Done &amp; dusted</p>"
    )
    assert html_to_text(html_body) == "Step 1: open <Settings>\nStep 2: save\n\nDone & dusted"


# -- replay examples -----------------------------------------------------------------------
@pytest.mark.parametrize("case", shared.shipped_example_cases(["2001", "2002", "2003", "2003"]))
def test_examples_parse_without_credentials(case: tuple[str, str, Role, str]) -> None:
    event = shared.replay_shipped_example(dry_run_connector(), "intercom", case, NOW)

    assert event.customer.email is not None


def test_examples_have_distinct_notification_ids() -> None:
    files = shared.example_paths("intercom")
    ids = {json.loads(path.read_bytes())["id"] for path in files}

    assert len(files) == 4
    assert len(ids) == 4
    agent = json.loads(shared.example_bytes("intercom", "03_agent_comment.json"))
    part = agent["data"]["item"]["conversation_parts"]["conversation_parts"][0]
    assert part["author"]["id"] == "814860"


# -- REST: reading -------------------------------------------------------------------------
def conversation_with_parts(fixture_json: FixtureJson) -> dict[str, Any]:
    """The spec's example conversation plus the parts a real bridge conversation has."""
    data = fixture_json("intercom", "api_get_conversation.response.json")
    template = data["conversation_parts"]["conversation_parts"][0]

    def part(pid: int, part_type: str, body: str | None, at: int, author: dict[str, Any]) -> Any:
        extra = copy.deepcopy(template)
        extra.update(id=pid, part_type=part_type, body=body, created_at=at, author=author)
        return extra

    user = {"type": "user", "id": "6762f1261bb69f9f2193bba7", "name": "Joe", "email": "j@x.test"}
    data["conversation_parts"]["conversation_parts"] += [
        part(15, "comment", "<p>How do I export?</p>", 1740141900, user),
        part(
            16,
            "comment",
            "<p>Use File &gt; Export.</p>",
            1740141910,
            {"type": "admin", "id": BOT_ID},
        ),
        part(
            17,
            "comment",
            "<p>Did that help?</p>",
            1740141920,
            {"type": "bot", "id": "278", "name": "Fin"},
        ),
        part(
            18, "note", "<p>I'll take this one.</p>", 1740141930, {"type": "admin", "id": "814860"}
        ),
        part(19, "close", None, 1740141940, {"type": "admin", "id": "814860"}),
        part(20, "open", "<p>One more thing</p>", 1740141950, user),
        # Listed out of order: messages come back oldest first all the same.
        part(14, "assignment", None, 1740141899, {"type": "admin", "id": "814860"}),
    ]
    return data


@responses.activate
def test_fetch_conversation_roles_and_order(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.GET,
        f"{API}/conversations/503",
        json=conversation_with_parts(fixture_json),
        match=[matchers.header_matcher(api_headers())],
    )

    messages = make_connector().fetch_conversation("503")

    assert [(m.id, m.role) for m in messages] == [
        ("403918334", Role.AGENT),  # an admin-initiated first message
        ("1", Role.OTHER_BOT),  # the spec's "Operator" admin
        ("14", Role.AGENT),  # assigned by hand: a human has taken it
        ("15", Role.CUSTOMER),
        ("16", Role.BOT),
        ("17", Role.OTHER_BOT),
        ("18", Role.AGENT),
        ("20", Role.CUSTOMER),
    ]
    assert messages[0].text == "this is the message body"
    assert messages[0].created_at == datetime.fromtimestamp(1734537511, UTC)
    assert messages[4].text == "Use File > Export."
    assert [m.id for m in messages if not m.public] == ["14", "18"]
    assert messages[7].text == "One more thing"


@responses.activate
def test_fetch_conversation_first_message_by_our_bot(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.GET,
        f"{API}/conversations/503",
        json=fixture_json("intercom", "api_get_conversation.response.json"),
    )

    messages = make_connector(bot_admin_id="991267645").fetch_conversation("503")

    assert [(m.id, m.role) for m in messages] == [("403918334", Role.BOT), ("1", Role.OTHER_BOT)]


@responses.activate
def test_fetch_conversation_automated_first_message_is_not_a_human(
    fixture_json: FixtureJson,
) -> None:
    data = fixture_json("intercom", "api_get_conversation.response.json")
    data["source"]["delivered_as"] = "campaigns_initiated"
    responses.add(responses.GET, f"{API}/conversations/503", json=data)

    messages = make_connector().fetch_conversation("503")

    assert messages[0].role is Role.OTHER_BOT


@responses.activate
def test_fetch_conversation_reports_a_missing_conversation(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.GET,
        f"{API}/conversations/404404",
        json=fixture_json("intercom", "api_error_404.response.json"),
        status=404,
    )

    with pytest.raises(HelpdeskError) as caught:
        make_connector().fetch_conversation("404404")

    assert caught.value.status == 404
    assert caught.value.retryable is False
    assert caught.value.vendor_message == "not_found: Resource Not Found"


@responses.activate
def test_fetch_conversation_with_an_odd_body_is_a_helpdesk_error() -> None:
    responses.add(responses.GET, f"{API}/conversations/7", json={"type": "conversation"})

    with pytest.raises(HelpdeskError, match="unexpected body") as caught:
        make_connector().fetch_conversation("7")

    assert caught.value.vendor_message == "conversation.id: missing required field"


@responses.activate
def test_conversation_ids_must_be_numbers_before_any_call() -> None:
    with pytest.raises(HelpdeskError, match="not an Intercom conversation id"):
        make_connector().post_reply("../admins", "hi")

    assert len(responses.calls) == 0


def test_without_an_access_token_nothing_is_called() -> None:
    connector = dry_run_connector()

    assert connector.has_credentials is False
    with pytest.raises(NotConfigured, match="access_token"):
        connector.fetch_conversation("2001")


@responses.activate
def test_other_versions_and_regions_are_sent(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.GET,
        "https://api.eu.intercom.io/me",
        json=fixture_json("intercom", "api_me.response.json"),
        match=[matchers.header_matcher({"Intercom-Version": "2.15"})],
    )

    summary = make_connector(api_version="2.15", region="eu").check_credentials()

    assert "region US but the connector uses EU" in summary


@responses.activate
def test_check_credentials_names_app_and_admin(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.GET,
        f"{API}/me",
        json=fixture_json("intercom", "api_me.response.json"),
        match=[matchers.header_matcher(api_headers())],
    )

    summary = make_connector().check_credentials()

    assert summary == (
        "authenticated to Intercom app MyApp 1 (this_is_an_id1_that_should_be_at_least_40) "
        "as Ciaran1 Lee (admin 991267459); API version 2.16"
    )


@responses.activate
def test_check_credentials_refuses_a_non_admin_identity() -> None:
    responses.add(responses.GET, f"{API}/me", json={"type": "contact", "id": "x"})

    with pytest.raises(HelpdeskError, match="not acting as an admin"):
        make_connector().check_credentials()


@responses.activate
def test_check_credentials_reports_a_rejected_token(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.GET,
        f"{API}/me",
        json=fixture_json("intercom", "api_error_401.response.json"),
        status=401,
    )
    sleeps: list[float] = []

    with pytest.raises(HelpdeskError, match="credentials were rejected") as caught:
        make_connector(sleeps).check_credentials()

    assert caught.value.status == 401
    assert caught.value.vendor_message == "unauthorized: Access Token Invalid"
    assert sleeps == []


@responses.activate
def test_check_bot_identity(fixture_json: FixtureJson) -> None:
    admin = fixture_json("intercom", "api_list_admins.response.json")["admins"][0]
    responses.add(responses.GET, f"{API}/admins/991267466", json=admin)
    responses.add(responses.GET, f"{API}/me", json=fixture_json("intercom", "api_me.response.json"))

    summary = make_connector(bot_admin_id="991267466").check_bot_identity()

    assert summary.startswith("bot posts as Ciaran7 Lee (admin 991267466)")
    assert "belongs to admin 991267459" in summary


@responses.activate
def test_check_bot_identity_same_admin_as_the_token(fixture_json: FixtureJson) -> None:
    me = fixture_json("intercom", "api_me.response.json")
    responses.add(responses.GET, f"{API}/admins/991267459", json={**me, "app": None})
    responses.add(responses.GET, f"{API}/me", json=me)

    summary = make_connector(bot_admin_id="991267459").check_bot_identity()

    assert (
        summary
        == "bot posts as Ciaran1 Lee (admin 991267459); the access token belongs to the same admin"
    )


@responses.activate
def test_check_bot_identity_unknown_admin_lists_teammates(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.GET,
        f"{API}/admins/{BOT_ID}",
        status=404,
        json={
            "type": "error.list",
            "errors": [{"code": "admin_not_found", "message": "Admin not found"}],
        },
    )
    responses.add(
        responses.GET,
        f"{API}/admins",
        json=fixture_json("intercom", "api_list_admins.response.json"),
    )

    with pytest.raises(HelpdeskError) as caught:
        make_connector().check_bot_identity()

    assert caught.value.retryable is False
    assert f"bot_admin_id {BOT_ID} is not an admin" in str(caught.value)
    assert "Ciaran7 Lee (991267466)" in str(caught.value)


@responses.activate
def test_list_groups_are_teams(fixture_json: FixtureJson) -> None:
    team = fixture_json("intercom", "api_get_team.response.json")
    responses.add(
        responses.GET,
        f"{API}/teams",
        json={
            "type": "team.list",
            "teams": [team, {"type": "team", "id": "5017691", "name": "Billing"}],
        },
        match=[matchers.header_matcher(api_headers())],
    )

    assert make_connector().list_groups() == [
        Group(id="991267902", name="team 1"),
        Group(id="5017691", name="Billing"),
    ]


@responses.activate
def test_list_help_articles_pages_and_skips_drafts(fixture_json: FixtureJson) -> None:
    last_page = fixture_json("intercom", "api_list_articles.response.json")
    last_page["pages"].update(page=2, total_pages=2)
    first_page = {
        "type": "list",
        "pages": {"type": "pages", "page": 1, "per_page": 50, "total_pages": 2},
        "total_count": 3,
        "data": [
            {
                "id": "41",
                "type": "article",
                "title": "Reset your password",
                "body": "<p>Open Settings.</p>",
                "state": "published",
                "default_locale": "en",
                "updated_at": 1734537300,
                "url": "https://help.example.com/en/articles/41-reset-your-password",
            },
            {"id": "40", "type": "article", "title": "Draft", "body": "<p>x</p>", "state": "draft"},
        ],
    }
    responses.add(
        responses.GET,
        f"{API}/articles",
        json=first_page,
        match=[matchers.query_param_matcher({"page": "1", "per_page": "50"})],
    )
    responses.add(
        responses.GET,
        f"{API}/articles",
        json=last_page,
        match=[matchers.query_param_matcher({"page": "2", "per_page": "50"})],
    )

    articles = list(make_connector().list_help_articles())

    assert articles == [
        HelpArticle(
            id="41",
            title="Reset your password",
            body_html="<p>Open Settings.</p>",
            url="https://help.example.com/en/articles/41-reset-your-password",
            updated_at=datetime.fromtimestamp(1734537300, UTC),
            locale="en",
        ),
        HelpArticle(
            id="39",
            title="This is the article title",
            body_html="",
            url="http://help-center.test/myapp-64/en/articles/39-this-is-the-article-title",
            updated_at=datetime.fromtimestamp(1734537283, UTC),
        ),
    ]
    assert len(responses.calls) == 2


@responses.activate
def test_list_help_articles_follows_a_cursor_when_given(fixture_json: FixtureJson) -> None:
    first_page = fixture_json("intercom", "api_list_articles.response.json")
    first_page["pages"]["next"] = {"per_page": 50, "starting_after": "WzE3MzQ1MzcyODNd"}
    last_page = {"type": "list", "pages": {"type": "pages", "total_pages": 1}, "data": []}
    responses.add(responses.GET, f"{API}/articles", json=first_page)
    responses.add(
        responses.GET,
        f"{API}/articles",
        json=last_page,
        match=[
            matchers.query_param_matcher({"per_page": "50", "starting_after": "WzE3MzQ1MzcyODNd"})
        ],
    )

    assert [a.id for a in make_connector().list_help_articles()] == ["39"]
    assert len(responses.calls) == 2


# -- REST: writing -------------------------------------------------------------------------
def reply_response(fixture_json: FixtureJson, part_type: str, author_id: str) -> Any:
    data = fixture_json("intercom", "api_reply_admin_note.response.json")
    part = data["conversation_parts"]["conversation_parts"][0]
    part["part_type"] = part_type
    part["author"]["id"] = author_id
    return data


@responses.activate
def test_post_reply_is_a_comment_by_the_bot_and_returns_its_part_id(
    fixture_json: FixtureJson,
) -> None:
    post(
        "conversations/525/reply",
        {
            "message_type": "comment",
            "type": "admin",
            "admin_id": BOT_ID,
            "body": "<p>Open Settings &gt; Security.</p><p>Then choose Reset.</p>",
        },
        reply_response(fixture_json, "comment", BOT_ID),
    )

    part_id = make_connector().post_reply("525", "Open Settings > Security.\n\nThen choose Reset.")

    assert part_id == "133"


@responses.activate
def test_post_note_is_a_note_by_the_bot(fixture_json: FixtureJson) -> None:
    # The spec's own example: a note by admin 991267696, which is BOT_ID here.
    post(
        "conversations/525/reply",
        {"message_type": "note", "type": "admin", "admin_id": BOT_ID, "body": "<p>Brief</p>"},
        fixture_json("intercom", "api_reply_admin_note.response.json"),
    )

    assert make_connector().post_note("525", "Brief") == "133"


@responses.activate
def test_post_reply_picks_the_newest_part_by_the_bot(fixture_json: FixtureJson) -> None:
    data = reply_response(fixture_json, "comment", BOT_ID)
    parts = data["conversation_parts"]["conversation_parts"]
    ours_before = copy.deepcopy(parts[0])
    ours_before.update(id="120", created_at=parts[0]["created_at"] - 100)
    someone_after = copy.deepcopy(parts[0])
    someone_after.update(id="134", created_at=parts[0]["created_at"] + 1)
    someone_after["author"] = {"type": "user", "id": "6762f15b1bb69f9f2193bbbc"}
    parts[:0] = [ours_before]
    parts.append(someone_after)
    responses.add(responses.POST, f"{API}/conversations/525/reply", json=data)

    assert make_connector().post_reply("525", "hello") == "133"


@responses.activate
def test_post_reply_without_our_part_in_the_answer_returns_none(
    fixture_json: FixtureJson,
) -> None:
    responses.add(
        responses.POST,
        f"{API}/conversations/525/reply",
        json=reply_response(fixture_json, "comment", "1"),
    )

    assert make_connector().post_reply("525", "hello") is None


@responses.activate
def test_reply_is_not_repeated_after_a_gateway_error() -> None:
    responses.add(responses.POST, f"{API}/conversations/525/reply", status=502)
    sleeps: list[float] = []

    with pytest.raises(HelpdeskError) as caught:
        make_connector(sleeps).post_reply("525", "hello")

    assert len(responses.calls) == 1
    assert caught.value.retryable is True
    assert sleeps == []


@responses.activate
def test_reply_is_retried_after_retry_after(fixture_json: FixtureJson) -> None:
    url = f"{API}/conversations/525/reply"
    responses.add(
        responses.POST,
        url,
        status=429,
        json={
            "type": "error.list",
            "errors": [
                {
                    "code": "rate_limit_exceeded",
                    "message": "Exceeded rate limit of 167 in 10_seconds",
                }
            ],
        },
        headers={"Retry-After": "2"},
    )
    responses.add(responses.POST, url, json=reply_response(fixture_json, "comment", BOT_ID))
    sleeps: list[float] = []

    assert make_connector(sleeps).post_reply("525", "hello") == "133"
    assert sleeps == [2.0]


@responses.activate
def test_rate_limit_reset_header_sets_the_wait(fixture_json: FixtureJson) -> None:
    url = f"{API}/conversations/525/reply"
    reset = int(time.time()) + 4
    responses.add(
        responses.POST,
        url,
        status=429,
        json={"type": "error.list", "errors": [{"code": "rate_limit_exceeded"}]},
        headers={
            "X-RateLimit-Limit": "167",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
        },
    )
    responses.add(responses.POST, url, json=reply_response(fixture_json, "comment", BOT_ID))
    sleeps: list[float] = []

    assert make_connector(sleeps).post_reply("525", "hello") == "133"
    assert len(sleeps) == 1
    assert 2.0 <= sleeps[0] <= 4.0
    assert len(responses.calls) == 2


@responses.activate
def test_a_long_rate_limit_wait_is_handed_to_the_task() -> None:
    responses.add(
        responses.GET,
        f"{API}/conversations/7",
        status=429,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 90)},
    )
    sleeps: list[float] = []

    with pytest.raises(HelpdeskError) as caught:
        make_connector(sleeps).fetch_conversation("7")

    assert caught.value.retryable is True
    assert caught.value.retry_after is not None and caught.value.retry_after > 60
    assert sleeps == []


def teams_listed(fixture_json: FixtureJson) -> None:
    team = fixture_json("intercom", "api_get_team.response.json")
    responses.add(
        responses.GET,
        f"{API}/teams",
        json={
            "type": "team.list",
            "teams": [team, {"type": "team", "id": "5017691", "name": "Tier 2"}],
        },
    )


def assignment(team_id: str) -> dict[str, Any]:
    return {
        "message_type": "assignment",
        "type": "team",
        "admin_id": BOT_ID,
        "assignee_id": team_id,
    }


@responses.activate
def test_assign_group_by_name_resolves_once(fixture_json: FixtureJson) -> None:
    teams_listed(fixture_json)
    assigned = fixture_json("intercom", "api_manage_conversation_assign.response.json")
    post("conversations/542/parts", assignment("5017691"), assigned)
    post("conversations/543/parts", assignment("991267902"), assigned)
    connector = make_connector()

    connector.assign_group("542", "Tier 2")
    connector.assign_group("543", "TEAM 1")  # case differs
    connector.assign_group("542", "5017691")  # an id works too

    assert [c.request.method for c in responses.calls] == ["GET", "POST", "POST", "POST"]


@responses.activate
def test_unknown_team_names_the_known_teams_and_writes_nothing(
    fixture_json: FixtureJson,
) -> None:
    teams_listed(fixture_json)

    with pytest.raises(HelpdeskError) as caught:
        make_connector().assign_group("542", "Tier 3")

    assert caught.value.retryable is False
    assert "unknown Intercom team 'Tier 3'" in str(caught.value)
    assert "'Tier 2', 'team 1'" in str(caught.value)
    assert written() == []


@responses.activate
def test_unknown_team_refreshes_a_stale_list_once(fixture_json: FixtureJson) -> None:
    teams_listed(fixture_json)
    responses.add(
        responses.GET,
        f"{API}/teams",
        json={"type": "team.list", "teams": [{"type": "team", "id": "777", "name": "Tier 3"}]},
    )
    responses.add(responses.POST, f"{API}/conversations/542/parts", json={})
    connector = make_connector()

    connector.assign_group("542", "Tier 2")
    connector.assign_group("542", "Tier 3")

    assert json.loads(responses.calls[-1].request.body or b"{}") == assignment("777")


@responses.activate
def test_add_tags_creates_missing_tags_and_attaches_one_by_one(
    fixture_json: FixtureJson,
) -> None:
    responses.add(
        responses.GET,
        f"{API}/tags",
        json={"type": "list", "data": [{"type": "tag", "id": "86", "name": "AI_Escalated"}]},
    )
    post("tags", {"name": "test"}, fixture_json("intercom", "api_create_tag.response.json"))
    attached = fixture_json("intercom", "api_attach_tag_to_conversation.response.json")
    post("conversations/525/tags", {"id": "86", "admin_id": BOT_ID}, attached)
    post("conversations/525/tags", {"id": "105", "admin_id": BOT_ID}, attached)
    connector = make_connector()

    connector.add_tags("525", ["ai_escalated", "test", "ai_escalated", " "])
    connector.add_tags("525", [])

    assert written() == [
        "POST /tags",
        "POST /conversations/525/tags",
        "POST /conversations/525/tags",
    ]


@responses.activate
def test_escalate_resolves_first_then_notes_assigns_and_tags(fixture_json: FixtureJson) -> None:
    teams_listed(fixture_json)
    responses.add(responses.GET, f"{API}/tags", json={"type": "list", "data": []})
    post("tags", {"name": "ai_escalated"}, {"type": "tag", "id": "105", "name": "ai_escalated"})
    post(
        "conversations/525/reply",
        {"message_type": "note", "type": "admin", "admin_id": BOT_ID, "body": "<p>Brief</p>"},
        fixture_json("intercom", "api_reply_admin_note.response.json"),
    )
    post(
        "conversations/525/parts",
        assignment("5017691"),
        fixture_json("intercom", "api_manage_conversation_assign.response.json"),
    )
    post("conversations/525/tags", {"id": "105", "admin_id": BOT_ID}, {"type": "tag", "id": "105"})

    note_id = make_connector().escalate("525", "Brief", "Tier 2", ["ai_escalated"])

    assert note_id == "133"
    assert written() == [
        "POST /tags",
        "POST /conversations/525/reply",
        "POST /conversations/525/parts",
        "POST /conversations/525/tags",
    ]


@responses.activate
def test_request_bodies_fit_the_pinned_older_version(fixture_json: FixtureJson) -> None:
    teams_listed(fixture_json)
    responses.add(responses.GET, f"{API}/tags", json={"type": "list", "data": []})
    responses.add(responses.POST, f"{API}/tags", json={"type": "tag", "id": "105"})
    responses.add(
        responses.POST,
        f"{API}/conversations/525/reply",
        json=fixture_json("intercom", "api_reply_admin_note.response.json"),
    )
    responses.add(responses.POST, f"{API}/conversations/525/parts", json={})
    responses.add(responses.POST, f"{API}/conversations/525/tags", json={})

    make_connector(api_version="2.15").escalate("525", "Brief", "Tier 2", ["ai_escalated"])

    sent = [call.request for call in responses.calls if call.request.method == "POST"]
    assert len(sent) == 4
    for request in sent:
        assert request.headers["Intercom-Version"] == "2.15"
        body = json.loads(request.body or b"{}")
        assert_valid_request("intercom-2.15.yaml", "POST", request.url or "", body)


@responses.activate
def test_escalate_to_unknown_team_writes_nothing(fixture_json: FixtureJson) -> None:
    teams_listed(fixture_json)

    with pytest.raises(HelpdeskError, match="unknown Intercom team 'Nobody'"):
        make_connector().escalate("525", "Brief", "Nobody", ["ai_escalated"])

    assert written() == []


@responses.activate
def test_escalate_without_team_or_tags_only_writes_the_note(fixture_json: FixtureJson) -> None:
    responses.add(
        responses.POST,
        f"{API}/conversations/525/reply",
        json=fixture_json("intercom", "api_reply_admin_note.response.json"),
    )

    assert make_connector().escalate("525", "Brief", None, []) == "133"
    assert len(responses.calls) == 1


# -- wiring --------------------------------------------------------------------------------
def test_connect_prints_the_developer_hub_steps() -> None:
    connector = IntercomConnector("acme-intercom", load_settings())

    result = connector.connect("https://bridge.example.com/webhooks/acme-intercom")
    text = "\n".join(result.lines)

    assert result.automated is False
    assert "https://bridge.example.com/webhooks/acme-intercom" in text
    for topic in WEBHOOK_TOPICS:
        assert topic in text
    assert "ACME_INTERCOM_CLIENT_SECRET=<client secret>" in text
    assert "client_secret: ${ACME_INTERCOM_CLIENT_SECRET}" in text
    assert "Basic information" in text
    assert "API version to 2.16" in text
    assert "not https" not in text
    assert connector.connect("https://bridge.example.com/webhooks/acme-intercom") == result


def test_connect_warns_about_plain_http() -> None:
    result = dry_run_connector().connect("http://localhost:8000/webhooks/support")

    assert "not https" in result.lines[-1]
