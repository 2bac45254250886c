"""Escalation triggers: pure functions over the customer's words.

``human_request`` never depends on an LLM: asking for a person must always work, in any
phrasing we can recognise, in the customer's language.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class TriggerHit:
    reason: str
    rule_id: str
    evidence: tuple[str, ...]  # the words that fired it


def normalise(text: str) -> str:
    """Lowercase, strip accents and squeeze letters repeated 3+ times ("humaaan" -> "human")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    squeezed = re.sub(r"([a-z])\1{2,}", r"\1", stripped)
    return re.sub(r"\s+", " ", squeezed).strip()


_PERSON = (
    r"(?:real |actual |live |human |a human |an actual |a real |a live |some )?"
    r"(?:person|people|human|humans|human being|agent|representative|rep|operator|"
    r"someone|somebody|staff|support (?:agent|person|team)|customer service|manager|supervisor)"
)

_HUMAN_REQUEST_PATTERNS: tuple[tuple[str, str], ...] = (
    # English
    (
        "en.talk_to",
        rf"\b(?:talk|speak|chat|connect|transfer|put)(?: me)?(?: through)? "
        rf"(?:to|with) (?:a |an |the |your )?{_PERSON}\b",
    ),
    (
        "en.want_human",
        r"\b(?:want|need|get|give|gimme|request|requesting|prefer)(?: me)? "
        r"(?:to (?:talk|speak) (?:to|with) )?(?:a |an |the )?"
        r"(?:real |actual |live )?(?:human|person|agent|representative|operator)\b",
    ),
    ("en.real_person", r"\b(?:real|actual|live) (?:human|person|agent|people)\b"),
    ("en.human_agent", r"\bhuman (?:agent|being|support|please)\b"),
    (
        "en.agent_please",
        r"^(?:an? )?(?:agent|human|representative|operator|person)"
        r"(?: please| pls| plz| now)?[!. ]*$",
    ),
    (
        "en.agent_please_suffix",
        r"\b(?:agent|human|representative|operator) (?:please|pls|plz|now)\b",
    ),
    (
        "en.no_more_bot",
        r"\b(?:no more|stop|enough with) (?:the |this |your )?(?:bot|robot|machine|ai)\b",
    ),
    (
        "en.is_anyone_there",
        r"\bis (?:there )?(?:anyone|anybody|a human|a person) "
        r"(?:there|real|i can talk to)\b",
    ),
    # German
    (
        "de.mensch",
        r"\b(?:mit )?(?:einem |einer )?(?:echten |richtigen )?"
        r"(?:menschen|mitarbeiter(?:in)?|person|berater(?:in)?)\b.*\b(?:sprechen|reden)\b",
    ),
    ("de.mensch_bitte", r"\b(?:mensch|mitarbeiter|kundenservice) bitte\b"),
    # French
    (
        "fr.parler",
        r"\bparler (?:a|avec) (?:quelqu ?'?un|(?:un |une )?(?:vrai |vraie )?"
        r"(?:humain|personne|conseiller|conseillere|agent|operateur))\b",
    ),
    ("fr.humain", r"\b(?:un vrai humain|une vraie personne|un conseiller svp|un humain svp)\b"),
    # Spanish
    (
        "es.hablar",
        r"\bhablar con (?:alguien|(?:un |una |el |la )?(?:humano|persona|agente|"
        r"representante|asesor|asesora|operador))\b",
    ),
    ("es.persona_real", r"\b(?:persona real|humano real|un humano por favor|agente por favor)\b"),
    # Portuguese
    (
        "pt.falar",
        r"\bfalar com (?:alguem|(?:um |uma |o |a )?(?:humano|pessoa|atendente|agente|"
        r"representante|operador))\b",
    ),
    (
        "pt.pessoa_real",
        r"\b(?:pessoa real|atendente humano|atendimento humano|um humano por favor)\b",
    ),
)

_COMPILED = tuple((rule, re.compile(pattern)) for rule, pattern in _HUMAN_REQUEST_PATTERNS)


def human_request(text: str, extra_phrases: Iterable[str] = ()) -> TriggerHit | None:
    """Fires when the customer asks for a person, however they put it."""
    normalised = normalise(text)
    if not normalised:
        return None
    for phrase in extra_phrases:
        wanted = normalise(phrase)
        if wanted and wanted in normalised:
            return TriggerHit("human_request", "human_request.config_phrase", (phrase,))
    for rule, pattern in _COMPILED:
        match = pattern.search(normalised)
        if match:
            return TriggerHit("human_request", f"human_request.{rule}", (match.group(0).strip(),))
    return None
