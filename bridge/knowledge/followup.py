"""Short follow-ups: messages that lean on the question the customer asked before them.

"And on mobile?" or "What if I lose my phone later?" name too little of their subject to be
searched or scored alone. Read together with the customer's previous question they ask one
thing; retrieval and the extractive answerer both use this rule, so the passages found and the
confidence given to them are about the same question.
"""

from __future__ import annotations

from collections.abc import Sequence

# A message of at most this many words is read as a follow-up. Longer ones usually say what
# they are about; a full question read with an older one would be scored on the older one's
# words as well and could lose the confidence it earns alone.
FOLLOW_UP_WORDS = 6


def is_follow_up(message: str) -> bool:
    """Whether ``message`` is short enough to lean on the question before it."""
    return len(message.split()) <= FOLLOW_UP_WORDS


def with_previous_question(message: str, earlier_questions: Sequence[str]) -> str:
    """What to search and score for: ``message``, after the customer's previous question when
    ``message`` is a short follow-up.

    ``earlier_questions`` are the customer's own earlier messages in the ticket, oldest first,
    without ``message`` itself. Blank ones (an attachment sent alone) say nothing to lean on.
    """
    if not is_follow_up(message):
        return message
    earlier = [text for text in earlier_questions if text.strip()]
    return f"{earlier[-1]} {message}" if earlier else message
