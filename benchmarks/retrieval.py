"""Retrieval quality and speed of the knowledge index.

1. Quality: recall@5 (and @1, MRR) of labelled paraphrased questions over the example help
   center, ``benchmarks/questions.yaml``.
2. Speed: index build time and query latency (p50/p95) on a synthetic corpus of 10,000
   passages, each compared with a plain-Python BM25 scan measured in the same run, so the
   ratios hold on any machine.

With ``--hybrid`` (needs the embeddings extra) the same questions are also run through
hybrid retrieval (``bridge/knowledge/hybrid.py``), and query latency on the help center is
measured for both in one run, so the two can be compared directly.

Run: ``.venv/bin/python -m benchmarks.retrieval [--passages 10000] [--hybrid] [--out PATH]``.
Exits 1 when a target is missed (p95 < 5 ms, build < 10 s, recall@5 >= 0.9); the hybrid
numbers are reported, not checked.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import yaml

from bridge.knowledge.index import KnowledgeIndex, passage_terms
from bridge.knowledge.loader import load_folder
from bridge.knowledge.settings import DEFAULT_EMBEDDING_MODEL, DEFAULT_EMBEDDING_WEIGHT
from bridge.knowledge.text import tokenize, words
from bridge.knowledge.types import Hit, Passage

ROOT = Path(__file__).resolve().parent.parent
HELP_CENTER = ROOT / "examples" / "help-center"
QUESTIONS = Path(__file__).resolve().parent / "questions.yaml"
RESULTS = Path(__file__).resolve().parent / "results" / "retrieval.json"

TARGET_P95_MS = 5.0
TARGET_BUILD_SECONDS = 10.0
TARGET_RECALL_AT_5 = 0.9


class Searcher(Protocol):
    def search(self, query: str, k: int = 5) -> list[Hit]: ...


@dataclass(frozen=True)
class Question:
    text: str
    expect: str


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Question(str(item["q"]), str(item["expect"])) for item in data["questions"]]


class NaiveBM25:
    """BM25 computed by looping over every passage in Python: the baseline to beat.

    Same terms and the same Lucene-style formula as bm25s' default, so rankings agree and only
    the speed differs.
    """

    def __init__(self, passages: Sequence[Passage], k1: float = 1.5, b: float = 0.75) -> None:
        self.passages = list(passages)
        self.k1, self.b = k1, b
        self.docs = [Counter(passage_terms(p)) for p in self.passages]
        self.lengths = [sum(doc.values()) for doc in self.docs]
        self.avg_length = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        df: Counter[str] = Counter()
        for doc in self.docs:
            df.update(doc.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def search(self, query: str, k: int = 5) -> list[tuple[int, float]]:
        terms = [t for t in dict.fromkeys(tokenize(query)) if t in self.idf]
        scored: list[tuple[int, float]] = []
        for i, doc in enumerate(self.docs):
            score = 0.0
            norm = self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg_length)
            for term in terms:
                tf = doc.get(term)
                if tf:
                    score += self.idf[term] * tf * (self.k1 + 1) / (tf + norm)
            if score > 0:
                scored.append((i, score))
        scored.sort(key=lambda item: (-item[1], item[0]))
        return scored[:k]


# --- quality ---------------------------------------------------------------------------------


def rank_of(sources: Sequence[str], expect: str) -> int | None:
    for rank, source in enumerate(sources, 1):
        if source == expect:
            return rank
    return None


def quality(index: Searcher, questions: Sequence[Question], k: int = 5) -> dict[str, Any]:
    """Recall@k counts a question as found when any of the top k passages is from its article."""
    ranks: list[int | None] = []
    misses: list[dict[str, Any]] = []
    for question in questions:
        sources = [hit.passage.source for hit in index.search(question.text, k)]
        rank = rank_of(sources, question.expect)
        ranks.append(rank)
        if rank is None:
            misses.append({"q": question.text, "expect": question.expect, "got": sources[:3]})
    n = len(questions)
    return {
        "questions": n,
        f"recall_at_{k}": sum(r is not None for r in ranks) / n,
        "recall_at_1": sum(r == 1 for r in ranks) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
        "misses": misses,
    }


def baseline_recall(
    passages: Sequence[Passage], questions: Sequence[Question], k: int = 5
) -> float:
    naive = NaiveBM25(passages)
    found = 0
    for question in questions:
        sources = [naive.passages[i].source for i, _ in naive.search(question.text, k)]
        found += rank_of(sources, question.expect) is not None
    return found / len(questions)


# --- speed -----------------------------------------------------------------------------------


def synthetic_passages(count: int, seed: int = 7) -> list[Passage]:
    """Help-article-like passages: real help-center words plus a long tail of rare ones.

    Word frequencies follow a Zipf curve as in real text, so a few terms are in most passages
    and most terms in a few; that shape, not the words, is what drives BM25's cost.
    """
    rng = random.Random(seed)
    base = sorted({w for w in words(_help_center_text()) if w.isalpha() and len(w) > 2})
    syllables = ["ka", "lo", "mi", "ner", "sto", "vu", "pra", "den", "ti", "gol", "sa", "rem"]
    rare = {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(30000)}
    vocabulary = base + sorted(rare - set(base))
    weights = [1 / (rank + 1) ** 1.05 for rank in range(len(vocabulary))]
    rng.shuffle(vocabulary)
    passages: list[Passage] = []
    for i in range(count):
        title = " ".join(rng.choices(vocabulary, weights, k=rng.randint(2, 5))).capitalize()
        body = " ".join(rng.choices(vocabulary, weights, k=rng.randint(40, 160)))
        doc = i // 4
        passages.append(
            Passage(
                id=f"synthetic/{doc}.md#{i}",
                title_path=(f"Article {doc}", title),
                text=body + ".",
                source=f"synthetic/{doc}.md",
            )
        )
    return passages


def synthetic_queries(passages: Sequence[Passage], count: int, seed: int = 11) -> list[str]:
    """Questions built from words of random passages, padded like chat messages."""
    rng = random.Random(seed)
    openers = ["", "hi, ", "how do I ", "can you tell me about ", "why does ", "where is "]
    queries = []
    for _ in range(count):
        passage = rng.choice(passages)
        pool = passage.text.rstrip(".").split() + passage.title_path[-1].split()
        picked = rng.sample(pool, k=min(len(pool), rng.randint(2, 7)))
        queries.append(rng.choice(openers) + " ".join(picked) + "?")
    return queries


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def timed_queries(search: Any, queries: Sequence[str], k: int = 5) -> list[float]:
    latencies = []
    for query in queries:
        started = time.perf_counter()
        search(query, k)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def speed(passage_count: int, query_count: int, baseline_queries: int) -> dict[str, Any]:
    passages = synthetic_passages(passage_count)
    queries = synthetic_queries(passages, query_count)

    # Terms are cached per word across builds; clear so each build pays for tokenising.
    from bridge.knowledge.text import stem

    stem.cache_clear()
    started = time.perf_counter()
    index = KnowledgeIndex.build(passages)
    build_seconds = time.perf_counter() - started

    stem.cache_clear()
    started = time.perf_counter()
    naive = NaiveBM25(passages)
    naive_build_seconds = time.perf_counter() - started

    timed_queries(index.search, queries[:50])  # warm caches before measuring
    latencies = timed_queries(index.search, queries)
    naive_latencies = timed_queries(naive.search, queries[:baseline_queries])

    # The two must agree on what is best, or the speed comparison means nothing.
    agree = sum(
        bool(index.search(q, 1))
        and bool(naive.search(q, 1))
        and index.search(q, 1)[0].passage.id == naive.passages[naive.search(q, 1)[0][0]].id
        for q in queries[:100]
    )

    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    naive_p50, naive_p95 = percentile(naive_latencies, 0.5), percentile(naive_latencies, 0.95)
    return {
        "passages": passage_count,
        "queries": len(queries),
        "build_seconds": round(build_seconds, 3),
        "query_ms": {
            "p50": round(p50, 3),
            "p95": round(p95, 3),
            "mean": round(statistics.fmean(latencies), 3),
            "max": round(max(latencies), 3),
        },
        "baseline": {
            "name": "plain-Python BM25 scan",
            "queries": len(naive_latencies),
            "build_seconds": round(naive_build_seconds, 3),
            "query_ms": {"p50": round(naive_p50, 3), "p95": round(naive_p95, 3)},
            "top1_agreement": agree / min(100, len(queries)),
        },
        "speedup": {
            "query_p50": round(naive_p50 / p50, 1),
            "query_p95": round(naive_p95 / p95, 1),
            "build": round(naive_build_seconds / build_seconds, 2),
        },
    }


def _latency_summary(latencies: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(latencies, 0.5), 3),
        "p95": round(percentile(latencies, 0.95), 3),
        "mean": round(statistics.fmean(latencies), 3),
    }


def hybrid_comparison(
    passages: Sequence[Passage],
    questions: Sequence[Question],
    bm25_scores: dict[str, Any],
    model: str,
    weight: float,
    rounds: int,
    scale_passages: int,
) -> dict[str, Any]:
    """BM25 against hybrid retrieval on the labelled questions: quality and query latency.

    Latency is timed on the same questions for both, interleaved round by round so that any
    slowdown of the machine hits both alike. A hybrid query costs one model call to embed the
    question plus a product with every passage vector; the second part grows with the corpus,
    so it is also timed over ``scale_passages`` synthetic passages with random vectors (a cost
    measurement only: random vectors say nothing about quality).
    """
    import numpy as np

    from bridge.knowledge.embeddings import get_embedder
    from bridge.knowledge.hybrid import HybridIndex

    started = time.perf_counter()
    embedder = get_embedder(model)
    load_seconds = time.perf_counter() - started
    index = KnowledgeIndex.build(passages)
    started = time.perf_counter()
    hybrid = HybridIndex.build(index, embedder, weight)
    encode_seconds = time.perf_counter() - started
    scores = quality(hybrid, questions)

    texts = [q.text for q in questions]
    timed_queries(hybrid.search, texts)  # warm-up: the first calls of a model are slower
    bm25_ms: list[float] = []
    hybrid_ms: list[float] = []
    for _ in range(rounds):
        bm25_ms += timed_queries(index.search, texts)
        hybrid_ms += timed_queries(hybrid.search, texts)

    scale: dict[str, Any] = {}
    if scale_passages:
        synthetic = synthetic_passages(scale_passages)
        rng = np.random.default_rng(3)
        vectors = rng.standard_normal((len(synthetic), embedder.dimension)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        big = HybridIndex(KnowledgeIndex.build(synthetic), vectors, embedder, weight)
        queries = synthetic_queries(synthetic, 200)
        timed_queries(big.search, queries[:20])
        scale = {
            "passages": scale_passages,
            "queries": len(queries),
            "bm25_query_ms": _latency_summary(timed_queries(big.bm25.search, queries)),
            "hybrid_query_ms": _latency_summary(timed_queries(big.search, queries)),
        }

    def summary(values: dict[str, Any]) -> dict[str, Any]:
        return {key: values[key] for key in ("recall_at_5", "recall_at_1", "mrr", "misses")}

    return {
        "model": model,
        "weight": weight,
        "model_load_seconds": round(load_seconds, 3),
        "encode_seconds": round(encode_seconds, 3),
        "passages": len(passages),
        "queries_timed": len(hybrid_ms),
        "bm25": {**summary(bm25_scores), "query_ms": _latency_summary(bm25_ms)},
        "hybrid": {**summary(scores), "query_ms": _latency_summary(hybrid_ms)},
        "scale": scale,
    }


def _help_center_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(HELP_CENTER.glob("*.md")))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--baseline-queries", type=int, default=200)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--hybrid", action="store_true", help="also compare hybrid retrieval (embeddings extra)"
    )
    parser.add_argument("--model", default=DEFAULT_EMBEDDING_MODEL, help="package or folder")
    parser.add_argument("--weight", type=float, default=DEFAULT_EMBEDDING_WEIGHT)
    parser.add_argument("--rounds", type=int, default=10, help="timed passes over the questions")
    parser.add_argument(
        "--hybrid-passages", type=int, default=10_000, help="synthetic corpus for hybrid cost"
    )
    args = parser.parse_args(argv)
    if args.hybrid:
        from bridge.knowledge.embeddings import EXTRA_MISSING, extra_installed

        if not extra_installed():
            parser.error(EXTRA_MISSING)

    questions = load_questions(args.questions)
    passages = load_folder(HELP_CENTER)
    index = KnowledgeIndex.build(passages)
    scores = quality(index, questions)
    scores["baseline_recall_at_5"] = baseline_recall(passages, questions)
    timing = speed(args.passages, args.queries, args.baseline_queries)
    comparison = None
    if args.hybrid:
        comparison = hybrid_comparison(
            passages,
            questions,
            scores,
            args.model,
            args.weight,
            args.rounds,
            args.hybrid_passages,
        )

    checks = {
        "recall_at_5": scores["recall_at_5"] >= TARGET_RECALL_AT_5,
        "query_p95": timing["query_ms"]["p95"] < TARGET_P95_MS,
        "build": timing["build_seconds"] < TARGET_BUILD_SECONDS,
    }
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "quality": scores,
        "speed": timing,
        "targets": {
            "recall_at_5": TARGET_RECALL_AT_5,
            "query_p95_ms": TARGET_P95_MS,
            "build_seconds": TARGET_BUILD_SECONDS,
            "met": checks,
        },
    }
    if comparison is not None:
        result["hybrid"] = comparison
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    base = timing["baseline"]
    print(f"quality over {scores['questions']} questions ({args.questions.name}):")
    print(
        f"  recall@5 {scores['recall_at_5']:.3f}  recall@1 {scores['recall_at_1']:.3f}  "
        f"MRR {scores['mrr']:.3f}  (baseline recall@5 {scores['baseline_recall_at_5']:.3f})"
    )
    for miss in scores["misses"]:
        print(f"  missed: {miss['q']!r} -> expected {miss['expect']}, got {miss['got']}")
    print(f"speed on {timing['passages']} synthetic passages, {timing['queries']} queries:")
    print(
        f"  build {timing['build_seconds']:.2f}s (baseline {base['build_seconds']:.2f}s, "
        f"x{timing['speedup']['build']})"
    )
    print(
        f"  query p50 {timing['query_ms']['p50']:.2f} ms, p95 {timing['query_ms']['p95']:.2f} ms "
        f"(baseline p50 {base['query_ms']['p50']:.1f} ms, p95 {base['query_ms']['p95']:.1f} ms: "
        f"x{timing['speedup']['query_p50']} / x{timing['speedup']['query_p95']} faster; "
        f"top-1 agreement {base['top1_agreement']:.0%})"
    )
    if comparison is not None:
        _print_comparison(comparison)
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'MISS'} {name}")
    print(f"written to {args.out}")
    return 0 if all(checks.values()) else 1


def _print_comparison(comparison: dict[str, Any]) -> None:
    print(
        f"hybrid ({comparison['model']}, weight {comparison['weight']}) vs BM25 on "
        f"{comparison['passages']} help-center passages; vectors encoded in "
        f"{comparison['encode_seconds']:.2f}s, model loaded in "
        f"{comparison['model_load_seconds']:.2f}s:"
    )
    print(f"  {'':8} recall@5 recall@1   MRR   p50 ms  p95 ms  ({comparison['queries_timed']} q)")
    for name in ("bm25", "hybrid"):
        row = comparison[name]
        print(
            f"  {name:8} {row['recall_at_5']:8.3f} {row['recall_at_1']:8.3f} {row['mrr']:6.3f} "
            f"{row['query_ms']['p50']:7.2f} {row['query_ms']['p95']:7.2f}"
        )
    for miss in comparison["hybrid"]["misses"]:
        print(f"  hybrid missed: {miss['q']!r} -> expected {miss['expect']}, got {miss['got']}")
    scale = comparison["scale"]
    if scale:
        print(
            f"  on {scale['passages']} synthetic passages (random vectors), {scale['queries']} "
            f"queries: BM25 p95 {scale['bm25_query_ms']['p95']:.2f} ms, "
            f"hybrid p95 {scale['hybrid_query_ms']['p95']:.2f} ms"
        )


if __name__ == "__main__":
    sys.exit(main())
