"""How numbers, times and reasons read on the pages and in ``report``."""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.decision.brief import REASON_TITLES

EMPTY = "–"


def when(moment: datetime | None) -> str:
    if moment is None:
        return EMPTY
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return EMPTY
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def pct(rate: float | None, digits: int = 0) -> str:
    if rate is None:
        return EMPTY
    return f"{rate * 100:.{digits}f}%"


def reason_title(reason: str | None) -> str:
    if not reason:
        return EMPTY
    return REASON_TITLES.get(reason, reason.replace("_", " ").capitalize())
