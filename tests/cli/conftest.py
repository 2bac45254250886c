"""Shared by the command-line tests: a config file on disk and a live web server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from werkzeug.serving import BaseWSGIServer, make_server

from bridge.cli import main
from bridge.config import AppConfig
from bridge.runtime import Runtime
from bridge.store import Store
from bridge.web import create_app
from tests.conftest import REPO_ROOT, config_data

HELP_CENTER = REPO_ROOT / "examples" / "help-center"
# The config file lives in tmp_path, so the knowledge folder must be given absolutely.
KNOWLEDGE = {"sources": [{"type": "path", "path": str(HELP_CENTER)}]}
NO_CREDENTIALS: dict[str, Any] = {"email": None, "api_token": None, "bot_user_id": None}
DRY_RUN: dict[str, Any] = {"mode": "dry_run", **NO_CREDENTIALS}


def write_config(
    tmp_path: Path, database_url: str, connector: dict[str, Any] | None = None, **top: Any
) -> Path:
    top.setdefault("knowledge", KNOWLEDGE)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config_data(tmp_path, database_url, connector, **top)))
    return path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


class LiveServer:
    """The real web app on a free local port, with an enqueue that only records."""

    def __init__(self, config: AppConfig, store: Store) -> None:
        self.enqueued: list[int] = []
        self.runtime = Runtime(config, store=store)
        app = create_app(
            config, runtime=self.runtime, enqueue=self.enqueued.append, broker_check=lambda: None
        )
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture
def live_server() -> Iterator[Callable[[AppConfig, Store], LiveServer]]:
    started: list[LiveServer] = []

    def start(config: AppConfig, store: Store) -> LiveServer:
        server = LiveServer(config, store)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
