"""Everything one process needs, built once from the configuration and passed around."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
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
    ) -> None:
        self.config = config
        self.store = store or Store(config.database_url)
        self.connectors = dict(connectors) if connectors is not None else build_connectors(config)
        self._retriever = retriever
        self._build_lock = threading.Lock()

    def connector(self, name: str) -> Connector | None:
        return self.connectors.get(name)

    def connector_config(self, name: str) -> ConnectorConfig:
        return self.config.connectors[name]

    @property
    def retriever(self) -> Retriever:
        """The knowledge index, built from the configured sources on first use."""
        if self._retriever is None:
            with self._build_lock:
                if self._retriever is None:
                    self._retriever = self._build_index()
        return self._retriever

    def _build_index(self) -> Retriever:
        from bridge.knowledge.index import KnowledgeIndex
        from bridge.knowledge.loader import load_folder

        passages = []
        for source in self.config.knowledge_sources:
            if not source.path.is_dir():
                log.warning("knowledge source %s is not a folder; skipped", source.path)
                continue
            passages.extend(load_folder(source.path, base_url=source.base_url))
        log.info("knowledge index built: %d passages", len(passages))
        return KnowledgeIndex.build(passages)

    def answerer(self, policy: Policy) -> Answerer:
        from bridge.knowledge.extractive import ExtractiveAnswerer

        # One answerer kind exists so far; the config schema only admits "extractive".
        return ExtractiveAnswerer(min_confidence=policy.answer.min_confidence)
