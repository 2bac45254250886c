"""A small, dependency-free guess at which language a customer wrote in.

Good enough to pick a handoff template and to route by language among the handful of
languages a team writes templates for; anything unsure answers None.
"""

from __future__ import annotations

import re

# Short, frequent function words: they tell these languages apart in a sentence or two.
_MARKERS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the and is are you my i to it this that what how with not can have please".split()
    ),
    "de": frozenset(
        "der die das und ist ich nicht mit ein eine mein meine bitte wie was sie ihr zu".split()
    ),
    "fr": frozenset(
        "le la les et est je ne pas un une mon ma avec pour vous comment quoi merci".split()
    ),
    "es": frozenset(
        "el la los las y es yo no un una mi con para usted como qué gracias por".split()
    ),
    "pt": frozenset(
        "o a os as e é eu não um uma meu minha com para você como obrigado por".split()
    ),
}
# Every code detect_language can answer: each needs a handoff phrase table.
LANGUAGES: tuple[str, ...] = tuple(sorted(_MARKERS))
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def detect_language(text: str, minimum: int = 2) -> str | None:
    """Two-letter code of the likeliest language, or None when too little text points anywhere."""
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return None
    scores = {lang: sum(word in markers for word in words) for lang, markers in _MARKERS.items()}
    best, score = max(scores.items(), key=lambda item: item[1])
    runner_up = max(v for k, v in scores.items() if k != best)
    if score < minimum or score == runner_up:
        return None
    return best
