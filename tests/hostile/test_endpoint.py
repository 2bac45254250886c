"""Hostile requests through ``POST /webhooks/<connector>``: always 4xx (or accepted), never 5xx;
and whatever was accepted, the worker decides without crashing.

The database is the suite's (SQLite, or PostgreSQL when DATABASE_URL is set), so what a real
database refuses to store (NUL characters, NaN, ids longer than their column) is found too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bridge.runtime import Runtime
from bridge.store import Store
from bridge.web import create_app
from tasks.pipeline import process_delivery
from tests.hostile.payloads import bodies, header_text, headers, hostile_config

NAMES = ("zendesk", "intercom", "freshdesk", "freshdesk-basic")
HOSTILE = settings(
    max_examples=120,
    deadline=None,
    database=None,  # no example files left in the working tree
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
)


class Endpoint:
    def __init__(self, tmp_path: Path, store: Store) -> None:
        config = hostile_config(store.url, tmp_path / "var")
        self.runtime = Runtime(config, store=store)
        self.enqueued: list[int] = []
        app = create_app(
            config, runtime=self.runtime, enqueue=self.enqueued.append, broker_check=lambda: None
        )
        self.client: FlaskClient = app.test_client()

    def connector(self, name: str):  # type: ignore[no-untyped-def]
        connector = self.runtime.connector(name)
        assert connector is not None
        return connector


@pytest.fixture
def endpoint(tmp_path: Path, store: Store) -> Endpoint:
    return Endpoint(tmp_path, store)


def decide_everything_enqueued(endpoint: Endpoint) -> None:
    """The worker's whole path on each accepted delivery: it must end, not raise."""
    while endpoint.enqueued:
        pk = endpoint.enqueued.pop()
        outcome = process_delivery(endpoint.runtime, pk, owner="hostile-worker")
        assert outcome is not None
        assert outcome.write_status in ("recorded", "none")


@pytest.mark.parametrize("name", NAMES)
@HOSTILE
@given(data=st.data())
def test_signed_hostile_bodies_get_4xx_or_are_accepted_and_decided(
    endpoint: Endpoint, name: str, data: st.DataObject
) -> None:
    body = data.draw(bodies(name), label="body")
    content_type = data.draw(
        st.sampled_from(["application/json", "text/plain", "", "application/x-www-form-urlencoded"])
    )
    connector = endpoint.connector(name)
    signature = connector.sign(body, datetime.now(UTC))
    response = endpoint.client.post(
        f"/webhooks/{name}", data=body, headers={**signature, "Content-Type": content_type}
    )
    event(f"answered {response.status_code}")
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert response.status_code in (200, 202) or 400 <= response.status_code < 500
    decide_everything_enqueued(endpoint)


@pytest.mark.parametrize("name", NAMES)
@HOSTILE
@given(data=st.data(), request_headers=headers, query=st.dictionaries(header_text, header_text))
def test_unsigned_hostile_requests_get_4xx(
    endpoint: Endpoint,
    name: str,
    data: st.DataObject,
    request_headers: dict[str, str],
    query: dict[str, str],
) -> None:
    body = data.draw(bodies(name), label="body")
    response = endpoint.client.post(
        f"/webhooks/{name}", data=body, headers=request_headers, query_string=query
    )
    assert 400 <= response.status_code < 500, response.status_code
    assert endpoint.enqueued == []


@HOSTILE
@given(
    name=st.text(max_size=300),
    method=st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "POST"]),
    body=st.binary(max_size=100),
)
def test_any_path_and_method_gets_an_answer_below_500(
    endpoint: Endpoint, name: str, method: str, body: bytes
) -> None:
    response = endpoint.client.open(f"/webhooks/{name}", method=method, data=body)
    assert response.status_code < 500


def test_a_body_over_the_limit_is_413_not_500(endpoint: Endpoint) -> None:
    body = b"x" * (2 * 1_048_576)
    connector = endpoint.connector("zendesk")
    response = endpoint.client.post(
        "/webhooks/zendesk", data=body, headers=connector.sign(body, datetime.now(UTC))
    )
    assert response.status_code == 413
