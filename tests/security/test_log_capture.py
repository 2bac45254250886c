"""A full run (webhook -> worker -> write-back) as separate processes, with every line they log
captured: no token, no secret, and (``log_customer_data`` being off by default) no customer email
address or phone number may appear.

The fake helpdesk makes it hard on purpose: its first answer to each write is an error whose
message repeats the request's Authorization header and the customer's contact details, as some
vendor APIs do, and the worker logs that error before retrying.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from bridge.logging import config_secrets
from bridge.runtime import build_connectors
from bridge.store import Decision
from tests.chaos.harness import service
from tests.helpers import REQUESTER, trigger_body
from tests.integration.fake_zendesk import FakeZendesk, fake_zendesk

EMAIL = "sam.customer@example.org"
PHONE = "+1 (555) 010-4477"
PHONE_DIGITS = "5550104477"
MESSAGES = {
    "7001": f"Hi, I'm {EMAIL}, call me on {PHONE}. How do I reset my password?",
    "7002": f"I want to talk to a real person. My number is {PHONE}, email {EMAIL}.",
}


def _echo_first_write(zendesk: FakeZendesk) -> None:
    failed: set[str] = set()

    def intercept(method: str, path: str, headers: dict[str, str], body: Any) -> Any:
        if method != "PUT" or path in failed:
            return None
        failed.add(path)
        return 500, {
            "error": "InternalError",
            "description": (
                f"update rejected; request authorized as {headers.get('Authorization')} "
                f"for requester {EMAIL} ({PHONE})"
            ),
        }

    zendesk.intercept = intercept


@pytest.mark.integration
def test_a_full_run_logs_no_secret_and_no_customer_contact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "ZENDESK_SIGNING_SECRET": secrets.token_urlsafe(24),
        "ZENDESK_API_TOKEN": secrets.token_urlsafe(24),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    credentials = {
        "signing_secret": "${ZENDESK_SIGNING_SECRET}",
        "api_token": "${ZENDESK_API_TOKEN}",
        "email": "bot@acme.test",
    }
    with fake_zendesk() as zendesk:
        for ticket, text in MESSAGES.items():
            zendesk.add_customer_comment(ticket, 1, REQUESTER, text)
        _echo_first_write(zendesk)
        database_url = f"sqlite:///{tmp_path / 'bridge.db'}"
        # No broker_url: the embedded broker, so the run needs no server at all.
        broker_url: Any = None
        with service(tmp_path, database_url, broker_url, zendesk, connector=credentials) as svc:
            svc.env = env
            svc.start_web()
            svc.start_worker("worker", concurrency=2)
            connector = build_connectors(svc.config)["acme"]
            for ticket, text in MESSAGES.items():
                body = trigger_body(
                    ticket_id=ticket,
                    comment_id="1",
                    text=text,
                    requester_name="Sam Customer",
                    requester_email=EMAIL,
                )
                raw = json.dumps(body).encode()
                headers = {"Content-Type": "application/json"}
                headers.update(connector.sign(raw, datetime.now(UTC)))
                answer = requests.post(
                    f"{svc.url}/webhooks/acme", data=raw, headers=headers, timeout=10
                )
                assert answer.status_code == 202, answer.text

            written = _wait_for_written(svc, count=len(MESSAGES))
            known_secrets = [s for s in config_secrets(svc.config) if len(s) >= 8]
        logs = "\n".join(path.read_text(errors="replace") for path in tmp_path.glob("*.log"))

    assert written, logs[-5000:]
    assert len(zendesk.posts) == 2 and all(zendesk.posts.values())
    assert "ticket acme/7001" in logs and "ticket acme/7002" in logs  # the logs are real
    assert set(env.values()) <= set(known_secrets)
    for secret in known_secrets:
        assert secret not in logs, "a secret reached the logs"
    assert EMAIL not in logs and "sam.customer" not in logs
    assert PHONE not in logs and PHONE_DIGITS not in logs and "010-4477" not in logs
    # The echoed error did reach the log, redacted: the rule was exercised, not just unneeded.
    assert "[email]" in logs and "[phone]" in logs and "[secret]" in logs


def _wait_for_written(svc: Any, count: int, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with svc.store.session() as session:
            done = session.scalars(select(Decision).where(Decision.write_status == "written"))
            if len(list(done)) >= count:
                return True
        time.sleep(0.3)
    return False
