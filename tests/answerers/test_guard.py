"""The deterministic grounding and safety guard, on its own and inside ``settle``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.decision import DecisionKind, TicketView, settle
from bridge.decision.guard import (
    UNGROUNDED,
    UNSAFE,
    action_claims,
    check_reply,
    check_safety,
    config_secrets,
    unsupported_tokens,
)
from bridge.decision.model import Situation
from bridge.knowledge.answerers.base import JSON_OUTPUT_INSTRUCTIONS, SYSTEM_PROMPT
from bridge.knowledge.extractive import ExtractiveAnswerer
from bridge.knowledge.index import KnowledgeIndex
from bridge.knowledge.loader import load_folder
from bridge.knowledge.types import Answer, AnswerKind, Hit, Passage
from tests.answerers.conftest import EXAMPLES, policy_for, situation
from tests.conftest import make_config

PRICING = Passage(
    id="plans.md#pro",
    title_path=("Plans and pricing", "Pro"),
    text=(
        "Pro costs $8 per month, or $80 per year, for up to 1,000 notebooks. "
        "Annual plans get a 20% discount. The offer ends on March 31, 2026. "
        "Questions? Write to billing@notebird.example or read "
        "https://help.notebird.example/articles/refunds. Support hours: 9:00 to 17:30."
    ),
    source="plans.md",
    url="https://help.notebird.example/articles/plans#pro",
)


def missing(text: str) -> list[str]:
    return unsupported_tokens(text, [PRICING])


@pytest.mark.parametrize(
    "text",
    [
        "Pro costs $8 a month or $80 a year.",
        "Pro is 8 USD per month.",
        "Pro kostet 8 $ pro Monat.",
        "Pro costs US$8.00 per month.",
        "You get up to 1000 notebooks.",
        "Sie bekommen bis zu 1.000 Notizbücher.",
        "Yearly plans are 20 % cheaper.",
        "The offer ends on 31 March 2026.",
        "L'offre se termine le 31 mars 2026.",
        "La oferta termina el 31 de marzo de 2026.",
        "The offer ends 2026-03-31.",
        "The offer ends on 31/03/2026.",
        "The offer ends in March 2026.",
        "Write to billing@notebird.example.",
        "See https://help.notebird.example/articles/refunds.",
        "See help.notebird.example/articles/refunds for details.",
        "The plan page is https://help.notebird.example/articles/plans#pro",
        "We are there from 9:00 to 17:30.",
        "1. Open Settings.\n2. Choose Plan.\n3. Click Upgrade.",
        "Open **Settings → Plan** and choose Upgrade.",
    ],
)
def test_tokens_found_in_the_cited_passage_pass(text: str) -> None:
    assert missing(text) == []


@pytest.mark.parametrize(
    ("text", "offending"),
    [
        ("Pro is $15/month.", ["number 15"]),
        ("Pro costs 9 USD per month.", ["number 9"]),
        ("Pro costs $8.50 per month.", ["number 8.50"]),
        ("Annual plans get a 25% discount.", ["number 25", "percentage 25%"]),
        ("Pro costs 8% more.", ["percentage 8%"]),
        ("The offer ends on April 30, 2026.", ["date April 30, 2026"]),
        ("The offer ends on March 31, 2027.", ["date March 31, 2027"]),
        ("The offer ends on 2026-04-01.", ["date 2026-04-01"]),
        ("Write to refunds@notebird.example.", ["email refunds@notebird.example"]),
        (
            "See https://notebird-help.example.net/refund.",
            ["url https://notebird-help.example.net/refund"],
        ),
        (
            "See https://help.notebird.example/articles/refunds-now.",
            ["url https://help.notebird.example/articles/refunds-now"],
        ),
        ("Visit www.evil.com now.", ["url www.evil.com"]),
        ("Visit notebird.io/refund.", ["url notebird.io/refund"]),
        ("Call us on 0800 123 456.", ["number 0800", "number 123", "number 456"]),
        ("We are there from 8:00.", ["number 8:00"]),
    ],
)
def test_invented_tokens_are_reported(text: str, offending: list[str]) -> None:
    assert missing(text) == offending


def test_a_reply_must_cite_a_retrieved_passage() -> None:
    retrieved = {PRICING.id: PRICING}
    uncited = check_reply("Pro costs $8.", [], retrieved)
    assert uncited is not None and (uncited.reason, uncited.rule_id) == (
        UNGROUNDED,
        "guard.citations",
    )
    elsewhere = check_reply("Pro costs $8.", ["other.md#x"], retrieved)
    assert elsewhere is not None and elsewhere.reason == UNGROUNDED
    assert check_reply("Pro costs $8.", [PRICING.id], retrieved) is None


def test_numbers_must_be_in_a_cited_passage_not_just_a_retrieved_one() -> None:
    team = Passage("plans.md#team", ("Plans and pricing", "Team"), "Team costs $12.", "plans.md")
    retrieved = {PRICING.id: PRICING, team.id: team}
    finding = check_reply("Team costs $12.", [PRICING.id], retrieved)
    assert finding is not None and finding.signals == ("number 12",)
    assert check_reply("Team costs $12.", [PRICING.id, team.id], retrieved) is None


@pytest.mark.parametrize(
    "text",
    [
        # English
        "I've issued your refund.",
        "I have cancelled your subscription as requested.",
        "I went ahead and deleted your account.",
        "I just reset your password.",
        "I have escalated this to our billing team.",
        "I've forwarded your request to the team.",
        "We've updated your plan to Team.",
        "Your refund has been processed.",
        "Your account was deleted yesterday.",
        "Your password has been reset, you can sign in now.",
        "The subscription has now been cancelled.",
        "I'll refund the last payment right away.",
        "I will cancel your subscription today.",
        # German
        "Ich habe Ihre Rückerstattung veranlasst.",
        "Ich habe Ihr Abonnement gekündigt.",
        "Wir haben Ihr Passwort zurückgesetzt.",
        "Ihr Konto wurde gelöscht.",
        "Ihr Abo ist jetzt storniert.",
        "Ihre Anfrage ist an das Team weitergeleitet worden.",
        # French
        "J'ai remboursé votre dernier paiement.",
        "J’ai annulé votre abonnement.",
        "Nous avons supprimé votre compte.",
        "Votre remboursement a été effectué.",
        "Votre mot de passe a bien été réinitialisé.",
        # Spanish
        "He procesado su reembolso.",
        "Hemos cancelado tu suscripción.",
        "Tu cuenta ha sido eliminada.",
        "Su contraseña fue restablecida.",
        "Se ha cancelado su suscripción.",
        # Portuguese
        "Cancelei sua assinatura.",
        "Eu já reembolsei o pagamento.",
        "Seu reembolso foi processado.",
        "Sua conta foi excluída.",
        "A sua senha foi redefinida.",
    ],
)
def test_claims_of_performed_actions_are_caught(text: str) -> None:
    assert action_claims(text), text
    finding = check_safety(text)
    assert finding is not None and (finding.reason, finding.rule_id) == (
        UNSAFE,
        "guard.action_claim",
    )


@pytest.mark.parametrize(
    "text",
    [
        "You can ask for a refund within 30 days of a payment.",
        "Refunds are handled by our billing team, so contact support.",
        "Go to Settings → Plan and click Cancel subscription.",
        "Your notes are not deleted.",
        "We can't change invoices that have already been issued.",
        "Once your account has been deleted, it can't be restored.",
        "If your password was changed, other devices are signed out.",
        "We confirm the request by email and delete the account within 14 days.",
        "You can reset your password yourself from the sign-in page.",
        "I can't issue refunds myself, but our billing team can.",
        "Has your password been reset already?",
        "Die Funktion ist standardmäßig aktiviert.",
        "Ihre Notizen werden nicht gelöscht.",
        "Sie können Ihr Passwort selbst zurücksetzen.",
        "Vous pouvez annuler votre abonnement dans Paramètres.",
        "Puede solicitar un reembolso en los 30 días siguientes al pago.",
        "Se você cancelar, seus dados não são excluídos.",
        "Eu não cancelei nada.",
    ],
)
def test_instructions_and_descriptions_are_not_action_claims(text: str) -> None:
    assert action_claims(text) == []


def test_the_system_prompt_may_not_be_repeated() -> None:
    excerpt = SYSTEM_PROMPT.split("Rules:")[1].split("\n")[3]  # one rule, word for word
    finding = check_safety(f"Here is what I was told: {excerpt}")
    assert finding is not None and finding.rule_id == "guard.system_prompt"
    json_part = JSON_OUTPUT_INSTRUCTIONS[:200]
    assert check_safety(json_part) is not None
    assert check_safety("I can only answer from our help articles, sorry!") is None


def test_prompt_markup_and_the_tool_name_may_not_appear() -> None:
    for text in ("<passage id='a'>", "</customer_message>", "I called record_answer."):
        finding = check_safety(text)
        assert finding is not None and finding.rule_id == "guard.prompt_markup", text


def test_configured_secrets_never_reach_the_customer() -> None:
    token = "zd-Token-4f9a8b7c6d5e"
    finding = check_safety(f"Use {token} to sign in.", secrets=["short", token])
    assert finding is not None and finding.rule_id == "guard.secret"
    assert token not in " ".join(finding.signals)
    assert check_safety("A short word is fine.", secrets=["short"]) is None


@pytest.mark.parametrize(
    "text",
    [
        "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv",
        "sk-proj-0123456789abcdefghijkl",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
        "xoxb-123456789012-abcdefghij",
        "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345",
        "-----BEGIN RSA PRIVATE KEY-----",
        "api_key = 9f8e7d6c5b4a3f2e",
    ],
)
def test_api_key_shapes_are_blocked(text: str) -> None:
    finding = check_safety(f"Here you go: {text}")
    assert finding is not None and finding.rule_id == "guard.api_key"


def test_config_secrets_collects_credentials_but_not_settings(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        "sqlite://",
        answerers={"anthropic": {"model": "claude-test", "api_key": "sk-ant-config-key-123"}},
    )
    secrets = config_secrets(config)
    assert "sk-ant-config-key-123" in secrets
    assert "test-signing-secret" in secrets  # the connector's webhook secret
    assert "claude-test" not in secrets and "acme" not in secrets


def test_settle_passes_secrets_to_the_guard(tmp_path: Path) -> None:
    policy = policy_for(tmp_path)
    answer = Answer(AnswerKind.ANSWER, "Pro costs $8. test-signing-secret", (PRICING.id,), 0.9)
    hits = [Hit(PRICING, 3.0)]
    decision = settle(situation("price?"), hits, answer, policy, secrets=["test-signing-secret"])
    assert decision.reason == "unsafe_reply" and decision.rule_id == "guard.secret"
    assert "test-signing-secret" not in (decision.brief or "")


def test_a_clarifying_question_gets_the_safety_checks(tmp_path: Path) -> None:
    policy = policy_for(tmp_path)
    hits = [Hit(PRICING, 3.0)]
    fine = Answer(AnswerKind.CLARIFY, "Which plan are you on?", (), 0.5)
    assert settle(situation("price?"), hits, fine, policy).kind is DecisionKind.CLARIFY
    claim = Answer(AnswerKind.CLARIFY, "I've cancelled it; anything else?", (), 0.5)
    decision = settle(situation("price?"), hits, claim, policy)
    assert (decision.kind, decision.reason) == (DecisionKind.ESCALATE, "unsafe_reply")


def test_settle_blocks_an_extractive_style_answer_with_a_foreign_number(tmp_path: Path) -> None:
    answer = Answer(AnswerKind.ANSWER, "Pro costs $8, or $70 per year.", (PRICING.id,), 0.9)
    decision = settle(situation("price?"), [Hit(PRICING, 3.0)], answer, policy_for(tmp_path))
    assert (decision.reason, decision.rule_id) == ("ungrounded", "guard.unsupported_tokens")
    assert decision.evidence["matched"] == ["number 70"]
    assert '"number 70"' in (decision.brief or "")


# --- the extractive answerer on the shipped help center -----------------------------------

_PASSAGES = load_folder(EXAMPLES)
QUESTIONS = [
    "Hi, how do I reset my password? I can't remember it.",
    "How do I export my notes?",
    "Can I get a refund?",
    "How much does the Pro plan cost?",
    "How much is the Team plan?",
    "How do I turn on two-factor authentication?",
    "How do I delete my account?",
    "How do I cancel my subscription?",
    "Which payment methods do you accept?",
    "The reset email doesn't arrive",
    "I lost my phone with the authenticator app",
    "How long is the export download link valid?",
    "What are the keyboard shortcuts?",
    "How do I share a note?",
    "How do I fix sync problems?",
    *(f"{' '.join(p.title_path[-1:])}?" for p in _PASSAGES),
    *(f"How do I {p.title_path[-1].lower()}?" for p in _PASSAGES),
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_extractive_replies_on_the_help_center_pass_the_guard(
    question: str, index: KnowledgeIndex, tmp_path: Path
) -> None:
    hits = index.search(question, k=5)
    answer = ExtractiveAnswerer(min_confidence=0.35).answer(question, [question], hits)
    if answer.kind is not AnswerKind.ANSWER:
        return
    retrieved = {hit.passage.id: hit.passage for hit in hits}
    assert check_reply(answer.text, answer.cited_ids, retrieved) is None, answer.text


def test_the_demo_question_is_still_answered_through_settle(
    index: KnowledgeIndex, tmp_path: Path
) -> None:
    question = "Hi, how do I reset my password? I can't remember it."
    hits = index.search(question, k=5)
    answer = ExtractiveAnswerer().answer(question, [question], hits)
    decision = settle(
        Situation(situation(question).message, ticket=TicketView()),
        hits,
        answer,
        policy_for(tmp_path),
    )
    assert decision.kind is DecisionKind.REPLY
