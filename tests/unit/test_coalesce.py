"""Which customer messages join one decision, and how long the shell waits for them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.decision import coalesce
from bridge.events import Event, Message, Role

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def event(text: str, role: Role = Role.CUSTOMER, *, public: bool = True, n: int = 1) -> Event:
    message = Message(str(n), role, text, public=public, author_id="c1", created_at=T0)
    return Event("acme", f"d{n}", "42", "comment", message)


def test_a_run_of_customer_messages_joins_until_anything_else() -> None:
    first = event("hi", n=1)
    later = [
        event("my export fails", n=2),
        event("error 42", n=3),
        event("Looking into it", Role.AGENT, n=4),
        event("thanks", n=5),
    ]
    assert coalesce.burst(first, later) == 2


def test_only_public_customer_messages_with_text_join() -> None:
    assert coalesce.burst(event("hi"), [event("note", public=False, n=2)]) == 0
    assert coalesce.burst(event("hi"), [event("   ", n=2)]) == 0
    assert coalesce.burst(event("hi"), [event("ours", Role.BOT, n=2)]) == 0
    # An agent's comment starts no burst of its own.
    assert coalesce.burst(event("done", Role.AGENT), [event("thanks", n=2)]) == 0


def test_a_burst_is_capped() -> None:
    later = [event(f"part {n}", n=n) for n in range(2, 60)]
    assert coalesce.burst(event("hi"), later) == coalesce.MAX_JOINED - 1


def test_the_shell_waits_until_the_customer_is_quiet_for_the_window() -> None:
    newest = T0 + timedelta(seconds=2)
    assert coalesce.wait_seconds(T0, newest, newest, 3.0) == 3.0
    assert coalesce.wait_seconds(T0, newest, newest + timedelta(seconds=1), 3.0) == 2.0
    assert coalesce.wait_seconds(T0, newest, newest + timedelta(seconds=3), 3.0) == 0.0
    assert coalesce.wait_seconds(T0, newest, newest, 0.0) == 0.0


def test_a_customer_who_keeps_writing_is_answered_after_ten_windows() -> None:
    # A message every two seconds for a minute: no quiet window ever comes.
    newest = T0 + timedelta(seconds=58)
    assert coalesce.wait_seconds(T0, newest, newest, 5.0) == 0.0
    assert coalesce.wait_seconds(T0, newest, T0 + timedelta(seconds=45), 5.0) == 5.0
    # At least 30 seconds, however short the window.
    assert coalesce.wait_seconds(T0, T0 + timedelta(seconds=29), T0 + timedelta(seconds=29), 1) == 1


def test_the_joined_message_keeps_every_part_in_order_under_the_newest_id() -> None:
    parts = [event(text, n=n).message for n, text in enumerate(["hi ", "my export", "fails"], 1)]
    joined = coalesce.joined_message(parts)  # type: ignore[arg-type]
    assert (joined.id, joined.role, joined.text) == ("3", Role.CUSTOMER, "hi\n\nmy export\n\nfails")
    assert coalesce.joined_message(parts[:1]) is parts[0]  # type: ignore[arg-type]


def test_parts_are_put_in_the_order_the_customer_wrote_them() -> None:
    def at(text: str, minute: int | None) -> Message:
        when = None if minute is None else T0 + timedelta(minutes=minute)
        return Message(text, Role.CUSTOMER, text, created_at=when)

    arrived = [at("second", 2), at("first", 1), at("third", 3)]
    assert [m.text for m in coalesce.in_order(arrived)] == ["first", "second", "third"]
    # Without a timestamp on every part, the order of arrival is all there is.
    arrived[0] = at("second", None)
    assert [m.text for m in coalesce.in_order(arrived)] == ["second", "first", "third"]
