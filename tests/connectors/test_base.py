"""What every connector takes from ``Connector``: the same refusal reads the same whichever
helpdesk it comes from, naming the helpdesk where the admin needs to know which one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from marshmallow import ValidationError

from connectors.base import (
    Connector,
    HelpdeskError,
    MalformedPayload,
    NotConfigured,
    WebhookRequest,
)
from connectors.freshdesk import FreshdeskConnector, FreshdeskSettingsSchema
from connectors.intercom import IntercomConnector, IntercomSettingsSchema
from connectors.payload import MISSING, digits_only
from connectors.zendesk import ZendeskConnector, ZendeskSettingsSchema


def zendesk() -> Connector:
    settings = ZendeskSettingsSchema().load({"subdomain": "acme", "signing_secret": "secret"})
    return ZendeskConnector("support", settings)


def intercom() -> Connector:
    return IntercomConnector("support", IntercomSettingsSchema().load({"client_secret": "secret"}))


def freshdesk() -> Connector:
    config = {"domain": "acme", "webhook_secret": "a-secret-of-sixteen-chars"}
    return FreshdeskConnector("support", FreshdeskSettingsSchema().load(config))


CONNECTORS: list[Any] = [
    pytest.param(zendesk, id="zendesk"),
    pytest.param(intercom, id="intercom"),
    pytest.param(freshdesk, id="freshdesk"),
]


def parse(connector: Connector, body: bytes) -> MalformedPayload:
    with pytest.raises(MalformedPayload) as caught:
        connector.parse(WebhookRequest(method="POST", headers={}, body=body))
    return caught.value


# -- webhook bodies ------------------------------------------------------------------------
@pytest.mark.parametrize("make", CONNECTORS)
@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object_reads_the_same_everywhere(
    make: Callable[[], Connector], body: bytes
) -> None:
    refused = parse(make(), body)

    assert refused.field == "body"
    assert refused.message == "body is not a JSON object"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (zendesk, "body is not valid JSON"),
        (intercom, "body is not valid JSON"),
        (
            freshdesk,
            "body is not valid JSON; check the rule's Content box against the body "
            "`helpdesk-bridge connect` prints (every placeholder in double quotes)",
        ),
    ],
    ids=["zendesk", "intercom", "freshdesk"],
)
@pytest.mark.parametrize("body", [b"not json", b"\xff\xfe", b"", b"{"])
def test_a_body_that_is_not_json_says_so(
    make: Callable[[], Connector], message: str, body: bytes
) -> None:
    refused = parse(make(), body)

    assert refused.field == "body"
    assert refused.message == message


# -- API access ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            zendesk,
            "connector 'support' has no Zendesk API credentials; set oauth_client_id + "
            "oauth_client_secret, oauth_token, or email + api_token",
        ),
        (
            intercom,
            "connector 'support' has no Intercom access token; set access_token and bot_admin_id",
        ),
        (
            freshdesk,
            "connector 'support' has no Freshdesk API key; set api_key (with bot_agent_id and "
            "bot_agent_name)",
        ),
    ],
    ids=["zendesk", "intercom", "freshdesk"],
)
def test_without_credentials_the_client_is_refused_with_what_to_set(
    make: Callable[[], Connector], message: str
) -> None:
    connector = make()

    with pytest.raises(NotConfigured) as caught:
        _ = connector.http

    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (zendesk, "not a Zendesk ticket id: '../groups'"),
        (intercom, "not an Intercom conversation id: '../groups'"),
        (freshdesk, "not a Freshdesk ticket id: '../groups'"),
    ],
    ids=["zendesk", "intercom", "freshdesk"],
)
def test_a_ticket_id_goes_into_a_path_only_as_digits(
    make: Callable[[], Connector], message: str
) -> None:
    connector = make()

    assert connector._ticket_ref(" 42 ") == "42"
    with pytest.raises(HelpdeskError) as caught:
        connector._ticket_ref("../groups")
    assert str(caught.value) == message
    with pytest.raises(HelpdeskError):
        connector._ticket_ref("４２")  # full-width digits pass str.isdigit


# -- groups --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "start"),
    [
        (zendesk, "unknown Zendesk group 'Tier 9'; known groups: "),
        (intercom, "unknown Intercom team 'Tier 9'; known teams: "),
        (freshdesk, "unknown Freshdesk group 'Tier 9'; known groups: "),
    ],
    ids=["zendesk", "intercom", "freshdesk"],
)
def test_an_unknown_group_lists_twenty_known_ones_then_counts_the_rest(
    make: Callable[[], Connector], start: str
) -> None:
    names = [f"Group {number:02}" for number in reversed(range(25))]

    error = make()._unknown_group("Tier 9", names)

    shown = ", ".join(f"'Group {number:02}'" for number in range(20))
    assert str(error) == f"{start}{shown} and 5 more"
    assert error.retryable is False


@pytest.mark.parametrize("make", CONNECTORS)
def test_an_unknown_group_among_none_says_none(make: Callable[[], Connector]) -> None:
    assert str(make()._unknown_group("Tier 9", [])).endswith("s: none")


@pytest.mark.parametrize("make", [zendesk, freshdesk], ids=["zendesk", "freshdesk"])
def test_a_group_is_found_by_id_or_by_name_in_any_case(make: Callable[[], Connector]) -> None:
    connector = make()
    connector._group_ids = {"Billing": 11, "Tier 2": 22}

    assert connector._group_id(" 7 ") == 7
    assert connector._group_id("Tier 2") == 22
    assert connector._group_id("billing") == 11


# -- payload ids ---------------------------------------------------------------------------
def test_digits_only_names_the_id_it_expected() -> None:
    check = digits_only("a ticket number")

    check("123")
    with pytest.raises(ValidationError) as unrendered:
        check("{{ticket.id}}")
    with pytest.raises(ValidationError) as blank:
        check("")

    assert unrendered.value.messages == ["not a ticket number: '{{ticket.id}}'"]
    assert blank.value.messages == [MISSING]
