"""What customers and agents read: replies with a way out, handoff messages, the brief."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bridge.decision.brief import BriefFacts, build_brief
from bridge.decision.messages import format_handoff, format_reply
from bridge.decision.model import Citation
from bridge.events import Customer, Message, Role
from bridge.policy import Policy
from tests.conftest import make_config

OPEN = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # Tuesday, noon in Berlin
CLOSED = datetime(2026, 12, 5, 11, 0, tzinfo=UTC)  # Saturday

HOURS = {
    "timezone": "Europe/Berlin",
    "weekly": {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")},
    "reply_within_hours": 4,
}
TRANSLATIONS = {
    "de": {
        "default": "Ich übergebe an unser Team ({group}). {when}",
        "in_hours": "Eine Person antwortet {within}.",
        "out_of_hours": "Wir melden uns, sobald wir wieder da sind: {next_open}.",
    }
}


def policy(tmp_path: Path, **overrides: object) -> Policy:
    block = {"business_hours": HOURS, "handoff": {"translations": TRANSLATIONS}, **overrides}
    return make_config(tmp_path, "sqlite://", block).connectors["acme"].policy


def test_every_reply_ends_with_the_way_out(tmp_path: Path) -> None:
    text = format_reply("Click Forgot password.", [Citation("p", "Reset", None)], policy(tmp_path))
    assert text.splitlines()[-1].endswith('Reply "agent" at any time to reach our team.')
    custom = policy(tmp_path, assistant={"way_out": "Type HUMAN for a person."})
    assert format_reply("x", [], custom).endswith("Type HUMAN for a person.")


def test_handoff_promises_a_reply_time_in_and_out_of_hours(tmp_path: Path) -> None:
    p = policy(tmp_path)
    inside = format_handoff("human_request", "Tier 2", p, now=OPEN)
    assert "(Tier 2)" in inside and "A person usually replies within 4 hours." in inside
    outside = format_handoff("human_request", "Tier 2", p, now=CLOSED)
    assert "on Monday at 09:00 (CET)" in outside
    assert "they can see everything you've written" in outside


def test_handoff_in_the_customers_language_when_a_template_exists(tmp_path: Path) -> None:
    p = policy(tmp_path)
    german = format_handoff("refund", "Billing", p, now=OPEN, language="de")
    assert german.startswith(
        "Ich übergebe an unser Team (Billing). Eine Person antwortet innerhalb von"
    )
    closed = format_handoff("refund", "Billing", p, now=CLOSED, language="de")
    assert "Wir melden uns, sobald wir wieder da sind: am Montag um" in closed
    assert "Monday" not in closed and "within" not in german
    # no French template: the default message, in English
    assert format_handoff("refund", "Billing", p, now=OPEN, language="fr").startswith(
        "I'm handing this over"
    )


def test_brief_is_short_and_has_what_the_agent_needs() -> None:
    bot = Message(
        "b1",
        Role.BOT,
        "Click Forgot password.\n\nSources:\n- Reset your password › Steps: https://h/x\n\n— AI",
    )
    latest = Message(
        "c2", Role.CUSTOMER, "I STILL can't log in. This is the third time! Refund me."
    )
    brief = build_brief(
        BriefFacts(
            reason="refund",
            evidence={"matched": ["Refund me"]},
            latest=latest,
            conversation=[Message("c1", Role.CUSTOMER, "How do I reset my password?"), bot, latest],
            customer=Customer(
                name="Sam Lee",
                email="sam@example.com",
                fields={"organization": "Acme", "tier": "gold", "plan": "Pro"},
            ),
            label="AI assistant",
            subject="Login",
            group="Billing",
            priority="high",
            language="en",
            channel="email",
            risk_flags=("frustration",),
        )
    )
    lines = brief.splitlines()
    assert len(lines) <= 15
    assert lines[0] == "[AI assistant] Handoff: Refund request (refund)"
    assert "Sam Lee <sam@example.com> · organization: Acme · tier: gold · plan: Pro" in brief
    assert "Risk flags: frustration" in brief
    assert "AI already answered: 1 reply, citing Reset your password › Steps" in brief
    assert "Customer earlier: How do I reset my password?" in brief
    assert "Routed to: Billing, priority high" in brief
    assert "Suggested next step:" in brief
