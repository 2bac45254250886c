"""Several customer messages in a row get one decision between them.

Customers often write in bursts ("hi", "my export fails", "it says error 42"). Answering each
message alone gives three replies, the first two to half a question. The shell waits until the
customer has been quiet for a short window, then decides once on all the messages still waiting.
These functions say which messages join, how long to wait, and what the joined message is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bridge.events import Event, Message, Role

#: At most this many messages join one decision; a longer burst is answered in parts.
MAX_JOINED = 20


def joinable(event: Event) -> bool:
    """A public customer message with text: the only kind of event a burst is made of."""
    message = event.message
    return (
        message is not None
        and message.role is Role.CUSTOMER
        and message.public
        and bool(message.text.strip())
    )


def burst(first: Event, later: Sequence[Event]) -> int:
    """How many of the ``later`` pending events (oldest first) join ``first``.

    The run stops at the first event that is not a customer message: an agent's comment in
    between changes what the bot may do, so what follows it is decided on its own.
    """
    if not joinable(first):
        return 0
    count = 0
    for event in later[: MAX_JOINED - 1]:
        if not joinable(event):
            break
        count += 1
    return count


def wait_seconds(
    first_received: datetime, newest_received: datetime, now: datetime, window: float
) -> float:
    """How long to wait for the customer to finish; 0 when it is time to decide.

    Quiet for ``window`` seconds since the newest message means the burst is over. A customer
    who keeps writing is not made to wait forever: past ten windows (at least 30 s) from the
    first message the bot decides on what it has.
    """
    if window <= 0:
        return 0.0
    quiet_at = newest_received + timedelta(seconds=window)
    give_up_at = first_received + timedelta(seconds=max(30.0, 10 * window))
    remaining = (min(quiet_at, give_up_at) - now).total_seconds()
    return max(0.0, remaining)


def in_order(parts: Sequence[Message]) -> list[Message]:
    """The parts as the customer wrote them: by their helpdesk timestamps when every part has
    one (webhooks may arrive out of order), else in the order they arrived."""
    if all(part.created_at is not None for part in parts):
        return sorted(parts, key=lambda part: part.created_at)  # type: ignore[arg-type, return-value]
    return list(parts)


def joined_message(parts: Sequence[Message]) -> Message:
    """One message carrying every part's text, in order, under the newest part's id.

    The newest id is where a reply belongs in the conversation (after all of them).
    """
    if len(parts) == 1:
        return parts[0]
    last = parts[-1]
    return Message(
        id=last.id,
        role=Role.CUSTOMER,
        text="\n\n".join(part.text.strip() for part in parts),
        public=True,
        author_id=last.author_id or parts[0].author_id,
        created_at=last.created_at,
    )
