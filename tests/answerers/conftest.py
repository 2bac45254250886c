"""Shared pieces for the answerer tests: the example docs, a policy, and a scripted HTTP server.

The SDKs run for real; only their transport is replaced, so every request is the real request
object the SDK built and every response goes through the SDK's own parsing and retry logic.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest

from bridge.decision.model import Situation
from bridge.events import Message, Role
from bridge.knowledge.index import KnowledgeIndex
from bridge.knowledge.loader import load_folder
from bridge.knowledge.types import Hit
from bridge.policy import Policy
from tests.conftest import REPO_ROOT, make_config

EXAMPLES = REPO_ROOT / "examples" / "help-center"
ANTHROPIC_KEY = "sk-ant-api03-test-0123456789abcdefghij"
OPENAI_KEY = "sk-test-0123456789abcdefghijklmnop"

Reply = httpx2.Response | BaseException | Callable[[httpx2.Request], httpx2.Response]


@dataclass
class ScriptedServer:
    """Answers each request with the next scripted reply; the last one repeats."""

    replies: list[Reply]
    requests: list[httpx2.Request] = field(default_factory=list)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
        if isinstance(reply, BaseException):
            raise reply
        if callable(reply):
            return reply(request)
        return reply

    @property
    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self)

    def body(self, index: int = -1) -> dict[str, Any]:
        return json.loads(self.requests[index].content)


class NoSleep:
    """Stands in for the ``time`` module inside an SDK: records retry waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> NoSleep:
    fake = NoSleep()
    monkeypatch.setattr("anthropic._base_client.time", fake)
    monkeypatch.setattr("openai._base_client.time", fake)
    return fake


@pytest.fixture(autouse=True)
def no_provider_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys or endpoints in the developer's environment must not change what the tests send."""
    for name in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_PROFILE",
        "ANTHROPIC_CUSTOM_HEADERS",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def index() -> KnowledgeIndex:
    return KnowledgeIndex.build(load_folder(EXAMPLES))


def search(index: KnowledgeIndex, question: str, k: int = 5) -> list[Hit]:
    return index.search(question, k=k)


def policy_for(tmp_path: Path, answerer: str = "extractive", **answerers: Any) -> Policy:
    connector = {
        "assistant": {
            "answerer": answerer,
            "product_context": "Notebird is a note-taking app for individuals and teams.",
        }
    }
    config = make_config(tmp_path, "sqlite://", connector, answerers=answerers)
    return config.connectors["acme"].policy


def situation(text: str) -> Situation:
    message = Message(id="c1", role=Role.CUSTOMER, text=text)
    return Situation(message=message, conversation=[message])


def tool_answer(
    text: str,
    cited: list[str],
    *,
    kind: str = "answer",
    confidence: float = 0.9,
    language: str = "en",
) -> dict[str, Any]:
    """What a well-behaved model puts in the record_answer call."""
    return {
        "kind": kind,
        "text": text,
        "cited_ids": cited,
        "confidence": confidence,
        "language": language,
        "triage": {
            "intent": "pricing question",
            "sentiment": "neutral",
            "escalate": False,
            "reason": "answered by the docs",
        },
    }


def error_response(
    status: int, kind: str, headers: dict[str, str] | None = None
) -> httpx2.Response:
    body = {"type": "error", "error": {"type": kind, "message": kind.replace("_", " ")}}
    return httpx2.Response(status, json=body, headers=headers)
