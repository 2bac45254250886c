"""A Zendesk-backed service for the feedback, learning and metrics tests.

The web app and the worker pipeline share one Runtime; Zendesk's API is mocked by
``responses`` in the tests themselves. Webhooks go through the real web endpoint.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import responses
from flask.testing import FlaskClient
from sqlalchemy import select

from bridge.config import AppConfig
from bridge.runtime import Runtime
from bridge.store import Decision, Store
from bridge.store.models import Feedback, KbCandidate
from bridge.web import create_app
from connectors.zendesk import ZendeskConnector
from tasks.pipeline import Outcome, process_delivery
from tests.conftest import make_config
from tests.helpers import signed

PUBLIC_URL = "https://bridge.example.com"
SECRET_KEY = "feedback-links-test-secret-key-0123456789"
BASE = "https://acme.zendesk.test/api/v2"
COMMENTS = f"{BASE}/tickets/42/comments.json"
TICKET = f"{BASE}/tickets/42.json"
TAGS = f"{BASE}/tickets/42/tags.json"
GROUPS = f"{BASE}/groups.json"
LINK_RE = re.compile(r"https://bridge\.example\.com/feedback/\S+/(?:up|down)")


def feedback_config(tmp_path: Path, store: Store, **connector: Any) -> AppConfig:
    web = {"public_url": PUBLIC_URL + "/", "secret_key": SECRET_KEY}
    return make_config(tmp_path, store.url, connector, web=web)


class Service:
    def __init__(self, config: AppConfig, store: Store) -> None:
        self.config = config
        connectors = {
            name: ZendeskConnector(name, cc.settings, sleep=lambda _: None)
            for name, cc in config.connectors.items()
        }
        self.runtime = Runtime(config, store=store, connectors=connectors)
        self.connector = connectors["acme"]
        self.enqueued: list[int] = []
        self.app = create_app(
            config, runtime=self.runtime, enqueue=self.enqueued.append, broker_check=lambda: None
        )
        self.client: FlaskClient = self.app.test_client()

    @property
    def store(self) -> Store:
        return self.runtime.store

    def post(self, body: dict[str, Any]) -> Any:
        raw, headers = signed(self.connector, body)
        return self.client.post("/webhooks/acme", data=raw, headers=headers)

    def deliver(self, body: dict[str, Any]) -> Outcome | None:
        """Send a webhook through the web endpoint, then run the worker's pipeline on it."""
        response = self.post(body)
        assert response.status_code == 202, response.get_data(as_text=True)
        return process_delivery(self.runtime, self.enqueued[-1], owner="test-worker")

    def decisions(self) -> list[Decision]:
        with self.store.session() as session:
            return list(session.scalars(select(Decision).order_by(Decision.id)))

    def feedback(self) -> list[Feedback]:
        with self.store.session() as session:
            return list(session.scalars(select(Feedback).order_by(Feedback.id)))

    def candidates(self) -> list[KbCandidate]:
        with self.store.session() as session:
            return list(session.scalars(select(KbCandidate).order_by(KbCandidate.id)))

    def open(self, url: str) -> Any:
        """Follow a link as a customer's browser would (the app serves ``PUBLIC_URL``)."""
        return self.client.get(urlsplit(url).path)


def posted_bodies(url: str = TICKET) -> list[dict[str, Any]]:
    return [
        json.loads(call.request.body)["ticket"]
        for call in responses.calls
        if call.request.method == "PUT" and call.request.url == url
    ]


def links_in(text: str) -> dict[str, str]:
    return {url.rsplit("/", 1)[1]: url for url in LINK_RE.findall(text)}
