"""Data shared by the knowledge base, the answerers and the decision core."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


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


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # raw retrieval score, comparable only within one query


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
