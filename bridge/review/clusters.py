"""Group similar customer questions, so one missing article shows up as one gap, not twenty.

TF-IDF vectors over the same stemmed terms the retrieval index uses, compared by cosine
similarity, joined greedily to the closest cluster. Good enough for the few hundred questions
a review period holds, and it needs nothing beyond the standard library.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from bridge.knowledge.text import STOP_WORDS, stem, words

DEFAULT_THRESHOLD = 0.3

Vector = dict[str, float]


@dataclass
class Cluster:
    keys: list[Hashable] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)  # the words that characterise it
    representative: str = ""  # the member closest to the cluster's centre

    @property
    def size(self) -> int:
        return len(self.keys)


def terms_of(text: str) -> list[str]:
    return [stem(word) for word in words(text) if word not in STOP_WORDS and len(word) > 1]


def cluster_questions(
    items: Sequence[tuple[Hashable, str]], threshold: float = DEFAULT_THRESHOLD
) -> list[Cluster]:
    """Clusters of ``(key, question)`` items, largest first; ties keep the input order."""
    tokenised = [terms_of(text) for _, text in items]
    document_frequency: Counter[str] = Counter()
    for terms in tokenised:
        document_frequency.update(set(terms))
    total = len(items)
    idf = {
        term: math.log((1 + total) / (1 + count)) + 1 for term, count in document_frequency.items()
    }
    vectors = [_unit({t: n * idf[t] for t, n in Counter(terms).items()}) for terms in tokenised]

    members: list[list[int]] = []
    centres: list[Vector] = []
    for index, vector in enumerate(vectors):
        best, best_score = -1, 0.0
        for number, centre in enumerate(centres):
            score = _cosine(vector, centre)
            if score > best_score:
                best, best_score = number, score
        if vector and best >= 0 and best_score >= threshold:
            members[best].append(index)
            centres[best] = _unit(_sum(vectors[i] for i in members[best]))
        else:
            members.append([index])
            centres.append(vector)

    clusters: list[Cluster] = []
    for group, centre in zip(members, centres, strict=True):
        closest = max(group, key=lambda i: (_cosine(vectors[i], centre), -i))
        clusters.append(
            Cluster(
                keys=[items[i][0] for i in group],
                texts=[items[i][1] for i in group],
                terms=_label(centre, [items[i][1] for i in group]),
                representative=items[closest][1],
            )
        )
    order = sorted(range(len(clusters)), key=lambda n: (-clusters[n].size, n))
    return [clusters[n] for n in order]


def _label(centre: Vector, texts: list[str], limit: int = 4) -> list[str]:
    """The heaviest terms, shown as the word customers actually wrote, not the stem."""
    surface: dict[str, Counter[str]] = {}
    for text in texts:
        for word in words(text):
            if word not in STOP_WORDS and len(word) > 1:
                surface.setdefault(stem(word), Counter())[word] += 1
    heaviest = sorted(centre.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [surface[t].most_common(1)[0][0] if t in surface else t for t, _ in heaviest]


def _sum(vectors: Iterable[Vector]) -> Vector:
    total: Vector = {}
    for vector in vectors:
        for term, weight in vector.items():
            total[term] = total.get(term, 0.0) + weight
    return total


def _unit(vector: Vector) -> Vector:
    norm = math.sqrt(sum(weight * weight for weight in vector.values()))
    return {term: weight / norm for term, weight in vector.items()} if norm else {}


def _cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(weight * b.get(term, 0.0) for term, weight in a.items())
