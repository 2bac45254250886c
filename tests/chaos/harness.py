"""The service as separate processes (web, workers), a helpdesk that sends webhooks, and the count.

A chaos test builds a ``Service`` on throwaway Redis and PostgreSQL servers and the fake Zendesk,
sends webhooks the way a helpdesk does (concurrently, out of order, again on any non-2xx), does
something unkind to one part, then waits for the work to settle and counts:

- sent: distinct events (webhook deliveries made, including copies and retries, separately)
- acknowledged: events the service answered 2xx for at least once
- decided: events with a decision
- posted: comments the bot wrote to the helpdesk
- duplicates: comments beyond what the decisions called for (the same comment twice)
- lost: acknowledged events without a finished decision, and comments decisions called for
  that never reached the helpdesk
- dead: events in the dead-letter table (kept and visible, not lost)
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import yaml
from sqlalchemy import func, select

from bridge.config import AppConfig, load_config
from bridge.runtime import build_connectors
from bridge.store import DeadLetter, Decision, Delivery, Store
from tests.conftest import REPO_ROOT, config_data
from tests.helpers import REQUESTER, trigger_body
from tests.integration.fake_zendesk import FakeZendesk
from tests.integration.servers import free_port

#: Questions the shipped help center answers, and requests for a person: every event is one
#: of them, so each decision is a reply (one comment) or a handoff (a message and a note).
QUESTIONS = (
    "How do I reset my password? I can't remember it.",
    "How do I export my notes?",
    "How do I turn on two-factor authentication?",
    "How do I share a notebook with my team?",
)
HUMAN = "I want to talk to a real person please."

RESULTS: list[tuple[str, dict[str, Any]]] = []  # printed in the terminal summary
#: The installed command, as an operator runs it.
COMMAND = Path(sys.executable).parent / "helpdesk-bridge"


@dataclass(frozen=True)
class WebhookEvent:
    ticket_id: str
    comment_id: int
    text: str

    @property
    def delivery_id(self) -> str:
        return f"comment:{self.ticket_id}:{self.comment_id}"

    def body(self) -> bytes:
        body = trigger_body(
            ticket_id=self.ticket_id, comment_id=str(self.comment_id), text=self.text
        )
        return json.dumps(body).encode()


def make_events(tickets: int, per_ticket: int, first_ticket: int = 10_000) -> list[WebhookEvent]:
    """``per_ticket`` customer messages on each ticket: questions, the last one asking for a
    person every other ticket."""
    events: list[WebhookEvent] = []
    for n in range(tickets):
        ticket = str(first_ticket + n)
        for k in range(per_ticket):
            last = k == per_ticket - 1
            text = HUMAN if last and n % 2 else QUESTIONS[(n + k) % len(QUESTIONS)]
            events.append(WebhookEvent(ticket, 100_000 + n * 10 + k, text))
    return events


def seed(fake: FakeZendesk, events: Iterable[WebhookEvent]) -> None:
    """The customer comments exist on the helpdesk before its webhooks go out, as they do."""
    for event in events:
        fake.add_customer_comment(event.ticket_id, event.comment_id, REQUESTER, event.text)


# -- the service's processes -------------------------------------------------------------------
@dataclass
class Service:
    """One web process and any number of worker processes sharing a config."""

    workdir: Path
    config_path: Path
    config: AppConfig
    port: int = field(default_factory=free_port)
    #: extra environment for the processes (secrets the config names as ${VAR})
    env: dict[str, str] = field(default_factory=dict)
    web: subprocess.Popen[bytes] | None = None
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def store(self) -> Store:
        store = self.__dict__.get("_store")
        if store is None:
            store = self.__dict__["_store"] = Store(self.config.database_url)
        return store

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("ab")
        return subprocess.Popen(
            [str(COMMAND), *args, "--config", str(self.config_path)],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_web(self) -> None:
        self.web = self._spawn("web", "serve", "--port", str(self.port), "--workers", "1")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise RuntimeError(f"web process exited:\n{self.log_tail('web')}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"web process did not come up:\n{self.log_tail('web')}")

    def start_worker(self, name: str, concurrency: int = 4) -> None:
        self.workers[name] = self._spawn(name, "worker", "--concurrency", str(concurrency))

    def kill_worker(self, name: str) -> None:
        """SIGKILL: no shutdown, no acknowledgements, locks left held."""
        process = self.workers.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        processes = [*self.workers.values(), *([self.web] if self.web else [])]
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.workers.clear()
        self.web = None
        self.store.dispose()

    def log_tail(self, name: str, chars: int = 6000) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(self.workdir.glob("*.log"))
        )


def write_config(
    workdir: Path,
    database_url: str,
    broker_url: str,
    zendesk_url: str,
    *,
    worker: dict[str, Any] | None = None,
    connector: dict[str, Any] | None = None,
) -> Path:
    block = {"base_url": zendesk_url, "timeout_seconds": 1, "max_retries": 2}
    block.update(connector or {})
    data = config_data(workdir, database_url, block, broker_url=broker_url)
    data["knowledge"]["sources"][0]["path"] = str(REPO_ROOT / "examples" / "help-center")
    data["worker"] = {
        "max_retries": 6,
        "retry_backoff_seconds": 0.5,
        "retry_backoff_max_seconds": 4,
        "lock_timeout_seconds": 10,
        # A killed worker's tasks come back this soon (production: an hour).
        "visibility_timeout_seconds": 10,
        **(worker or {}),
    }
    # Thousands of webhooks a minute are the load here, not a flood to refuse.
    data["web"] = {"rate_limit": {"enabled": False}}
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@contextmanager
def service(
    workdir: Path, database_url: str, broker_url: str, fake: FakeZendesk, **overrides: Any
) -> Iterator[Service]:
    config_path = write_config(workdir, database_url, broker_url, fake.base_url, **overrides)
    config = load_config(config_path)
    # Migrate once up front: processes starting together would race to create the schema.
    store = Store(config.database_url)
    store.migrate()
    store.dispose()
    svc = Service(workdir, config_path, config)
    try:
        yield svc
    finally:
        svc.stop()


# -- the helpdesk's side -----------------------------------------------------------------------
@dataclass
class Sender:
    """Sends webhooks as a helpdesk does: signed, concurrently, and again on anything but 2xx."""

    service: Service
    statuses: Counter[int] = field(default_factory=Counter)
    acknowledged: set[str] = field(default_factory=set)
    #: (sent at, answered at, status) of every delivery, on the monotonic clock
    timeline: list[tuple[float, float, int]] = field(default_factory=list)
    deliveries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.connector = build_connectors(self.service.config)["acme"]
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def send_once(self, event: WebhookEvent) -> int:
        raw = event.body()
        headers = {
            "Content-Type": "application/json",
            **self.connector.sign(raw, datetime.now(UTC)),
        }
        sent_at = time.monotonic()
        try:
            response = self._session().post(
                f"{self.service.url}/webhooks/acme", data=raw, headers=headers, timeout=15
            )
            status = response.status_code
        except requests.RequestException:
            status = 0  # no answer at all: the helpdesk counts it as failed
        with self.lock:
            self.deliveries += 1
            self.statuses[status] += 1
            self.timeline.append((sent_at, time.monotonic(), status))
            if 200 <= status < 300:
                self.acknowledged.add(event.delivery_id)
        return status

    def send_until_acknowledged(
        self, event: WebhookEvent, deadline: float, pause: float = 0.5
    ) -> bool:
        while time.monotonic() < deadline:
            if 200 <= self.send_once(event) < 300:
                return True
            time.sleep(pause)
        return False

    def send_all(
        self,
        events: list[WebhookEvent],
        *,
        copies: int = 1,
        threads: int = 12,
        seed: int = 3,
        retry_for: float = 0.0,
        pace: float = 0.0,
        during: Callable[[int], None] | None = None,
    ) -> None:
        """Every event ``copies`` times, all shuffled together; ``during(n)`` runs after the
        n-th send is submitted (to break something mid-load). With ``retry_for`` an event
        that is not acknowledged is sent again (for at most that many seconds); ``pace`` spaces
        the submissions, so the load lasts."""
        batch = [event for event in events for _ in range(copies)]
        random.Random(seed).shuffle(batch)

        def one(event: WebhookEvent) -> None:
            if retry_for:
                self.send_until_acknowledged(event, time.monotonic() + retry_for)
            else:
                self.send_once(event)

        with ThreadPoolExecutor(max_workers=threads) as pool:
            futures = []
            for n, event in enumerate(batch):
                futures.append(pool.submit(one, event))
                if during is not None:
                    during(n)
                if pace:
                    time.sleep(pace)
            for future in futures:
                future.result()


# -- settling and counting ---------------------------------------------------------------------
def wait_until_settled(svc: Service, delivery_ids: set[str], timeout: float = 240) -> bool:
    """Until every acknowledged delivery is done or dead-lettered (bounded by ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with svc.store.session() as session:
                open_count = session.scalar(
                    select(func.count())
                    .select_from(Delivery)
                    .where(
                        Delivery.delivery_id.in_(delivery_ids),
                        Delivery.status.not_in(("done", "dead")),
                    )
                )
                recorded = session.scalar(
                    select(func.count())
                    .select_from(Delivery)
                    .where(Delivery.delivery_id.in_(delivery_ids))
                )
            if open_count == 0 and recorded == len(delivery_ids):
                return True
        except Exception:
            pass  # the database may be the thing being broken
        time.sleep(0.5)
    return False


def expected_comments(row: Decision) -> int:
    """Comments a decision writes once its write-back is complete."""
    if row.write_status != "written":
        return 0
    if row.kind in ("reply", "clarify"):
        return 1
    if row.kind == "escalate":
        return 1 if row.rollout == "draft" else 2  # the handoff message and the brief's note
    return 0


def count(
    name: str, svc: Service, sender: Sender, events: list[WebhookEvent], fake: FakeZendesk | None
) -> dict[str, Any]:
    wanted = {event.delivery_id for event in events}
    with svc.store.session() as session:
        rows = session.execute(
            select(Delivery.delivery_id, Delivery.status, Decision)
            .outerjoin(Decision, Decision.delivery_pk == Delivery.id)
            .where(Delivery.delivery_id.in_(wanted))
        ).all()
        letters = list(session.scalars(select(DeadLetter)))
        dead = len(letters)
    decisions: dict[str, Decision] = {}
    statuses: dict[str, str] = {}
    recorded: Counter[str] = Counter()
    for delivery_id, status, decision in rows:
        recorded[delivery_id] += 1
        statuses[delivery_id] = status
        if decision is not None:
            decisions[delivery_id] = decision
    acknowledged = sender.acknowledged & wanted
    unfinished = [
        d
        for d in acknowledged
        if statuses.get(d) != "dead"
        and (d not in decisions or decisions[d].write_status == "pending")
    ]
    if unfinished:
        shown = [
            (d, statuses.get(d), decisions[d].write_status if d in decisions else None)
            for d in sorted(unfinished)[:10]
        ]
        print(f"[chaos] {name}: unfinished (delivery, status, write status): {shown}")
    result: dict[str, Any] = {
        "sent": len(events),
        "deliveries": sender.deliveries,
        "acknowledged": len(acknowledged),
        "decided": len(decisions),
        "recorded_twice": sum(1 for n in recorded.values() if n > 1),
        "dead": dead,
        "statuses": dict(sorted(sender.statuses.items())),
    }
    duplicates = missing = 0
    if fake is not None:
        expected: Counter[str] = Counter()
        for decision in decisions.values():
            expected[decision.ticket_id] += expected_comments(decision)
        tickets = set(expected) | set(fake.posts)
        odd: dict[str, Any] = {}
        for ticket in tickets:
            surplus = fake.posts[ticket] - expected[ticket]
            duplicates += max(0, surplus)
            missing += max(0, -surplus)
            if surplus or ticket in fake.duplicates():
                odd[ticket] = {
                    "expected": expected[ticket],
                    "comments": [c["body"][:50] for c in fake.bot_comments(ticket)],
                    "decisions": [
                        (d.kind, d.write_status, d.writes_done)
                        for d in decisions.values()
                        if d.ticket_id == ticket
                    ],
                }
        if odd:
            print(f"[chaos] {name}: tickets with surplus or missing comments: {odd}")
        result["posted"] = sum(fake.posts.values())
        result["same_comment_twice"] = sum(fake.duplicates().values())
        result["faults"] = dict(sorted(fake.injected.items()))
    else:
        result["posted"] = sum(1 for d in decisions.values() if d.write_status == "recorded")
    if letters:
        print(f"[chaos] {name}: dead letters: {[(d.ticket_id, d.error) for d in letters[:10]]}")
    result["duplicates"] = duplicates
    result["lost"] = len(unfinished) + missing
    RESULTS.append((name, result))
    print(f"[chaos] {name}: {result}")
    return result


def assert_guarantees(result: dict[str, Any], svc: Service, *, allow_dead: bool = False) -> None:
    detail = f"{result}\n{svc.logs()}"
    assert result["lost"] == 0, detail
    assert result["duplicates"] == 0, detail
    assert result.get("same_comment_twice", 0) == 0, detail
    assert result["recorded_twice"] == 0, detail
    assert result["decided"] + (result["dead"] if allow_dead else 0) >= result["acknowledged"], (
        detail
    )
    if not allow_dead:
        assert result["dead"] == 0, detail
