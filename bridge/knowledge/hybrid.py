"""Hybrid retrieval: BM25 scores fused with the cosine similarity of sentence embeddings.

BM25 finds passages that share the customer's words; embeddings also find the ones that say
the same thing in other words ("erase my profile" for an article about deleting an account).
Each query mixes the two on one scale:

    score = (1 - weight) * bm25 / best_bm25 + weight * max(cosine, 0)

BM25 is divided by the query's best score because its raw values depend on the corpus and the
query length; cosine is left as it is, so a weak best semantic match stays weak instead of
being stretched to 1.

Passage vectors are computed once per index revision and saved beside the BM25 files, so other
processes load them instead of encoding every passage again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

import numpy as np

from bridge.knowledge.index import KnowledgeIndex
from bridge.knowledge.text import words
from bridge.knowledge.types import Hit, Passage

if TYPE_CHECKING:
    from bridge.knowledge.settings import EmbeddingSettings

log = logging.getLogger(__name__)

VECTORS_DIR = "embeddings"
VECTORS_FILE = "vectors.npy"
META_FILE = "meta.json"
LOCK_FILE = ".lock"
VECTORS_FORMAT = 1

# A passage that shares no term with the query is returned only when the embeddings alone
# find it this similar. Every passage has some similarity to every query, so without a floor
# nonsense would always get hits; with all-MiniLM-L6-v2, unrelated text stays well below it
# ("I want a pizza" scores at most 0.09 against the example help center, a bare "hi" 0.14),
# while the labelled customer questions score 0.22 to 0.84 with their best passage.
DENSE_ONLY_MIN_SIMILARITY = 0.25


class Encoder(Protocol):
    """What hybrid retrieval needs of a model (``bridge.knowledge.embeddings.Embedder``)."""

    fingerprint: str
    dimension: int

    def encode_passages(self, passages: Sequence[Passage]) -> np.ndarray: ...

    def encode_query(self, query: str) -> np.ndarray: ...


def corpus_digest(passages: Sequence[Passage]) -> str:
    """Identifies what was embedded, so saved vectors are never paired with other passages."""
    digest = hashlib.sha256()
    for passage in passages:
        for part in (passage.id, *passage.title_path, passage.text):
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
        digest.update(b"\1")
    return digest.hexdigest()[:32]


class HybridIndex:
    """A BM25 index plus one unit-length vector per passage, searched together."""

    def __init__(
        self, index: KnowledgeIndex, vectors: np.ndarray, encoder: Encoder, weight: float
    ) -> None:
        if vectors.shape != (len(index), encoder.dimension):
            raise ValueError(
                f"vectors have shape {vectors.shape}, expected {(len(index), encoder.dimension)}"
            )
        if not 0.0 <= weight <= 1.0:
            raise ValueError("weight must be between 0 and 1")
        self._index = index
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._encoder = encoder
        self.weight = weight

    @classmethod
    def build(cls, index: KnowledgeIndex, encoder: Encoder, weight: float) -> HybridIndex:
        return cls(index, encoder.encode_passages(index.passages), encoder, weight)

    @classmethod
    def open(
        cls,
        index: KnowledgeIndex,
        encoder: Encoder,
        weight: float,
        directory: Path | None,
    ) -> HybridIndex:
        """Vectors saved in ``directory`` (a saved index's folder), else encoded and saved there.

        Processes sharing the disk take a lock first, so when a new revision appears one of
        them encodes and the others wait and load its result.
        """
        if directory is None:
            return cls.build(index, encoder, weight)
        digest = corpus_digest(index.passages)
        with _locked(Path(directory) / VECTORS_DIR):
            vectors = load_vectors(directory, encoder, digest, len(index))
            if vectors is not None:
                return cls(index, vectors, encoder, weight)
            hybrid = cls.build(index, encoder, weight)
            try:
                hybrid.save(directory)
            except OSError as exc:
                # A read-only or vanished folder: vectors in memory still serve this process.
                log.warning("cannot save passage vectors in %s: %s", directory, exc)
            return hybrid

    @property
    def bm25(self) -> KnowledgeIndex:
        return self._index

    @property
    def vectors(self) -> np.ndarray:
        return self._vectors

    @property
    def passages(self) -> tuple[Passage, ...]:
        return self._index.passages

    def __len__(self) -> int:
        return len(self._index)

    def get(self, passage_id: str) -> Passage | None:
        return self._index.get(passage_id)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` best passages by fused score, best first.

        A passage qualifies when it shares a term with the query or is similar enough on its
        own (``DENSE_ONLY_MIN_SIMILARITY``); a query without a word gets nothing.
        """
        if k <= 0 or len(self) == 0 or not words(query):
            return []
        similarity = self._vectors @ self._encoder.encode_query(query).astype(np.float32)
        similarity = similarity.astype(np.float64)
        fused = self.weight * np.clip(similarity, 0.0, 1.0)
        eligible = similarity >= DENSE_ONLY_MIN_SIMILARITY
        lexical = self._index.scores(query)
        if lexical is not None:
            best = float(lexical.max())
            if best > 0:
                fused += (1.0 - self.weight) * (lexical / best)
                eligible |= lexical > 0
        # With weight 0 a passage found only by its embedding scores 0: it must not show up.
        candidates = np.flatnonzero(eligible & (fused > 0))
        if candidates.size == 0:
            return []
        if candidates.size > k:
            top = np.argpartition(-fused[candidates], k - 1)[:k]
            candidates = candidates[top]
        # Ties are broken by corpus order, as in the BM25 index, so results are repeatable.
        ordered = sorted(candidates.tolist(), key=lambda i: (-fused[i], i))
        return [Hit(self.passages[i], float(fused[i]), corpus=self._index) for i in ordered]

    def save(self, directory: Path) -> None:
        """Write the vectors under ``directory``, next to the BM25 files saved there."""
        target = Path(directory) / VECTORS_DIR
        target.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": VECTORS_FORMAT,
            "model": self._encoder.fingerprint,
            "dimension": int(self._vectors.shape[1]),
            "passages": int(self._vectors.shape[0]),
            "corpus": corpus_digest(self.passages),
        }
        # The metadata goes last and each file is renamed into place, so a reader that finds
        # matching metadata also finds the complete vectors it describes.
        _replace_atomically(target / VECTORS_FILE, lambda f: np.save(f, self._vectors))
        _replace_atomically(
            target / META_FILE, lambda f: f.write(json.dumps(meta, indent=1).encode("utf-8"))
        )


def load_vectors(directory: Path, encoder: Encoder, digest: str, count: int) -> np.ndarray | None:
    """Saved vectors for these passages and this model, or None when there are none that fit."""
    folder = Path(directory) / VECTORS_DIR
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    expected = {
        "format": VECTORS_FORMAT,
        "model": encoder.fingerprint,
        "dimension": encoder.dimension,
        "passages": count,
        "corpus": digest,
    }
    if any(meta.get(key) != value for key, value in expected.items()):
        log.info("passage vectors in %s are for another model or corpus; re-encoding", folder)
        return None
    try:
        vectors = np.load(folder / VECTORS_FILE, allow_pickle=False)
    except (OSError, ValueError) as exc:
        log.warning("cannot read passage vectors in %s: %s; re-encoding", folder, exc)
        return None
    if vectors.shape != (count, encoder.dimension) or vectors.dtype != np.float32:
        log.warning("passage vectors in %s do not match their metadata; re-encoding", folder)
        return None
    return vectors


def open_hybrid(
    index: KnowledgeIndex, settings: EmbeddingSettings, directory: Path | None
) -> HybridIndex:
    """The hybrid index the settings ask for, with the process's one copy of the model."""
    from bridge.knowledge.embeddings import get_embedder

    encoder = get_embedder(settings.model, settings.batch_size)
    return HybridIndex.open(index, encoder, settings.weight, directory)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder``, or go on without one where it cannot be made.

    The lock only spares other processes duplicate work; without it each encodes its own
    vectors and the atomic writes keep the files whole.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / LOCK_FILE, "a+b")  # noqa: SIM115 - closed below
    except OSError as exc:
        log.warning("cannot lock %s: %s", folder, exc)
        yield
        return
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _replace_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
