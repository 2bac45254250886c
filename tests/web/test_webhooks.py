"""POST /webhooks/<connector>: every acceptance and every rejection."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bridge.config import AppConfig
from bridge.runtime import Runtime
from bridge.store import Delivery, Store
from bridge.web import create_app
from tests.conftest import FIXTURES, make_config
from tests.helpers import signed, trigger_body


class Harness:
    def __init__(self, config: AppConfig, store: Store) -> None:
        self.runtime = Runtime(config, store=store)
        self.enqueued: list[int] = []
        self.broker_up = True
        self.enqueue_fails = False
        self.app = create_app(
            config, runtime=self.runtime, enqueue=self._enqueue, broker_check=self._ping
        )
        self.client: FlaskClient = self.app.test_client()
        self.connector = self.runtime.connector("acme")

    def _enqueue(self, pk: int) -> None:
        if self.enqueue_fails:
            raise ConnectionError("broker down")
        self.enqueued.append(pk)

    def _ping(self) -> None:
        if not self.broker_up:
            raise ConnectionError("broker down")

    def post(self, body: bytes | dict, now: datetime | None = None, path: str = "/webhooks/acme"):
        raw, headers = signed(self.connector, body, now)
        return self.client.post(path, data=raw, headers=headers)

    def deliveries(self) -> int:
        with self.runtime.store.session() as session:
            return session.scalar(select(func.count()).select_from(Delivery))


@pytest.fixture
def harness(tmp_path: Path, store: Store) -> Harness:
    config = make_config(tmp_path, store.url, web={"max_body_bytes": 4096})
    return Harness(config, store)


def assert_nothing_recorded(h: Harness) -> None:
    assert h.deliveries() == 0
    assert h.enqueued == []


def test_valid_webhook_is_recorded_enqueued_and_accepted(harness: Harness) -> None:
    response = harness.post(trigger_body())
    assert response.status_code == 202
    assert response.json["delivery_id"] == "comment:42:501"
    assert harness.deliveries() == 1
    assert len(harness.enqueued) == 1


def test_redelivery_answers_200_and_does_nothing(harness: Harness) -> None:
    assert harness.post(trigger_body()).status_code == 202
    again = harness.post(trigger_body())
    assert again.status_code == 200
    assert again.json["status"] == "duplicate"
    assert harness.deliveries() == 1
    assert len(harness.enqueued) == 1


def test_bad_signature_is_401(harness: Harness) -> None:
    raw, headers = signed(harness.connector, trigger_body())
    headers["X-Zendesk-Webhook-Signature"] = "AAAA" + headers["X-Zendesk-Webhook-Signature"][4:]
    response = harness.client.post("/webhooks/acme", data=raw, headers=headers)
    assert response.status_code == 401
    assert_nothing_recorded(harness)


def test_unsigned_request_is_401(harness: Harness) -> None:
    response = harness.client.post("/webhooks/acme", json=trigger_body())
    assert response.status_code == 401
    assert_nothing_recorded(harness)


def test_stale_timestamp_is_401(harness: Harness) -> None:
    response = harness.post(trigger_body(), now=datetime.now(UTC) - timedelta(minutes=6))
    assert response.status_code == 401
    assert_nothing_recorded(harness)


def test_malformed_json_is_400_naming_the_body(harness: Harness) -> None:
    response = harness.post(b"{not json")
    assert response.status_code == 400
    assert response.json["field"] == "body"
    assert_nothing_recorded(harness)


def test_missing_field_is_400_naming_it(harness: Harness) -> None:
    body = trigger_body()
    del body["comment_id"]
    response = harness.post(body)
    assert response.status_code == 400
    assert response.json["field"] == "comment_id"
    assert "comment_id" in response.json["error"]
    assert_nothing_recorded(harness)


def test_someone_elses_trigger_body_is_400_naming_the_first_missing_field(harness: Harness) -> None:
    raw = (FIXTURES / "zendesk" / "webhook_trigger_json_body.zulip.json").read_bytes()
    response = harness.post(raw)
    assert response.status_code == 400
    assert response.json["field"]
    assert_nothing_recorded(harness)


def test_unknown_connector_is_404(harness: Harness) -> None:
    response = harness.post(trigger_body(), path="/webhooks/nobody")
    assert response.status_code == 404
    assert "nobody" in response.json["error"]
    assert_nothing_recorded(harness)


def test_too_large_body_is_413(harness: Harness) -> None:
    response = harness.post(trigger_body(text="x" * 5000))
    assert response.status_code == 413
    assert_nothing_recorded(harness)


def test_broker_down_is_503_and_leaves_no_record(harness: Harness) -> None:
    harness.enqueue_fails = True
    response = harness.post(trigger_body())
    assert response.status_code == 503
    assert harness.deliveries() == 0
    # the helpdesk's retry is then accepted, not taken for a duplicate
    harness.enqueue_fails = False
    assert harness.post(trigger_body()).status_code == 202


def test_database_down_is_503(tmp_path: Path, store: Store) -> None:
    config = make_config(tmp_path, store.url)
    unreachable = Store(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    harness = Harness(config, unreachable)
    response = harness.post(trigger_body())
    assert response.status_code == 503
    assert harness.enqueued == []
    assert harness.client.get("/readyz").status_code == 503


def test_real_comment_added_envelope_is_accepted(harness: Harness) -> None:
    raw = (
        FIXTURES / "zendesk" / "webhook_event_ticket_comment_added.third-party-sample.json"
    ).read_bytes()
    response = harness.post(raw)
    assert response.status_code == 202
    with harness.runtime.store.session() as session:
        delivery = session.scalars(select(Delivery)).one()
    assert delivery.ticket_id == "5158"
    assert delivery.event["message"]["role"] == "agent"


def test_event_without_a_message_is_acknowledged_not_recorded(harness: Harness) -> None:
    body = {
        "type": "zen:event-type:ticket.status_changed",
        "id": "evt-1",
        "subject": "zen:ticket:5",
        "detail": {"id": "5"},
        "event": {"current": "SOLVED", "previous": "OPEN"},
        "account_id": 1,
        "time": "2026-11-30T10:00:00Z",
        "zendesk_event_version": "2022-11-06",
    }
    response = harness.post(json.dumps(body).encode())
    assert response.status_code == 200
    assert_nothing_recorded(harness)


def test_health_and_readiness(harness: Harness) -> None:
    assert harness.client.get("/healthz").json == {"status": "ok"}
    ready = harness.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["checks"] == {"database": "ok", "broker": "ok"}
    harness.broker_up = False
    not_ready = harness.client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json["checks"]["broker"].startswith("failed")
