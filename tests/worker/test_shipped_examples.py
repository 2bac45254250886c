"""The walking skeleton's end-to-end checks, for every helpdesk, with the shipped examples.

Each helpdesk ships four example webhooks (examples/webhooks/<type>/) with the same story: a
how-to question, a request for a person, an agent's comment, and the customer writing again
after it. They go through the real web endpoint and the real worker pipeline with the
shipped example config (dry_run connectors without credentials), through the same decision
core whatever the helpdesk.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bridge.config import load_config
from bridge.runtime import Runtime
from bridge.store import Decision, Delivery, Store
from bridge.web import create_app
from tasks.pipeline import process_delivery
from tests.conftest import REPO_ROOT
from tests.helpers import signed

CONNECTORS = [
    ("example-zendesk", "zendesk"),
    ("example-intercom", "intercom"),
    ("example-freshdesk", "freshdesk"),
]


@pytest.mark.parametrize(("name", "helpdesk"), CONNECTORS)
def test_shipped_examples_answer_hand_off_and_fall_silent(
    name: str, helpdesk: str, tmp_path: Path, store: Store
) -> None:
    env = {"DATABASE_URL": store.url, "HELPDESK_BRIDGE_DATA": str(tmp_path / "var")}
    config = load_config(REPO_ROOT / "config.example.yaml", env=env)
    # The webhooks are processed right after they arrive: no waiting for more messages.
    config = replace(config, worker=replace(config.worker, coalesce_seconds=0.0))
    runtime = Runtime(config, store=store)
    enqueued: list[int] = []
    client = create_app(
        config, runtime=runtime, enqueue=enqueued.append, broker_check=lambda: None
    ).test_client()
    connector = runtime.connector(name)
    files = sorted((REPO_ROOT / "examples" / "webhooks" / helpdesk).glob("*.json"))
    assert len(files) == 4

    def post(raw: bytes, forge: bool = False) -> int:
        body, headers = signed(connector, raw)
        if forge:  # a wrong signature or secret, whatever the helpdesk's scheme
            proof = set(connector.sign(raw, datetime.now(UTC)))
            headers = {
                k: (v[:-1] + ("A" if v[-1] != "A" else "B")) if k in proof else v
                for k, v in headers.items()
            }
        return client.post(f"/webhooks/{name}", data=body, headers=headers).status_code

    assert [post(f.read_bytes()) for f in files] == [202, 202, 202, 202]
    assert post(files[0].read_bytes()) == 200  # redelivered: acknowledged, nothing new
    assert post(files[1].read_bytes(), forge=True) == 401
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 4

    for pk in enqueued:
        process_delivery(runtime, pk, owner="test")

    with store.session() as session:
        rows = session.scalars(select(Decision).order_by(Decision.delivery_pk)).all()
    how_to, handoff, agent, after_agent = rows
    assert how_to.kind == "reply"
    assert any("Reset your password" in c["title"] for c in how_to.citations)
    assert (handoff.kind, handoff.reason) == ("escalate", "human_request")
    assert handoff.group and "ai_reason_human_request" in handoff.tags and handoff.brief
    assert (agent.kind, agent.reason) == ("silent", "human_active")
    assert (after_agent.kind, after_agent.reason) == ("silent", "human_active")
    assert agent.ticket_id == after_agent.ticket_id
