"""A real Celery worker process on the real Redis broker, end to end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bridge.config import load_config
from bridge.store import Decision, Delivery, Store
from bridge.web import create_app
from tests.conftest import REPO_ROOT, config_data
from tests.helpers import REQUESTER, comment, signed, trigger_body
from tests.integration.fake_zendesk import FakeZendesk, fake_zendesk
from tests.integration.servers import free_port

pytestmark = pytest.mark.integration

QUESTION = "Hi, how do I reset my password? I can't remember it."


@pytest.fixture
def zendesk() -> Iterator[FakeZendesk]:
    with fake_zendesk() as fake:
        yield fake


def write_config(tmp_path: Path, database_url: str, broker_url: str, base_url: str) -> Path:
    data = config_data(tmp_path, database_url, {"base_url": base_url}, broker_url=broker_url)
    data["knowledge"]["sources"][0]["path"] = str(REPO_ROOT / "examples" / "help-center")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def worker(tmp_path: Path, store: Store, redis_url: str, zendesk: FakeZendesk):
    # A queue of its own per test, so a previous run's leftovers can't interfere.
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    config_path = write_config(tmp_path, store.url, redis_url, zendesk.base_url)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bridge.cli",
            "worker",
            "--config",
            str(config_path),
            "--concurrency",
            "2",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield load_config(config_path)
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    print(output.decode(errors="replace")[-4000:])


def wait_for(store: Store, predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with store.session() as session:
            result = predicate(session)
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


def test_webhook_is_processed_end_to_end_by_a_real_worker(
    worker, store: Store, zendesk: FakeZendesk
) -> None:
    zendesk.comments["42"] = [comment(501, REQUESTER, QUESTION)]
    app = create_app(worker)  # the real Celery enqueue to Redis
    client = app.test_client()
    connector = app.extensions["bridge"].runtime.connector("acme")
    raw, headers = signed(connector, trigger_body(text=QUESTION))

    response = client.post("/webhooks/acme", data=raw, headers=headers)
    assert response.status_code == 202
    assert client.get("/readyz").status_code == 200

    decision = wait_for(
        store,
        lambda s: s.scalars(select(Decision).where(Decision.write_status == "written")).first(),
    )
    assert decision.kind == "reply"
    [(method, path, body)] = zendesk.writes
    assert (method, path) == ("PUT", "/api/v2/tickets/42.json")
    assert body["ticket"]["comment"]["public"] is True
    assert "Reset your password" in body["ticket"]["comment"]["body"]
    with store.session() as session:
        assert session.scalars(select(Delivery)).one().status == "done"

    again = client.post("/webhooks/acme", data=raw, headers=headers)
    assert again.status_code == 200
    time.sleep(1.5)
    assert len(zendesk.writes) == 1


def test_broker_down_answers_503_and_records_nothing(tmp_path: Path, store: Store) -> None:
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"
    config = load_config(write_config(tmp_path, store.url, dead_broker, "http://127.0.0.1:1"))
    app = create_app(config)
    client = app.test_client()
    connector = app.extensions["bridge"].runtime.connector("acme")
    raw, headers = signed(connector, trigger_body(text=QUESTION))

    response = client.post("/webhooks/acme", data=raw, headers=headers)

    assert response.status_code == 503
    with store.session() as session:
        assert session.scalars(select(Delivery)).all() == []
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["broker"].startswith("failed")
