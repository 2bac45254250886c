"""Business hours: when will a person reply?"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.decision.hours import is_open, next_opening, reply_expectation
from bridge.policy import BusinessHours, BusinessHoursSchema

WEEKDAYS_9_TO_5 = {day: "09:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")}


def hours(**overrides: object) -> BusinessHours:
    data = {
        "timezone": "Europe/Berlin",
        "weekly": WEEKDAYS_9_TO_5,
        "holidays": ["2026-12-25"],
        "reply_within_hours": 2,
    }
    data.update(overrides)
    return BusinessHoursSchema().load(data)


# 2026-12-01 is a Tuesday; Berlin is UTC+1 in December.
TUESDAY_NOON = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
TUESDAY_NIGHT = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
FRIDAY_EVENING = datetime(2026, 12, 4, 17, 30, tzinfo=UTC)
CHRISTMAS_MORNING = datetime(2026, 12, 25, 9, 0, tzinfo=UTC)


def test_open_inside_hours_and_closed_outside() -> None:
    assert is_open(hours(), TUESDAY_NOON)
    assert not is_open(hours(), TUESDAY_NIGHT)
    assert not is_open(hours(), CHRISTMAS_MORNING)  # a Friday, but a holiday


def test_in_hours_promise_uses_the_reply_time() -> None:
    assert reply_expectation(hours(), TUESDAY_NOON) == "A person usually replies within 2 hours."


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (TUESDAY_NIGHT, "tomorrow at 09:00 (CET)"),
        (FRIDAY_EVENING, "on Monday at 09:00 (CET)"),
        (CHRISTMAS_MORNING, "on Monday at 09:00 (CET)"),
    ],
)
def test_out_of_hours_message_names_the_next_opening(now: datetime, expected: str) -> None:
    assert expected in reply_expectation(hours(), now)


def test_before_opening_on_a_working_day_it_is_today() -> None:
    early = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
    assert next_opening(hours(), early) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert "today at 09:00" in reply_expectation(hours(), early)


def test_no_weekly_hours_means_always_open() -> None:
    always = hours(weekly={})
    assert is_open(always, TUESDAY_NIGHT)
    assert "within 2 hours" in reply_expectation(always, TUESDAY_NIGHT)


def test_split_days_and_bad_spans() -> None:
    split = hours(weekly={"mon": "09:00-12:00, 13:00-17:00"})
    monday_lunch = datetime(2026, 11, 30, 11, 30, tzinfo=UTC)  # 12:30 in Berlin
    assert not is_open(split, monday_lunch)
    assert next_opening(split, monday_lunch) == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    with pytest.raises(Exception, match="must look like"):
        hours(weekly={"mon": "9 to 5"})
    with pytest.raises(Exception, match="unknown time zone"):
        hours(timezone="Mars/Olympus")
