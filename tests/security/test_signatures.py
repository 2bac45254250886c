"""Every helpdesk's webhook check: constant-time comparison, and what stops a replay.

- Zendesk signs a timestamp with the body: a delivery older (or further in the future) than
  ``max_webhook_age_seconds`` is refused, and within that window a replay is a duplicate.
- Intercom signs the body only, with no timestamp: a replay is caught by its notification id,
  which the signature covers, so it cannot be changed without the secret.
- Freshdesk sends a shared secret, not a signature: whoever has captured one request can send
  any body. Replays of a captured body are duplicates (the delivery id is derived from the
  ticket and the comment), the secret is compared in constant time, and the worker re-reads the
  ticket from the API before acting, so a forged body cannot make the bot answer a comment
  that does not exist on the ticket.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.store import Store
from connectors.base import BadSignature, Connector, WebhookRequest
from tests.helpers import trigger_body
from tests.hostile.payloads import fixture
from tests.hostile.test_endpoint import Endpoint

BODIES: dict[str, Callable[[], bytes]] = {
    "zendesk": lambda: json.dumps(trigger_body(ticket_id="5", comment_id="6")).encode(),
    "intercom": lambda: json.dumps(
        fixture("intercom/webhook_conversation_user_created.v1-format.zulip.json")
    ).encode(),
    "freshdesk": lambda: json.dumps(
        fixture("freshdesk/webhook_template.requester_reply.json")
    ).encode(),
    "freshdesk-basic": lambda: json.dumps(
        fixture("freshdesk/webhook_template.requester_reply.json")
    ).encode(),
}


@pytest.fixture
def endpoint(tmp_path: Path, store: Store) -> Endpoint:
    return Endpoint(tmp_path, store)


@pytest.mark.parametrize("name", sorted(BODIES))
def test_the_secret_is_compared_in_constant_time(
    endpoint: Endpoint, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector: Connector = endpoint.connector(name)
    body = BODIES[name]()
    now = datetime.now(UTC)
    request = WebhookRequest("POST", connector.sign(body, now), body)
    connector.verify(request, now)  # genuine

    # The outcome hangs on hmac.compare_digest: when it says "different", a genuine request
    # is refused, so no other comparison (which could leak timing) decides.
    calls: list[tuple[object, object]] = []

    def never_equal(a: object, b: object) -> bool:
        calls.append((a, b))
        return False

    monkeypatch.setattr(hmac, "compare_digest", never_equal)
    with pytest.raises(BadSignature):
        connector.verify(request, now)
    assert calls


@pytest.mark.parametrize("name", sorted(BODIES))
def test_a_replayed_delivery_is_a_duplicate(endpoint: Endpoint, name: str) -> None:
    connector = endpoint.connector(name)
    body = BODIES[name]()
    headers = connector.sign(body, datetime.now(UTC))
    first = endpoint.client.post(f"/webhooks/{name}", data=body, headers=headers)
    again = endpoint.client.post(f"/webhooks/{name}", data=body, headers=headers)
    assert first.status_code == 202
    assert (again.status_code, again.json["status"]) == (200, "duplicate")
    assert len(endpoint.enqueued) == 1


def test_zendesk_refuses_a_delivery_outside_its_window(endpoint: Endpoint) -> None:
    connector = endpoint.connector("zendesk")
    body = BODIES["zendesk"]()
    now = datetime.now(UTC)
    window = connector.settings.max_webhook_age_seconds
    for sent in (now - timedelta(seconds=window + 5), now + timedelta(seconds=window + 5)):
        response = endpoint.client.post(
            "/webhooks/zendesk", data=body, headers=connector.sign(body, sent)
        )
        assert response.status_code == 401
    # The timestamp is signed: moving it into the window breaks the signature.
    stale = connector.sign(body, now - timedelta(hours=1))
    stale["X-Zendesk-Webhook-Signature-Timestamp"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert endpoint.client.post("/webhooks/zendesk", data=body, headers=stale).status_code == 401
    assert endpoint.enqueued == []


def test_intercom_notification_id_cannot_be_changed_to_pass_a_replay(endpoint: Endpoint) -> None:
    connector = endpoint.connector("intercom")
    body = BODIES["intercom"]()
    headers = connector.sign(body, datetime.now(UTC))
    assert endpoint.client.post("/webhooks/intercom", data=body, headers=headers).status_code == 202
    document = json.loads(body)
    document["id"] = document["id"] + "-again"
    replay = json.dumps(document).encode()
    answer = endpoint.client.post("/webhooks/intercom", data=replay, headers=headers)
    assert answer.status_code == 401
    assert len(endpoint.enqueued) == 1


@pytest.mark.parametrize("name", ["freshdesk", "freshdesk-basic"])
def test_freshdesk_wrong_or_missing_secret_is_refused(endpoint: Endpoint, name: str) -> None:
    body = BODIES[name]()
    for headers in (
        {},
        {"X-Helpdesk-Bridge-Secret": "not-the-secret-at-all"},
        {"Authorization": "Basic dXNlcjpub3QtdGhlLXNlY3JldA=="},
    ):
        response = endpoint.client.post(f"/webhooks/{name}", data=body, headers=headers)
        assert response.status_code == 401
    assert endpoint.enqueued == []
