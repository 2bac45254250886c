"""When will a person reply? Business hours in, a sentence for the customer out."""

from __future__ import annotations

from datetime import datetime, timedelta

from bridge.decision.phrases import BUILT_IN, Phrases, next_open, within
from bridge.policy import BusinessHours


def is_open(hours: BusinessHours, now: datetime) -> bool:
    if hours.always_open:
        return True
    local = now.astimezone(hours.timezone)
    if local.date() in hours.holidays:
        return False
    return any(start <= local.time() < end for start, end in hours.weekly.get(local.weekday(), ()))


def next_opening(hours: BusinessHours, now: datetime) -> datetime | None:
    """The next moment the team is open, in the team's time zone (None when never)."""
    if hours.always_open:
        return now.astimezone(hours.timezone)
    local = now.astimezone(hours.timezone)
    for offset in range(0, 370):
        day = local.date() + timedelta(days=offset)
        if day in hours.holidays:
            continue
        for start, end in hours.weekly.get(day.weekday(), ()):
            opening = datetime.combine(day, start, tzinfo=hours.timezone)
            closing = datetime.combine(day, end, tzinfo=hours.timezone)
            if closing > local:
                return max(opening, local)
    return None


def reply_expectation(hours: BusinessHours, now: datetime, phrases: Phrases | None = None) -> str:
    """The sentence that tells the customer when to expect a person's reply.

    ``phrases`` must be in the sentences' language (English when left out).
    """
    words = phrases or BUILT_IN["en"]
    opening = None if is_open(hours, now) else next_opening(hours, now)
    if opening is None:
        return hours.in_hours.replace("{within}", within(words, hours.reply_within_hours))
    when = next_open(words, opening, now.astimezone(hours.timezone))
    return hours.out_of_hours.replace("{next_open}", when)
