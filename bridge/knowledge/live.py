"""The index a process searches: loaded once, swapped when the knowledge base changes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bridge.knowledge.index import PASSAGES_FILE, KnowledgeIndex
from bridge.knowledge.types import Hit

if TYPE_CHECKING:
    from bridge.knowledge.hybrid import HybridIndex
    from bridge.knowledge.refresh import KnowledgeBase

log = logging.getLogger(__name__)


class LiveIndex:
    """A retriever that follows the knowledge base's revision.

    At most every ``check_seconds`` it reads the revision from the database (one primary-key
    lookup) and, when a refresh anywhere changed it, loads the published index of that
    revision or rebuilds it from the database. Searches never wait for that: while one thread
    reloads, the others keep using the index they have.

    With ``knowledge.embeddings.enabled`` the index is hybrid: each revision's passage vectors
    are loaded from beside its published files, or encoded once and saved there.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        check_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._kb = kb
        self.check_seconds = check_seconds
        self._clock = clock
        self._index: KnowledgeIndex | HybridIndex | None = None
        self._revision: str | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    @property
    def revision(self) -> str | None:
        return self._revision

    def search(self, query: str, k: int = 5) -> list[Hit]:
        return self.current().search(query, k)

    def __len__(self) -> int:
        return len(self.current())

    def check_now(self) -> KnowledgeIndex | HybridIndex:
        """Look for a new revision right away (after a refresh in this process)."""
        self._checked_at = float("-inf")
        return self.current()

    def current(self) -> KnowledgeIndex | HybridIndex:
        index = self._index
        if index is not None and self._clock() - self._checked_at < self.check_seconds:
            return index
        if not self._lock.acquire(blocking=index is None):
            assert index is not None
            return index
        try:
            if self._index is not None and self._clock() - self._checked_at < self.check_seconds:
                return self._index
            self._checked_at = self._clock()
            try:
                revision = self._kb.revision()
                if self._index is None or revision != self._revision:
                    opened, index = self._kb.open_index(revision)
                    self._revision, self._index = opened, self._with_embeddings(opened, index)
            except Exception:
                if self._index is None:
                    raise
                # A database hiccup must not stop answers: the loaded index is still valid.
                log.warning(
                    "knowledge revision check failed; still serving %s",
                    self._revision,
                    exc_info=True,
                )
            return self._index
        finally:
            self._lock.release()

    def _with_embeddings(
        self, revision: str, index: KnowledgeIndex
    ) -> KnowledgeIndex | HybridIndex:
        settings = self._kb.settings.embeddings
        if not settings.enabled:
            return index
        from bridge.knowledge.hybrid import open_hybrid

        directory = self._kb.index_dir / revision
        # When the index could not be published there is no folder: vectors stay in memory.
        saved = directory if (directory / PASSAGES_FILE).is_file() else None
        try:
            return open_hybrid(index, settings, saved)
        except Exception:
            # The config check passed, so this is a broken install or model files; answering
            # from BM25 alone beats not answering at all.
            log.exception("hybrid retrieval unavailable for %s; searching with BM25 only", revision)
            return index
