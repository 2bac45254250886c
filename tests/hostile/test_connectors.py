"""Every connector's verify and parse, fed arbitrary requests: a WebhookRejected (4xx) or an
event that can be stored, never another exception."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import (
    MAX_DELIVERY_ID,
    MAX_TICKET_ID,
    Connector,
    WebhookRejected,
    WebhookRequest,
)
from tests.hostile.payloads import bodies, connectors, headers, hostile_config

NAMES = ("zendesk", "intercom", "freshdesk", "freshdesk-basic")
HOSTILE = settings(
    max_examples=150,
    deadline=None,
    database=None,  # no example files left in the working tree
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


@pytest.fixture(scope="module")
def hostile_connectors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Connector]:
    data_dir = tmp_path_factory.mktemp("hostile")
    return connectors(hostile_config(f"sqlite:///{data_dir / 'unused.db'}", data_dir))


def assert_rejection(exc: WebhookRejected) -> None:
    assert 400 <= exc.status < 500
    json.dumps(exc.to_json())  # the endpoint answers with it


def assert_storable(connector: Connector, request: WebhookRequest) -> None:
    try:
        event = connector.parse(request)
    except WebhookRejected as exc:
        assert_rejection(exc)
        return
    encoded = json.dumps(event.to_json(), allow_nan=False, ensure_ascii=False)
    assert "\\u0000" not in encoded
    encoded.encode("utf-8")  # no lone surrogates: every database driver encodes text so
    assert len(event.delivery_id) <= MAX_DELIVERY_ID
    assert len(event.ticket_id) <= MAX_TICKET_ID
    assert event.connector == connector.name


@pytest.mark.parametrize("name", NAMES)
@HOSTILE
@given(data=st.data(), request_headers=headers)
def test_verify_answers_a_rejection_or_nothing(
    hostile_connectors: dict[str, Connector],
    name: str,
    data: st.DataObject,
    request_headers: dict[str, str],
) -> None:
    connector = hostile_connectors[name]
    body = data.draw(bodies(name), label="body")
    request = WebhookRequest("POST", request_headers, body)
    try:
        connector.verify(request, datetime.now(UTC))
    except WebhookRejected as exc:
        assert_rejection(exc)


@pytest.mark.parametrize("name", NAMES)
@HOSTILE
@given(data=st.data())
def test_signed_hostile_bodies_are_rejected_or_parsed_into_storable_events(
    hostile_connectors: dict[str, Connector], name: str, data: st.DataObject
) -> None:
    connector = hostile_connectors[name]
    body = data.draw(bodies(name), label="body")
    now = datetime.now(UTC)
    request = WebhookRequest("POST", {**connector.sign(body, now)}, body)
    connector.verify(request, now)  # correctly signed: whatever the body, this passes
    assert_storable(connector, request)


@pytest.mark.parametrize("name", NAMES)
def test_bodies_that_break_recursive_parsers_are_rejected(
    hostile_connectors: dict[str, Connector], name: str
) -> None:
    connector = hostile_connectors[name]
    for body in (b"[" * 200_000, b'{"a":' * 100_000, b"[" * 100_000 + b"]" * 100_000):
        now = datetime.now(UTC)
        request = WebhookRequest("POST", connector.sign(body, now), body)
        with pytest.raises(WebhookRejected) as caught:
            connector.parse(request)
        assert caught.value.status == 400


@pytest.mark.parametrize("name", NAMES)
def test_nan_and_infinity_are_rejected_not_stored(
    hostile_connectors: dict[str, Connector], name: str
) -> None:
    from tests.hostile.payloads import FIXTURE_BODIES, fixture

    connector = hostile_connectors[name]
    document = fixture(FIXTURE_BODIES[name][0])
    # Wherever a NaN lands, the stored event may not carry it.
    for key in list(document)[:8]:
        changed = {**document, key: float("nan")}
        body = json.dumps(changed).encode()
        now = datetime.now(UTC)
        assert_storable(connector, WebhookRequest("POST", connector.sign(body, now), body))


def test_the_strategies_reach_the_schemas(tmp_path: Path) -> None:
    """The mutated fixtures are not all refused as unreadable: they get to the field checks."""
    from hypothesis import find

    from tests.hostile.payloads import encode, mutated_fixture

    found = connectors(hostile_config(f"sqlite:///{tmp_path / 'x.db'}", tmp_path))
    zendesk = found["zendesk"]

    def field_error(document: object) -> bool:
        body = encode(document)
        try:
            zendesk.parse(WebhookRequest("POST", {}, body))
        except WebhookRejected as exc:
            return exc.field not in (None, "body")
        return False

    find(mutated_fixture("zendesk"), field_error, settings=settings(database=None))
