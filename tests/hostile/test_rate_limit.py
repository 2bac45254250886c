"""The webhook endpoint's per-connector token buckets: 429 with Retry-After over the limit, shared
through Redis between web processes, never spent by forged requests, and never a 429 to Intercom.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from bridge.config import RateLimit, parse_config
from bridge.runtime import Runtime
from bridge.store import Store
from bridge.web import create_app
from bridge.web.ratelimit import LocalBuckets, RedisBuckets
from tests.conftest import REPO_ROOT
from tests.helpers import trigger_body
from tests.hostile.payloads import config_data, fixture
from tests.integration.servers import free_port, redis_server

LIMIT = {"requests_per_second": 0.01, "burst": 3}  # three at once, then one per 100 s


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_admits_its_burst_then_asks_to_wait_and_refills() -> None:
    clock = Clock()
    buckets = LocalBuckets(clock=clock)
    limit = RateLimit(requests_per_second=2.0, burst=3)
    assert [buckets.take("acme", limit) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("acme", limit) == pytest.approx(0.5)
    assert buckets.take("other", limit) == 0.0  # one bucket per connector
    clock.now += 0.5
    assert buckets.take("acme", limit) == 0.0
    clock.now += 100
    assert [buckets.take("acme", limit) for _ in range(4)] == [0.0, 0.0, 0.0, pytest.approx(0.5)]


class Web:
    def __init__(self, tmp_path: Path, store: Store, **top: Any) -> None:
        data = config_data(store.url, tmp_path / "var")
        data.update(top)
        config = parse_config(data, base_dir=REPO_ROOT, env={})
        self.runtime = Runtime(config, store=store)
        self.enqueued: list[int] = []
        app = create_app(
            config, runtime=self.runtime, enqueue=self.enqueued.append, broker_check=lambda: None
        )
        self.client: FlaskClient = app.test_client()
        self.sent = 0

    def post(self, name: str, *, forged: bool = False) -> Any:
        self.sent += 1
        if name == "intercom":
            document = fixture("intercom/webhook_conversation_user_created.v1-format.zulip.json")
            document["id"] = f"notif_{self.sent}"
            body = json.dumps(document).encode()
        elif name.startswith("freshdesk"):
            document = fixture("freshdesk/webhook_template.requester_reply.json")
            document["ticket_id"] = str(self.sent)
            body = json.dumps(document).encode()
        else:
            body = json.dumps(trigger_body(ticket_id=str(self.sent), comment_id="1")).encode()
        connector = self.runtime.connector(name)
        assert connector is not None
        headers = connector.sign(body, datetime.now(UTC))
        if forged:
            headers = {key: "0" * len(value) for key, value in headers.items()}
        return self.client.post(f"/webhooks/{name}", data=body, headers=headers)


def limited(**connectors: Any) -> dict[str, Any]:
    return {"rate_limit": {**LIMIT, "connectors": connectors}}


def test_over_the_limit_is_429_with_retry_after(tmp_path: Path, store: Store) -> None:
    web = Web(tmp_path, store, web=limited())
    assert [web.post("zendesk").status_code for _ in range(3)] == [202, 202, 202]
    refused = web.post("zendesk")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 100
    assert len(web.enqueued) == 3  # nothing recorded or queued for the refused one
    assert web.post("freshdesk").status_code != 429  # other connectors have their own bucket


def test_forged_requests_do_not_spend_the_budget(tmp_path: Path, store: Store) -> None:
    web = Web(tmp_path, store, web=limited())
    assert {web.post("zendesk", forged=True).status_code for _ in range(20)} == {401}
    assert [web.post("zendesk").status_code for _ in range(3)] == [202, 202, 202]


def test_limits_per_connector_and_off(tmp_path: Path, store: Store) -> None:
    web = Web(
        tmp_path,
        store,
        web=limited(zendesk={"burst": 1}, freshdesk={"enabled": False}),
    )
    assert [web.post("zendesk").status_code for _ in range(2)] == [202, 429]
    assert {web.post("freshdesk").status_code for _ in range(10)} == {202}


def test_intercom_is_exempt_unless_limited_on_purpose_and_then_gets_503(
    tmp_path: Path, store: Store
) -> None:
    exempt = Web(tmp_path / "a", store, web=limited())
    assert {exempt.post("intercom").status_code for _ in range(6)} == {202}

    on_purpose = Web(tmp_path / "b", store, web=limited(intercom={"burst": 2}))
    on_purpose.sent = 100  # notification ids of their own
    answers = [on_purpose.post("intercom") for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 503]
    assert int(answers[-1].headers["Retry-After"]) >= 1


def test_a_rate_limit_for_an_unknown_connector_is_a_config_error(tmp_path: Path) -> None:
    from bridge.config import ConfigError

    data = config_data(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    data["web"] = limited(nosuch={"burst": 1})
    with pytest.raises(ConfigError, match=r"web.rate_limit.connectors.nosuch"):
        parse_config(data, base_dir=REPO_ROOT, env={})


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.mark.integration
def test_web_processes_sharing_redis_share_the_bucket(
    tmp_path: Path, store: Store, redis_url: str
) -> None:
    import redis

    redis.Redis.from_url(redis_url).delete("helpdesk-bridge:webhook-rate:zendesk")
    first = Web(tmp_path / "a", store, broker_url=redis_url, web=limited())
    second = Web(tmp_path / "b", store, broker_url=redis_url, web=limited())
    second.sent = 100
    assert [first.post("zendesk").status_code for _ in range(2)] == [202, 202]
    assert [second.post("zendesk").status_code for _ in range(2)] == [202, 429]
    assert first.post("zendesk").status_code == 429


def test_an_unreachable_bucket_store_lets_webhooks_through(tmp_path: Path, store: Store) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    web = Web(tmp_path, store, broker_url=dead, web=limited())
    # The enqueue here is the test's own, so only the limiter meets the dead Redis.
    limiter = web.client.application.extensions["bridge"].rate_limiter
    assert isinstance(limiter.buckets, RedisBuckets)
    assert [web.post("zendesk").status_code for _ in range(5)] == [202] * 5
