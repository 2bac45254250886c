"""How reply times are written in each language a handoff message can be in.

``{within}`` ("within 4 hours") and ``{next_open}`` ("on Monday at 09:00 (CET)") are filled
from the table of the message's own language, so a German message says "innerhalb von
4 Stunden" and "am Montag um 09:00 Uhr (CET)". A team can override any phrase per language
(``handoff.translations.<lang>.phrases``); what it leaves out comes from the tables here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bridge.policy import DEFAULT_IN_HOURS, DEFAULT_OUT_OF_HOURS


@dataclass(frozen=True)
class Phrases:
    """One language's way of saying when a person will reply."""

    # (singular, plural), "{n}" is the number
    within_minutes: tuple[str, str]
    within_hours: tuple[str, str]
    within_days: tuple[str, str]
    # When the team opens again; "{time}" is 09:00, "{zone}" the time zone's abbreviation.
    today: str
    tomorrow: str
    weekday: str  # within the coming week; "{weekday}" is a name from weekdays
    date: str  # a week or more away; also "{day}" (of the month) and "{month}"
    weekdays: tuple[str, ...]  # Monday first
    months: tuple[str, ...]  # January first
    decimal_mark: str = "."
    # Who takes over when no group is named, and the word that marks a message as the bot's.
    support_team: str = "our support team"
    automated: str = "automated"
    # French and Portuguese use the singular below two ("1,5 heure"), the others only for one.
    singular_below_two: bool = False


# What a team may override, and the placeholders each phrase may use.
PLACEHOLDERS: Mapping[str, tuple[str, ...]] = {
    "within_minutes": ("n",),
    "within_hours": ("n",),
    "within_days": ("n",),
    "today": ("time", "zone"),
    "tomorrow": ("time", "zone"),
    "weekday": ("weekday", "time", "zone"),
    "date": ("weekday", "day", "month", "time", "zone"),
    "weekdays": (),
    "months": (),
    "support_team": (),
    "automated": (),
}
_PLURALS = ("within_minutes", "within_hours", "within_days")
_NAMES = {
    "weekdays": (7, "weekday names, Monday first"),
    "months": (12, "month names, January first"),
}
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

BUILT_IN: Mapping[str, Phrases] = {
    "en": Phrases(
        within_minutes=("within {n} minute", "within {n} minutes"),
        within_hours=("within {n} hour", "within {n} hours"),
        within_days=("within {n} day", "within {n} days"),
        today="today at {time} ({zone})",
        tomorrow="tomorrow at {time} ({zone})",
        weekday="on {weekday} at {time} ({zone})",
        date="on {weekday} {day} {month} at {time} ({zone})",
        weekdays=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        months=(
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ),
    ),
    "de": Phrases(
        within_minutes=("innerhalb einer Minute", "innerhalb von {n} Minuten"),
        within_hours=("innerhalb einer Stunde", "innerhalb von {n} Stunden"),
        within_days=("innerhalb eines Tages", "innerhalb von {n} Tagen"),
        today="heute um {time} Uhr ({zone})",
        tomorrow="morgen um {time} Uhr ({zone})",
        weekday="am {weekday} um {time} Uhr ({zone})",
        date="am {weekday}, {day}. {month}, um {time} Uhr ({zone})",
        weekdays=("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
        months=(
            "Januar",
            "Februar",
            "März",
            "April",
            "Mai",
            "Juni",
            "Juli",
            "August",
            "September",
            "Oktober",
            "November",
            "Dezember",
        ),
        support_team="unser Support-Team",
        automated="automatisch",
        decimal_mark=",",
    ),
    "fr": Phrases(
        within_minutes=("sous {n} minute", "sous {n} minutes"),
        within_hours=("sous {n} heure", "sous {n} heures"),
        within_days=("sous {n} jour", "sous {n} jours"),
        today="aujourd'hui à {time} ({zone})",
        tomorrow="demain à {time} ({zone})",
        weekday="{weekday} à {time} ({zone})",
        date="{weekday} {day} {month} à {time} ({zone})",
        weekdays=("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
        months=(
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ),
        support_team="notre équipe d'assistance",
        automated="automatique",
        decimal_mark=",",
        singular_below_two=True,
    ),
    "es": Phrases(
        within_minutes=("en un plazo de {n} minuto", "en un plazo de {n} minutos"),
        within_hours=("en un plazo de {n} hora", "en un plazo de {n} horas"),
        within_days=("en un plazo de {n} día", "en un plazo de {n} días"),
        today="hoy a las {time} ({zone})",
        tomorrow="mañana a las {time} ({zone})",
        weekday="el {weekday} a las {time} ({zone})",
        date="el {weekday} {day} de {month} a las {time} ({zone})",
        weekdays=("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
        months=(
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ),
        support_team="nuestro equipo de soporte",
        automated="automático",
        decimal_mark=",",
    ),
    "pt": Phrases(
        within_minutes=("em até {n} minuto", "em até {n} minutos"),
        within_hours=("em até {n} hora", "em até {n} horas"),
        within_days=("em até {n} dia", "em até {n} dias"),
        today="hoje às {time} ({zone})",
        tomorrow="amanhã às {time} ({zone})",
        # The preposition agrees with the day ("na segunda-feira", "no sábado"), so it is part
        # of each name rather than of the phrase.
        weekday="{weekday} às {time} ({zone})",
        date="{weekday}, {day} de {month}, às {time} ({zone})",
        weekdays=(
            "na segunda-feira",
            "na terça-feira",
            "na quarta-feira",
            "na quinta-feira",
            "na sexta-feira",
            "no sábado",
            "no domingo",
        ),
        months=(
            "janeiro",
            "fevereiro",
            "março",
            "abril",
            "maio",
            "junho",
            "julho",
            "agosto",
            "setembro",
            "outubro",
            "novembro",
            "dezembro",
        ),
        support_team="nossa equipe de suporte",
        automated="automático",
        decimal_mark=",",
        singular_below_two=True,
    ),
}
LANGUAGES = tuple(sorted(BUILT_IN))

# The reply-time sentences a translated message gets when its translation has none of its
# own; "{within}" and "{next_open}" are filled from the same language's phrases.
SENTENCES: Mapping[str, Mapping[str, str]] = {
    "en": {"in_hours": DEFAULT_IN_HOURS, "out_of_hours": DEFAULT_OUT_OF_HOURS},
    "de": {
        "in_hours": "Eine Person antwortet in der Regel {within}.",
        "out_of_hours": "Unser Team ist gerade nicht erreichbar und {next_open} wieder für Sie da.",
    },
    "fr": {
        "in_hours": "Une personne vous répond en général {within}.",
        "out_of_hours": (
            "Notre équipe n'est pas disponible pour le moment ; une personne vous répondra dès "
            "notre retour, {next_open}."
        ),
    },
    "es": {
        "in_hours": "Una persona suele responder {within}.",
        "out_of_hours": (
            "Nuestro equipo no está disponible en este momento; una persona le responderá "
            "cuando volvamos, {next_open}."
        ),
    },
    "pt": {
        "in_hours": "Uma pessoa costuma responder {within}.",
        "out_of_hours": (
            "Nossa equipe não está disponível no momento; uma pessoa vai responder quando "
            "voltarmos, {next_open}."
        ),
    },
}

Override = str | tuple[str, ...]


def phrases_for(language: str, overrides: Mapping[str, Override] | None = None) -> Phrases:
    """The language's built-in phrases with the team's overrides on top.

    A language without a table of its own starts from English: only the phrases the team
    wrote for it are in that language.
    """
    base = BUILT_IN.get(language, BUILT_IN["en"])
    return replace(base, **dict(overrides)) if overrides else base


def within(phrases: Phrases, hours: float) -> str:
    """The reply-time promise, e.g. "within 2 hours", "innerhalb von 30 Minuten"."""
    if hours < 1:
        return _count(phrases, phrases.within_minutes, round(hours * 60))
    if hours <= 48:
        return _count(phrases, phrases.within_hours, hours)
    return _count(phrases, phrases.within_days, round(hours / 24))


def next_open(phrases: Phrases, opening: datetime, local_now: datetime) -> str:
    """When the team is back, e.g. "tomorrow at 09:00 (CET)", "lundi à 09:00 (CET)"."""
    days = (opening.date() - local_now.date()).days
    if days == 0:
        pattern = phrases.today
    elif days == 1:
        pattern = phrases.tomorrow
    elif days < 7:
        pattern = phrases.weekday
    else:
        pattern = phrases.date
    values = {
        "time": opening.strftime("%H:%M"),
        "zone": opening.tzname() or "",
        "weekday": phrases.weekdays[opening.weekday()],
        "day": str(opening.day),
        "month": phrases.months[opening.month - 1],
    }
    text = _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), pattern)
    # A zone without an abbreviation would leave empty brackets behind.
    return text.replace(" ()", "").replace("()", "").strip()


def _count(phrases: Phrases, forms: tuple[str, str], n: float) -> str:
    singular = n == 1 or (phrases.singular_below_two and n < 2)
    number = str(int(n)) if n == int(n) else f"{n:g}".replace(".", phrases.decimal_mark)
    return forms[0 if singular else 1].replace("{n}", number)


def check_overrides(raw: Mapping[str, Any]) -> tuple[dict[str, Override], dict[str, list[str]]]:
    """A ``phrases`` block from the config: the overrides, and the problems by key."""
    overrides: dict[str, Override] = {}
    problems: dict[str, list[str]] = {}
    for key, value in raw.items():
        if key not in PLACEHOLDERS:
            problems[str(key)] = [f"unknown key (known: {', '.join(PLACEHOLDERS)})"]
            continue
        try:
            overrides[key] = _shaped(key, value)
        except ValueError as exc:
            problems[key] = [str(exc)]
    return overrides, problems


def _shaped(key: str, value: Any) -> Override:
    """The value in the shape its key needs; ValueError says what is wrong with it."""
    if key in _PLURALS:
        if isinstance(value, str):
            value = [value, value]
        if not (isinstance(value, list) and len(value) == 2 and all(_text(v) for v in value)):
            raise ValueError("must be a string or a list of two strings: [singular, plural]")
        shaped: Override = (value[0], value[1])
    elif key in _NAMES:
        count, what = _NAMES[key]
        if not (isinstance(value, list) and len(value) == count and all(_text(v) for v in value)):
            raise ValueError(f"must be a list of the {count} {what}")
        return tuple(value)
    elif _text(value):
        shaped = value
    else:
        raise ValueError("must be a non-empty string")
    allowed = PLACEHOLDERS[key]
    for text in (shaped,) if isinstance(shaped, str) else shaped:
        for name in _PLACEHOLDER.findall(text):
            if name not in allowed:
                listed = ", ".join(f"{{{a}}}" for a in allowed)
                raise ValueError(f"unknown placeholder {{{name}}} (allowed: {listed})")
    return shaped


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
