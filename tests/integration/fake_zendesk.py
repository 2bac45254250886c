"""A Zendesk API stand-in on loopback, for tests where a separate worker process makes the calls.

Comments the bot posts are added to the ticket's conversation, as Zendesk does, so a worker that
re-reads the ticket before writing sees what an earlier (killed or timed-out) attempt posted.

``Faults`` makes it misbehave the ways a real helpdesk does: 429 with ``Retry-After``, bursts of
5xx, responses slower than the client's timeout and connections reset mid-request. A write can
fail *after* it was applied (the worst case for a client: the comment exists but the client was
told nothing), which is what the worker's already-posted check has to cope with.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.helpers import BOT, comment, comments_page, update_response

_COMMENTS = re.compile(r"/api/v2/tickets/(\d+)/comments\.json")
_TICKET = re.compile(r"/api/v2/tickets/(\d+)\.json")
_TAGS = re.compile(r"/api/v2/tickets/(\d+)/tags\.json")


@dataclass
class Faults:
    """How often each failure happens, per request; a seeded generator keeps runs comparable.

    ``after_write`` is the share of injected failures on a comment write that happen after the
    comment was stored (the client sees an error, the ticket has the comment).
    """

    rate_limit: float = 0.0
    retry_after: float = 1.0
    server_error: float = 0.0
    burst: int = 3  # a 5xx is followed by this many more on the next requests
    slow: float = 0.0
    slow_seconds: float = 1.5
    reset: float = 0.0
    after_write: float = 0.5
    seed: int = 8
    _random: random.Random = field(init=False, repr=False)
    _burst_left: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def pick(self) -> str | None:
        """The failure for the next request, or None to answer normally."""
        if self._burst_left > 0:
            self._burst_left -= 1
            return "server_error"
        roll = self._random.random()
        for kind in ("rate_limit", "server_error", "slow", "reset"):
            chance = getattr(self, kind)
            if roll < chance:
                if kind == "server_error":
                    self._burst_left = self.burst
                return kind
            roll -= chance
        return None

    def applies_first(self) -> bool:
        return self._random.random() < self.after_write

    def choice(self, options: tuple[int, ...]) -> int:
        return self._random.choice(options)


@dataclass
class FakeZendesk:
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    groups: list[dict[str, Any]] = field(
        default_factory=lambda: [{"id": 11, "name": "Support"}, {"id": 22, "name": "Tier 2"}]
    )
    writes: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    next_id: int = 9000
    lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""
    faults: Faults | None = None
    #: seconds every write waits, after it was applied, before its answer goes out
    write_latency: float = 0.0
    #: called with (method, path, headers, body) before anything else; an answer it returns
    #: (status, payload) is sent instead of the normal one
    intercept: Callable[[str, str, dict[str, str], Any], tuple[int, Any] | None] | None = None
    #: comments the bot posted, per ticket (public replies and internal notes alike)
    posts: Counter[str] = field(default_factory=Counter)
    #: tag updates per ticket
    tag_updates: Counter[str] = field(default_factory=Counter)
    #: failures injected, by kind (and "+applied" when the write had already been stored)
    injected: Counter[str] = field(default_factory=Counter)
    requests: int = 0

    def add_customer_comment(self, ticket_id: str, comment_id: int, author: str, text: str) -> None:
        with self.lock:
            self.comments.setdefault(ticket_id, []).append(comment(comment_id, author, text))

    def duplicates(self) -> dict[str, int]:
        """Per ticket, how many bot comments repeat an earlier bot comment's body."""
        with self.lock:
            found: dict[str, int] = {}
            for ticket_id, thread in self.comments.items():
                bodies = Counter(c["body"] for c in thread if str(c["author_id"]) == BOT)
                extra = sum(n - 1 for n in bodies.values() if n > 1)
                if extra:
                    found[ticket_id] = extra
            return found

    def bot_comments(self, ticket_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c for c in self.comments.get(ticket_id, []) if str(c["author_id"]) == BOT]

    # -- the API -------------------------------------------------------------------------------
    def handle(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        with self.lock:
            self.requests += 1
            if method == "GET" and (m := _COMMENTS.fullmatch(path)):
                return 200, comments_page(*self.comments.get(m.group(1), []))
            if method == "GET" and path == "/api/v2/groups.json":
                return 200, {"groups": self.groups, "meta": {"has_more": False}, "links": {}}
            if method == "PUT" and (m := _TICKET.fullmatch(path)):
                self.writes.append((method, path, body or {}))
                self.next_id += 1
                posted = ((body or {}).get("ticket") or {}).get("comment")
                if posted:
                    self._store_comment(m.group(1), self.next_id, posted)
                return 200, update_response(self.next_id)
            if method == "PUT" and (m := _TAGS.fullmatch(path)):
                self.writes.append((method, path, body or {}))
                self.tag_updates[m.group(1)] += 1
                return 200, {"tags": (body or {}).get("tags", [])}
            return 404, {"error": "InvalidEndpoint"}

    def _store_comment(self, ticket_id: str, comment_id: int, posted: dict[str, Any]) -> None:
        text = str(posted.get("body") or "")
        stored = comment(comment_id, BOT, text, public=bool(posted.get("public", True)))
        self.comments.setdefault(ticket_id, []).append(stored)
        self.posts[ticket_id] += 1

    def next_fault(self) -> str | None:
        if self.faults is None:
            return None
        with self.lock:
            fault = self.faults.pick()
            if fault is not None:
                self.injected[fault] += 1
            return fault

    def applies_first(self) -> bool:
        assert self.faults is not None
        with self.lock:
            return self.faults.applies_first()

    def server_error_status(self) -> int:
        assert self.faults is not None
        with self.lock:
            return self.faults.choice((500, 502, 503, 504))


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Drop the connection with a TCP reset, as a crashing proxy or load balancer does."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
    handler.connection.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Resets and clients that gave up on a slow answer are the point here, not news.
        pass


@contextmanager
def fake_zendesk(state: FakeZendesk | None = None) -> Iterator[FakeZendesk]:
    state = state or FakeZendesk()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _respond(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            path = self.path.split("?")[0]
            if state.intercept is not None:
                answer = state.intercept(self.command, path, dict(self.headers), body)
                if answer is not None:
                    self._send(*answer)
                    return
            fault = state.next_fault()
            if fault == "rate_limit":
                assert state.faults is not None
                retry_after = f"{state.faults.retry_after:g}"
                self._send(429, {"error": "TooManyRequests"}, {"Retry-After": retry_after})
                return
            # A failure after the write was applied: the client learns nothing of it.
            applied = fault in ("server_error", "slow", "reset") and (
                self.command == "PUT" and state.applies_first()
            )
            if applied:
                state.injected[f"{fault}+applied"] += 1
                status, payload = state.handle(self.command, path, body)
            if fault == "server_error":
                # 503 promises the request was not processed (clients may resend a write on
                # it), so a failure after the write is a 500.
                status = 500 if applied else state.server_error_status()
                self._send(status, {"error": "InternalError"})
                return
            if fault == "reset":
                _reset(self)
                return
            if fault == "slow":
                assert state.faults is not None
                time.sleep(state.faults.slow_seconds)
            if not applied:
                status, payload = state.handle(self.command, path, body)
            if state.write_latency and self.command == "PUT":
                time.sleep(state.write_latency)
            # The client may have timed out and gone away meanwhile.
            with contextlib.suppress(OSError):
                self._send(status, payload)

        do_GET = do_PUT = _respond

        def log_message(self, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
