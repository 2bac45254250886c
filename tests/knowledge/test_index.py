from __future__ import annotations

import random
from pathlib import Path

import pytest

from bridge.knowledge.index import KnowledgeIndex
from bridge.knowledge.loader import load_folder
from bridge.knowledge.text import tokenize
from bridge.knowledge.types import Passage

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "help-center"


@pytest.fixture(scope="module")
def help_center() -> KnowledgeIndex:
    return KnowledgeIndex.build(load_folder(EXAMPLES))


def passage(pid: str, text: str, *title: str) -> Passage:
    return Passage(id=pid, title_path=title or (pid,), text=text, source=pid.split("#")[0])


@pytest.mark.parametrize(
    ("query", "expected_source"),
    [
        ("Hi, how do I reset my password? I can't remember it.", "reset-password.md"),
        ("Thanks! Also, how do I export my notes?", "export-notes.md"),
        ("the reset email never arrived", "reset-password.md"),
        ("How much does the Pro plan cost?", "plans-and-pricing.md"),
        ("where can I download my invoices", "billing-and-invoices.md"),
        ("Can I get a refund?", "billing-and-invoices.md"),
        ("I lost my phone, how do I sign in with 2FA?", "two-factor-authentication.md"),
        ("does Notebird work offline", "sync-and-offline.md"),
        ("please delete my account", "delete-account.md"),
        ("keyboard shortcut for bold text", "keyboard-shortcuts.md"),
        ("how do I invite people to edit a note", "sharing-and-collaboration.md"),
    ],
)
def test_relevant_article_ranks_first(
    help_center: KnowledgeIndex, query: str, expected_source: str
) -> None:
    hits = help_center.search(query)
    assert hits, query
    assert hits[0].passage.source == expected_source


def test_hits_are_sorted_positive_and_limited(help_center: KnowledgeIndex) -> None:
    hits = help_center.search("export notes as pdf", k=3)
    assert len(hits) == 3
    assert all(hit.score > 0 for hit in hits)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert help_center.search("export notes as pdf", k=0) == []
    many = help_center.search("notes", k=10_000)
    assert len(many) <= len(help_center)
    assert all(hit.score > 0 for hit in many)


def test_heading_words_count_more_than_body_words() -> None:
    index = KnowledgeIndex.build(
        [
            passage("a.md#x", "We mention invoices once in passing here.", "Account", "Profile"),
            passage("b.md#y", "Download them from settings.", "Billing", "Invoices"),
            passage("c.md#z", "Unrelated text about sync.", "Sync"),
        ]
    )
    assert [hit.passage.id for hit in index.search("invoices")] == ["b.md#y", "a.md#x"]


def test_off_topic_stop_word_and_empty_queries(help_center: KnowledgeIndex) -> None:
    assert help_center.search("") == []
    assert help_center.search("   ?!  ") == []
    assert help_center.search("how do I do it?") == []
    assert help_center.search("hi") == []
    assert help_center.search("zanzibar quokka") == []


def test_empty_index() -> None:
    index = KnowledgeIndex.build([])
    assert len(index) == 0
    assert index.passages == ()
    assert index.search("password") == []
    assert index.get("anything") is None


def test_index_of_passages_without_terms() -> None:
    index = KnowledgeIndex.build([passage("a.md#x", "the and of", "The")])
    assert len(index) == 1
    assert index.search("anything at all") == []


def test_single_passage_corpus() -> None:
    only = passage("faq.md#faq", "You can reset your password from the sign-in page.", "FAQ")
    index = KnowledgeIndex.build([only])
    hits = index.search("reset password")
    assert [hit.passage for hit in hits] == [only]
    assert hits[0].score > 0
    assert index.get("faq.md#faq") == only
    assert index.get("missing") is None


def test_stemming_matches_inflections() -> None:
    index = KnowledgeIndex.build(
        [
            passage("a.md#x", "Exporting notebooks is possible from settings.", "Data"),
            passage("b.md#y", "Something else entirely.", "Other"),
        ]
    )
    assert [hit.passage.id for hit in index.search("export a notebook")] == ["a.md#x"]


def test_irregular_forms_meet_their_base_word() -> None:
    index = KnowledgeIndex.build(
        [
            # Earlier in the corpus, so they would win a tie on "phone" or "invoice" alone.
            passage("c.md#phone", "Add a phone number to your profile.", "Phone number"),
            passage("d.md#invoice", "Design the invoice your customers get.", "Invoices"),
            passage("a.md#lost", "Use a backup code to sign in.", "Lost your phone"),
            passage("b.md#paid", "Download a receipt from Billing.", "Paid invoices"),
        ]
    )
    assert index.search("What if I lose my phone?")[0].passage.id == "a.md#lost"
    assert index.search("I forgot how to pay an invoice")[0].passage.id == "b.md#paid"
    # A word that only looks like an irregular form keeps its own meaning.
    assert tokenize("left sidebar") == ["left", "sidebar"]


def test_duplicate_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        KnowledgeIndex.build([passage("a.md#x", "one"), passage("a.md#x", "two")])


def test_save_load_round_trip(help_center: KnowledgeIndex, tmp_path: Path) -> None:
    help_center.save(tmp_path / "index")
    loaded = KnowledgeIndex.load(tmp_path / "index")

    assert len(loaded) == len(help_center)
    assert loaded.passages == help_center.passages
    for query in ("reset password", "export notes to pdf", "refund policy", "team price"):
        before = help_center.search(query, k=8)
        after = loaded.search(query, k=8)
        assert [h.passage for h in after] == [h.passage for h in before]
        assert [h.score for h in after] == pytest.approx([h.score for h in before])
    first = help_center.passages[0]
    assert loaded.get(first.id) == first


def test_save_load_empty_index(tmp_path: Path) -> None:
    KnowledgeIndex.build([]).save(tmp_path)
    loaded = KnowledgeIndex.load(tmp_path)
    assert len(loaded) == 0
    assert loaded.search("anything") == []


def test_saving_an_empty_index_over_an_old_one(tmp_path: Path) -> None:
    KnowledgeIndex.build([passage("a.md#x", "password reset")]).save(tmp_path)
    KnowledgeIndex.build([]).save(tmp_path)
    assert KnowledgeIndex.load(tmp_path).search("password") == []


def test_ten_thousand_passages() -> None:
    rng = random.Random(7)
    vocabulary = [f"term{i}" for i in range(3000)]
    passages = [
        Passage(
            id=f"doc{i}.md#section",
            title_path=(f"Document {i}", rng.choice(vocabulary)),
            text=" ".join(rng.choices(vocabulary, k=80)),
            source=f"doc{i}.md",
        )
        for i in range(10_000)
    ]
    passages[4321] = Passage(
        id="needle.md#section",
        title_path=("Needle", "Haystack"),
        text="The unmistakable needle lives here.",
        source="needle.md",
    )
    index = KnowledgeIndex.build(passages)

    assert len(index) == 10_000
    hits = index.search("unmistakable needle", k=5)
    assert hits[0].passage.id == "needle.md#section"
    assert len(index.search("term1 term2 term3", k=20)) == 20
    assert index.get("doc9999.md#section") is passages[9999]


def test_search_is_deterministic_on_ties() -> None:
    passages = [passage(f"p{i}.md#x", "identical words here", "Same") for i in range(20)]
    index = KnowledgeIndex.build(passages)
    ids = [hit.passage.id for hit in index.search("identical words", k=5)]
    assert ids == ["p0.md#x", "p1.md#x", "p2.md#x", "p3.md#x", "p4.md#x"]
