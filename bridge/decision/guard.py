"""The last check before text reaches a customer: grounded in the cited docs, and safe to send.

It is deterministic and knows nothing about which answerer wrote the text, so it holds the
quoting answerer and every LLM to the same rules:

- grounding: a reply cites at least one retrieved passage, and every number, percentage, date,
  email address and URL in it appears in the passages it cites. A model that invents "$15"
  where the docs say "$8" is caught here, whatever confidence it reported.
- safety: the text does not repeat the assistant's instructions or its prompt markup, contains
  no configured secret and nothing shaped like an API key, and does not claim that an action
  was performed (a refund issued, an account deleted, ...), which the assistant cannot do.

A failed grounding check is ``ungrounded``; a failed safety check is ``unsafe_reply``. Either
way the text is not sent and a person takes over.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.knowledge.answerers.base import DATA_TAGS, PROMPT_TEXTS, TOOL_NAME
from bridge.knowledge.types import Passage

UNGROUNDED = "ungrounded"
UNSAFE = "unsafe_reply"

# Repeating this many consecutive words of the instructions counts as leaking them; shorter
# runs are too likely to be ordinary support phrasing.
PROMPT_OVERLAP_WORDS = 8
# Configured values shorter than this (a subdomain, a test token) would match ordinary words.
MIN_SECRET_LENGTH = 8


@dataclass(frozen=True)
class Finding:
    """Why a text must not be sent. ``signals`` is safe to store: it never holds a secret."""

    reason: str  # UNGROUNDED or UNSAFE
    rule_id: str
    signals: tuple[str, ...]


# --- grounding --------------------------------------------------------------------------

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]{}\"'`]+", re.IGNORECASE)
# Bare domains are only taken as links with a TLD from this list, so that "Settings.Plan" or
# "notes.md" are not mistaken for one.
_TLDS = (
    "com|org|net|io|co|ai|app|dev|example|test|info|biz|me|ly|sh|so|gg|xyz|cloud|online|site|"
    "help|support|email|tech|eu|us|uk|de|fr|es|pt|br|it|nl|be|ch|at|ca|au|ie|in|jp"
)
_DOMAIN_RE = re.compile(
    r"(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:" + _TLDS + r")(?![\w-])"
    r"(?:/[^\s<>()\[\]{}\"'`]*)?",
    re.IGNORECASE,
)
_LIST_MARKER_RE = re.compile(r"^[ \t]*(?:[-*+][ \t]+)?\d{1,2}[.)][ \t]+", re.MULTILINE)
_NUMBER_RE = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)|\d+(?:[.,]\d+)*")
_PERCENT_AFTER_RE = re.compile(
    r"\s?(?:%|percent\b|per cent\b|prozent\b|pour\s?cent\b|por\s?ciento\b|por\s?cento\b)",
    re.IGNORECASE,
)
_TRAILING_PUNCTUATION = ".,;:!?*_'\"»›)]}"

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan januar janvier enero janeiro ene janv jän",
        "february feb februar février fevrier febrero fevereiro fév fev",
        "march märz maerz mars marzo março marco mär",
        "april apr avril abril avr abr",
        "may mai mayo maio",
        "june jun juni juin junio junho",
        "july jul juli juillet julio julho juil",
        "august aug août aout agosto",
        "september sep sept septembre septiembre setembro",
        "october oct oktober octobre octubre outubro okt",
        "november nov novembre noviembre novembro",
        "december dec dezember décembre decembre diciembre dezembro dez dic déc",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number
_MONTH = r"(?P<mon>" + "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True)) + r")"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th|er|º|ª|\.)?"
_YEAR = r"(?P<year>\d{4})"
_DATE_RES = (
    re.compile(r"(?<!\d)(?P<year>\d{4})-(?P<mon>\d{1,2})-(?P<day>\d{1,2})(?!\d)"),
    re.compile(r"(?<![\d.,/])(?P<a>\d{1,2})[./-](?P<b>\d{1,2})[./-](?P<year>\d{4}|\d{2})(?![\d])"),
    re.compile(
        r"\b" + _MONTH + r"\.?\s+" + _DAY + r"(?:,?\s+" + _YEAR + r")?(?!\d)", re.IGNORECASE
    ),
    re.compile(
        r"(?<![\d.,])" + _DAY + r"\s+(?:of\s+|de\s+)?" + _MONTH + r"\b\.?"
        r"(?:,?\s+(?:de\s+)?" + _YEAR + r")?(?!\d)",
        re.IGNORECASE,
    ),
    re.compile(r"\b" + _MONTH + r"\.?,?\s+(?:de\s+)?" + _YEAR + r"(?!\d)", re.IGNORECASE),
)

Date = tuple[int | None, int, int | None]  # (year, month, day); None where the text omits it


def check_grounding(text: str, cited: Sequence[Passage]) -> Finding | None:
    """Every fact-like token of ``text`` must be found in the passages it cites."""
    if not cited:
        return Finding(UNGROUNDED, "guard.citations", ("no retrieved passage cited",))
    unsupported = unsupported_tokens(text, cited)
    if unsupported:
        return Finding(UNGROUNDED, "guard.unsupported_tokens", tuple(unsupported))
    return None


def unsupported_tokens(text: str, cited: Sequence[Passage]) -> list[str]:
    """The numbers, percentages, dates, emails and URLs of ``text`` that no cited passage has."""
    source = "\n".join(
        part for passage in cited for part in (passage.title, passage.text, passage.url or "")
    )
    found: list[str] = []

    source_emails = {e.lower() for e in _EMAIL_RE.findall(source)}
    for email in _EMAIL_RE.findall(text):
        if email.lower() not in source_emails:
            found.append(f"email {email}")
    text = _EMAIL_RE.sub(" ", text)
    source_without_emails = _EMAIL_RE.sub(" ", source)

    source_links = _flatten_links(source_without_emails)
    for match in _links(text):
        link = _normalise_link(match.group())
        if link and not _link_in(link, source_links):
            found.append(f"url {match.group().rstrip(_TRAILING_PUNCTUATION)}")
    text = _URL_RE.sub(" ", text)
    text = _DOMAIN_RE.sub(" ", text)
    source_for_numbers = _DOMAIN_RE.sub(" ", _URL_RE.sub(" ", source_without_emails))

    source_dates = [date for readings, _ in _dates(source_for_numbers) for date in readings]
    spans: list[tuple[int, int]] = []
    for candidates, span in _dates(text):
        spans.append(span)
        if not any(_date_supported(c, source_dates) for c in candidates):
            found.append(f"date {text[span[0] : span[1]].strip()}")
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]

    text = _LIST_MARKER_RE.sub(" ", text)  # "1." before a step is layout, not a fact
    cited_numbers, cited_percents = _numbers(source_for_numbers)
    source_numbers = {value for _, value in cited_numbers}
    source_percents = {value for _, value in cited_percents}
    numbers, percents = _numbers(text)
    for raw, value in numbers:
        if value not in source_numbers:
            found.append(f"number {raw}")
    for raw, value in percents:
        if value not in source_percents:
            found.append(f"percentage {raw}")
    return list(dict.fromkeys(found))


def _links(text: str) -> Iterable[re.Match[str]]:
    yield from _URL_RE.finditer(text)
    yield from _DOMAIN_RE.finditer(_URL_RE.sub(lambda m: " " * len(m.group()), text))


def _normalise_link(link: str) -> str:
    link = link.rstrip(_TRAILING_PUNCTUATION).lower()
    link = re.sub(r"^https?://", "", link)
    link = re.sub(r"^www\.", "", link)
    return link.rstrip("/")


def _flatten_links(source: str) -> str:
    """The source with its links written the way ``_normalise_link`` writes them."""
    text = source.lower()
    text = re.sub(r"https?://", "", text)
    return re.sub(r"(?<![\w.-])www\.", "", text)


def _link_in(link: str, source: str) -> bool:
    """A link counts when the source has it whole, or it is the start of a longer cited link."""
    start = source.find(link)
    while start != -1:
        before = source[start - 1] if start else " "
        after = source[start + len(link)] if start + len(link) < len(source) else " "
        if not (before.isalnum() or before in "-.") and not (after.isalnum() or after in "-_"):
            return True
        start = source.find(link, start + 1)
    return False


def _numbers(text: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Numbers as (as written, normalised value); those followed by a percent sign separately.

    Currency symbols, codes and words around a number are ignored, and "1,000", "1.000" and
    "1000" are one value, as are "8", "8.00" and "8,00": the same amount written another way is
    not an invention. Anything else must match exactly.
    """
    numbers: list[tuple[str, str]] = []
    percents: list[tuple[str, str]] = []
    for match in _NUMBER_RE.finditer(text):
        raw = match.group()
        value = _normalise_number(raw)
        if _PERCENT_AFTER_RE.match(text, match.end()):
            percents.append((raw + "%", value))
        numbers.append((raw, value))
    return numbers, percents


def _normalise_number(raw: str) -> str:
    if ":" in raw:
        hours, minutes = raw.split(":")
        return f"{int(hours)}:{minutes}"
    groups = re.split(r"[.,]", raw)
    thousands = len(groups) > 1 and len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])
    if thousands and (len(groups) > 2 or groups[0] != "0"):
        return str(int("".join(groups)))  # thousands separators, in either convention
    if len(groups) == 2:
        whole, fraction = groups
        fraction = fraction.rstrip("0")
        return str(int(whole)) + (f".{fraction}" if fraction else "")
    if len(groups) == 1:
        return str(int(raw))
    return ".".join(groups)  # a version or an address: compared as written


def _dates(text: str) -> list[tuple[list[Date], tuple[int, int]]]:
    """Dates in ``text``: the readings of each (day/month order can be ambiguous) and its span."""
    found: list[tuple[list[Date], tuple[int, int]]] = []
    taken: list[tuple[int, int]] = []
    for pattern in _DATE_RES:
        for match in pattern.finditer(text):
            span = match.span()
            if any(span[0] < end and start < span[1] for start, end in taken):
                continue
            candidates = _readings(match)
            if candidates:
                found.append((candidates, span))
                taken.append(span)
    return found


def _readings(match: re.Match[str]) -> list[Date]:
    parts = match.groupdict()
    year = _year(parts.get("year"))
    if parts.get("a") is not None:
        a, b = int(parts["a"]), int(parts["b"])
        readings = [(year, b, a), (year, a, b)]  # day first, then month first
        return [r for r in dict.fromkeys(readings) if _valid(r)]
    month_text = parts.get("mon") or ""
    month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text.lower())
    if month is None:
        return []
    day = int(parts["day"]) if parts.get("day") else None
    reading = (year, month, day)
    return [reading] if _valid(reading) else []


def _year(text: str | None) -> int | None:
    if not text:
        return None
    value = int(text)
    return value + 2000 if value < 100 else value


def _valid(date: Date) -> bool:
    _, month, day = date
    return 1 <= month <= 12 and (day is None or 1 <= day <= 31)


def _date_supported(date: Date, source: Sequence[Date]) -> bool:
    """Each part the reply states must be stated by one date of the source."""
    year, month, day = date
    return any(
        month == s_month and (day is None or day == s_day) and (year is None or year == s_year)
        for s_year, s_month, s_day in source
    )


# --- safety -----------------------------------------------------------------------------

_API_KEY_PATTERNS = (
    ("anthropic or openai key", re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}")),
    ("aws access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("github token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}")),
    ("slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("google api key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("bearer token", re.compile(r"\bBearer\s+[A-Za-z0-9._~+/-]{20,}")),
    ("json web token", re.compile(r"\beyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{10,}")),
    (
        "credential assignment",
        re.compile(
            r"\b(?:api[_-]?key|secret|access[_-]?token|password|passwd)\s*[:=]\s*[\"']?"
            r"[A-Za-z0-9_\-./+]{8,}",
            re.IGNORECASE,
        ),
    ),
)
_MARKUP_RE = re.compile(
    r"</?\s*(?:" + "|".join(DATA_TAGS) + r")\b|\b" + TOOL_NAME + r"\b", re.IGNORECASE
)
_WORD_RE = re.compile(r"[\w']+", re.UNICODE)


def _shingles(text: str, size: int = PROMPT_OVERLAP_WORDS) -> set[tuple[str, ...]]:
    words = [w.lower().replace("’", "'") for w in _WORD_RE.findall(text.replace("’", "'"))]
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


_PROMPT_SHINGLES: dict[tuple[str, ...], set[tuple[str, ...]]] = {}


def _prompt_shingles(prompts: Sequence[str]) -> set[tuple[str, ...]]:
    key = tuple(prompts)
    if key not in _PROMPT_SHINGLES:
        _PROMPT_SHINGLES[key] = set().union(*(_shingles(p) for p in prompts))
    return _PROMPT_SHINGLES[key]


# Action claims, by language. Each pattern must describe something already done (or promised)
# by the assistant or the team, never an instruction to the customer or how a process works.
_EN_DONE = (
    r"issued|processed|refunded|credited|reimbursed|cancell?ed|terminated|deleted|removed|"
    r"erased|reset|changed|updated|modified|upgraded|downgraded|escalated|forwarded|"
    r"transferred|sent|emailed|unlocked|disabled|enabled|deactivated|reactivated|closed|"
    r"reopened|applied|approved|granted|submitted|initiated|restored|waived|extended|paused|"
    r"switched|passed (?:this|it|your \w+) (?:on|along)|added"
)
_EN_DO = (
    r"refund|cancel|delete|remove|reset|change|update|escalate|issue|process|forward|credit|"
    r"unlock|close|upgrade|downgrade|transfer|restore|waive|pass (?:this|it|your \w+) on"
)
_EN_OBJECTS = (
    r"refund|money|payment|charge|subscription|plan|account|password|order|invoice|data|notes?|"
    r"ticket|request|case|card|e-?mail(?: address)?|profile|membership|trial|access|credit|"
    r"two-factor authentication|2fa"
)
_DE_DONE = (
    r"(?:rück)?erstattet|storniert|gekündigt|gelöscht|entfernt|zurückgesetzt|geändert|"
    r"aktualisiert|weitergeleitet|eskaliert|veranlasst|ausgestellt|bearbeitet|deaktiviert|"
    r"aktiviert|entsperrt|gutgeschrieben|übermittelt|geschlossen|umgestellt|hochgestuft|"
    r"herabgestuft|angepasst|gesendet|geschickt|verschickt"
)
_FR_DONE = (
    r"rembours|annul|supprim|effac|réinitialis|modifi|mis(?:e|es)? à jour|transmis|escalad|"
    r"trait|émis|résili|désactiv|débloqu|envoy|clôtur|appliqu|crédit|ferm|chang|transfér|"
    r"effectu|procédé|valid|approuv|réalis"
)
_ES_DONE = (
    r"(?:reembols|cancel|elimin|borr|restablec|cambi|actualiz|escal|proces|emit|tramit|envi|"
    r"desactiv|activ|desbloque|cerr|aplic|acredit|modific|anul|transfer|reenvi)[aei]d[oa]s?"
)
_PT_DONE_PASSIVE = (
    r"(?:reembols|cancel|apag|redefin|alter|atualiz|encaminh|escal|process|emit|estorn|envi|"
    r"desativ|ativ|desbloque|fech|aplic|modific|transfer|reset|exclu)[aií]d[oa]s?"
)
_PT_DONE_FIRST = (
    r"reembolsei|cancelei|excluí|apaguei|redefini|alterei|atualizei|encaminhei|escalei|"
    r"processei|emiti|estornei|enviei|desativei|ativei|desbloqueei|fechei|apliquei|"
    r"modifiquei|transferi|mudei|resetei|realizei|efetuei"
)
_POSSESSIVE_DE = r"(?:ihr|ihre|ihren|ihrem|dein|deine|deinen|deinem|das|die|der|den)"

_CLAIMS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (rule, re.compile(pattern, re.IGNORECASE))
    for rule, pattern in (
        (
            "en.first_person",
            r"\bI(?:'ve|’ve| have| had|'d|’d)?\s+(?:(?:just|already|now|successfully|also|"
            r"personally|gone ahead and|went ahead and)\s+)*(?:" + _EN_DONE + r")\b",
        ),
        (
            "en.we_have",
            r"\bwe(?:'ve|’ve| have)\s+(?:(?:just|already|now|successfully|also|gone ahead "
            r"and)\s+)*(?:" + _EN_DONE + r")\b",
        ),
        (
            "en.promise",
            r"\bI(?:'ll|’ll| will| am going to|'m going to|’m going to)\s+(?:(?:now|go ahead "
            r"and|personally|also)\s+)*(?:" + _EN_DO + r")\b",
        ),
        (
            "en.done_passive",
            r"\b(?:your|the)\s+(?:" + _EN_OBJECTS + r")\s+(?:has|have|was|were|is now|are now)"
            r"\s+(?:(?:now|just|already|successfully|also)\s+)*(?:been\s+)?(?:" + _EN_DONE + r")\b",
        ),
        (
            "de.first_person",
            r"\b(?:ich|wir)\s+(?:habe|haben|hab)\b[^.!?\n]{0,80}?\b(?:" + _DE_DONE + r")\b",
        ),
        (
            # "ist aktiviert" alone describes a state ("is enabled by default"), so the present
            # only counts with "worden" or a word that marks it as just done.
            "de.done_passive",
            r"\b" + _POSSESSIVE_DE + r"\s+(?:\w+\s+){1,2}?(?:"
            r"(?:wurde|wurden)\s+(?:\w+\s+){0,3}?(?:" + _DE_DONE + r")\b"
            r"|(?:ist|sind)\s+(?:\w+\s+){0,3}?(?:" + _DE_DONE + r")\s+worden\b"
            r"|(?:ist|sind)\s+(?:jetzt|nun|bereits|soeben|erfolgreich)\s+(?:\w+\s+){0,2}?(?:"
            + _DE_DONE
            + r")\b)",
        ),
        (
            "fr.first_person",
            r"(?:\bj['’]ai|\bnous avons)\s+(?:(?:bien|déjà|maintenant|également)\s+)*(?:"
            + _FR_DONE
            + r")\w*",
        ),
        (
            "fr.done_passive",
            r"\b(?:votre|vos|le|la|les|l['’])\s*(?:\w+\s+){1,3}?(?:a|ont)\s+(?:(?:bien|déjà)\s+)*"
            r"été\s+(?:" + _FR_DONE + r")\w*",
        ),
        (
            "es.first_person",
            r"\b(?:he|hemos)\s+(?:ya\s+)?(?:" + _ES_DONE + r")\b",
        ),
        (
            "es.reflexive",
            r"\bse\s+(?:le\s+|les\s+)?(?:ha|han)\s+(?:ya\s+)?(?:" + _ES_DONE + r")\b",
        ),
        (
            "es.done_passive",
            r"\b(?:su|sus|tu|tus|el|la|los|las)\s+(?:\w+\s+){1,2}?(?:ha|han|fue|fueron)\s+"
            r"(?:ya\s+)?(?:sido\s+)?(?:" + _ES_DONE + r")\b",
        ),
        (
            "pt.first_person",
            r"(?:\beu\s+(?:já\s+)?(?:"
            + _PT_DONE_FIRST
            + r"|exclui)|\b(?:já\s+)?(?:"
            + _PT_DONE_FIRST
            + r"))(?!\w)",
        ),
        (
            "pt.done_passive",
            r"\b(?:seu|sua|seus|suas|o|a|os|as)\s+(?:\w+\s+){1,2}?(?:foi|foram)\s+(?:já\s+)?(?:"
            + _PT_DONE_PASSIVE
            + r")\b",
        ),
    )
)
# A claim under negation or inside a condition describes a rule, not something that happened:
# "your notes are not deleted", "once your account has been deleted, ...".
_NEGATION_RE = re.compile(
    r"\b(?:not|never|no|nicht|nie|kein\w*|pas|jamais|nunca|não|nao|ni)\b|n['’]t\b", re.IGNORECASE
)
_NEGATED_BEFORE_RE = re.compile(
    r"\b(?:not|never|nicht|nie|pas|jamais|nunca|não|nao|no)\s+$", re.IGNORECASE
)
_CONDITION_RE = re.compile(
    r"\b(?:if|once|when|whenever|after|unless|until|before|wenn|falls|sobald|nachdem|bevor|si|"
    r"lorsque|quand|dès que|une fois|cuando|una vez|hasta que|quando|caso|assim que|depois que)\b",
    re.IGNORECASE,
)


def action_claims(text: str) -> list[str]:
    """Phrases of ``text`` that say an action was performed (or will be) for the customer."""
    found: list[str] = []
    for rule, pattern in _CLAIMS:
        for match in pattern.finditer(text):
            clause_start = max(text.rfind(c, 0, match.start()) for c in ".!?;:\n") + 1
            just_before = text[max(clause_start, match.start() - 12) : match.start()]
            if _NEGATION_RE.search(match.group()) or _NEGATED_BEFORE_RE.search(just_before):
                continue
            if _CONDITION_RE.search(text, clause_start, match.start()):
                continue
            found.append(f"{rule}: {' '.join(match.group().split())}")
    return found


def check_safety(
    text: str,
    *,
    prompts: Sequence[str] = PROMPT_TEXTS,
    secrets: Iterable[str] = (),
    sources: Sequence[Passage] = (),
) -> Finding | None:
    """Whether ``text`` leaks the instructions or a secret, or claims an action was done.

    ``sources`` are the passages the text may quote: words shared with them do not count as a
    leak of the instructions.
    """
    leaked = _prompt_shingles(prompts) & _shingles(text)
    if leaked and sources:
        leaked -= set().union(*(_shingles(p.text) for p in sources))
    if leaked:
        return Finding(
            UNSAFE,
            "guard.system_prompt",
            (f"repeats the assistant's instructions ({len(leaked)} overlapping phrases)",),
        )
    markup = _MARKUP_RE.search(text)
    if markup:
        return Finding(UNSAFE, "guard.prompt_markup", (f"prompt markup {markup.group()!r}",))

    for index, secret in enumerate(s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH):
        if secret in text:
            # Never the value itself: the signals go into the brief and the database.
            return Finding(UNSAFE, "guard.secret", (f"configured secret #{index + 1}",))
    keys = [label for label, pattern in _API_KEY_PATTERNS if pattern.search(text)]
    if keys:
        return Finding(UNSAFE, "guard.api_key", tuple(f"looks like a {k}" for k in keys))

    claims = action_claims(text)
    if claims:
        return Finding(UNSAFE, "guard.action_claim", tuple(claims))
    return None


def check_reply(
    text: str,
    cited_ids: Sequence[str],
    retrieved: Mapping[str, Passage],
    *,
    prompts: Sequence[str] = PROMPT_TEXTS,
    secrets: Iterable[str] = (),
) -> Finding | None:
    """Safety first (the more serious finding for the agent), then grounding."""
    cited = [retrieved[pid] for pid in dict.fromkeys(cited_ids) if pid in retrieved]
    unsafe = check_safety(text, prompts=prompts, secrets=secrets, sources=cited)
    if unsafe is not None:
        return unsafe
    if len(cited) != len(set(cited_ids)):
        return Finding(UNGROUNDED, "guard.citations", ("cites a passage that was not retrieved",))
    return check_grounding(text, cited)


# --- secrets from the configuration -----------------------------------------------------

_SECRET_FIELD_RE = re.compile(r"secret|token|password|api_?key|private", re.IGNORECASE)


def config_secrets(config: Any) -> list[str]:
    """Every secret-looking value of an AppConfig: answerer keys and connector credentials.

    A field counts when its name says so or when it is kept out of ``repr``, which is how the
    settings dataclasses mark credentials.
    """
    found: list[str] = []
    holders: list[Any] = []
    answerers = getattr(config, "answerers", None)
    if answerers is not None:
        holders.extend(getattr(answerers, f.name) for f in dataclasses.fields(answerers))
    connectors = getattr(config, "connectors", {}) or {}
    holders.extend(getattr(c, "settings", None) for c in connectors.values())
    for holder in holders:
        if holder is None or not dataclasses.is_dataclass(holder):
            continue
        for f in dataclasses.fields(holder):
            value = getattr(holder, f.name, None)
            if isinstance(value, str) and value and (not f.repr or _SECRET_FIELD_RE.search(f.name)):
                found.append(value)
    return list(dict.fromkeys(found))
