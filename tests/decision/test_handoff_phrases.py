"""Reply times in handoff messages are written in the language of the message."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bridge.config import ConfigError, parse_config
from bridge.decision.hours import reply_expectation
from bridge.decision.language import LANGUAGES as DETECTED
from bridge.decision.messages import format_handoff
from bridge.decision.phrases import (
    BUILT_IN,
    LANGUAGES,
    PLACEHOLDERS,
    SENTENCES,
    Phrases,
    next_open,
    phrases_for,
    within,
)
from bridge.policy import BusinessHoursSchema, Policy
from tests.conftest import REPO_ROOT, config_data, make_config

OPEN = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # Tuesday, noon in Berlin
CLOSED = datetime(2026, 12, 5, 11, 0, tzinfo=UTC)  # Saturday: back on Monday at 09:00
BERLIN = ZoneInfo("Europe/Berlin")

HOURS = {
    "timezone": "Europe/Berlin",
    "weekly": {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")},
    "reply_within_hours": 4,
}
# Translations with a message only: the reply-time sentences are the built-in ones.
MESSAGES = {
    "en": "Over to {group}. {when}",
    "de": "Ich übergebe an {group}. {when}",
    "fr": "Je transmets à {group}. {when}",
    "es": "Paso su consulta a {group}. {when}",
    "pt": "Estou passando para {group}. {when}",
}


def policy(tmp_path: Path, handoff: dict[str, Any] | None = None, **overrides: Any) -> Policy:
    block = {
        "business_hours": HOURS,
        "handoff": handoff or {"translations": {k: {"default": v} for k, v in MESSAGES.items()}},
        **overrides,
    }
    return make_config(tmp_path, "sqlite://", block).connectors["acme"].policy


def problems_of(tmp_path: Path, handoff: dict[str, Any]) -> list[str]:
    data = config_data(tmp_path, "sqlite://", {"handoff": handoff})
    with pytest.raises(ConfigError) as info:
        parse_config(data, base_dir=REPO_ROOT, env={})
    return info.value.problems


def test_every_detected_language_has_phrases_and_sentences() -> None:
    assert set(DETECTED) == set(LANGUAGES) == set(SENTENCES)
    overridable = {f.name for f in fields(Phrases)} - {"decimal_mark", "singular_below_two"}
    assert set(PLACEHOLDERS) == overridable
    for phrases in BUILT_IN.values():
        assert len(phrases.weekdays) == 7 and len(phrases.months) == 12


def test_a_german_message_out_of_hours_names_the_day_in_german(tmp_path: Path) -> None:
    text = format_handoff("refund", "Billing", policy(tmp_path), now=CLOSED, language="de")
    assert "am Montag um 09:00 Uhr (CET)" in text
    assert "Monday" not in text and " on " not in text
    assert "Unser Team ist gerade nicht erreichbar" in text


def test_a_german_message_in_hours_promises_hours_in_german(tmp_path: Path) -> None:
    text = format_handoff("refund", "Billing", policy(tmp_path), now=OPEN, language="de")
    assert "Eine Person antwortet in der Regel innerhalb von 4 Stunden." in text
    assert "within" not in text and "hours" not in text


@pytest.mark.parametrize(
    ("language", "in_hours", "out_of_hours"),
    [
        (
            "en",
            "Over to Billing. A person usually replies within 4 hours.",
            "Over to Billing. Our team is offline right now; a person will reply after we open "
            "again, on Monday at 09:00 (CET).",
        ),
        (
            "de",
            "Ich übergebe an Billing. Eine Person antwortet in der Regel innerhalb von 4 Stunden.",
            "Ich übergebe an Billing. Unser Team ist gerade nicht erreichbar und am Montag um "
            "09:00 Uhr (CET) wieder für Sie da.",
        ),
        (
            "fr",
            "Je transmets à Billing. Une personne vous répond en général sous 4 heures.",
            "Je transmets à Billing. Notre équipe n'est pas disponible pour le moment ; une "
            "personne vous répondra dès notre retour, lundi à 09:00 (CET).",
        ),
        (
            "es",
            "Paso su consulta a Billing. Una persona suele responder en un plazo de 4 horas.",
            "Paso su consulta a Billing. Nuestro equipo no está disponible en este momento; una "
            "persona le responderá cuando volvamos, el lunes a las 09:00 (CET).",
        ),
        (
            "pt",
            "Estou passando para Billing. Uma pessoa costuma responder em até 4 horas.",
            "Estou passando para Billing. Nossa equipe não está disponível no momento; uma "
            "pessoa vai responder quando voltarmos, na segunda-feira às 09:00 (CET).",
        ),
    ],
)
def test_each_language_says_when_in_its_own_words(
    language: str, in_hours: str, out_of_hours: str, tmp_path: Path
) -> None:
    p = policy(tmp_path)
    inside = format_handoff("refund", "Billing", p, now=OPEN, language=language)
    outside = format_handoff("refund", "Billing", p, now=CLOSED, language=language)
    assert inside.split("\n\n")[0] == in_hours
    assert outside.split("\n\n")[0] == out_of_hours


@pytest.mark.parametrize(
    ("language", "one", "one_and_a_half", "half", "three_days"),
    [
        ("en", "within 1 hour", "within 1.5 hours", "within 30 minutes", "within 3 days"),
        (
            "de",
            "innerhalb einer Stunde",
            "innerhalb von 1,5 Stunden",
            "innerhalb von 30 Minuten",
            "innerhalb von 3 Tagen",
        ),
        ("fr", "sous 1 heure", "sous 1,5 heure", "sous 30 minutes", "sous 3 jours"),
        (
            "es",
            "en un plazo de 1 hora",
            "en un plazo de 1,5 horas",
            "en un plazo de 30 minutos",
            "en un plazo de 3 días",
        ),
        ("pt", "em até 1 hora", "em até 1,5 hora", "em até 30 minutos", "em até 3 dias"),
    ],
)
def test_units_numbers_and_plurals(
    language: str, one: str, one_and_a_half: str, half: str, three_days: str
) -> None:
    phrases = BUILT_IN[language]
    assert within(phrases, 1) == one
    assert within(phrases, 1.5) == one_and_a_half
    assert within(phrases, 0.5) == half
    assert within(phrases, 72) == three_days


@pytest.mark.parametrize(
    ("language", "today", "tomorrow", "a_date"),
    [
        (
            "en",
            "today at 09:00 (CET)",
            "tomorrow at 09:00 (CET)",
            "on Monday 4 January at 09:00 (CET)",
        ),
        (
            "de",
            "heute um 09:00 Uhr (CET)",
            "morgen um 09:00 Uhr (CET)",
            "am Montag, 4. Januar, um 09:00 Uhr (CET)",
        ),
        (
            "fr",
            "aujourd'hui à 09:00 (CET)",
            "demain à 09:00 (CET)",
            "lundi 4 janvier à 09:00 (CET)",
        ),
        (
            "es",
            "hoy a las 09:00 (CET)",
            "mañana a las 09:00 (CET)",
            "el lunes 4 de enero a las 09:00 (CET)",
        ),
        (
            "pt",
            "hoje às 09:00 (CET)",
            "amanhã às 09:00 (CET)",
            "na segunda-feira, 4 de janeiro, às 09:00 (CET)",
        ),
    ],
)
def test_today_tomorrow_and_dates_a_week_or_more_away(
    language: str, today: str, tomorrow: str, a_date: str
) -> None:
    hours = BusinessHoursSchema().load(
        {
            **HOURS,
            # closed between the holidays: back on Monday 4 January
            "holidays": [*(f"2026-12-{day}" for day in (24, 25, 28, 29, 30, 31)), "2027-01-01"],
            "out_of_hours": "{next_open}",
        }
    )
    phrases = BUILT_IN[language]
    early = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # Tuesday, 07:00 in Berlin
    night = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
    christmas_eve = datetime(2026, 12, 23, 17, 0, tzinfo=UTC)  # Wednesday, 18:00 in Berlin
    assert reply_expectation(hours, early, phrases) == today
    assert reply_expectation(hours, night, phrases) == tomorrow
    assert reply_expectation(hours, christmas_eve, phrases) == a_date


def test_reply_expectation_stays_english_without_phrases() -> None:
    hours = BusinessHoursSchema().load(HOURS)
    assert reply_expectation(hours, OPEN) == "A person usually replies within 4 hours."
    assert "on Monday at 09:00 (CET)" in reply_expectation(hours, CLOSED)


def test_a_translation_sentence_gets_phrases_in_its_language(tmp_path: Path) -> None:
    p = policy(
        tmp_path,
        {
            "translations": {
                "fr": {
                    "default": "Transmis à {group}. {when}",
                    "out_of_hours": "Nous revenons {next_open}.",
                }
            }
        },
    )
    text = format_handoff("refund", "Billing", p, now=CLOSED, language="fr")
    assert text.startswith("Transmis à Billing. Nous revenons lundi à 09:00 (CET).")
    # no sentence of its own in hours: the built-in French one
    inside = format_handoff("refund", "Billing", p, now=OPEN, language="fr")
    assert "Une personne vous répond en général sous 4 heures." in inside


def test_an_english_message_stays_english_whatever_the_customer_wrote(tmp_path: Path) -> None:
    p = policy(tmp_path, {"translations": {"de": {"in_hours": "Bald: {within}."}}})
    # a German customer, but no German message: the English message, all in English
    text = format_handoff("refund", "Billing", p, now=OPEN, language="de")
    assert "A person usually replies within 4 hours." in text
    assert "Bald" not in text
    # a trigger's own message is in the team's language even when a translation exists
    p = policy(tmp_path)
    text = format_handoff(
        "refund", "Billing", p, now=CLOSED, language="de", template="Refunds: {when}"
    )
    assert "on Monday at 09:00 (CET)" in text and "Montag" not in text


def test_a_team_writing_in_german_gets_german_reply_times(tmp_path: Path) -> None:
    p = policy(
        tmp_path,
        {"language": "de", "message": "Wir übergeben an {group}. {when}"},
    )
    inside = format_handoff("refund", "Billing", p, now=OPEN)
    assert inside.startswith(
        "Wir übergeben an Billing. Eine Person antwortet in der Regel innerhalb von 4 Stunden."
    )
    # the team's own sentence is kept, with German phrases in it
    hours = {**HOURS, "out_of_hours": "Zurück {next_open}."}
    p = policy(tmp_path, {"language": "de", "message": "{when}"}, business_hours=hours)
    assert format_handoff("refund", None, p, now=CLOSED).startswith(
        "Zurück am Montag um 09:00 Uhr (CET)."
    )


def test_phrases_can_be_overridden_per_language(tmp_path: Path) -> None:
    p = policy(
        tmp_path,
        {
            "translations": {
                "de": {
                    "default": "{when}",
                    "phrases": {
                        "within_hours": "binnen {n} Std.",
                        "weekday": "{weekday}, {time} Uhr",
                        "weekdays": ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"],
                    },
                },
                "en": {"phrases": {"within_hours": ["in an hour", "in {n} business hours"]}},
            }
        },
    )
    assert format_handoff("refund", None, p, now=OPEN, language="de").startswith(
        "Eine Person antwortet in der Regel binnen 4 Std."
    )
    assert format_handoff("refund", None, p, now=CLOSED, language="de").startswith(
        "Unser Team ist gerade nicht erreichbar und Mo, 09:00 Uhr wieder für Sie da."
    )
    # phrases for the team's own language apply to its untranslated messages
    assert "replies in 4 business hours." in format_handoff("refund", None, p, now=OPEN)
    # what is not overridden keeps its built-in wording
    assert phrases_for("de", p.handoff.phrases["de"]).tomorrow == "morgen um {time} Uhr ({zone})"
    assert "phrases" not in p.handoff.translations["de"]


def test_bad_phrases_are_reported_with_their_key_path(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        {
            "language": "it",
            "translations": {
                "DE": {"default": "x"},
                "it": {"default": "Passo la richiesta al team."},
                "fr": {"default": 3, "phrases": "sous"},
                "de": {
                    "phrases": {
                        "weekday": "am {wochentag} um {time}",
                        "weekdays": ["Montag", "Dienstag"],
                        "within_hours": ["a", "b", "c"],
                        "soon": "bald",
                    }
                },
            },
        },
    )
    prefix = "connectors.acme.handoff"
    expected = [
        f"{prefix}.language: no built-in phrases for 'it' (built in: de, en, es, fr, pt)",
        f"{prefix}.translations.DE: must be a two-letter lowercase language code, e.g. de",
        f"{prefix}.translations.it: customers writing in 'it' are not recognised "
        "(recognised: de, en, es, fr, pt)",
        f"{prefix}.translations.fr.default: must be a string",
        f"{prefix}.translations.fr.phrases: must be a mapping of phrase names to texts",
        f"{prefix}.translations.de.phrases.weekday: unknown placeholder {{wochentag}} "
        "(allowed: {weekday}, {time}, {zone})",
        f"{prefix}.translations.de.phrases.weekdays: must be a list of the 7 weekday names, "
        "Monday first",
        f"{prefix}.translations.de.phrases.within_hours: must be a string or a list of two "
        "strings: [singular, plural]",
    ]
    for line in expected:
        assert line in problems
    assert any(
        p.startswith(f"{prefix}.translations.de.phrases.soon: unknown key (known: within_minutes")
        for p in problems
    )


def test_the_shipped_german_example_is_german_throughout() -> None:
    from bridge.config import load_config

    config = load_config(REPO_ROOT / "config.example.yaml", env={})
    p = config.connectors["example-zendesk"].policy
    closed = format_handoff("human_request", "Support", p, now=CLOSED, language="de")
    assert "Unser Team ist gerade nicht erreichbar und am Montag um 09:00 Uhr (CET)" in closed
    inside = format_handoff("human_request", "Support", p, now=OPEN, language="de")
    assert "Eine Person meldet sich in der Regel innerhalb von 4 Stunden." in inside


class _Unnamed(tzinfo):
    """A fixed offset without an abbreviation."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=1)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str | None:
        return None


def test_next_open_without_a_zone_name_leaves_no_empty_brackets() -> None:
    opening = datetime(2026, 12, 7, 9, 0, tzinfo=BERLIN)
    now = datetime(2026, 12, 5, 12, 0, tzinfo=BERLIN)
    assert next_open(BUILT_IN["de"], opening, now) == "am Montag um 09:00 Uhr (CET)"
    unnamed = _Unnamed()
    assert (
        next_open(BUILT_IN["fr"], opening.replace(tzinfo=unnamed), now.replace(tzinfo=unnamed))
        == "lundi à 09:00"
    )


@pytest.mark.parametrize(
    ("language", "team", "signature"),
    [
        ("en", "Over to our support team.", "(automated)"),
        ("de", "Ich übergebe an unser Support-Team.", "(automatisch)"),
        ("fr", "Je transmets à notre équipe d'assistance.", "(automatique)"),
        ("es", "Paso su consulta a nuestro equipo de soporte.", "(automático)"),
        ("pt", "Estou passando para nossa equipe de suporte.", "(automático)"),
    ],
)
def test_the_unnamed_team_and_the_signature_are_in_the_messages_language(
    tmp_path: Path, language: str, team: str, signature: str
) -> None:
    text = format_handoff("refund", None, policy(tmp_path), now=OPEN, language=language)
    first, _, last = text.partition("\n\n— ")
    assert first.startswith(team)
    assert last.endswith(signature)


def test_the_unnamed_team_and_the_signature_can_be_overridden(tmp_path: Path) -> None:
    translations = {
        "de": {
            "default": MESSAGES["de"],
            "phrases": {"support_team": "das Notebird-Team", "automated": "KI"},
        }
    }
    p = policy(tmp_path, {"translations": translations})
    text = format_handoff("refund", None, p, now=OPEN, language="de")
    assert text.startswith("Ich übergebe an das Notebird-Team.") and text.endswith("(KI)")
