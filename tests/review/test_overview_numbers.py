"""The overview's numbers against a hand count over a seeded set of conversations.

The clock is fixed at 2026-11-20 12:00 UTC; the period is the 7 days before it; the
containment window is 72 hours. Each ticket below is one conversation, with its expected
outcome worked out by hand from the definitions in bridge.review.queries.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bridge.review import periods, queries
from bridge.store import Store
from tests.review.conftest import NOW, Seeder

WINDOW = timedelta(hours=72)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def seeded(store: Store, seed: Seeder) -> dict[str, int]:
    ids: dict[str, int] = {}
    # T1 contained: answered on the 14th, nothing after, the window long past.
    ids["t1"] = seed.exchange("t1", at(14, 10), "reply", "answered")
    # T2 reopened: the customer wrote again three hours after the answer.
    ids["t2a"] = seed.exchange("t2", at(15, 9), "reply", "answered")
    ids["t2b"] = seed.exchange("t2", at(15, 12), "reply", "answered")
    # T3 assisted escalation: answered, then asked for a person 30 minutes later.
    seed.exchange("t3", at(16, 8), "reply", "answered")
    seed.exchange(
        "t3", at(16, 8, 30), "escalate", "human_request", "I want a human", delay=timedelta(0)
    )
    seed.ticket_state(
        "t3", escalated_at=at(16, 8, 30, 2), human_active_at=at(16, 9, 30, 2)
    )  # 1 hour to a human
    # T4 escalated straight away (docs don't cover it), an agent answered 2 hours later.
    seed.exchange(
        "t4", at(17, 14), "escalate", "missing_knowledge", "Can I export notes to Evernote?",
        delay=timedelta(seconds=4),
    )  # fmt: skip
    seed.ticket_state("t4", escalated_at=at(17, 14, 0, 5), human_active_at=at(17, 16, 0, 5))
    # T5 escalated straight away (refund), no human yet.
    seed.exchange("t5", at(18, 10), "escalate", "refund", "Refund me", delay=timedelta(seconds=1))
    seed.ticket_state("t5", escalated_at=at(18, 10, 0, 2))
    # T6 pending: answered 25 hours before now, still inside the window.
    ids["t6"] = seed.exchange("t6", at(19, 11), "reply", "answered")
    # T7 taken over: answered, then an agent stepped in three hours later on their own.
    ids["t7"] = seed.exchange("t7", at(14, 15), "reply", "answered")
    seed.ticket_state("t7", human_active_at=at(14, 18))
    # T8 unanswered: only a clarifying question, the customer never came back.
    seed.exchange("t8", at(13, 13), "clarify", "clarify")
    # T9 began before the period (its first answer on the 10th): not handled in this period,
    # though its second answer (outside the first answer's window) falls inside it.
    seed.exchange("t9", at(10, 10), "reply", "answered")
    ids["t9b"] = seed.exchange("t9", at(14, 11), "reply", "answered")
    # T10 another connector, contained.
    seed.exchange("t10", at(14, 9), "reply", "answered", connector="other")
    # T11 the bot's reply was held back because an agent spoke first: not the bot's doing.
    seed.exchange("t11", at(15, 16), "reply", "answered", write_status="skipped")
    # T12 escalated straight away (low confidence), a human replied 30 minutes later.
    seed.exchange(
        "t12", at(19, 9), "escalate", "low_confidence", "Do you support Linux desktop?",
        delay=timedelta(seconds=3),
    )  # fmt: skip
    seed.ticket_state("t12", escalated_at=at(19, 9, 0, 4), human_active_at=at(19, 9, 30, 4))
    # Customer feedback through the reply links; "neutral" counts neither way.
    seed.vote(ids["t1"], "up")
    seed.vote(ids["t2a"], "down")
    seed.vote(ids["t2b"], "down")
    seed.vote(ids["t6"], "up")
    seed.vote(ids["t7"], "neutral")
    return ids


def week() -> periods.Period:
    return periods.last("7d", NOW)


def test_overview_matches_the_hand_count(store: Store, seeded: dict[str, int]) -> None:
    with store.session() as session:
        data = queries.overview(session, week(), connector="acme", window=WINDOW, now=NOW)

    assert data.handled == 9  # t1-t8 and t12; not t9 (began earlier), t10 (other), t11 (skipped)
    assert data.outcomes == {
        "contained": 1,  # t1
        "reopened": 1,  # t2
        "taken_over": 1,  # t7
        "assisted_escalation": 1,  # t3
        "escalated": 3,  # t4, t5, t12
        "unanswered": 1,  # t8
        "pending": 1,  # t6
    }
    assert data.judged == 8
    assert data.ai_resolved_rate == pytest.approx(1 / 8)
    assert data.handoff_rate == pytest.approx(4 / 9)
    assert data.handoffs_by_reason == {
        "human_request": 1,
        "missing_knowledge": 1,
        "refund": 1,
        "low_confidence": 1,
    }
    assert data.handoff_rate_of("refund") == pytest.approx(1 / 9)
    # to escalation: t3 30m = 1800s (from its first message), t4 4s, t5 1s, t12 3s
    assert data.median_seconds_to_escalation == pytest.approx(3.5)
    # escalation to a human: t3 3600s, t4 7200s, t12 1800s (t5 has none yet)
    assert data.median_seconds_to_human == pytest.approx(3600)
    # replies sent in the period: t1, t2 (two), t3, t6, t7, t9's second; not t11's
    assert data.ai_replies == 7
    assert data.votes == queries.Votes(up=2, down=2)
    assert data.votes.up_rate == pytest.approx(0.5)
    gaps = sorted(cluster.representative for cluster in data.top_gaps)
    assert gaps == ["Can I export notes to Evernote?", "Do you support Linux desktop?"]


def test_every_connector_together(store: Store, seeded: dict[str, int]) -> None:
    with store.session() as session:
        data = queries.overview(session, week(), connector=None, window=WINDOW, now=NOW)
    assert data.handled == 10  # t10 joins
    assert data.outcomes["contained"] == 2
    assert data.ai_resolved_rate == pytest.approx(2 / 9)


def test_daily_buckets_add_up(store: Store, seeded: dict[str, int]) -> None:
    with store.session() as session:
        data = queries.overview(session, week(), connector="acme", window=WINDOW, now=NOW)
    assert data.bucket_label == "day"
    assert len(data.buckets) == 7
    assert sum(b.handled for b in data.buckets) == data.handled
    assert sum(b.contained for b in data.buckets) == data.outcomes["contained"]
    assert sum(b.handed_off for b in data.buckets) == data.handed_off
    assert sum(b.pending for b in data.buckets) == data.outcomes["pending"]


def test_json_form_carries_the_same_numbers(store: Store, seeded: dict[str, int]) -> None:
    with store.session() as session:
        data = queries.overview(session, week(), connector="acme", window=WINDOW, now=NOW)
    payload = data.to_json()
    assert payload["conversations_handled"] == 9
    assert payload["ai_resolved_rate"] == 0.125
    assert payload["handoff_rate"] == round(4 / 9, 4)
    assert payload["handoffs_by_reason"]["refund"] == {"count": 1, "rate": round(1 / 9, 4)}
    assert payload["median_seconds_to_escalation"] == 3.5
    assert payload["median_seconds_escalation_to_human"] == 3600
    assert payload["feedback"] == {"up": 2, "down": 2, "up_rate": 0.5}


def test_an_empty_period_has_no_rates(store: Store) -> None:
    with store.session() as session:
        data = queries.overview(session, week(), connector=None, window=WINDOW, now=NOW)
    assert data.handled == 0
    assert data.ai_resolved_rate is None
    assert data.handoff_rate is None
    assert data.median_seconds_to_escalation is None
    assert data.median_seconds_to_human is None
    assert data.top_gaps == []


# --- the outcome rules one at a time --------------------------------------------------------


def conversation(*acts: tuple[str, datetime], customer: tuple[datetime, ...] = ()):
    return queries.Conversation(
        connector="acme",
        ticket_id="1",
        acts=[queries.Act(i, kind, "r", when) for i, (kind, when) in enumerate(acts)],
        customer_messages=list(customer),
    )


def test_customer_coming_back_after_the_window_does_not_reopen() -> None:
    answered = at(10, 10)
    convo = conversation(("reply", answered), customer=(answered + WINDOW + timedelta(hours=1),))
    assert convo.outcome(WINDOW, NOW) == "contained"


def test_customer_coming_back_inside_the_window_reopens() -> None:
    answered = at(10, 10)
    convo = conversation(("reply", answered), customer=(answered + timedelta(hours=71),))
    assert convo.outcome(WINDOW, NOW) == "reopened"


def test_an_answer_counts_as_contained_only_once_the_window_has_passed() -> None:
    answered = NOW - WINDOW + timedelta(minutes=1)
    assert conversation(("reply", answered)).outcome(WINDOW, NOW) == "pending"
    assert conversation(("reply", answered)).outcome(WINDOW, NOW + timedelta(minutes=2)) == (
        "contained"
    )


def test_a_clarifying_question_before_a_handoff_makes_it_assisted() -> None:
    convo = conversation(("clarify", at(10, 10)), ("escalate", at(10, 11)))
    assert convo.outcome(WINDOW, NOW) == "assisted_escalation"
