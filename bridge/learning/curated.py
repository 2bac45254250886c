"""Approved candidates as knowledge: passages built from the database on every index build.

Curated answers live only in the ``kb_candidates`` table, never in the index files, so they
are part of every index any process builds or rebuilds, on any machine. Approving or
withdrawing one changes the knowledge base's revision, which is how every serving process
notices within seconds and loads an index that includes (or drops) it.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bridge.knowledge.types import Passage
from bridge.store import Store
from bridge.store.models import KbCandidate, KbIndexState

SOURCE: Final = "curated"
APPROVED: Final = "approved"
# The knowledge base's single revision row (see bridge.knowledge.refresh).
_STATE_ID: Final = 1
_TITLE_CHARS: Final = 150


def passage_id(candidate_id: int) -> str:
    # A colon cannot start a file path or URL passage id, so these never collide with them.
    return f"{SOURCE}:{candidate_id}"


def title_of(question: str) -> str:
    """The passage title: the question's first line, cut at a word near the length limit.

    The title is what a reply cites and what retrieval weighs most, so it should read like
    the question a customer would ask.
    """
    first = next((line.strip() for line in question.splitlines() if line.strip()), "")
    first = re.sub(r"\s+", " ", first)
    if len(first) <= _TITLE_CHARS:
        return first
    cut = first[:_TITLE_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def curated_passage(candidate_id: int, question: str, answer: str) -> Passage:
    """One approved answer as a passage titled with its question.

    The text is the answer alone: answerers quote passage text to customers, so the
    reviewer's question belongs in the title, where retrieval weighs it most.
    """
    return Passage(
        id=passage_id(candidate_id),
        title_path=(title_of(question),),
        text=answer.strip(),
        source=SOURCE,
    )


def curated_passages(store: Store) -> list[Passage]:
    """Every approved answer, oldest approval first so the corpus order is stable."""
    with store.session() as session:
        rows = session.execute(
            select(KbCandidate.id, KbCandidate.question, KbCandidate.answer)
            .where(KbCandidate.status == APPROVED)
            .order_by(KbCandidate.id)
        ).all()
    return [curated_passage(row.id, row.question, row.answer) for row in rows]


def bump_revision(session: Session) -> None:
    """Mark the knowledge base changed, in the caller's transaction."""
    values = {"revision": uuid.uuid4().hex, "updated_at": datetime.now(UTC)}
    result = session.execute(
        update(KbIndexState).where(KbIndexState.id == _STATE_ID).values(**values)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        session.add(KbIndexState(id=_STATE_ID, **values))
