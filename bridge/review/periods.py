"""Reporting periods: "the last 7 days", or from one date to another, always in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

_SPAN = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
PRESETS = ("24h", "7d", "30d", "90d")
DEFAULT_SPAN = "7d"
MAX_SPAN = timedelta(days=3660)


class PeriodError(ValueError):
    """A period the user typed that we cannot read."""


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    label: str
    since: str | None = None  # the span it came from ("7d"), None for explicit dates

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def parse_span(text: str) -> timedelta:
    match = _SPAN.match(text or "")
    if match is None:
        raise PeriodError(f"{text!r} is not a span like 24h, 7d or 2w")
    span = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if span <= timedelta(0) or span > MAX_SPAN:
        raise PeriodError(f"{text!r} must be more than zero and at most ten years")
    return span


def last(span_text: str, now: datetime) -> Period:
    span = parse_span(span_text)
    return Period(now - span, now, f"last {_describe(span_text)}", since=span_text.strip())


def between(start: date, end: date) -> Period:
    """Whole UTC days, both ends included."""
    if end < start:
        raise PeriodError("the end date is before the start date")
    begin = datetime.combine(start, time.min, tzinfo=UTC)
    finish = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    return Period(begin, finish, f"{start.isoformat()} to {end.isoformat()}")


def parse_since(text: str, now: datetime) -> Period:
    """``--since``: a span back from now ("7d"), or a date ("2026-11-01") up to now."""
    try:
        return last(text, now)
    except PeriodError:
        pass
    try:
        start = date.fromisoformat(text.strip())
    except ValueError:
        problem = f"{text!r} is neither a span like 7d nor a date like 2026-11-01"
        raise PeriodError(problem) from None
    begin = datetime.combine(start, time.min, tzinfo=UTC)
    if begin >= now:
        raise PeriodError(f"{text} is not in the past")
    return Period(begin, now, f"since {start.isoformat()}")


def from_request(args: dict[str, str], default: str, now: datetime) -> Period:
    """The period of a page's filter form: a span ("7d") if chosen, else the dates given.

    Anything unreadable falls back to ``default``, so a mistyped link still shows a page.
    """
    span = args.get("since", "").strip()
    if span:
        try:
            return last(span, now)
        except PeriodError:
            return last(default, now)
    start_text, end_text = args.get("from", "").strip(), args.get("to", "").strip()
    if start_text or end_text:
        try:
            start = date.fromisoformat(start_text) if start_text else now.date()
            end = date.fromisoformat(end_text) if end_text else now.date()
            return between(start, end)
        except (ValueError, PeriodError):
            pass
    return last(default, now)


def _describe(span_text: str) -> str:
    match = _SPAN.match(span_text)
    assert match is not None
    count, unit = int(match.group(1)), match.group(2).lower()
    word = {"h": "hour", "d": "day", "w": "week"}[unit]
    return f"{count} {word}{'' if count == 1 else 's'}"
