"""What every trigger shares: the context it reads, the hit it returns, and the text helpers.

A trigger is a pure function ``(TriggerContext, TriggerSettings) -> TriggerHit | None``: no I/O,
no LLM, no clock except the one the context carries, so every decision can be replayed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import wraps

from bridge.decision.model import TicketView
from bridge.events import Customer, Message, Role
from bridge.policy import TriggerSettings


@dataclass(frozen=True)
class TriggerHit:
    reason: str  # the trigger's name
    rule_id: str  # "<trigger>.<rule>": which rule of the trigger fired
    evidence: tuple[str, ...]  # the words or signals that fired it


@dataclass(frozen=True)
class TriggerContext:
    message: Message  # the latest customer message
    conversation: Sequence[Message]  # the ticket's messages oldest first, including ``message``
    ticket: TicketView
    customer: Customer
    tags: tuple[str, ...] = ()  # the ticket's tags
    now: datetime | None = None  # the clock for age rules; None reads the system clock


TriggerFn = Callable[[TriggerContext, TriggerSettings], TriggerHit | None]
# What a trigger family's rule returns: the rule's short name and its evidence.
Fired = tuple[str, tuple[str, ...]]
Rule = Callable[[TriggerContext, TriggerSettings], Fired | None]

_QUOTES = str.maketrans({"’": "'", "‘": "'", "´": "'", "`": "'", "ß": "ss"})


def normalise(text: str) -> str:
    """Lowercase, strip accents and squeeze letters repeated 3+ times ("humaaan" -> "human")."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_QUOTES))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    squeezed = re.sub(r"([a-z])\1{2,}", r"\1", stripped)
    return re.sub(r"\s+", " ", squeezed).strip()


def words(text: str) -> str:
    """``normalise`` plus punctuation turned into spaces, keeping apostrophes, $ € £ and digits.

    Patterns then only deal with single spaces between words.
    """
    spaced = re.sub(r"[^\w'$€£%]+", " ", normalise(text))
    # Unglue words from amounts and numbers ("of299", "order7322", "50seats", "refund$20")
    # without splitting short codes like "2fa" or "soc2".
    spaced = re.sub(r"(?<=[a-z]{2})(?=\d{2})|(?<=\d)(?=[a-z]{3})|(?<=[a-z])(?=[$€£])", " ", spaced)
    return re.sub(r"\s+", " ", spaced).strip()


def config_phrase(text: str, phrases: Iterable[str]) -> str | None:
    """The first configured phrase found in the text, both normalised, or None."""
    normalised = normalise(text)
    for phrase in phrases:
        wanted = normalise(phrase)
        if wanted and wanted in normalised:
            return phrase
    return None


def trigger(name: str) -> Callable[[Rule], TriggerFn]:
    """Make a rule a trigger: configured phrases fire it first, and hits carry the name.

    Rules return ``(rule, evidence)``; the wrapper builds the hit, so a rule cannot get the
    reason or the rule id prefix wrong, and evidence is never empty.
    """

    def wrap(rule: Rule) -> TriggerFn:
        @wraps(rule)
        def run(ctx: TriggerContext, settings: TriggerSettings) -> TriggerHit | None:
            phrase = config_phrase(ctx.message.text, settings.extra_phrases)
            if phrase is not None:
                return TriggerHit(name, f"{name}.config_phrase", (phrase,))
            fired = rule(ctx, settings)
            if fired is None:
                return None
            rule_name, evidence = fired
            return TriggerHit(name, f"{name}.{rule_name}", evidence or (rule_name,))

        return run

    return wrap


# --- patterns -----------------------------------------------------------------------------

Patterns = tuple[tuple[str, re.Pattern[str]], ...]


def compile_rules(pairs: Iterable[tuple[str, str]]) -> Patterns:
    return tuple((name, re.compile(pattern)) for name, pattern in pairs)


def search(patterns: Patterns, text: str) -> tuple[str, str] | None:
    """The first rule whose pattern is found, with the matched words."""
    for name, pattern in patterns:
        match = pattern.search(text)
        if match:
            return name, match.group(0).strip()
    return None


# A general question about how something works, what the policy is, or what would happen:
# the docs answer those. The money triggers use it; each family adds words of its own.
POLICY_WORDS = "|".join(
    (
        # English
        r"polic(?:y|ies)|oplicy|terms|conditions|guarantee|refundable|eligib\w*",
        r"how long (?:does|do|will|would|until|is|are)|how many days|how much",
        r"in (?:what|which) (?:\w+ )?(?:can|could|do|would|should) (?:i|we)",
        r"in (?:what|which) (?:cases?|situations?|circumstances?)",
        r"under (?:what|which) (?:conditions|circumstances|\w+ (?:can|could) (?:i|we))",
        r"(?:cases?|situations?|circumstances?|conditions) (?:can|could|do|would|should|where"
        r"|when) (?:i|we)",
        r"when can (?:i|we|you)|do you (?:offer|give|provide|do|allow|accept|have|charge)",
        r"does (?:your|the) (?:\w+ )?(?:offer|include)",
        r"is there an? (?:\w+ )?(?:fee|charge|penalty)|fees?|penalt(?:y|ies)|charges? for",
        r"what happens (?:if|when|to)|if (?:i|we)|at any ?time|any ?time i",
        r"how does (?:the |a |your )?\w+ work|how do \w+ work",
        # German
        r"richtlinie\w*|bedingungen|wie lange|garantie|wenn ich|falls ich|bieten sie|gibt es",
        r"wie funktioniert|gebuhr\w*|kundigungsfrist",
        # French
        r"politique|combien de temps|si je|proposez[- ]vous|comment fonctionne|frais",
        # Spanish
        r"politica|condiciones|cuanto tiempo|garantia|si (?:yo )?(?:cancelo|pido|quiero)",
        r"ofrecen|como funciona|cargos? por|tarifa",
        # Portuguese
        r"condicoes|quanto tempo|se eu|voces oferecem|taxa",
    )
)

# "how do I ..." / "where can I ..." / "is there a way to ...": a how-to the docs can answer.
HOW_TO = re.compile(
    r"\b(?:how (?:do|can|could|would|should) (?:i|we|you)|how to|where (?:do|can|could|is|are)"
    r"|is (?:there|it possible)|is it possible|steps to|guide|tutorial|instructions"
    r"|wie (?:kann|konnen) (?:ich|wir|man)|comment (?:puis-je|faire|je peux|on)|como (?:puedo"
    r"|se|hago|posso|faco))\b"
)

MONEY_AMOUNT = re.compile(
    r"(?:[$€£] ?\d[\d,.]*|\b\d[\d,.]* ?(?:\$|€|£|dollars?|bucks|euros?|eur|usd|gbp|pounds?"
    r"|reais|pesos)(?!\w))"
)


# --- conversation helpers ------------------------------------------------------------------


def customer_messages(ctx: TriggerContext, limit: int | None = None) -> list[Message]:
    """The customer's messages oldest first, ending with the latest one, at most ``limit``."""
    found = [m for m in ctx.conversation if m.role is Role.CUSTOMER and m.id != ctx.message.id]
    found.append(ctx.message)
    return found[-limit:] if limit else found


# --- typos -------------------------------------------------------------------------------

_TOKEN = re.compile(r"[a-z]+")
# Short words customers glue onto the next one ("tosomebody", "uhelp"): split them off.
_GLUE = ("with", "to", "an", "me", "ur", "a", "u")


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a swap of two letters counts 1), capped at limit+1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


class Speller:
    """Maps misspelt words onto the few words a trigger looks for ("humna" -> "human").

    One edit is allowed (two for words of nine letters or more). The first letter must stay,
    or swap places with the second ("eprson"): people rarely mistype the first letter, and
    allowing it would read "backed up" as "hacked up". Real words one edit away from a trigger
    word (``protected``: "task" is not "talk", "contract" is not "contact") are never touched,
    so a correction can only complete a phrase the customer plainly meant.
    """

    def __init__(self, vocabulary: Iterable[str], protected: Iterable[str] = ()) -> None:
        self.vocabulary = frozenset(vocabulary)
        self.targets = tuple(sorted(w for w in self.vocabulary if len(w) >= 4 and w.isalpha()))
        self.protected = frozenset(protected) | self.vocabulary
        self._cache: dict[str, str] = {}

    def correct(self, text: str) -> str:
        return _TOKEN.sub(lambda match: self.word(match.group(0)), text)

    def word(self, token: str) -> str:
        cached = self._cache.get(token)
        if cached is None:
            cached = self._correct(token)
            if len(self._cache) < 50_000:  # bounded: tokens are customer text
                self._cache[token] = cached
        return cached

    def _correct(self, token: str) -> str:
        if token in self.protected or len(token) < 3:
            return token
        for prefix in _GLUE:
            # Only an exact word after the glued prefix: fuzzy matching there would read
            # "urgent" as "u agent".
            rest = token[len(prefix) :]
            if token.startswith(prefix) and len(rest) >= 4 and rest in self.vocabulary:
                return f"{prefix} {rest}"
        return self._closest(token) or token

    def _closest(self, token: str) -> str | None:
        limit = 2 if len(token) >= 9 else 1
        best: tuple[int, str] | None = None
        for target in self.targets:
            if token[0] != target[0] and token[:2] != target[1::-1]:
                continue
            distance = edit_distance(token, target, limit)
            if distance <= limit and (best is None or distance < best[0]):
                best = (distance, target)
        return best[1] if best else None
