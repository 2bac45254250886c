"""Short follow-ups: read with the customer's previous question, by retrieval and the answerer."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.knowledge.extractive import ExtractiveAnswerer
from bridge.knowledge.followup import FOLLOW_UP_WORDS, is_follow_up, with_previous_question
from bridge.knowledge.index import KnowledgeIndex
from bridge.knowledge.loader import load_folder
from bridge.knowledge.types import Answer, AnswerKind, Hit, Passage

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "help-center"
POLICY_DEFAULT = 0.6
BOT_REPLY = "Go to Settings and follow the steps there."


@pytest.fixture(scope="module")
def index() -> KnowledgeIndex:
    return KnowledgeIndex.build(load_folder(EXAMPLES))


def ask(index: KnowledgeIndex, question: str, previous: str | None = None) -> Answer:
    """The message as the pipeline hands it over: retrieval searched it with the previous
    question, and the conversation holds the customer, the bot's response and the latest."""
    earlier = [previous] if previous else []
    hits = index.search(with_previous_question(question, earlier), k=5)
    conversation = [previous, BOT_REPLY, question] if previous else [question]
    return ExtractiveAnswerer(min_confidence=POLICY_DEFAULT).answer(question, conversation, hits)


# --- the rule ------------------------------------------------------------------------------


def test_a_short_message_is_read_after_the_previous_question() -> None:
    assert with_previous_question("And on mobile?", ["How do I sync?"]) == (
        "How do I sync? And on mobile?"
    )
    # Only the latest earlier question: older ones are about something the customer left.
    assert with_previous_question("And Team?", ["How do I export?", "What does Pro cost?"]) == (
        "What does Pro cost? And Team?"
    )


def test_a_message_that_says_what_it_is_about_stands_alone() -> None:
    long = "Can I share it with a public link instead?"
    assert len(long.split()) > FOLLOW_UP_WORDS
    assert not is_follow_up(long)
    assert with_previous_question(long, ["How do I share a note?"]) == long


def test_without_an_earlier_question_the_message_is_all_there_is() -> None:
    assert with_previous_question("And Team?", []) == "And Team?"
    # A message with no text (an attachment sent alone) gives nothing to lean on.
    assert with_previous_question("And Team?", ["What does Pro cost?", "  "]) == (
        "What does Pro cost? And Team?"
    )


# --- the extractive answerer ---------------------------------------------------------------


def test_a_follow_up_is_answered_from_the_section_about_the_earlier_question(
    index: KnowledgeIndex,
) -> None:
    # "shared notes" is covered word for word by two sections; after a question about deleting
    # the account, the customer means what happens to them then, not how to share one.
    alone = ask(index, "What about shared notes?")
    assert alone.cited_ids[0] == "sharing-and-collaboration.md#share-a-note"

    follow_up = ask(index, "What about shared notes?", previous="How do I delete my account?")
    assert follow_up.kind is AnswerKind.ANSWER
    assert follow_up.cited_ids == ("delete-account.md#what-happens-to-shared-notes",)
    assert follow_up.notes["follow_up_of"] == "How do I delete my account?"


@pytest.mark.parametrize(
    ("previous", "question"),
    [
        # The earlier question's words would carry the export steps over the threshold
        # although they say nothing about Word.
        ("How do I export all my notes?", "Can I export to Word?"),
        ("How do I turn on 2FA?", "Is there a phone number?"),
        # ... and would pull a covered follow-up under it for want of "log".
        ("I can't log in.", "I forgot my password."),
    ],
)
def test_the_earlier_question_never_changes_the_confidence(
    index: KnowledgeIndex, previous: str, question: str
) -> None:
    hits = index.search(with_previous_question(question, [previous]), k=5)
    answerer = ExtractiveAnswerer(min_confidence=POLICY_DEFAULT)
    alone = answerer.answer(question, [question], hits)
    follow_up = answerer.answer(question, [previous, BOT_REPLY, question], hits)
    assert follow_up.notes["follow_up_of"] == previous
    assert follow_up.confidence == alone.confidence
    assert follow_up.kind is alone.kind


def test_the_previous_question_is_found_without_the_latest_message_in_the_conversation(
    index: KnowledgeIndex,
) -> None:
    question = "What about shared notes?"
    hits = index.search(with_previous_question(question, ["How do I delete my account?"]), k=5)
    answer = ExtractiveAnswerer().answer(question, ["How do I delete my account?", BOT_REPLY], hits)
    assert answer.notes["follow_up_of"] == "How do I delete my account?"
    assert answer.cited_ids[0] == "delete-account.md#what-happens-to-shared-notes"


def test_a_first_message_or_a_long_one_has_no_earlier_question(index: KnowledgeIndex) -> None:
    assert "follow_up_of" not in ask(index, "What about shared notes?").notes
    long = "Can I share it with a public link instead?"
    answer = ask(index, long, previous="How do I share a note with my colleague?")
    assert "follow_up_of" not in answer.notes
    assert answer.cited_ids[0] == "sharing-and-collaboration.md#share-with-a-public-link"


def test_a_section_about_another_topic_is_not_quoted_second() -> None:
    sharing = Passage(
        "sharing.md#share",
        ("Collaboration", "Shared notes"),
        "Shared notes show who can edit.",
        "s.md",
    )
    deletion = Passage(
        "delete.md#shared",
        ("Delete your account", "Shared notes"),
        "Shared notes are handed to their other members when you delete your account.",
        "d.md",
    )
    hits = [Hit(sharing, 2.0), Hit(deletion, 1.9)]
    question = "What about shared notes?"
    answerer = ExtractiveAnswerer()

    alone = answerer.answer(question, [question], hits)
    assert alone.cited_ids == ("sharing.md#share", "delete.md#shared")

    follow_up = answerer.answer(question, ["Delete my account?", BOT_REPLY, question], hits)
    assert follow_up.cited_ids == ("delete.md#shared",)
    assert follow_up.text.startswith("Shared notes are handed")
