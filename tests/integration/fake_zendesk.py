"""A Zendesk API stand-in on loopback, for tests where a separate worker process makes the calls."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.helpers import comments_page, update_response


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

    def handle(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        with self.lock:
            if method == "GET" and (
                m := re.fullmatch(r"/api/v2/tickets/(\d+)/comments\.json", path)
            ):
                return 200, comments_page(*self.comments.get(m.group(1), []))
            if method == "GET" and path == "/api/v2/groups.json":
                return 200, {"groups": self.groups, "meta": {"has_more": False}, "links": {}}
            if method == "PUT" and re.fullmatch(r"/api/v2/tickets/\d+(/tags)?\.json", path):
                self.writes.append((method, path, body or {}))
                self.next_id += 1
                return 200, update_response(self.next_id)
            return 404, {"error": "InvalidEndpoint"}


@contextmanager
def fake_zendesk(state: FakeZendesk | None = None) -> Iterator[FakeZendesk]:
    state = state or FakeZendesk()

    class Handler(BaseHTTPRequestHandler):
        def _respond(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            status, payload = state.handle(self.command, self.path.split("?")[0], body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = _respond

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
