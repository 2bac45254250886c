"""The labelled question set of benchmarks/retrieval.py, and a quick run of the script."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.retrieval import (
    HELP_CENTER,
    NaiveBM25,
    load_questions,
    main,
    quality,
    synthetic_passages,
)
from bridge.knowledge.index import KnowledgeIndex
from bridge.knowledge.loader import load_folder


def test_questions_are_labelled_paraphrases_of_the_help_center() -> None:
    questions = load_questions()
    assert len(questions) >= 40
    passages = load_folder(HELP_CENTER)
    titles = {p.source: p.title_path[0].casefold() for p in passages}
    assert {q.expect for q in questions} == set(titles)  # every article is asked about
    for question in questions:
        assert titles[question.expect] not in question.text.casefold(), question.text
    assert len({q.text for q in questions}) == len(questions)


def test_recall_at_5_does_not_regress() -> None:
    index = KnowledgeIndex.build(load_folder(HELP_CENTER))
    scores = quality(index, load_questions())
    assert scores["recall_at_5"] >= 0.9, scores["misses"]


def test_baseline_ranks_like_the_index() -> None:
    passages = synthetic_passages(400)
    index = KnowledgeIndex.build(passages)
    naive = NaiveBM25(passages)
    for query in ("kalo minerden", "stovu ti", "account password"):
        mine = [hit.passage.id for hit in index.search(query, 3)]
        theirs = [naive.passages[i].id for i, _ in naive.search(query, 3)]
        assert mine == theirs


def test_script_writes_its_results(tmp_path: Path) -> None:
    out = tmp_path / "retrieval.json"
    main(["--passages", "300", "--queries", "30", "--baseline-queries", "10", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["speed"]["passages"] == 300
    assert set(result["targets"]["met"]) == {"recall_at_5", "query_p95", "build"}
