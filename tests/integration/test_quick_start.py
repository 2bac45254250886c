"""README's quick start, for real: `helpdesk-bridge run` on embedded defaults, then replay."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import REPO_ROOT
from tests.integration.servers import free_port

FIXTURES = sorted((REPO_ROOT / "examples" / "webhooks" / "zendesk").glob("*.json"))


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def wait_until_up(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError("the service did not become ready")


def test_run_then_replay_the_shipped_fixtures(tmp_path: Path) -> None:
    env = {**os.environ, "HELPDESK_BRIDGE_DATA": str(tmp_path / "var")}
    for name in ("HELPDESK_BRIDGE_CONFIG", "DATABASE_URL", "BROKER_URL"):
        env.pop(name, None)  # the shipped example config, on embedded defaults
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "run", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until_up(url)
        replayed = cli(
            "replay",
            "--connector",
            "example-zendesk",
            "--url",
            url,
            *map(str, FIXTURES),
            str(FIXTURES[0]),
            env=env,
        )
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        statuses = [line.split(": ")[1].split()[0] for line in replayed.stdout.splitlines()]
        assert statuses == ["202", "202", "202", "202", "200"]

        decisions: list[dict] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(decisions) < 4:
            listed = cli("decisions", "--format", "json", env=env)
            decisions = json.loads(listed.stdout)
            time.sleep(0.5)
    finally:
        os.killpg(service.pid, signal.SIGTERM)
        output, _ = service.communicate(timeout=30)

    by_ticket: dict[str, list[dict]] = {}
    for decision in sorted(decisions, key=lambda d: d["created_at"]):
        by_ticket.setdefault(decision["ticket_id"], []).append(decision)
    assert len(decisions) == 4, output.decode(errors="replace")[-3000:]

    [how_to] = by_ticket["1001"]
    assert how_to["kind"] == "reply"
    assert any("Reset your password" in c["title"] for c in how_to["citations"])

    [handoff] = by_ticket["1002"]
    assert (handoff["kind"], handoff["reason"]) == ("escalate", "human_request")
    assert handoff["group"] and "ai_escalated" in handoff["tags"]
    assert handoff["text"] and handoff["brief"]

    agent, follow_up = by_ticket["1003"]
    assert (agent["kind"], agent["reason"]) == ("silent", "human_active")
    assert (follow_up["kind"], follow_up["reason"]) == ("silent", "human_active")
