"""The extractive answerer's confidence: what separates a covered question from a bluff.

The threshold is the policy default (0.6): the answerer says NOT_COVERED below it, and
settle hands the ticket to a person.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.knowledge.extractive import ExtractiveAnswerer, term_weights
from bridge.knowledge.index import KnowledgeIndex
from bridge.knowledge.loader import load_folder
from bridge.knowledge.text import tokenize
from bridge.knowledge.types import Answer, AnswerKind, Hit, Passage

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "help-center"
POLICY_DEFAULT = 0.6

# Questions whose words the help center has, but whose subject it does not cover.
BLUFFS = [
    "What is your phone number?",
    "Do you have a Linux app?",
    "Can I transfer my notes to another account?",
    "How do I recover a deleted note?",
    "How long do refunds take to reach my card?",
    "Is there a maximum number of members in a shared notebook?",
    "Please confirm you've refunded my last payment.",
    "Turn off two-factor authentication on my account and confirm when done.",
]


@pytest.fixture(scope="module")
def index() -> KnowledgeIndex:
    return KnowledgeIndex.build(load_folder(EXAMPLES))


def ask(index: KnowledgeIndex, question: str) -> Answer:
    answerer = ExtractiveAnswerer(min_confidence=POLICY_DEFAULT)
    return answerer.answer(question, [question], index.search(question, k=5))


def approx(value: float) -> object:
    return pytest.approx(value, abs=1e-4)  # confidences are reported to four decimals


def section(pid: str, heading: str, text: str) -> Passage:
    return Passage(pid, ("Billing", heading), text, pid.split("#")[0])


# --- on the example help center ----------------------------------------------------------------


def test_a_how_to_scores_above_a_bluff_of_the_same_shape(index: KnowledgeIndex) -> None:
    # Both are two content words, one of them a heading word of one section. Counting words
    # alone gives both 0.5; what sets them apart is that "refunds" is the whole subject of its
    # section while "phone" is one word of a heading about something else.
    how_to = ask(index, "How do refunds work?")
    bluff = ask(index, "What is your phone number?")

    assert how_to.kind is AnswerKind.ANSWER
    assert how_to.cited_ids[0] == "billing-and-invoices.md#refunds"
    assert "30 days" in how_to.text
    assert bluff.kind is AnswerKind.NOT_COVERED
    assert how_to.confidence - bluff.confidence >= 0.1


@pytest.mark.parametrize(
    ("question", "passage"),
    [
        ("How do refunds work?", "billing-and-invoices.md#refunds"),
        ("What is your refund policy?", "billing-and-invoices.md#refunds"),
        ("How do I reset my password?", "reset-password.md#reset-your-password"),
        ("How much does the Team plan cost per user?", "plans-and-pricing.md#team"),
        (
            "How do I add my VAT number to my invoices?",
            "billing-and-invoices.md#download-your-invoices",
        ),
    ],
)
def test_covered_questions_clear_the_default_threshold(
    index: KnowledgeIndex, question: str, passage: str
) -> None:
    answer = ask(index, question)
    assert answer.kind is AnswerKind.ANSWER, answer.notes
    assert answer.confidence >= POLICY_DEFAULT
    assert answer.cited_ids[0] == passage


@pytest.mark.parametrize("question", BLUFFS)
def test_bluffs_stay_below_the_default_threshold(index: KnowledgeIndex, question: str) -> None:
    answer = ask(index, question)
    assert answer.kind is AnswerKind.NOT_COVERED, answer.notes
    assert answer.confidence < POLICY_DEFAULT
    assert answer.cited_ids == ()


def test_rare_words_weigh_more_than_common_ones(index: KnowledgeIndex) -> None:
    question = tokenize("refund account notes")
    weights = term_weights(question, index.search("refund account notes", k=5))
    # "refund" is in one section, "account" in ten, "notes" in half of them.
    assert weights["refund"] > weights["account"] > weights["not"]
    # A word the docs never use weighs at least as much as the rarest one they do.
    unknown = term_weights(["salesforc", "refund"], index.search("refund", k=5))
    assert unknown["salesforc"] >= unknown["refund"]


def test_notes_explain_the_confidence(index: KnowledgeIndex) -> None:
    answer = ask(index, "How do refunds work?")
    assert answer.notes["matched_terms"] == "refund"
    assert answer.notes["missing_terms"] == "work"
    assert answer.notes["discounted_term"] == "work"
    weights = dict(pair.split("=") for pair in answer.notes["term_weights"].split())
    assert set(weights) == {"refund", "work"}
    assert float(weights["refund"]) > float(weights["work"]) > 0

    bluff = ask(index, "What is your phone number?")
    assert "discounted_term" not in bluff.notes
    assert bluff.notes["missing_terms"] == "number"


# --- the rules, on passages built by hand -------------------------------------------------------


def test_without_an_index_every_word_counts_the_same() -> None:
    hits = [Hit(section("b.md#x", "Invoices", "Download them."), 1.0)]
    assert term_weights(["invoic", "download", "pdf"], hits) == {
        "invoic": 1.0,
        "download": 1.0,
        "pdf": 1.0,
    }
    answer = ExtractiveAnswerer(min_confidence=0.0).answer("invoices pdf printer", [], hits)
    assert answer.confidence == approx(1 / 3)
    assert "term_weights" in answer.notes


def test_one_word_beyond_a_named_heading_counts_half() -> None:
    refunds = section("b.md#refunds", "Refunds", "Ask within 30 days of a payment.")
    other = section("b.md#other", "Payments", "We accept cards.")
    answerer = ExtractiveAnswerer(min_confidence=0.0)

    first = answerer.answer("how do refunds work", [], [Hit(refunds, 2.0), Hit(other, 1.0)])
    assert first.confidence == approx(1 / 1.5)
    assert first.notes["discounted_term"] == "work"

    # Only for the passage retrieval ranks first: otherwise retrieval thinks the question is
    # about something else, and the unmatched word may be what it found there.
    second = answerer.answer("how do refunds work", [], [Hit(other, 2.0), Hit(refunds, 1.0)])
    assert second.confidence == approx(0.5)
    assert "discounted_term" not in second.notes

    # Two unmatched words are a second subject, not phrasing.
    two = answerer.answer("refunds for yearly plans", [], [Hit(refunds, 2.0)])
    assert two.confidence == approx(1 / 3)

    # The whole heading must be named: one word of it is not enough.
    partial = section("b.md#lost", "Lost your phone", "Use a backup code.")
    phone = answerer.answer("phone number", [], [Hit(partial, 2.0)])
    assert phone.confidence == approx(0.5)


def test_a_second_passage_is_compared_without_the_discount() -> None:
    steps = section("r.md#reset", "Reset password", "Click Forgot password.")
    expiry = section("r.md#expiry", "Reset password link", "Links expire after an hour.")
    answer = ExtractiveAnswerer().answer(
        "reset password quickly", [], [Hit(steps, 3.0), Hit(expiry, 2.9)]
    )
    assert answer.notes["discounted_term"] == "quickly"
    assert answer.cited_ids == ("r.md#reset", "r.md#expiry")


# --- the index's side ---------------------------------------------------------------------------


def test_document_frequencies_survive_save_and_load(index: KnowledgeIndex, tmp_path: Path) -> None:
    assert index.document_frequency("refund") == 1
    assert index.document_frequency("account") > index.document_frequency("refund")
    assert index.document_frequency("salesforc") == 0
    assert index.document_frequency("") == 0

    index.save(tmp_path)
    loaded = KnowledgeIndex.load(tmp_path)
    for term in ("refund", "account", "not", "password", "salesforc"):
        assert loaded.document_frequency(term) == index.document_frequency(term)


def test_a_hit_carries_the_corpus_it_was_retrieved_from(
    index: KnowledgeIndex, tmp_path: Path
) -> None:
    hits = index.search("How do refunds work?", k=3)
    assert hits and all(hit.corpus is index for hit in hits)

    index.save(tmp_path)
    loaded = KnowledgeIndex.load(tmp_path)
    assert all(hit.corpus is loaded for hit in loaded.search("How do refunds work?", k=3))
