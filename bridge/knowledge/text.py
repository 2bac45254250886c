"""Tokenisation shared by the retrieval index and the answerers.

The index and the answerers must agree on what a "term" is, otherwise the confidence an
answerer computes from term overlap would not line up with what retrieval matched.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Bumped whenever tokenisation changes, so a saved index built with older rules is rebuilt
# instead of silently missing terms.
TOKENIZER_VERSION = 2

_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_VOWELS = frozenset("aeiouy")
_KEEP_DOUBLE = frozenset("lsz")

_ENGLISH = """
a about above after again against all am an and any are aren't as at be because been before
being below between both but by can can't cannot could couldn't did didn't do does doesn't
doing don't down during each few for from further had hadn't has hasn't have haven't having
he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm i've
if in into is isn't it it's its itself let's me more most mustn't my myself no nor not of off
on once only or other ought our ours ourselves out over own same shan't she she'd she'll
she's should shouldn't so some such than that that's the their theirs them themselves then
there there's these they they'd they'll they're they've this those through to too under
until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where
where's which while who who's whom why why's will with won't would wouldn't you you'd you'll
you're you've your yours yourself yourselves
"""

# Chat messages are padded with greetings and politeness that never carry the topic; treating
# them as stop words keeps "Hi! Thanks, also how do I ..." from diluting term coverage and makes
# a bare greeting contain no terms at all.
_CHAT = """
hi hello hey hiya howdy greetings thanks thank thx ty cheers please pls plz ok okay yes yeah
yep no nope hmm oh well also just really anyway anyways dear regards kind sorry help need
want wanted like know tell able maybe there's im ive id dont cant wont isnt doesnt didnt
whats hows ur u us get got much many way possible anything something
"""

STOP_WORDS: frozenset[str] = frozenset((_ENGLISH + _CHAT).split())

# Irregular forms the suffix rules cannot reach: a help center says "Lost your phone?" where
# the customer asks "what if I lose my phone", and "Paid invoices" where they ask how to pay.
# Verbs that come up in support questions; each form maps to the base the rules then stem.
_IRREGULAR_FORMS = """
lost:lose forgot:forget forgotten:forget paid:pay sent:send bought:buy broke:break
broken:break found:find made:make took:take taken:take wrote:write written:write began:begin
begun:begin chose:choose chosen:choose gave:give given:give spent:spend built:build kept:keep
felt:feel meant:mean held:hold brought:bring thought:think sold:sell stole:steal stolen:steal
hid:hide hidden:hide ran:run saw:see seen:see went:go gone:go understood:understand
withdrew:withdraw withdrawn:withdraw froze:freeze frozen:freeze
"""
_IRREGULAR: dict[str, str] = dict(pair.split(":") for pair in _IRREGULAR_FORMS.split())


def normalize(text: str) -> str:
    """Fold compatibility forms and curly apostrophes so equal words compare equal."""
    return unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()


def words(text: str) -> list[str]:
    """Lower-cased words (Unicode letters and digits), stop words included."""
    return _WORD_RE.findall(normalize(text))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Strip common English inflections so "exporting", "exported" and "exports" meet.

    Deliberately light: it only has to map a word and its inflections to the same key, not
    produce a dictionary form, and it must stay cheap because every indexed word passes here.
    """
    if word.endswith("'s"):
        word = word[:-2]
    word = word.replace("'", "")
    word = _IRREGULAR.get(word, word)
    if len(word) <= 3 or not word.isalpha():
        return word

    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]

    if word.endswith("ied") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("eed"):
        pass  # "need", "speed": the "ed" is part of the word
    else:
        for suffix in ("ing", "ed"):
            base = word[: -len(suffix)]
            if word.endswith(suffix) and len(base) >= 2 and _VOWELS.intersection(base):
                word = base
                if (
                    len(word) > 2
                    and word[-1] == word[-2]
                    and word[-1] not in _KEEP_DOUBLE | _VOWELS
                ):
                    word = word[:-1]  # "stopped" -> "stop"
                break

    # "share", "shared" and "sharing" all end up as "shar".
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Content terms of ``text`` in order: stop words removed, then stemmed."""
    out: list[str] = []
    for word in words(text):
        if word in STOP_WORDS:
            continue
        # No stop-word check after stemming: "notes" stems to "not", which must survive.
        term = stem(word)
        if term:
            out.append(term)
    return out


def terms(text: str) -> set[str]:
    """The distinct content terms of ``text``."""
    return set(tokenize(text))


def slugify(text: str) -> str:
    """A URL anchor in the style most Markdown renderers generate for headings."""
    lowered = unicodedata.normalize("NFKC", text).casefold().strip()
    kept = "".join(ch for ch in lowered if ch.isalnum() or ch in " -_")
    return re.sub(r"\s+", "-", kept).strip("-")
