"""Answerer wrappers for evaluations: count calls and tokens, and cache LLM answers on disk.

An LLM answer is stored under a hash of everything that shapes it (answerer, model, question,
conversation, the retrieved passages' ids and text, product context), so running a suite again
costs nothing until one of those changes. The offline extractive answerer is never cached:
it is free, and a cache would hide changes to its code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.knowledge.types import Answer, AnswerKind, Hit
from bridge.runtime import Answerer

log = logging.getLogger(__name__)

# Bumped when the stored shape or the key's ingredients change, so old entries are not read.
CACHE_VERSION = 1


@dataclass
class Usage:
    calls: int = 0
    cache_hits: int = 0
    tokens: int = 0  # spent by calls that reached the model
    tokens_saved: int = 0  # what the cached answers cost when they were first made

    def to_json(self) -> dict[str, int]:
        return {
            "answerer_calls": self.calls,
            "cache_hits": self.cache_hits,
            "tokens": self.tokens,
            "tokens_saved": self.tokens_saved,
        }


def request_key(
    answerer: str,
    model: str | None,
    question: str,
    conversation: Sequence[str],
    hits: Sequence[Hit],
    product_context: str,
    sample: int = 1,
) -> str:
    payload: dict[str, Any] = {
        "v": CACHE_VERSION,
        "answerer": answerer,
        "model": model,
        "question": question,
        "conversation": list(conversation),
        "passages": [[hit.passage.id, hit.passage.title, hit.passage.text] for hit in hits],
        "product_context": product_context,
    }
    if sample > 1:
        # With --repeat, each run is its own sample of the model; the first shares its entry
        # with a plain run.
        payload["sample"] = sample
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class MeteredAnswerer:
    """Passes calls through, counting them and their tokens; optionally caching on disk."""

    def __init__(
        self,
        inner: Answerer,
        usage: Usage,
        *,
        cache_dir: Path | None = None,
        model: str | None = None,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.usage = usage
        self.cache_dir = cache_dir
        self.model = model
        self.sample = 1  # which run of a --repeat this call belongs to

    def answer(
        self,
        question: str,
        conversation: Sequence[str],
        hits: Sequence[Hit],
        product_context: str = "",
    ) -> Answer:
        self.usage.calls += 1
        key = None
        if self.cache_dir is not None:
            key = request_key(
                self.name, self.model, question, conversation, hits, product_context, self.sample
            )
            cached = self._read(key)
            if cached is not None:
                self.usage.cache_hits += 1
                self.usage.tokens_saved += cached.tokens
                return cached
        # Failures propagate and are not cached: the pipeline turns them into ai_unavailable,
        # and the next run asks again.
        result = self.inner.answer(question, list(conversation), list(hits), product_context)
        self.usage.tokens += result.tokens
        if key is not None:
            self._write(key, result)
        return result

    def _path(self, key: str) -> Path:
        assert self.cache_dir is not None
        return self.cache_dir / key[:2] / f"{key}.json"

    def _read(self, key: str) -> Answer | None:
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return _answer_from_json(data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable cached answer %s: %s", path, exc)
            return None

    def _write(self, key: str, answer: Answer) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Written aside and renamed, so an interrupted run never leaves half an entry.
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp"
            ) as handle:
                json.dump(_answer_to_json(answer), handle, ensure_ascii=False, indent=1)
            os.replace(handle.name, path)
        except OSError as exc:
            log.warning("cannot cache the answer in %s: %s", path, exc)


def _answer_to_json(answer: Answer) -> dict[str, Any]:
    return {
        "kind": answer.kind.value,
        "text": answer.text,
        "cited_ids": list(answer.cited_ids),
        "confidence": answer.confidence,
        "tokens": answer.tokens,
        "notes": dict(answer.notes),
    }


def _answer_from_json(data: dict[str, Any]) -> Answer:
    return Answer(
        kind=AnswerKind(data["kind"]),
        text=str(data["text"]),
        cited_ids=tuple(str(i) for i in data["cited_ids"]),
        confidence=float(data["confidence"]),
        tokens=int(data["tokens"]),
        notes={str(k): str(v) for k, v in (data.get("notes") or {}).items()},
    )
