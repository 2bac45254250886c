"""The pure decision core: no database, no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.config import Policy
from bridge.decision import DecisionKind, TicketView, core
from bridge.decision.model import Decision, Situation, TicketStatus
from bridge.decision.triggers import human_request
from bridge.events import Customer, Message, Role
from bridge.knowledge.types import Answer, AnswerKind, Hit, Passage
from tests.conftest import make_config

NOW = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


def triage(
    message: Message,
    conversation: list[Message],
    ticket: TicketView,
    policy: Policy,
    *,
    customer: Customer | None = None,
    subject: str | None = None,
) -> Decision | None:
    situation = Situation(message, conversation, ticket, customer or Customer(), subject, now=NOW)
    return core.triage(situation, policy)


def settle(
    message: Message,
    conversation: list[Message],
    ticket: TicketView,
    hits: list[Hit],
    answer: Answer,
    policy: Policy,
) -> Decision:
    return core.settle(Situation(message, conversation, ticket, now=NOW), hits, answer, policy)


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    return make_config(tmp_path, "sqlite://").connectors["acme"].policy


def customer(text: str, id: str = "c1") -> Message:
    return Message(id=id, role=Role.CUSTOMER, text=text)


PASSWORD = Passage(
    id="reset-password.md#steps",
    title_path=("Reset your password", "Steps"),
    text="1. Open the sign-in page.\n2. Click Forgot password.",
    source="reset-password.md",
    url="https://help.example/reset#steps",
)
HITS = [Hit(PASSWORD, 7.5)]


@pytest.mark.parametrize(
    "text",
    [
        "I want to talk to a real person",
        "agent please",
        "AGENT!!!",
        "can i speak with a humaaan",
        "Get me a human",
        "Ich möchte mit einem Mitarbeiter sprechen",
        "Je veux parler à un conseiller",
        "Quiero hablar con una persona",
        "Quero falar com um atendente",
        "Is there anyone real I can talk to?",
        "representative",
    ],
)
def test_human_request_fires_in_any_phrasing(text: str) -> None:
    assert human_request(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "How do I reset my password?",
        "I need to talk to my team about exports first",
        "Can agents on the Team plan see my notes?",
        "hablar con el sistema de pagos",
    ],
)
def test_human_request_ignores_ordinary_questions(text: str) -> None:
    assert human_request(text) is None


def test_configured_phrase_fires(policy: Policy) -> None:
    hit = human_request("I'd like a callback", extra_phrases=["callback"])
    assert hit is not None and hit.rule_id == "human_request.config_phrase"


def test_our_own_and_other_bots_messages_are_ignored(policy: Policy) -> None:
    own = Message(id="b", role=Role.BOT, text="Hi")
    other = Message(id="o", role=Role.OTHER_BOT, text="Hi")
    assert triage(own, [], TicketView(), policy).kind is DecisionKind.IGNORE
    assert triage(other, [], TicketView(), policy).reason == "other_bot"
    assert triage(None, [], TicketView(), policy).kind is DecisionKind.IGNORE


def test_an_agent_comment_silences_the_bot(policy: Policy) -> None:
    agent = Message(id="a", role=Role.AGENT, text="I'll take it from here")
    decision = triage(agent, [], TicketView(), policy)
    assert decision.kind is DecisionKind.SILENT
    assert decision.marks_human_active


def test_customer_is_not_answered_once_a_human_is_on_the_ticket(policy: Policy) -> None:
    view = TicketView(status=TicketStatus.HUMAN_ACTIVE)
    assert triage(customer("How do I export?"), [], view, policy).kind is DecisionKind.SILENT
    history = [Message(id="a", role=Role.AGENT, text="On it"), customer("thanks, and export?")]
    decision = triage(customer("thanks, and export?"), history, TicketView(), policy)
    assert decision.kind is DecisionKind.SILENT and decision.marks_human_active


def test_escalated_ticket_stays_silent(policy: Policy) -> None:
    view = TicketView(status=TicketStatus.ESCALATED)
    assert triage(customer("hello?"), [], view, policy).reason == "already_escalated"


def test_human_request_escalates_with_message_note_group_and_tags(policy: Policy) -> None:
    earlier_bot = Message(id="b1", role=Role.BOT, text="Try the Forgot password link.")
    msg = customer("This isn't helping, I want to talk to a real person", id="c2")
    who = Customer(id="9", name="Sam Lee", email="sam@example.com", fields={"plan": "Pro"})
    decision = triage(
        msg,
        [customer("reset?"), earlier_bot, msg],
        TicketView(),
        policy,
        customer=who,
        subject="Password",
    )
    assert decision.kind is DecisionKind.ESCALATE
    assert decision.reason == "human_request"
    assert decision.group == "Tier 2"  # the routing rule for human_request
    assert decision.tags == ("ai_escalated", "ai_reason_human_request")
    assert "Tier 2" in decision.text and "AI assistant" in decision.text
    brief = decision.brief
    assert "Handoff: Customer asked for a person (human_request)" in brief
    assert "talk to a real person" in brief  # evidence and the latest message
    assert "Try the Forgot password link." in brief  # what the bot already tried
    assert "Sam Lee" in brief and "plan: Pro" in brief


def test_trigger_group_and_message_override_routing(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        "sqlite://",
        {
            "triggers": {
                "human_request": {
                    "group": "VIP desk",
                    "message": "A person from {group} will reply.",
                }
            }
        },
    )
    policy = config.connectors["acme"].policy
    decision = triage(customer("agent please"), [], TicketView(), policy)
    assert decision.group == "VIP desk"
    assert decision.text.startswith("A person from VIP desk will reply.")


def test_disabled_trigger_does_not_fire(tmp_path: Path) -> None:
    config = make_config(tmp_path, "sqlite://", {"triggers": {"human_request": {"enabled": False}}})
    policy = config.connectors["acme"].policy
    assert triage(customer("agent please"), [], TicketView(), policy) is None


def test_a_plain_question_goes_to_the_answerer(policy: Policy) -> None:
    assert triage(customer("How do I reset my password?"), [], TicketView(), policy) is None


def test_grounded_confident_answer_is_a_labelled_reply_with_sources(policy: Policy) -> None:
    answer = Answer(AnswerKind.ANSWER, "Click Forgot password.", (PASSWORD.id,), 0.8)
    decision = settle(customer("reset?"), [], TicketView(), HITS, answer, policy)
    assert decision.kind is DecisionKind.REPLY
    assert decision.citations[0].passage_id == PASSWORD.id
    assert "Reset your password › Steps: https://help.example/reset#steps" in decision.text
    assert "AI assistant" in decision.text


def test_not_covered_escalates_as_missing_knowledge(policy: Policy) -> None:
    answer = Answer(AnswerKind.NOT_COVERED, confidence=0.1)
    decision = settle(customer("pizza?"), [], TicketView(), HITS, answer, policy)
    assert (decision.kind, decision.reason) == (DecisionKind.ESCALATE, "missing_knowledge")
    assert decision.group == "Support"  # default group: no rule for this reason
    assert (
        "couldn't find this in our help articles" not in decision.text
    )  # tests use no per-reason text


def test_no_hits_escalates_as_missing_knowledge(policy: Policy) -> None:
    answer = Answer(AnswerKind.ANSWER, "x", ("nope",), 0.9)
    assert settle(customer("q"), [], TicketView(), [], answer, policy).reason == "missing_knowledge"


def test_low_confidence_escalates(policy: Policy) -> None:
    answer = Answer(AnswerKind.ANSWER, "Click Forgot password.", (PASSWORD.id,), 0.2)
    decision = settle(customer("reset?"), [], TicketView(), HITS, answer, policy)
    assert decision.reason == "low_confidence"


def test_citing_a_passage_that_was_not_retrieved_is_ungrounded(policy: Policy) -> None:
    answer = Answer(AnswerKind.ANSWER, "Made up.", ("elsewhere.md#x",), 0.9)
    assert settle(customer("q"), [], TicketView(), HITS, answer, policy).reason == "ungrounded"
    uncited = Answer(AnswerKind.ANSWER, "No sources.", (), 0.9)
    assert settle(customer("q"), [], TicketView(), HITS, uncited, policy).reason == "ungrounded"


def test_one_clarifying_question_then_escalation(policy: Policy) -> None:
    answer = Answer(AnswerKind.CLARIFY, "Which plan are you on?", (), 0.5)
    first = settle(customer("price?"), [], TicketView(), HITS, answer, policy)
    assert first.kind is DecisionKind.CLARIFY
    second = settle(customer("price?"), [], TicketView(clarifications=1), HITS, answer, policy)
    assert second.reason == "unresolved_after_clarification"


def test_empty_message_is_handed_off(policy: Policy) -> None:
    decision = triage(customer("   "), [], TicketView(), policy)
    assert decision.reason == "unreadable_message"


def test_the_way_out_word_always_reaches_a_person(tmp_path: Path) -> None:
    config = make_config(
        tmp_path, "sqlite://", {"assistant": {"way_out": 'Type "KLAXON" to reach a person.'}}
    )
    policy = config.connectors["acme"].policy
    decision = triage(customer("klaxon!"), [], TicketView(), policy)
    assert (decision.reason, decision.rule_id) == ("human_request", "human_request.way_out")
    assert triage(customer("what is a klaxon in the editor?"), [], TicketView(), policy) is None


def test_the_models_triage_can_add_a_handoff_but_not_remove_one(policy: Policy) -> None:
    notes = {
        "triage_escalate": "true",
        "triage_reason": "legal_privacy",
        "triage_intent": "threatens a lawsuit",
        "triage_sentiment": "angry",
    }
    answer = Answer(AnswerKind.ANSWER, "Click Forgot password.", (PASSWORD.id,), 0.9, notes=notes)
    decision = settle(customer("reset?"), [], TicketView(), HITS, answer, policy)
    assert (decision.kind, decision.reason) == (DecisionKind.ESCALATE, "legal_privacy")
    assert "AI triage: reason legal_privacy, intent threatens a lawsuit" in decision.brief
    unknown = Answer(
        AnswerKind.ANSWER,
        "x",
        (PASSWORD.id,),
        0.9,
        notes={"triage_escalate": "true", "triage_reason": "vibes"},
    )
    assert settle(customer("q"), [], TicketView(), HITS, unknown, policy).reason == "model_triage"
    calm = Answer(
        AnswerKind.ANSWER,
        "Click Forgot password.",
        (PASSWORD.id,),
        0.9,
        notes={"triage_escalate": "false"},
    )
    assert (
        settle(customer("reset?"), [], TicketView(), HITS, calm, policy).kind is DecisionKind.REPLY
    )


def test_llm_usage_is_kept_on_the_decision(policy: Policy) -> None:
    notes = {
        "answerer": "anthropic",
        "model": "claude-test",
        "latency_ms": "812",
        "input_tokens": "900",
        "output_tokens": "120",
        "stop_reason": "tool_use",
    }
    answer = Answer(
        AnswerKind.ANSWER, "Click Forgot password.", (PASSWORD.id,), 0.9, tokens=1020, notes=notes
    )
    decision = settle(customer("reset?"), [], TicketView(), HITS, answer, policy)
    assert decision.evidence["answerer"] == {
        "answerer": "anthropic",
        "model": "claude-test",
        "latency_ms": "812",
        "input_tokens": "900",
        "output_tokens": "120",
        "tokens": 1020,
    }
