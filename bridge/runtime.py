"""Everything one process needs, built once from the configuration and passed around."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cached_property
from typing import Protocol

from bridge.config import AppConfig, ConnectorConfig, Policy
from bridge.knowledge.types import Answer, Hit
from bridge.store import Store
from connectors import registry
from connectors.base import Connector

log = logging.getLogger(__name__)


class Answerer(Protocol):
    name: str

    def answer(
        self, question: str, conversation: list[str], hits: list[Hit], product_context: str = ""
    ) -> Answer: ...


class Retriever(Protocol):
    def search(self, query: str, k: int = 5) -> list[Hit]: ...

    def __len__(self) -> int: ...


def build_connectors(config: AppConfig) -> dict[str, Connector]:
    types = registry()
    return {name: types[cc.type](name, cc.settings) for name, cc in config.connectors.items()}


class Runtime:
    def __init__(
        self,
        config: AppConfig,
        *,
        store: Store | None = None,
        connectors: Mapping[str, Connector] | None = None,
        retriever: Retriever | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config
        # Decisions read the time through this (business hours, account ages), so tests and
        # replays can fix it.
        self.clock = clock or (lambda: datetime.now(UTC))
        self.store = store or Store(config.database_url)
        self.connectors = dict(connectors) if connectors is not None else build_connectors(config)
        self._retriever = retriever
        self._build_lock = threading.Lock()

    def connector(self, name: str) -> Connector | None:
        return self.connectors.get(name)

    @cached_property
    def secrets(self) -> tuple[str, ...]:
        """Configured secrets a reply must never contain (checked by the grounding guard)."""
        from bridge.decision.guard import config_secrets

        return tuple(config_secrets(self.config))

    def connector_config(self, name: str) -> ConnectorConfig:
        return self.config.connectors[name]

    @property
    def retriever(self) -> Retriever:
        """The knowledge index: loaded on first use, then kept in step with the knowledge base.

        Websites and help centers are refreshed by the beat task and ``helpdesk-bridge kb``;
        what they store is seen here within seconds, through the index revision.
        """
        if self._retriever is None:
            with self._build_lock:
                if self._retriever is None:
                    self._retriever = self._build_index()
        return self._retriever

    def _build_index(self) -> Retriever:
        from bridge.knowledge.refresh import KnowledgeBase

        knowledge = KnowledgeBase.from_config(self.config, self.store, self.connectors)
        knowledge.prepare()
        live = knowledge.live_index()
        log.info("knowledge index ready: %d passages", len(live))
        return live

    def answerer(self, policy: Policy) -> Answerer:
        """The answerer the policy names, built once per process and shared between tickets.

        An LLM answerer holds an SDK client and its connection pool, which is worth reusing;
        the extractive one depends on the policy's threshold, so that is part of the key.
        """
        from bridge.knowledge.answerers import build_answerer

        name = policy.assistant.answerer
        key = (name, policy.answer.min_confidence if name == "extractive" else None)
        cache: dict[tuple[str, float | None], Answerer] = self.__dict__.setdefault("_answerers", {})
        answerer = cache.get(key)
        if answerer is None:
            with self._build_lock:
                answerer = cache.get(key)
                if answerer is None:
                    answerer = build_answerer(name, self.config.answerers, policy)
                    cache[key] = answerer
        return answerer
