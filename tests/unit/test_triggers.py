"""The escalation triggers: a table of customer messages, then each trigger's own settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bridge.decision.model import TicketView
from bridge.decision.triggers import (
    TRIGGERS,
    TriggerContext,
    TriggerHit,
    all_hits,
    first_hit,
    human_request,
    normalise,
)
from bridge.decision.triggers.loop import similarity
from bridge.decision.triggers.sentiment import frustration_score
from bridge.events import Customer, Message, Role
from bridge.policy import TRIGGER_NAMES, TriggerSettings
from tests.unit.trigger_cases import CASES

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
DEFAULTS: dict[str, TriggerSettings] = {name: TriggerSettings() for name in TRIGGER_NAMES}


def customer(text: str, id: str = "c-last") -> Message:
    return Message(id=id, role=Role.CUSTOMER, text=text)


def bot(text: str, id: str) -> Message:
    return Message(id=id, role=Role.BOT, text=text)


def context(
    text: str,
    *,
    history: Sequence[Message] = (),
    ticket: TicketView | None = None,
    fields: dict[str, Any] | None = None,
    tags: tuple[str, ...] = (),
) -> TriggerContext:
    message = customer(text)
    return TriggerContext(
        message=message,
        conversation=[*history, message],
        ticket=ticket or TicketView(),
        customer=Customer(id="9", fields=fields or {}),
        tags=tags,
        now=NOW,
    )


def settings(**by_name: TriggerSettings) -> Mapping[str, TriggerSettings]:
    return {**DEFAULTS, **by_name}


# --- the table ------------------------------------------------------------------------------


def test_the_table_is_large_and_covers_every_text_trigger() -> None:
    assert len(CASES) >= 200
    expected = {reason for _, reason in CASES}
    text_triggers = set(TRIGGER_NAMES) - {"vip", "new_customer", "loop"}
    assert text_triggers <= expected
    assert None in expected
    assert len({text for text, _ in CASES}) == len(CASES), "duplicate messages in the table"


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[text[:50] for text, _ in CASES])
def test_first_hit_on_the_table(text: str, expected: str | None) -> None:
    hit = first_hit(context(text), DEFAULTS)
    assert (hit.reason if hit else None) == expected, hit
    if hit is not None:
        assert hit.rule_id.startswith(f"{hit.reason}.")
        assert hit.evidence and all(hit.evidence)


# --- the registry ---------------------------------------------------------------------------


def test_registry_has_exactly_the_configured_names_in_order() -> None:
    assert tuple(TRIGGERS) == TRIGGER_NAMES


def test_the_earlier_trigger_in_the_order_decides() -> None:
    ctx = context("I want a refund or my lawyer will hear about it")
    assert TRIGGER_NAMES.index("legal_privacy") < TRIGGER_NAMES.index("refund")
    hit = first_hit(ctx, DEFAULTS)
    assert hit is not None and hit.reason == "legal_privacy"
    assert [h.reason for h in all_hits(ctx, DEFAULTS)] == ["legal_privacy", "refund"]


@pytest.mark.parametrize(
    "off",
    [TriggerSettings(enabled=False), TriggerSettings(rollout="off")],
    ids=["disabled", "rollout_off"],
)
def test_disabled_and_rolled_out_triggers_are_skipped(off: TriggerSettings) -> None:
    ctx = context("I want a refund or my lawyer will hear about it")
    hit = first_hit(ctx, settings(legal_privacy=off))
    assert hit is not None and hit.reason == "refund"
    assert first_hit(ctx, settings(legal_privacy=off, refund=off)) is None
    assert [h.reason for h in all_hits(ctx, settings(legal_privacy=off))] == ["refund"]


def test_draft_rollout_still_fires() -> None:
    hit = first_hit(
        context("agent please"), settings(human_request=TriggerSettings(rollout="draft"))
    )
    assert hit is not None and hit.reason == "human_request"


def test_missing_settings_mean_defaults() -> None:
    hit = first_hit(context("I want to talk to a real person"), {})
    assert hit is not None and hit.reason == "human_request"


@pytest.mark.parametrize("name", TRIGGER_NAMES)
def test_extra_phrases_fire_every_trigger(name: str) -> None:
    ctx = context("Is the PURPLE   monkey still on the roadmap?")
    assert first_hit(ctx, DEFAULTS) is None
    configured = settings(**{name: TriggerSettings(extra_phrases=("purple monkey",))})
    hit = first_hit(ctx, configured)
    assert hit == TriggerHit(name, f"{name}.config_phrase", ("purple monkey",))


def test_extra_phrases_are_matched_without_accents_or_case() -> None:
    configured = settings(cancellation=TriggerSettings(extra_phrases=("Désinscription",)))
    hit = first_hit(context("desinscription svp"), configured)
    assert hit is not None and hit.rule_id == "cancellation.config_phrase"


# --- human_request ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "humna please",
        "can I talk to an agnet",
        "reprsentative",
        "I want to speak to a represenative",
        "chat with somebdy",
        "operater!!",
        "agent. agent. AGENT.",
        "HUMAN!!! HUMAN!!!",
        "human human human please",
        "how to speak tosomebody",
    ],
)
def test_human_request_reads_typos_and_repeated_demands(text: str) -> None:
    hit = human_request(text)
    assert hit is not None and hit.reason == "human_request" and hit.evidence


def test_human_request_function_keeps_its_configured_phrases() -> None:
    hit = human_request("I'd like a callback", extra_phrases=["callback"])
    assert hit is not None and hit.rule_id == "human_request.config_phrase"
    assert human_request("   ") is None


def test_normalise_strips_accents_case_and_stretched_letters() -> None:
    assert normalise("  HUMAAAN   Café  ") == "human cafe"
    assert normalise("don’t") == "don't"


# --- vip --------------------------------------------------------------------------------------


VIP = TriggerSettings(fields={"tier": ("vip", "enterprise")}, tags=("vip", "key_account"))


@pytest.mark.parametrize(
    ("fields", "tags", "evidence"),
    [
        ({"tier": "VIP"}, (), "tier=vip"),
        ({"Tier": "Enterprise"}, (), "tier=enterprise"),
        ({"tier": ["basic", "enterprise"]}, (), "tier=enterprise"),
        ({}, ("Key_Account",), "tag:key_account"),
        ({"tags": ["churn_risk", "vip"]}, (), "tag:vip"),
        ({"tags": "beta, VIP"}, (), "tag:vip"),
    ],
)
def test_vip_matches_fields_and_tags(
    fields: dict[str, Any], tags: tuple[str, ...], evidence: str
) -> None:
    hit = TRIGGERS["vip"](context("How do I export?", fields=fields, tags=tags), VIP)
    assert hit is not None and hit.reason == "vip" and hit.evidence == (evidence,)


def test_vip_stays_quiet_for_others_and_without_configuration() -> None:
    plain = context("How do I export?", fields={"tier": "pro", "tags": ["beta"]}, tags=("new",))
    assert TRIGGERS["vip"](plain, VIP) is None
    vip_customer = context("How do I export?", fields={"tier": "vip"}, tags=("vip",))
    assert TRIGGERS["vip"](vip_customer, TriggerSettings()) is None
    assert first_hit(vip_customer, DEFAULTS) is None


# --- new_customer -----------------------------------------------------------------------------


NEW = TriggerSettings(max_account_age_days=30, account_age_field="created_at")


@pytest.mark.parametrize(
    ("value", "fires"),
    [
        (5, True),
        (30, True),
        (31, False),
        ("12", True),
        ((NOW - timedelta(days=10)).isoformat(), True),
        ((NOW - timedelta(days=45)).isoformat(), False),
        ("2024-05-20", True),
        ("2023-01-01", False),
        ("2024-05-25T08:00:00Z", True),
        ("2024-05-25T08:00:00", True),  # no zone: read as UTC
        (date(2024, 5, 30), True),
        (NOW + timedelta(days=2), True),  # clock skew: brand new
        ("yesterday", False),
        (None, False),
        (True, False),
    ],
)
def test_new_customer_reads_days_or_creation_dates(value: Any, fires: bool) -> None:
    ctx = context("How do I export?", fields={"created_at": value})
    hit = TRIGGERS["new_customer"](ctx, NEW)
    assert (hit is not None) is fires
    if hit:
        assert hit.rule_id == "new_customer.account_age" and hit.evidence


def test_new_customer_uses_the_context_clock() -> None:
    ctx = context("hi there", fields={"created_at": "2024-05-20"})
    later = TriggerContext(
        ctx.message, ctx.conversation, ctx.ticket, ctx.customer, now=NOW + timedelta(days=60)
    )
    assert TRIGGERS["new_customer"](ctx, NEW) is not None
    assert TRIGGERS["new_customer"](later, NEW) is None


def test_new_customer_needs_both_settings() -> None:
    ctx = context("hi there", fields={"created_at": 1})
    assert TRIGGERS["new_customer"](ctx, TriggerSettings(max_account_age_days=30)) is None
    assert TRIGGERS["new_customer"](ctx, TriggerSettings(account_age_field="created_at")) is None
    assert first_hit(ctx, DEFAULTS) is None


# --- loop -------------------------------------------------------------------------------------


def exchange(*texts: str) -> list[Message]:
    """Alternating customer and bot messages, starting with the customer."""
    return [
        customer(text, f"c{i}") if i % 2 == 0 else bot(text, f"b{i}")
        for i, text in enumerate(texts)
    ]


def test_loop_fires_after_max_turns_from_the_ticket_or_the_messages() -> None:
    assert first_hit(context("and the sidebar?", ticket=TicketView(bot_turns=3)), DEFAULTS)
    history = exchange("a?", "A.", "b?", "B.", "c?", "C.")
    hit = first_hit(context("what about the sidebar colours?", history=history), DEFAULTS)
    assert hit is not None and hit.rule_id == "loop.max_turns"
    assert "bot_turns=3" in hit.evidence
    two = exchange("a?", "A.", "b?", "B.")
    assert first_hit(context("what about the sidebar colours?", history=two), DEFAULTS) is None
    one_turn = settings(loop=TriggerSettings(max_turns=2))
    assert first_hit(context("what about the sidebar colours?", history=two), one_turn)


def test_an_agent_reply_restarts_the_bot_turn_count() -> None:
    history = [
        *exchange("a?", "A.", "b?", "B.", "c?", "C."),
        Message(id="a1", role=Role.AGENT, text="Back to you, bot"),
        bot("Anything else?", "b9"),
    ]
    assert first_hit(context("what about the sidebar colours?", history=history), DEFAULTS) is None


def test_loop_fires_when_an_answered_question_comes_back() -> None:
    history = exchange("How do I export my notes to PDF?", "Open a note and choose Export.")
    hit = first_hit(context("how do i export my notes to pdf??", history=history), DEFAULTS)
    assert hit is not None and hit.rule_id == "loop.repeated_question"
    assert hit.evidence[0].startswith("similarity=")
    other = context("How do I change the sidebar colour?", history=history)
    assert first_hit(other, DEFAULTS) is None


def test_loop_similarity_threshold_is_configurable() -> None:
    history = exchange("How can I export all my notes as PDF files?", "Use Export.")
    text = "how do I export notes to pdf"
    score = similarity(text, history[0].text)
    assert 0.3 < score < 0.8
    assert first_hit(context(text, history=history), DEFAULTS) is None
    loose = settings(loop=TriggerSettings(threshold=round(score - 0.05, 2)))
    hit = first_hit(context(text, history=history), loose)
    assert hit is not None and hit.rule_id == "loop.repeated_question"


def test_a_question_the_bot_never_answered_is_not_a_loop() -> None:
    unanswered = [customer("How do I export my notes to PDF?", "c0")]
    assert (
        first_hit(context("How do I export my notes to PDF?", history=unanswered), DEFAULTS) is None
    )
    short = exchange("ok thanks", "You're welcome!")
    assert first_hit(context("ok thanks", history=short), DEFAULTS) is None


@pytest.mark.parametrize(
    "text",
    [
        "That didn't help",
        "that's not what I asked",
        "You already said that",
        "that doesn't answer my question",
        "Das hilft mir nicht",
        "Das habe ich nicht gefragt",
        "Ça ne m'aide pas",
        "Vous l'avez déjà dit",
        "No me ayuda",
        "Ya me dijiste eso",
        "Não ajudou",
        "Você já disse isso",
    ],
)
def test_loop_fires_when_the_answer_did_not_help(text: str) -> None:
    history = exchange("How do I export my notes?", "Open a note and choose Export.")
    hit = first_hit(context(text, history=history), DEFAULTS)
    assert hit is not None and hit.reason == "loop" and hit.rule_id.startswith("loop.didnt_help")
    assert first_hit(context(text), DEFAULTS) is None  # nothing was answered yet


# --- frustration ------------------------------------------------------------------------------


def test_frustration_evidence_lists_the_cues_and_the_score() -> None:
    hit = first_hit(context("This is RIDICULOUS!!! Third time I'm asking"), DEFAULTS)
    assert hit is not None and hit.reason == "frustration"
    assert any(e.startswith("punctuation:") for e in hit.evidence)
    assert any(e.startswith("repeat:") for e in hit.evidence)
    assert hit.evidence[-1].startswith("score=")


def test_frustration_threshold_is_configurable() -> None:
    text = "still not working"
    score, _ = frustration_score(context(text))
    assert 0 < score < 0.6
    assert first_hit(context(text), DEFAULTS) is None
    sensitive = settings(frustration=TriggerSettings(threshold=0.3))
    hit = first_hit(context(text), sensitive)
    assert hit is not None and hit.reason == "frustration"
    strict = settings(frustration=TriggerSettings(threshold=1.0))
    assert first_hit(context("I'm switching to a competitor"), strict) is None


def test_frustration_counts_a_worsening_conversation() -> None:
    history = [
        customer("the export doesn't work", "c0"),
        bot("Try again from the menu.", "b0"),
        customer("still not working", "c1"),
        bot("Please clear your cache.", "b1"),
    ]
    latest = "still not working, this is frustrating"
    alone, _ = frustration_score(context(latest))
    together, cues = frustration_score(context(latest, history=history))
    assert together > alone
    assert any(c.startswith("trend:") for c in cues)
    hit = first_hit(context(latest, history=history), DEFAULTS)
    assert hit is not None and hit.reason == "frustration"


def test_thanks_after_an_angry_message_is_not_frustration() -> None:
    history = [customer("This is unacceptable!!! Third time!!!", "c0"), bot("Fixed now.", "b0")]
    assert frustration_score(context("thanks, works now", history=history)) == (0.0, [])
