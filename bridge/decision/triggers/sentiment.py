"""frustration: how fed up the customer sounds, as a score from 0 to 1.

Each customer message is scored from a small multilingual lexicon of negative words and
support cues, each with a weight: angry or despairing words ("unacceptable", "fed up",
"lamentable", "harto"), profanity and insults, ALL CAPS, runs of !!! or ???, repeated contact
("third time", "still not working", "how many times", "again"), threats to leave ("switching
to a competitor", "never again") and a formal complaint. Weights combine like independent
chances (1 - product of 1 - w), so one mild cue stays low and several add up; a threat to
leave or a formal complaint reaches the default threshold alone. The latest message counts in
full, the customer's earlier messages at half weight, and a score that rises across their last
messages adds a trend cue. A latest message that only thanks or confirms scores 0. Fires when
the score is at least ``threshold`` (default 0.6); the evidence lists the cues and the score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from bridge.decision.triggers.base import (
    Fired,
    TriggerContext,
    customer_messages,
    normalise,
    trigger,
    words,
)
from bridge.policy import TriggerSettings

DEFAULT_THRESHOLD = 0.6
HISTORY = 3  # earlier customer messages that count towards the score and the trend
HISTORY_WEIGHT = 0.5
TREND_WEIGHT = 0.2


@dataclass(frozen=True)
class Cue:
    kind: str  # evidence shows "<kind>:<the words that matched>"
    pattern: re.Pattern[str]
    weight: float


def _cues(weight: float, kind: str, *phrases: str) -> list[Cue]:
    """One cue per phrase (a regex over ``words()`` text), all with the same weight."""
    return [Cue(kind, re.compile(rf"\b(?:{phrase})\b"), weight) for phrase in phrases]


_LEXICON: list[Cue] = [
    # Strongly negative words and phrases.
    *_cues(
        0.45,
        "angry",
        "unacceptable|not acceptable",
        "outrageous",
        "disgrace(?:ful)?",
        "pathetic",
        "incompetent",
        "furious",
        "fed up",
        "appalling",
        "scandalous",
        "shameful",
        "rip ?off|ripoff",
        "waste of (?:my )?(?:time|money)",
        "thanks for nothing",
        "worst (?:\\w+ ){0,2}(?:ever|i've ever|i have ever)",
        "unverschamt",
        "inakzeptabel",
        "zumutung",
        "wutend",
        "die nase voll",
        "reicht mir",
        "inadmissible",
        "inacceptable",
        "scandaleux|scandaleuse",
        "lamentable",
        "furieux|furieuse",
        "j'en ai marre|ras le bol",
        "inaceptable",
        "harto|harta",
        "furios[oa]",
        "indignad[oa]",
        "una estafa|es un robo",
        "inaceitavel",
        "farto|farta",
        "revoltad[oa]",
        "descaso",
        "um absurdo",
    ),
    *_cues(
        0.35,
        "negative",
        "terrible",
        "awful",
        "horrible|horrendous|horrivel",
        "useless",
        "worst",
        "ridiculous",
        "disgusting",
        "angry",
        "frustrat(?:ed|ing)",
        "sick of|tired of",
        "garbage|rubbish",
        "nightmare",
        "joke",
        "nonsense",
        "unhappy|not happy|very upset",
        "nothing works|never works",
        "lousy",
        "scam",
        "schrecklich",
        "furchtbar",
        "lacherlich",
        "nutzlos",
        "katastroph\\w*",
        "frech",
        "frustriert",
        "verargert",
        "honteux|honteuse",
        "ridicule",
        "enerve|enervee",
        "n'importe quoi",
        "catastrophique",
        "pesim[oa]",
        "ridicul[oa]",
        "vergonzos[oa]|verguenza",
        "inutil",
        "enojad[oa]|enfadad[oa]",
        "frustrad[oa]",
        "un desastre",
        "pessim[oa]",
        "vergonhos[oa]",
        "absurdo",
        "irritad[oa]",
    ),
    *_cues(
        0.3,
        "displeased",
        "disappoint(?:ed|ing)",
        "annoy(?:ed|ing)",
        "irritat(?:ed|ing)",
        "upset",
        "hate",
        "stupid",
        "poor (?:service|support)",
        "sucks?",
        "enttauscht",
        "sauer",
        "schlecht",
        "decu|decue|decevant",
        "agace|agacee",
        "nul|nulle",
        "inutile",
        "decepcionad[oa]",
        "molest[oa]",
        "chatead[oa]",
    ),
    # Profanity, and insults aimed at the team or the bot.
    *_cues(0.25, "profanity", "damn|goddamn|bloody|crap|hell|freaking|frigging|mist|bordel"),
    *_cues(
        0.4,
        "profanity",
        "fuck\\w*|fck\\w*|shit\\w*|bullshit|wtf|ffs|piss(?:ed)? off|scheisse|verdammt|merde"
        "|putain|mierda|joder|carajo|cono|merda|porra|caralho",
    ),
    *_cues(
        0.45,
        "insult",
        "(?:you|u) (?:are |re |r )?(?:idiots?|morons?|clowns?|useless|incompetent|a joke)",
        "(?:stupid|useless|dumb|worthless) (?:bot|robot|machine|company|service|app|support)",
        "idiot(?:s|en)?|morons?|imbeciles?|idiotas?|cretin(?:s)?|deppen",
    ),
    # Contacting support again and again.
    *_cues(
        0.45,
        "repeat",
        "(?:second|third|fourth|fifth|tenth|nth|\\d+(?:st|nd|rd|th)) time",
        "how many (?:more )?times",
        "(?:days|weeks|hours|months) (?:and|but) (?:still|nothing|no (?:answer|reply|response))",
        "(?:nobody|no one|noone) (?:has |have |is )?(?:answered|replied|responded|helped|got"
        " back|gets back|answers|replies|helps|cares)",
        "still waiting",
        "keep (?:asking|telling|getting|writing|emailing|sending|giving|saying|repeating)",
        "already (?:told|asked|explained|contacted|written|emailed|called)",
        "(?:zum|das) (?:zweiten?|dritten?|vierten?|x-ten?|wiederholten|\\d+) mal",
        "wie oft noch",
        "niemand (?:antwortet|meldet sich|hilft)",
        "(?:deuxieme|troisieme|quatrieme|enieme) fois",
        "combien de fois",
        "personne ne (?:repond|m'a repondu|m'aide)",
        "(?:segunda|tercera|cuarta|enesima|terceira|quarta) vez",
        "cuantas veces|quantas vezes",
        "nadie (?:responde|me responde|contesta|me ayuda)",
        "ninguem (?:responde|me responde|me ajuda)",
    ),
    *_cues(
        0.35,
        "repeat",
        "still (?:not|doesn't|does not|isn't|is not|can't|cannot|no|broken|the same)",
        "immer noch nicht|schon wieder|seit (?:tagen|wochen)",
        "toujours pas|encore une fois|depuis des (?:jours|semaines)",
        "sigue sin|hace (?:dias|semanas)",
        "continua sem|ha (?:dias|semanas)",
    ),
    *_cues(0.15, "repeat", "again|otra vez|de nuevo|de novo|outra vez|encore|wieder"),
    # The problem is costing them: work stopped, money or customers lost.
    *_cues(
        0.3,
        "impact",
        "(?:my|our|the) (?:whole |entire )?(?:team|company|business|staff) (?:can't|cannot|can"
        " not|is unable to) (?:work|operate|do anything)",
        "(?:we|i) (?:can't|cannot) work",
        "(?:losing|lost) (?:money|customers|sales|business|clients)",
        "(?:costing|cost) (?:us|me) (?:money|customers|sales)",
    ),
    # Exasperation.
    *_cues(
        0.3,
        "exasperated",
        "seriously|come on|unbelievable|are you kidding|you've got to be kidding|you must be"
        " joking",
        "why (?:is|does) (?:this|it) (?:so|always|still) (?:hard|difficult|complicated|slow)",
        "(?:after|for|in|since) (?:two|three|four|five|several|many|\\d+) (?:days|weeks|months)",
        "for (?:days|weeks|months)",
    ),
    # Not being understood by the bot.
    *_cues(
        0.3,
        "unhelped",
        "(?:you are|you're|ur|you) not (?:helpful|helping|listening|understanding)",
        "(?:you|u) (?:aren't|are not) (?:being )?helpful",
        "(?:i )?(?:don't|do not|dont) understand (?:you|u|ya|anything you say)",
        "this (?:isn't|is not) helping",
    ),
    # About to leave: reaches the threshold alone.
    *_cues(
        0.6,
        "leaving",
        "switch(?:ing)? to (?:a |another |your )?competitors?",
        "(?:go|going|move|moving|switch|switching) to (?:another|a different|a better|a"
        " competing) (?:provider|service|company|tool|vendor|product|app)",
        "(?:take|taking) (?:my|our) business elsewhere",
        "cancel (?:everything|it all|all of it)",
        "(?:i'm|i am|we're|we are) (?:leaving|done with you|out)",
        "never (?:use|buy|recommend|order) (?:from )?(?:you|this|your|again)",
        "(?:zur|zu der) konkurrenz",
        "nie wieder",
        "(?:chez|vers) (?:la concurrence|un concurrent)",
        "plus jamais",
        "(?:a|con) la competencia",
        "nunca mas",
        "para a concorrencia|para o concorrente",
        "nunca mais",
    ),
    # A formal complaint: goes to a person whatever else the message says.
    *_cues(
        0.6,
        "complaint",
        "(?:file|filing|lodge|lodging|make|making|submit|submitting|raise|raising|register"
        "|registering|open|opening|put in|write|writing)(?: \\w+){0,3} (?:complaint|grievance"
        "|reclamation|claim)s?",
        "(?:complaint|claim|reclamation)s? against (?:your|the|this|you|ur|u)",
        "(?:consumer|customer) (?:claim|complaint|reclamation)s?",
        "beschwerde (?:einreichen|einlegen|erheben)|mich beschweren",
        "(?:faire|deposer|porter) (?:une )?reclamation",
        "(?:poner|presentar|hacer) (?:una )?(?:queja|reclamacion)",
        "(?:fazer|abrir|registrar) (?:uma )?(?:reclamacao|queixa)",
    ),
]
_INTENSIFIER = re.compile(
    r"\b(?:very|so|extremely|absolutely|completely|totally|really|utterly|incredibly|beyond"
    r"|sehr|total|vollig|tres|vraiment|completement|muy|totalmente|muito|completamente)$"
)
_POSITIVE = re.compile(
    r"\b(?:thanks?|thank you|thx|great|perfect|awesome|excellent|works now|solved|resolved"
    r"|fixed|that helped|danke|super|perfekt|merci|parfait|genial|gracias|perfecto"
    r"|obrigad[oa]|perfeito|otimo)\b"
)
# Acronyms people type in capitals without shouting.
_ACRONYMS = frozenset(
    "API CSV PDF SSO URL FAQ USD EUR GBP GDPR CCPA SLA CEO CTO IT HR VAT ID PIN SMS OK USA UK"
    " EU AI VIP PO SAML DNS SSL HTML JSON XML IOS MFA 2FA".split()
)
_CAPS_WORD = re.compile(r"\b[A-ZÀ-Ý]{3,}\b")


def _shouting(text: str) -> tuple[str, float] | None:
    """A whole message in capitals weighs more than one emphasised word."""
    letters = [c for c in text if c.isalpha()]
    loud = [w for w in _CAPS_WORD.findall(text) if w not in _ACRONYMS]
    if len(letters) >= 8 and len(loud) >= 2:
        ratio = sum(c.isupper() for c in letters) / len(letters)
        if ratio >= 0.8 and len(loud) >= 3:
            return "caps:shouting", 0.45
        if ratio >= 0.6:
            return "caps:shouting", 0.3
    emphasised = [w for w in loud if len(w) >= 4]
    return (f"caps:{emphasised[0]}", 0.15) if emphasised else None


def _punctuation(text: str) -> tuple[str, float] | None:
    runs = re.findall(r"[!?¡¿]{2,}", text)
    if not runs:
        return None
    heavy = len(runs) > 1 or max(len(r) for r in runs) >= 3
    return f"punctuation:{max(runs, key=len)}", 0.3 if heavy else 0.2


def _combine(weights: list[float]) -> float:
    remaining = 1.0
    for weight in weights:
        remaining *= 1 - min(max(weight, 0.0), 1.0)
    return 1 - remaining


def score_message(text: str) -> tuple[float, list[str]]:
    """One message's frustration score and the cues behind it."""
    plain = words(text)
    found: list[tuple[str, float]] = []
    for cue in _LEXICON:
        match = cue.pattern.search(plain)
        if match:
            weight = cue.weight
            if _INTENSIFIER.search(plain[: match.start()].rstrip()):
                weight = min(weight + 0.1, 0.6)
            found.append((f"{cue.kind}:{match.group(0)}", weight))
    found.extend(extra for extra in (_shouting(text), _punctuation(text)) if extra is not None)
    if not found:
        return 0.0, []
    # A mild cue next to thanks is politeness, not anger ("thanks, works again").
    if _POSITIVE.search(normalise(text)) and max(w for _, w in found) < 0.3:
        return 0.0, []
    return _combine([w for _, w in found]), [label for label, _ in found]


def frustration_score(ctx: TriggerContext) -> tuple[float, list[str]]:
    """The conversation's score: the latest message, earlier ones at half weight, the trend."""
    messages = customer_messages(ctx, HISTORY + 1)
    scored = [score_message(m.text) for m in messages]
    latest, cues = scored[-1]
    if latest == 0.0:
        return 0.0, []
    earlier = [s for s, _ in scored[:-1]]
    weights = [latest]
    if earlier:
        weights.append(HISTORY_WEIGHT * max(earlier))
    series = [*earlier, latest]
    rising = all(b >= a for a, b in pairwise(series)) and series[-1] - series[0] >= 0.2
    if len(series) >= 3 and rising:
        weights.append(TREND_WEIGHT)
        cues = [*cues, f"trend:rising over {len(series)} messages"]
    if earlier and max(earlier) > 0:
        cues = [*cues, f"history:{max(earlier):.2f}"]
    return _combine(weights), cues


@trigger("frustration")
def frustration(ctx: TriggerContext, settings: TriggerSettings) -> Fired | None:
    threshold = settings.threshold if settings.threshold is not None else DEFAULT_THRESHOLD
    score, cues = frustration_score(ctx)
    if not cues or score < threshold:
        return None
    return "score", (*cues, f"score={score:.2f}")
