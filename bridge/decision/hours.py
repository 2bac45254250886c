"""When will a person reply? Business hours in, a sentence for the customer out."""

from __future__ import annotations

from datetime import datetime, timedelta

from bridge.policy import BusinessHours

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


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


def reply_expectation(hours: BusinessHours, now: datetime) -> str:
    """The sentence that tells the customer when to expect a person's reply."""
    if is_open(hours, now):
        return hours.in_hours.replace("{within}", _within(hours.reply_within_hours))
    opening = next_opening(hours, now)
    if opening is None:
        return hours.in_hours.replace("{within}", _within(hours.reply_within_hours))
    return hours.out_of_hours.replace("{next_open}", _when(opening, now.astimezone(hours.timezone)))


def _within(hours: float) -> str:
    if hours < 1:
        return f"within {round(hours * 60)} minutes"
    if hours <= 48 and hours == int(hours):
        return f"within {int(hours)} hour{'s' if hours != 1 else ''}"
    if hours <= 48:
        return f"within {hours:g} hours"
    return f"within {round(hours / 24)} days"


def _when(opening: datetime, local_now: datetime) -> str:
    clock = opening.strftime("%H:%M")
    zone = opening.tzname() or ""
    days = (opening.date() - local_now.date()).days
    if days == 0:
        day = "today"
    elif days == 1:
        day = "tomorrow"
    elif days < 7:
        day = f"on {_DAYS[opening.weekday()]}"
    else:
        day = f"on {_DAYS[opening.weekday()]} {opening.day} {opening.strftime('%B')}"
    return f"{day} at {clock} ({zone})".strip()
