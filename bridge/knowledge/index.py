"""BM25 retrieval over passages."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from bridge.knowledge.text import TOKENIZER_VERSION, tokenize
from bridge.knowledge.types import Hit, Passage

logger = logging.getLogger(__name__)

PASSAGES_FILE = "passages.json"
BM25_DIR = "bm25"
FORMAT_VERSION = 1


def passage_terms(passage: Passage) -> list[str]:
    """The terms a passage is indexed under.

    Help-article headings are short, deliberate summaries of what the section answers, so the
    title path is counted twice: a query naming the topic should beat a passage that merely
    mentions it in passing.
    """
    title_terms = tokenize(" ".join(passage.title_path))
    return title_terms + title_terms + tokenize(passage.text)


class KnowledgeIndex:
    """Passages plus a BM25 index over their title paths and text."""

    def __init__(self, passages: Sequence[Passage], retriever: bm25s.BM25 | None) -> None:
        self._passages: tuple[Passage, ...] = tuple(passages)
        self._by_id: dict[str, Passage] = {}
        for passage in self._passages:
            if passage.id in self._by_id:
                raise ValueError(f"duplicate passage id: {passage.id}")
            self._by_id[passage.id] = passage
        self._retriever = retriever
        self._vocab: dict[str, int] = dict(retriever.vocab_dict) if retriever is not None else {}
        self._frequencies = _document_frequencies(retriever)

    @classmethod
    def build(cls, passages: Iterable[Passage]) -> KnowledgeIndex:
        passages = list(passages)
        corpus = [passage_terms(passage) for passage in passages]
        retriever = None
        # bm25s cannot build a vocabulary out of nothing; an index with no terms simply never
        # matches, which is what search() does without a retriever.
        if any(corpus):
            retriever = bm25s.BM25()
            retriever.index(corpus, show_progress=False)
        return cls(passages, retriever)

    @property
    def passages(self) -> tuple[Passage, ...]:
        return self._passages

    def __len__(self) -> int:
        return len(self._passages)

    def get(self, passage_id: str) -> Passage | None:
        return self._by_id.get(passage_id)

    def document_frequency(self, term: str) -> int:
        """How many passages contain ``term`` (a term as ``tokenize`` makes it); 0 for none."""
        column = self._vocab.get(term)
        if column is None or column >= len(self._frequencies):
            return 0
        return int(self._frequencies[column])

    def scores(self, query: str) -> np.ndarray | None:
        """The BM25 score of every passage for ``query``, in passage order; None: no match.

        Hybrid retrieval fuses these with embedding similarities, so it needs all of them
        rather than the top k.
        """
        if self._retriever is None:
            return None
        # Unknown terms are dropped because bm25s rejects them, and repeats are dropped so a
        # customer typing a word twice does not double its weight.
        query_terms = list(dict.fromkeys(t for t in tokenize(query) if t in self._vocab))
        if not query_terms:
            return None
        return np.asarray(self._retriever.get_scores(query_terms), dtype=np.float64)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` best passages for ``query``, best first; only passages that match at all."""
        if k <= 0:
            return []
        scores = self.scores(query)
        if scores is None:
            return []
        candidates = np.flatnonzero(scores > 0)
        if candidates.size == 0:
            return []
        if candidates.size > k:
            top = np.argpartition(-scores[candidates], k - 1)[:k]
            candidates = candidates[top]
        # Ties are broken by corpus order so equal scores always rank the same way.
        ordered = sorted(candidates.tolist(), key=lambda i: (-scores[i], i))
        return [Hit(self._passages[i], float(scores[i]), corpus=self) for i in ordered]

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        payload: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "tokenizer": TOKENIZER_VERSION,
            "passages": [
                {**asdict(passage), "title_path": list(passage.title_path)}
                for passage in self._passages
            ],
        }
        tmp = directory / (PASSAGES_FILE + ".tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(directory / PASSAGES_FILE)
        bm25_dir = directory / BM25_DIR
        if self._retriever is not None:
            self._retriever.save(str(bm25_dir), show_progress=False)
        elif bm25_dir.is_dir():
            shutil.rmtree(bm25_dir)  # a stale index from an earlier save would be loaded instead

    @classmethod
    def load(cls, directory: Path) -> KnowledgeIndex:
        directory = Path(directory)
        payload = json.loads((directory / PASSAGES_FILE).read_text(encoding="utf-8"))
        passages = [
            Passage(
                id=item["id"],
                title_path=tuple(item["title_path"]),
                text=item["text"],
                source=item["source"],
                url=item.get("url"),
            )
            for item in payload["passages"]
        ]
        bm25_dir = directory / BM25_DIR
        if payload.get("tokenizer") != TOKENIZER_VERSION:
            # Query terms must be produced the same way as the indexed ones; when the rules
            # changed, rebuilding is the only correct option.
            logger.info("rebuilding index in %s: tokenizer changed", directory)
            return cls.build(passages)
        if not bm25_dir.is_dir():
            return cls.build(passages)  # nothing had terms when saved, or files went missing
        retriever = bm25s.BM25.load(str(bm25_dir), show_progress=False)
        if int(retriever.scores["num_docs"]) != len(passages):
            logger.warning("index in %s does not match its passages; rebuilding", directory)
            return cls.build(passages)
        return cls(passages, retriever)


def _document_frequencies(retriever: bm25s.BM25 | None) -> np.ndarray:
    """The number of passages each vocabulary term occurs in, indexed by its column.

    bm25s keeps one sparse column of scores per term and every occurrence scores above zero,
    so a column's stored entries are exactly the passages that contain the term.
    """
    if retriever is None:
        return np.zeros(0, dtype=np.int64)
    return np.diff(np.asarray(retriever.scores["indptr"], dtype=np.int64))


# --- published indexes ------------------------------------------------------------------------
#
# ``index_dir`` holds one folder per revision and a CURRENT file naming the newest. A new
# revision is written under a temporary name and renamed into place before CURRENT points at
# it, so a process loading the index never sees a half-written one.

CURRENT_FILE = "CURRENT"
KEEP_REVISIONS = 2  # the previous one stays for processes that are loading it right now


def published_revision(index_dir: Path) -> str | None:
    try:
        revision = (Path(index_dir) / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return revision or None


def publish(index: KnowledgeIndex, index_dir: Path, revision: str) -> None:
    """Save ``index`` as ``revision`` and make it the current one."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    target = index_dir / revision
    if not target.is_dir():
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=index_dir))
        try:
            index.save(tmp)
            try:
                tmp.rename(target)
            except OSError:
                if not target.is_dir():
                    raise
                # Another process published the same revision first; theirs is as good.
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    pointer = index_dir / f".{CURRENT_FILE}.{os.getpid()}.tmp"
    pointer.write_text(revision + "\n", encoding="utf-8")
    pointer.replace(index_dir / CURRENT_FILE)
    _prune(index_dir, revision)


def load_published(index_dir: Path, revision: str) -> KnowledgeIndex | None:
    """The published index of ``revision``, or None when it is missing or unreadable."""
    directory = Path(index_dir) / revision
    if not (directory / PASSAGES_FILE).is_file():
        return None
    try:
        return KnowledgeIndex.load(directory)
    except Exception as exc:  # a damaged cache is rebuilt from the database, not fatal
        logger.warning("cannot load index %s: %s", directory, exc)
        return None


def _prune(index_dir: Path, current: str) -> None:
    revisions = [
        path
        for path in index_dir.iterdir()
        if path.is_dir() and not path.name.startswith(".") and path.name != current
    ]
    revisions.sort(key=lambda path: path.stat().st_mtime, reverse=True)
    for old in revisions[KEEP_REVISIONS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
    # Temporary folders of a process that died while publishing.
    for stale in index_dir.glob(".tmp-*"):
        try:
            if stale.stat().st_mtime < time.time() - 3600:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            continue
