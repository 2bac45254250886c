"""The embedded broker needs no server and keeps queued work until a worker comes back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from sqlalchemy import select

from bridge.config import load_config
from bridge.store import Decision, Delivery, Store
from bridge.web import create_app
from tests.conftest import REPO_ROOT, config_data
from tests.helpers import signed, trigger_body

DRY = {"mode": "dry_run", "email": None, "api_token": None, "bot_user_id": None}


def test_queued_work_survives_until_a_worker_starts(tmp_path: Path, store: Store) -> None:
    data = config_data(tmp_path, store.url, DRY)  # no broker_url: the embedded broker
    data["knowledge"]["sources"][0]["path"] = str(REPO_ROOT / "examples" / "help-center")
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(data))
    config = load_config(config_path)
    assert config.broker_url is None

    # The web side enqueues while no worker exists at all, then goes away.
    app = create_app(config)
    connector = app.extensions["bridge"].runtime.connector("acme")
    raw, headers = signed(connector, trigger_body(text="How do I reset my password?"))
    assert app.test_client().post("/webhooks/acme", data=raw, headers=headers).status_code == 202
    del app
    with store.session() as session:
        assert session.scalars(select(Delivery)).one().status == "queued"
        assert session.scalars(select(Decision)).all() == []

    worker = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "worker", "--config", str(config_path)],
        cwd=REPO_ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        decision = None
        while decision is None and time.monotonic() < deadline:
            time.sleep(0.3)
            with store.session() as session:
                decision = session.scalars(select(Decision)).first()
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert decision is not None, output.decode(errors="replace")[-3000:]
    assert (decision.kind, decision.write_status) == ("reply", "recorded")
