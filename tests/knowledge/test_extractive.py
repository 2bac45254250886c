from __future__ import annotations

import re
from pathlib import Path

import pytest

from bridge.knowledge.extractive import ExtractiveAnswerer
from bridge.knowledge.index import KnowledgeIndex
from bridge.knowledge.loader import load_folder
from bridge.knowledge.types import Answer, AnswerKind, Hit, Passage

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "help-center"

COVERED = [
    ("Hi, how do I reset my password? I can't remember it.", "reset-password.md"),
    ("Thanks! Also, how do I export my notes?", "export-notes.md"),
    ("Can I get a refund?", "billing-and-invoices.md"),
    ("How much does the Pro plan cost?", "plans-and-pricing.md"),
    ("How do I turn on two-factor authentication?", "two-factor-authentication.md"),
    ("How do I delete my account?", "delete-account.md"),
]
OFF_TOPIC = [
    "do you sell pizza in Berlin?",
    "what's your CEO's favourite colour",
    "who won the football match yesterday?",
    "Can I order a pizza with my account?",
    "Do you sell Notebird t-shirts?",
]


@pytest.fixture(scope="module")
def index() -> KnowledgeIndex:
    return KnowledgeIndex.build(load_folder(EXAMPLES))


def ask(index: KnowledgeIndex, question: str, **options: float) -> tuple[Answer, list[Hit]]:
    hits = index.search(question, k=5)
    answerer = ExtractiveAnswerer(**options)  # type: ignore[arg-type]
    return answerer.answer(question, [], hits), hits


def assert_quoted(answer: Answer, hits: list[Hit]) -> None:
    """Every piece of the answer is verbatim passage text from the cited hits."""
    texts = {hit.passage.id: hit.passage.text for hit in hits}
    assert set(answer.cited_ids) <= set(texts)
    pieces = answer.text.split("\n\n")
    cited_texts = [texts[cid] for cid in answer.cited_ids]
    for piece in pieces:
        assert any(piece in text for text in cited_texts), piece


def test_name() -> None:
    assert ExtractiveAnswerer.name == "extractive"


def test_reset_password_demo_question(index: KnowledgeIndex) -> None:
    answer, hits = ask(index, "Hi, how do I reset my password? I can't remember it.")

    assert answer.kind is AnswerKind.ANSWER
    assert answer.confidence >= 0.5
    assert answer.cited_ids
    assert all(cid.startswith("reset-password.md#") for cid in answer.cited_ids)
    assert "Forgot password?" in answer.text
    assert "60 minutes" in answer.text
    # The numbered procedure comes out complete and in order.
    steps = re.findall(r"^(\d+)\. ", answer.text, flags=re.M)
    assert steps == ["1", "2", "3", "4"]
    assert_quoted(answer, hits)


@pytest.mark.parametrize(("question", "source"), COVERED)
def test_covered_questions_are_answered(index: KnowledgeIndex, question: str, source: str) -> None:
    answer, hits = ask(index, question)

    assert answer.kind is AnswerKind.ANSWER, answer.notes
    assert answer.confidence >= 0.5
    assert answer.cited_ids[0].startswith(f"{source}#")
    assert 1 <= len(answer.cited_ids) <= 2
    assert answer.text.strip()
    assert answer.tokens == 0
    assert_quoted(answer, hits)


def test_export_follow_up_mentions_formats(index: KnowledgeIndex) -> None:
    answer, _ = ask(index, "Thanks! Also, how do I export my notes?")
    assert answer.kind is AnswerKind.ANSWER
    assert "Markdown" in answer.text and "PDF" in answer.text


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_are_not_covered(index: KnowledgeIndex, question: str) -> None:
    answer, _ = ask(index, question)

    assert answer.kind is AnswerKind.NOT_COVERED
    assert answer.confidence < 0.35
    assert answer.text == ""
    assert answer.cited_ids == ()


@pytest.mark.parametrize("greeting", ["hi", "Hello!", "hey there, thanks", "ok thank you :)"])
def test_greetings_are_not_covered(index: KnowledgeIndex, greeting: str) -> None:
    # Greeting words also occur in docs ("Sign up", "thank you"), so hand it every passage.
    hits = [Hit(passage=p, score=1.0) for p in index.passages]
    answer = ExtractiveAnswerer().answer(greeting, [], hits)
    assert answer.kind is AnswerKind.NOT_COVERED
    assert answer.confidence == 0.0


def test_no_hits_is_not_covered() -> None:
    answer = ExtractiveAnswerer().answer("how do I reset my password?", [], [])
    assert answer.kind is AnswerKind.NOT_COVERED
    assert answer.confidence == 0.0


def test_never_clarifies(index: KnowledgeIndex) -> None:
    for question, _ in COVERED:
        assert ask(index, question)[0].kind is not AnswerKind.CLARIFY
    for question in [*OFF_TOPIC, "it doesn't work", "help", "?"]:
        assert ask(index, question)[0].kind is not AnswerKind.CLARIFY


def test_threshold_is_respected(index: KnowledgeIndex) -> None:
    question = "Hi, how do I reset my password? I can't remember it."
    lenient, _ = ask(index, question)
    strict, _ = ask(index, question, min_confidence=0.95)

    assert lenient.kind is AnswerKind.ANSWER
    assert strict.kind is AnswerKind.NOT_COVERED
    assert strict.confidence == lenient.confidence
    assert strict.cited_ids == ()


def test_confidence_is_coverage_not_bm25(index: KnowledgeIndex) -> None:
    full, _ = ask(index, "export notes")
    partial, _ = ask(index, "export notes to my printer")
    assert full.confidence == 1.0
    assert 0.0 < partial.confidence < full.confidence
    for question, _ in COVERED:
        assert 0.0 <= ask(index, question)[0].confidence <= 1.0


def test_title_matches_count_more_than_body_matches() -> None:
    in_title = Passage("a.md#x", ("Invoices",), "Download them from settings.", "a.md")
    in_body = Passage("b.md#y", ("Account",), "Invoices are listed in settings.", "b.md")
    answerer = ExtractiveAnswerer()

    titled = answerer.answer("invoices", [], [Hit(in_title, 1.0)])
    bodied = answerer.answer("invoices", [], [Hit(in_body, 1.0)])
    assert titled.confidence > bodied.confidence >= 0.5
    # When both are offered, the one whose heading names the topic is quoted.
    both = answerer.answer("invoices", [], [Hit(in_body, 2.0), Hit(in_title, 1.0)])
    assert both.cited_ids[0] == "a.md#x"


def test_trims_to_relevant_sentences() -> None:
    text = (
        "Notebird has many features. It runs in the browser. It is fast. "
        "It is pretty. Colours can be changed. Themes are nice. "
        "To archive a note, right-click it and choose Archive. Archived notes are hidden. "
        "Fonts are configurable. Widgets exist."
    )
    hit = Hit(Passage("misc.md#misc", ("Misc",), text, "misc.md"), 2.0)
    answer = ExtractiveAnswerer(max_sentences=2).answer("how do I archive a note", [], [hit])

    assert answer.kind is AnswerKind.ANSWER
    assert answer.text == (
        "To archive a note, right-click it and choose Archive. Archived notes are hidden."
    )


def test_numbered_steps_stay_together() -> None:
    text = (
        "Some background first. More background.\n\n"
        "To archive a note:\n"
        "1. Open the note.\n"
        "2. Click the menu.\n"
        "3. Choose Archive.\n"
        "4. Confirm.\n\n"
        "Archived notes are hidden from search."
    )
    hit = Hit(Passage("archive.md#how", ("Archive",), text, "archive.md"), 2.0)
    answer = ExtractiveAnswerer(max_sentences=2).answer("archive a note", [], [hit])

    assert answer.kind is AnswerKind.ANSWER
    assert "To archive a note:\n1. Open the note." in answer.text
    assert "4. Confirm." in answer.text
    assert answer.text in text


def test_max_sentences_limits_length() -> None:
    text = " ".join(f"Export tip number {i} is here." for i in range(30))
    hit = Hit(Passage("tips.md#t", ("Export tips",), text, "tips.md"), 1.0)
    answer = ExtractiveAnswerer(max_sentences=3).answer("export tips", [], [hit])
    assert answer.kind is AnswerKind.ANSWER
    assert answer.text.count(".") == 3


def test_second_citation_only_when_it_clearly_matches() -> None:
    steps = Passage("r.md#steps", ("Reset password", "Steps"), "Click Forgot password.", "r.md")
    expiry = Passage("r.md#expiry", ("Reset password", "Expiry"), "Links expire.", "r.md")
    other = Passage("x.md#x", ("Team",), "Admins can reset a member password.", "x.md")
    answerer = ExtractiveAnswerer()

    close = answerer.answer("reset password", [], [Hit(steps, 3.0), Hit(expiry, 2.9)])
    assert close.cited_ids == ("r.md#steps", "r.md#expiry")
    assert close.text == "Click Forgot password.\n\nLinks expire."

    far = answerer.answer("reset password", [], [Hit(steps, 3.0), Hit(expiry, 1.0)])
    assert far.cited_ids == ("r.md#steps",)

    weaker = answerer.answer("reset password", [], [Hit(steps, 3.0), Hit(other, 2.9)])
    assert weaker.cited_ids == ("r.md#steps",)


def test_passage_without_text_is_never_quoted() -> None:
    empty = Passage("e.md#x", ("Reset password",), "  ", "e.md")
    answer = ExtractiveAnswerer().answer("reset password", [], [Hit(empty, 5.0)])
    assert answer.kind is AnswerKind.NOT_COVERED


def test_deterministic(index: KnowledgeIndex) -> None:
    for question in [q for q, _ in COVERED] + OFF_TOPIC:
        first, _ = ask(index, question)
        second, _ = ask(index, question)
        assert first == second


def test_invalid_options() -> None:
    with pytest.raises(ValueError):
        ExtractiveAnswerer(min_confidence=1.5)
    with pytest.raises(ValueError):
        ExtractiveAnswerer(max_sentences=0)
