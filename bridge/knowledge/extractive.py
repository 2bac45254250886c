"""An offline answerer that quotes the help docs instead of writing new text.

It needs no model and no network, so it works as a zero-cost default and as a fallback when
the LLM is unavailable. Because it can only quote, it must be conservative: when the best
passage does not clearly cover the question it says NOT_COVERED and lets a human take over.

Its confidence is the weighted share of the question's words that the passage contains. A
word weighs what it tells apart in this knowledge base: "refunds", found in one section, counts
more than "account", found in a dozen. A word the docs never use weighs like the rarest ones,
because nothing in the docs can answer it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bridge.knowledge.followup import with_previous_question
from bridge.knowledge.text import terms, tokenize
from bridge.knowledge.types import Answer, AnswerKind, Hit, Passage

# A question term found only in the body counts for less than one found in a heading: headings
# state what a section is about, while body words are often incidental mentions.
BODY_MATCH_WEIGHT = 0.75
# Document frequencies are smoothed far more than BM25's 0.5. Whether a help center happens to
# use a word in one section or in three says little about the word, and unsmoothed weights let
# such chance dominate (a single "what happens to ..." heading made "happens" weigh like a
# topic). Only frequencies well above this keep their full effect, as "account" or "notes" do.
DF_SMOOTHING = 6.0
# A question that names everything a section's heading says, about the section retrieval ranks
# first, is asking about that section. One further word the section lacks is then mostly how
# the question is put ("How do refunds work?", "What is the refund policy?"), so it counts
# this much. Two or more such words are not discounted: together they usually add a subject
# the section does not cover ("Are refunds paid back to a different card?"). A heading only
# partly named ("phone" under "Lost your phone or authenticator app") earns nothing.
LEFTOVER_WEIGHT = 0.5
# A second passage is quoted only when it covers the question as well as the first and
# retrieval ranks it nearly as high; otherwise it would dilute the answer.
SECOND_SCORE_RATIO = 0.8

_LIST_ITEM_RE = re.compile(r"(\s*)(?:(\d+)[.)]|[-*+])\s+")
_BLANK_LINE_RE = re.compile(r"\n[ \t\r]*\n")
_SENTENCE_RE = re.compile(r"\S.*?(?:[.!?](?=\s|$)|$)", re.S)


@dataclass(frozen=True)
class _Unit:
    """A span of passage text that is quoted whole: a sentence, a list item or a step list."""

    start: int
    end: int
    terms: frozenset[str]


@dataclass(frozen=True)
class _Scored:
    rank: int
    hit: Hit
    coverage: float  # the confidence: weighted share of the question the passage covers
    matched: tuple[str, ...]
    doc_title_matches: int  # question terms named by the document's own title
    leftover: str | None = None  # the one unmatched word discounted under a named heading
    plain: float = 0.0  # the coverage without that discount, comparable between passages
    context: float = 0.0  # a short follow-up's coverage read with the previous question


class ExtractiveAnswerer:
    """Answer with the most relevant sentences of the best-matching passage."""

    name = "extractive"

    def __init__(self, min_confidence: float = 0.35, max_sentences: int = 6) -> None:
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError("min_confidence must be between 0 and 1")
        if max_sentences < 1:
            raise ValueError("max_sentences must be at least 1")
        self.min_confidence = min_confidence
        self.max_sentences = max_sentences

    def answer(
        self,
        question: str,
        conversation: Sequence[str],
        hits: Sequence[Hit],
        product_context: str = "",
    ) -> Answer:
        # product_context is accepted for interface parity with the LLM answerers: quoting
        # cannot use a description of the product.
        del product_context
        question_terms = list(dict.fromkeys(tokenize(question)))
        if not question_terms:
            return Answer(kind=AnswerKind.NOT_COVERED, notes={"reason": "no content terms"})
        if not hits:
            return Answer(kind=AnswerKind.NOT_COVERED, notes={"reason": "no hits"})

        weights = term_weights(question_terms, hits)
        scored = [_score(rank, hit, question_terms, weights) for rank, hit in enumerate(hits)]
        previous = _previous_question(question, conversation)
        in_context = with_previous_question(question, [previous] if previous else [])
        if in_context != question:
            scored = _with_context(scored, in_context, hits)
        # Coverage decides. On a tie, a short follow-up is about the section that also answers
        # the question it follows ("And Team?" after a pricing question is not about 2FA for
        # teams); then the article whose title names the topic is the canonical place for it;
        # retrieval rank comes last because BM25 favours short passages that merely repeat a
        # query word.
        best = max(scored, key=lambda s: (s.coverage, s.context, s.doc_title_matches, -s.rank))
        confidence = round(best.coverage, 4)
        # Enough to see why the confidence is what it is: which words were found, which were
        # not, what each weighed, and whether an unmatched word was let off.
        notes = {
            "passage": best.hit.passage.id,
            "matched_terms": " ".join(best.matched),
            "missing_terms": " ".join(t for t in question_terms if t not in best.matched),
            "term_weights": " ".join(f"{t}={weights[t]:.2f}" for t in question_terms),
        }
        if best.leftover is not None:
            notes["discounted_term"] = best.leftover
        if in_context != question and previous is not None:
            notes["follow_up_of"] = previous
        if confidence < self.min_confidence:
            return Answer(kind=AnswerKind.NOT_COVERED, confidence=confidence, notes=notes)

        wanted = set(question_terms)
        first_text, used = self._excerpt(best.hit.passage, wanted, self.max_sentences)
        texts = [first_text]
        cited = [best.hit.passage.id]

        second = self._second(scored, best)
        if second is not None and used < self.max_sentences:
            second_text, _ = self._excerpt(second.hit.passage, wanted, self.max_sentences - used)
            if second_text and second_text not in first_text:
                texts.append(second_text)
                cited.append(second.hit.passage.id)

        return Answer(
            kind=AnswerKind.ANSWER,
            text="\n\n".join(texts),
            cited_ids=tuple(cited),
            confidence=confidence,
            notes=notes,
        )

    def _second(self, scored: Sequence[_Scored], best: _Scored) -> _Scored | None:
        for candidate in sorted(scored, key=lambda s: s.rank):
            if candidate is best or candidate.hit.passage.id == best.hit.passage.id:
                continue
            # Only the top-ranked passage can have a word let off, so passages are compared on
            # their coverage without it; the first already met the threshold.
            if (
                candidate.plain >= best.plain
                and candidate.context >= best.context
                and candidate.doc_title_matches >= best.doc_title_matches
                and candidate.hit.score >= SECOND_SCORE_RATIO * best.hit.score
            ):
                return candidate
        return None

    @staticmethod
    def _excerpt(passage: Passage, wanted: set[str], budget: int) -> tuple[str, int]:
        """The window of at most ``budget`` consecutive units that mentions most question terms.

        Returns the exact slice of the passage text (so nothing is reworded) and the number of
        units it spans.
        """
        units = _units(passage.text)
        if not units:
            return passage.text.strip(), 1
        size = min(budget, len(units))
        best_start, best_key = 0, (-1, -1)
        for start in range(len(units) - size + 1):
            window = units[start : start + size]
            hits = [len(wanted & unit.terms) for unit in window]
            covered = wanted.intersection(frozenset().union(*(unit.terms for unit in window)))
            # Breadth first (all the question's terms), then density; the earliest window wins
            # remaining ties because help articles put the essential step first.
            key = (len(covered), sum(hits))
            if key > best_key:
                best_start, best_key = start, key
        window = units[best_start : best_start + size]
        if size < len(units):
            # A quote that starts mid-passage should start where the relevant part does.
            while len(window) > 1 and not wanted & window[0].terms:
                window = window[1:]
        return passage.text[window[0].start : window[-1].end].strip(), len(window)


def _with_context(scored: Sequence[_Scored], in_context: str, hits: Sequence[Hit]) -> list[_Scored]:
    """The passages scored again on a short follow-up read with the question before it.

    This only ranks passages that cover the follow-up equally well; it never becomes the
    confidence. Counted in the confidence, the earlier question's words would outweigh what
    the follow-up adds: "Can I export to Word?" after "How do I export all my notes?" would
    clear the threshold on the export steps, which say nothing about Word, and "I forgot my
    password." after "I can't log in." would fall below it for want of "log".
    """
    context_terms = list(dict.fromkeys(tokenize(in_context)))
    weights = term_weights(context_terms, hits)
    return [
        replace(s, context=_score(s.rank, s.hit, context_terms, weights).coverage) for s in scored
    ]


def _previous_question(question: str, conversation: Sequence[str]) -> str | None:
    """The customer's message before ``question``, as far as the conversation's texts tell.

    The texts carry no authors, but a ticket the bot answers alternates: every customer message
    it decides on gets one response (a reply, a clarifying question or a handoff), so the
    customer's previous message sits two places before the latest. The latest is normally the
    conversation's last text; a conversation that leaves it out ends with the bot's response.
    """
    texts = list(conversation)
    latest = next(
        (i for i in range(len(texts) - 1, -1, -1) if texts[i].strip() == question.strip()),
        len(texts),
    )
    return texts[latest - 2] if latest >= 2 else None


def term_weights(question_terms: Sequence[str], hits: Sequence[Hit]) -> dict[str, float]:
    """How much each question term counts, from the frequencies of the corpus the hits came from.

    Hits without one corpus behind them all (passages built by hand) carry no statistics to
    weigh words by, so every term counts the same.
    """
    corpus = hits[0].corpus if hits else None
    if corpus is None or any(hit.corpus is not corpus for hit in hits):
        return dict.fromkeys(question_terms, 1.0)
    size = len(corpus)
    return {term: _idf(corpus.document_frequency(term), size) for term in question_terms}


def _idf(frequency: int, size: int) -> float:
    """BM25's inverse document frequency with stronger smoothing (see DF_SMOOTHING)."""
    return math.log(1.0 + (size - frequency + DF_SMOOTHING) / (frequency + DF_SMOOTHING))


def _score(
    rank: int, hit: Hit, question_terms: Sequence[str], weights: Mapping[str, float]
) -> _Scored:
    """Weighted share of the question's terms that the passage contains.

    Unlike a BM25 score this lives in 0..1 and means the same for every query and corpus,
    which is what lets one threshold separate covered questions from the rest.
    """
    passage = hit.passage
    if not passage.text.strip():
        return _Scored(rank, hit, 0.0, (), 0)  # a heading alone gives nothing to quote
    doc_title_terms = terms(passage.title_path[0]) if passage.title_path else set()
    heading_terms = terms(passage.title_path[-1]) if passage.title_path else set()
    title_terms = terms(" ".join(passage.title_path))
    body_terms = terms(passage.text)
    found = 0.0
    total = 0.0
    matched: list[str] = []
    missing: list[str] = []
    for term in question_terms:
        weight = weights[term]
        total += weight
        if term in title_terms:
            found += weight
        elif term in body_terms:
            found += BODY_MATCH_WEIGHT * weight
        else:
            missing.append(term)
            continue
        matched.append(term)
    plain = found / total if total > 0 else 0.0
    coverage, leftover = plain, None
    if rank == 0 and len(missing) == 1 and heading_terms and heading_terms <= set(matched):
        leftover = missing[0]
        coverage = found / (total - (1.0 - LEFTOVER_WEIGHT) * weights[leftover])
    doc_title_matches = sum(1 for term in matched if term in doc_title_terms)
    return _Scored(rank, hit, coverage, tuple(matched), doc_title_matches, leftover, plain)


def _units(text: str) -> list[_Unit]:
    """Split passage text into quotable units, keeping a numbered procedure as one unit.

    A run of numbered steps only makes sense complete, so it becomes a single unit together
    with the sentence that introduces it when that sentence ends with a colon.
    """
    raw: list[tuple[int, int, str]] = []  # (start, end, kind) with kind "step", "item" or "text"
    offset = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        if body.strip():
            marker = _LIST_ITEM_RE.match(body)
            if marker:
                nested = bool(marker.group(1))
                kind = "step" if marker.group(2) and not nested else "item"
                if nested and raw and raw[-1][2] == "step":
                    kind = "step"  # a sub-point of a step belongs to that step
                raw.append((offset, offset + len(body), kind))
            elif body[:1].isspace() and raw and raw[-1][2] in ("step", "item"):
                start, _, kind = raw[-1]  # an indented continuation of the item above
                raw[-1] = (start, offset + len(body), kind)
            else:
                for match in _SENTENCE_RE.finditer(body):
                    raw.append((offset + match.start(), offset + match.end(), "text"))
        offset += len(line)

    merged: list[tuple[int, int, str]] = []
    for start, end, kind in raw:
        if kind == "step" and merged and _joins_steps(text, merged[-1], start):
            merged[-1] = (merged[-1][0], end, "step")
        else:
            merged.append((start, end, kind))
    return [_Unit(start, end, frozenset(terms(text[start:end]))) for start, end, _ in merged]


def _joins_steps(text: str, previous: tuple[int, int, str], start: int) -> bool:
    """Whether a step belongs with the unit before it: the same step list or its lead-in."""
    prev_start, prev_end, prev_kind = previous
    if prev_kind == "step":
        return _BLANK_LINE_RE.search(text, prev_end, start) is None
    return prev_kind == "text" and text[prev_start:prev_end].rstrip().endswith(":")
