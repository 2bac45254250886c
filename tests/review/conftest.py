"""Fixtures for the review UI: a configured app, a signed-in client and seeded conversations."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from bridge.config import AppConfig
from bridge.runtime import Runtime
from bridge.store import Store
from bridge.store.models import Decision, Delivery, TicketState
from bridge.web import create_app
from tests.conftest import make_config

PASSWORD = "correct horse battery staple"
TOKEN = "review-token-0123456789abcdef"
SECRET_KEY = "test-secret-key-for-review-sessions-0123456789"
# Low pbkdf2 cost: the tests sign in often, and the hash's strength is not what they check.
PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
ARTIFACTS_ENV = "HELPDESK_BRIDGE_ARTIFACTS"
_saved_artifacts: list[Path] = []


def review_section(**overrides: Any) -> dict[str, Any]:
    section: dict[str, Any] = {
        "secret_key": SECRET_KEY,
        "admin_password_hash": PASSWORD_HASH,
        "admin_token": TOKEN,
        "secure_cookies": False,
    }
    section.update(overrides)
    return section


def review_config(tmp_path: Path, store: Store, **overrides: Any) -> AppConfig:
    return make_config(tmp_path, store.url, review=review_section(**overrides))


class ReviewHarness:
    def __init__(self, config: AppConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.runtime = Runtime(config, store=store)
        self.enqueued: list[int] = []
        self.enqueue_fails = False
        self.app = create_app(
            config, runtime=self.runtime, enqueue=self._enqueue, broker_check=lambda: None
        )
        self.client: FlaskClient = self.app.test_client()

    def _enqueue(self, delivery_pk: int) -> None:
        if self.enqueue_fails:
            raise ConnectionError("broker down")
        self.enqueued.append(delivery_pk)

    def csrf(self, path: str = "/review/login") -> str:
        page = self.client.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match, f"no CSRF field on {path}"
        return match.group(1)

    def login(self, secret: str = PASSWORD, name: str = "Robin Reviewer") -> Any:
        token = self.csrf()
        return self.client.post(
            "/review/login", data={"csrf_token": token, "secret": secret, "name": name}
        )

    def post(self, path: str, data: dict[str, str] | None = None) -> Any:
        """A form post as the browser sends it: with the token from a page of the session."""
        token = self.csrf("/review/")
        return self.client.post(path, data={"csrf_token": token, **(data or {})})


@pytest.fixture
def harness(tmp_path: Path, store: Store) -> ReviewHarness:
    return ReviewHarness(review_config(tmp_path, store), store)


@pytest.fixture
def signed_in(harness: ReviewHarness) -> ReviewHarness:
    response = harness.login()
    assert response.status_code == 302, response.get_data(as_text=True)
    return harness


# --- seeding ------------------------------------------------------------------------------


class Seeder:
    """Writes deliveries, decisions and ticket states with the times a test chooses."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._serial = 0

    def message(
        self,
        ticket: str,
        at: datetime,
        text: str = "How do I reset my password?",
        *,
        role: str = "customer",
        connector: str = "acme",
    ) -> int:
        self._serial += 1
        event = {
            "connector": connector,
            "delivery_id": f"d-{self._serial}",
            "ticket_id": ticket,
            "kind": "comment",
            "message": {
                "id": f"m-{self._serial}",
                "role": role,
                "text": text,
                "public": True,
                "author_id": "9001" if role == "customer" else "7001",
                "created_at": at.isoformat(),
            },
            "customer": {"id": "9001", "name": "Sam Lee", "email": None, "fields": {}},
            "subject": "Help",
            "tags": [],
            "channel": "web",
        }
        with self.store.session() as session:
            delivery = Delivery(
                connector=connector,
                delivery_id=event["delivery_id"],
                ticket_id=ticket,
                event=event,
                status="done",
                received_at=at,
                finished_at=at,
            )
            session.add(delivery)
            session.flush()
            return delivery.id

    def decision(
        self,
        delivery_pk: int,
        kind: str,
        reason: str,
        at: datetime,
        **fields: Any,
    ) -> int:
        with self.store.session() as session:
            delivery = session.get(Delivery, delivery_pk)
            assert delivery is not None
            values: dict[str, Any] = {
                "text": _default_text(kind),
                "citations": _default_citations(kind),
                "group": "Support" if kind == "escalate" else None,
                "tags": ["ai_escalated", f"ai_reason_{reason}"] if kind == "escalate" else [],
                "brief": None,
                "evidence": _default_evidence(reason),
                "confidence": 0.9 if kind == "reply" else None,
                "mode": "public",
                "policy_digest": "0123456789abcdef",
                "write_status": "written" if kind in ("reply", "clarify", "escalate") else "none",
                "latency_ms": 120,
            }
            values.update(fields)
            if kind == "escalate" and values["brief"] is None:
                values["brief"] = _brief(delivery, reason, values)
            row = Decision(
                delivery_pk=delivery_pk,
                connector=delivery.connector,
                ticket_id=delivery.ticket_id,
                kind=kind,
                reason=reason,
                rule_id=f"test.{reason}",
                created_at=at,
                **values,
            )
            session.add(row)
            session.flush()
            return row.id

    def exchange(
        self, ticket: str, at: datetime, kind: str, reason: str, text: str = "", **fields: Any
    ) -> int:
        """A customer message and the bot's decision on it a few seconds later."""
        connector = fields.pop("connector", "acme")
        delay = fields.pop("delay", timedelta(seconds=2))
        pk = self.message(ticket, at, text or "How do I reset my password?", connector=connector)
        return self.decision(pk, kind, reason, at + delay, **fields)

    def ticket_state(
        self,
        ticket: str,
        *,
        connector: str = "acme",
        escalated_at: datetime | None = None,
        human_active_at: datetime | None = None,
        reason: str | None = None,
    ) -> None:
        status = "human_active" if human_active_at else "escalated" if escalated_at else "open"
        with self.store.session() as session:
            session.add(
                TicketState(
                    connector=connector,
                    ticket_id=ticket,
                    status=status,
                    escalation_reason=reason,
                    escalated_at=escalated_at,
                    human_active_at=human_active_at,
                )
            )

    def vote(self, decision_id: int, vote: str) -> None:
        from bridge.store.models import Feedback

        with self.store.session() as session:
            decision = session.get(Decision, decision_id)
            assert decision is not None
            session.add(
                Feedback(
                    key=f"link:{decision_id}",
                    decision_id=decision_id,
                    connector=decision.connector,
                    ticket_id=decision.ticket_id,
                    source="link",
                    vote=vote,
                )
            )


def _default_evidence(reason: str) -> dict[str, Any]:
    if reason == "human_request":
        return {"matched": ["a real person"], "route": "routing.rules[0]", "risk_flags": []}
    if reason in ("missing_knowledge", "low_confidence"):
        return {
            "retrieved": ["Apps › Desktop apps", "Getting started › Install Notebird"],
            "confidence": 0.21,
            "answer_kind": "not_covered" if reason == "missing_knowledge" else "answer",
            "route": "routing.default_group",
            "risk_flags": [],
        }
    return {"matched": [reason], "route": "routing.default_group", "risk_flags": []}


def _brief(delivery: Delivery, reason: str, values: dict[str, Any]) -> str:
    """The brief the decision core would have written for this message."""
    from bridge.decision.brief import BriefFacts, build_brief
    from bridge.events import Customer, Message, Role

    message = Message(id="m", role=Role.CUSTOMER, text=delivery.event["message"]["text"])
    return build_brief(
        BriefFacts(
            reason=reason,
            evidence=values["evidence"],
            latest=message,
            conversation=[message],
            customer=Customer(id="9001", name="Sam Lee", email="sam@example.com"),
            label="AI assistant",
            subject="Help",
            group=values["group"],
            language="en",
            channel="web",
        )
    )


def _default_text(kind: str) -> str | None:
    return {
        "reply": "To reset your password, open Settings › Security and choose Reset password.",
        "clarify": "Which plan are you on?",
        "escalate": "I'm handing this to our support team; a person will reply here.",
    }.get(kind)


def _default_citations(kind: str) -> list[dict[str, Any]]:
    if kind != "reply":
        return []
    return [
        {
            "passage_id": "account/reset-password.md#reset-your-password",
            "title": "Reset your password",
            "url": "https://help.example.com/reset-password",
        }
    ]


@pytest.fixture
def seed(store: Store) -> Seeder:
    return Seeder(store)


# --- artifacts ----------------------------------------------------------------------------


def artifacts_dir() -> Path:
    """Where screenshots go: $HELPDESK_BRIDGE_ARTIFACTS, else a fixed folder under tmp."""
    base = os.environ.get(ARTIFACTS_ENV) or os.path.join(
        tempfile.gettempdir(), "helpdesk-bridge-artifacts"
    )
    path = Path(base) / "review"
    path.mkdir(parents=True, exist_ok=True)
    return path


def saved_artifact(path: Path) -> Path:
    _saved_artifacts.append(path)
    return path


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _saved_artifacts:
        terminalreporter.section("review UI screenshots")
        for path in _saved_artifacts:
            terminalreporter.write_line(str(path))


NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def now() -> Iterator[datetime]:
    yield NOW
