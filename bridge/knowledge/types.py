"""Data shared by the knowledge base, the answerers and the decision core."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True)
class Passage:
    """A heading-sized piece of one document."""

    id: str  # stable across rebuilds: derived from the source path and the heading path
    title_path: tuple[str, ...]  # ("Billing", "Refunds", "How long do refunds take")
    text: str
    source: str  # file path relative to the source root, or a URL
    url: str | None = None  # public link with #anchor when the source has one

    @property
    def title(self) -> str:
        return " › ".join(self.title_path)


class Corpus(Protocol):
    """Word statistics of the passages a hit was retrieved from."""

    def __len__(self) -> int: ...

    def document_frequency(self, term: str) -> int: ...


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # raw retrieval score, comparable only within one query
    # Where the hit came from: an answerer weighs a question's words by this corpus's
    # statistics. None for hits built by hand.
    corpus: Corpus | None = field(default=None, compare=False, repr=False)


class AnswerKind(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    NOT_COVERED = "not_covered"


@dataclass(frozen=True)
class Answer:
    """What an answerer says about one customer question."""

    kind: AnswerKind
    text: str = ""
    cited_ids: tuple[str, ...] = ()
    confidence: float = 0.0  # 0..1, comparable across answerers
    tokens: int = 0
    notes: dict[str, str] = field(default_factory=dict)
