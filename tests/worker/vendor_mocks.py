"""A worker harness for any helpdesk, readers for the HTTP calls ``responses`` recorded, and
the checks every helpdesk's end-to-end tests share.

``VendorWorld`` builds a Runtime around one connector named ``acme`` whose retry sleeps are
only recorded, takes webhook bodies through the connector's own verify and parse into the
store, and runs them through the real pipeline (or the Celery task, eagerly). The shipped
examples (examples/webhooks/<helpdesk>/) tell the same conversation for every helpdesk, so
what the worker must make of them is checked here once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import responses
from sqlalchemy import select

from bridge.config import AppConfig, parse_config
from bridge.runtime import Runtime
from bridge.store import DeadLetter, Decision, Delivery, PostedMessage, Store, TicketState, repo
from connectors import registry
from connectors.base import Connector, WebhookRequest
from tasks.celery_app import HANDLE_EVENT, create_celery
from tasks.pipeline import Outcome, process_delivery
from tests.conftest import REPO_ROOT, config_data

CONNECTOR = "acme"
EXAMPLES = REPO_ROOT / "examples" / "webhooks"


def connector_block(
    helpdesk_type: str, settings: dict[str, Any], **overrides: Any
) -> dict[str, Any]:
    """A ``connectors.acme`` block for ``helpdesk_type`` that answers customers in public and
    whose HTTP client retries twice, like the suite's Zendesk block; ``overrides`` replace or
    add any key, those two included."""
    return {"type": helpdesk_type, "mode": "public", "max_retries": 2, **settings, **overrides}


def vendor_config(tmp_path: Path, database_url: str, block: dict[str, Any]) -> AppConfig:
    """The suite's usual top-level settings, with ``block`` as the only connector."""
    data = config_data(tmp_path, database_url)
    data["connectors"] = {CONNECTOR: block}
    return parse_config(data, base_dir=REPO_ROOT, env={})


def vendor_world(tmp_path: Path, store: Store, block: dict[str, Any]) -> VendorWorld:
    """A ``VendorWorld`` on ``store`` with ``block`` as its one connector."""
    return VendorWorld(vendor_config(tmp_path, store.url, block), store)


def example(helpdesk: str, name: str) -> dict[str, Any]:
    """One of the shipped example webhooks, as a dict to send as is or to edit."""
    body: dict[str, Any] = json.loads((EXAMPLES / helpdesk / name).read_text("utf-8"))
    return body


class VendorWorld:
    def __init__(self, config: AppConfig, store: Store) -> None:
        self.config = config
        self.sleeps: list[float] = []
        types = registry()
        connectors = {
            name: types[cc.type](name, cc.settings, sleep=self.sleeps.append)
            for name, cc in config.connectors.items()
        }
        self.runtime = Runtime(config, store=store, connectors=connectors)
        self.connector: Connector = connectors[CONNECTOR]

    @property
    def store(self) -> Store:
        return self.runtime.store

    def deliver(self, body: dict[str, Any]) -> int:
        """Verify and parse a webhook the way the web layer does, and record the delivery."""
        raw = json.dumps(body).encode()
        now = datetime.now(UTC)
        headers = {"Content-Type": "application/json", **self.connector.sign(raw, now)}
        request = WebhookRequest("POST", headers, raw)
        self.connector.verify(request, now)
        event = self.connector.parse(request)
        with self.store.session() as session:
            return repo.record_delivery(session, CONNECTOR, event.to_json()).id

    def process(self, pk: int) -> Outcome | None:
        return process_delivery(self.runtime, pk, owner="test-worker")

    def run_task(self, pk: int) -> None:
        """Hand the delivery to the Celery task, run eagerly: retries and dead-lettering."""
        celery = create_celery(self.config, self.runtime, task_always_eager=True)
        celery.tasks[HANDLE_EVENT].apply_async(args=[pk])

    def decisions(self) -> list[Decision]:
        with self.store.session() as session:
            return list(session.scalars(select(Decision).order_by(Decision.id)))

    def posted(self) -> list[PostedMessage]:
        with self.store.session() as session:
            return list(session.scalars(select(PostedMessage).order_by(PostedMessage.id)))

    def dead_letters(self) -> list[DeadLetter]:
        with self.store.session() as session:
            return list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))

    def delivery(self, pk: int) -> Delivery:
        with self.store.session() as session:
            found = session.get(Delivery, pk)
            assert found is not None
            return found

    def ticket(self, ticket_id: str) -> TicketState:
        with self.store.session() as session:
            return session.scalars(
                select(TicketState).where(
                    TicketState.connector == CONNECTOR, TicketState.ticket_id == ticket_id
                )
            ).one()


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: Any  # the parsed JSON body, None without one


def recorded_calls() -> list[Call]:
    """Every request ``responses`` saw, oldest first, as method, URL path and JSON body."""
    calls: list[Call] = []
    for call in responses.calls:
        request = call.request
        raw = request.body
        body = json.loads(raw) if raw else None
        calls.append(Call(request.method or "", urlsplit(request.url or "").path, body))
    return calls


def writes() -> list[Call]:
    """The calls that change something on the helpdesk (anything but GET)."""
    return [call for call in recorded_calls() if call.method != "GET"]


def reads(path: str) -> int:
    """How many times ``path`` was read."""
    return sum(1 for call in recorded_calls() if call.method == "GET" and call.path == path)


# -- what every helpdesk's worker must do with the shipped examples ------------------------
def assert_agent_comment_silences_the_bot(world: VendorWorld, ticket_id: str) -> None:
    """A human agent's comment (example 03) hands ``ticket_id`` to people: the customer's next
    message (example 04) gets no answer, and the helpdesk is not even read."""
    helpdesk = world.connector.type_name
    agent = world.process(world.deliver(example(helpdesk, "03_agent_comment.json")))

    assert agent is not None
    assert (agent.kind, agent.reason) == ("silent", "human_active")
    assert world.ticket(ticket_id).status == "human_active"

    follow_up = world.process(world.deliver(example(helpdesk, "04_customer_after_agent.json")))

    assert follow_up is not None
    assert (follow_up.kind, follow_up.reason, follow_up.write_status) == (
        "silent",
        "human_active",
        "none",
    )
    assert recorded_calls() == []  # never read the ticket, let alone wrote to it


def assert_own_reply_is_ignored(world: VendorWorld, echo: dict[str, Any], ticket_id: str) -> None:
    """``echo``, the webhook about the reply the bot just posted on ``ticket_id``, is taken for
    the bot's own message: nothing more is read or written and the bot's turn counts once."""
    calls_so_far = len(recorded_calls())

    outcome = world.process(world.deliver(echo))

    assert outcome is not None
    assert (outcome.kind, outcome.reason, outcome.write_status) == (
        "ignore",
        "own_message",
        "none",
    )
    assert len(recorded_calls()) == calls_so_far
    state = world.ticket(ticket_id)
    assert (state.status, state.bot_turns) == ("open", 1)


def assert_dead_lettered_after_every_retry(
    world: VendorWorld, pk: int, ticket_id: str, *, read_path: str, error_names: str
) -> None:
    """Delivery ``pk`` ran the Celery task while the helpdesk failed every read of
    ``read_path``: it ends in the dead-letter table, its error naming the call
    (``error_names``), after every task attempt made every HTTP retry, and nothing was written
    or decided."""
    [letter] = world.dead_letters()
    assert "503" in letter.error and error_names in letter.error
    assert letter.ticket_id == ticket_id
    task_attempts = world.config.worker.max_retries + 1
    assert letter.attempts == task_attempts
    assert world.delivery(pk).status == "dead"
    # Every task attempt made the HTTP client's own retries too: nothing was given up early.
    http_attempts = 1 + world.connector.settings.max_retries
    assert reads(read_path) == len(recorded_calls()) == http_attempts * task_attempts
    assert writes() == []
    assert world.decisions() == []
