"""The policy: everything that shapes a decision, per connector after defaults are merged in.

It is the ``defaults`` section of the config file, overridable under each connector. Every
decision records a hash of its connector's effective policy, so it can be explained and
replayed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates,
    validates_schema,
)

from bridge.knowledge.answerer_settings import ANSWERERS

MODES = ("public", "draft", "dry_run")
PRIORITIES = ("low", "normal", "high", "urgent")
ROLLOUTS = ("auto", "draft", "off")
POLICY_KEYS = ("assistant", "answer", "triggers", "routing", "handoff", "business_hours")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Every trigger the decision core knows, in the order they are checked: the first that fires
# decides the handoff reason. Each is a pure function in bridge/decision/triggers.
TRIGGER_NAMES = (
    "security",
    "legal_privacy",
    "human_request",
    "billing_dispute",
    "refund",
    "cancellation",
    "account_action",
    "high_value",
    "vip",
    "frustration",
    "loop",
    "new_customer",
)


# --- typed policy -----------------------------------------------------------------------


@dataclass(frozen=True)
class AssistantPolicy:
    label: str
    product_context: str
    answerer: str
    # Ends every AI reply: how to reach a person. The word in it must always work.
    way_out: str = 'Reply "agent" at any time to reach our team.'


@dataclass(frozen=True)
class AnswerPolicy:
    min_confidence: float
    top_k: int
    max_citations: int
    # An answerer that finds no answer hands off as low_confidence from here up to
    # min_confidence (the docs touch the question), as missing_knowledge below (they do not).
    low_confidence_floor: float


@dataclass(frozen=True)
class TriggerSettings:
    """One trigger's configuration. The extras only mean something to the triggers that use them."""

    enabled: bool = True
    extra_phrases: tuple[str, ...] = ()  # more words that fire it, matched case-insensitively
    message: str | None = None  # customer-facing handoff message for this trigger
    group: str | None = None  # overrides routing
    priority: str | None = None  # ticket priority to set on handoff (low/normal/high/urgent)
    # auto: act; draft: write the handoff as an internal note for an agent; off: never fire
    rollout: str = "auto"
    threshold: float | None = None  # frustration: score 0..1; loop: question similarity 0..1
    max_turns: int | None = None  # loop: bot answers without resolution before handing off
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # vip: field -> values
    tags: tuple[str, ...] = ()  # vip: ticket or customer tags that mark the customer
    max_account_age_days: int | None = None  # new_customer
    account_age_field: str | None = None  # new_customer: customer field with the age or date


@dataclass(frozen=True)
class RoutingRule:
    """Every condition given must match; a condition left out matches anything."""

    group: str
    reasons: tuple[str, ...] = ("*",)
    tiers: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    priority: str | None = None


@dataclass(frozen=True)
class Routing:
    default_group: str | None
    rules: tuple[RoutingRule, ...]
    default_priority: str | None = None


@dataclass(frozen=True)
class BusinessHours:
    """When people answer, so a handoff message can say when a reply will come."""

    timezone: ZoneInfo
    weekly: Mapping[int, tuple[tuple[time, time], ...]]  # weekday (0 = Monday) -> open spans
    holidays: frozenset[date]
    reply_within_hours: float
    in_hours: str  # "{within}" is the promise, e.g. "within 2 hours"
    out_of_hours: str  # "{next_open}" is when people are back, e.g. "Monday at 09:00 (CET)"

    @property
    def always_open(self) -> bool:
        return not self.weekly


@dataclass(frozen=True)
class HandoffPolicy:
    message: str
    messages: Mapping[str, str]
    tags: tuple[str, ...]
    # language code -> {"default" or a reason, in_hours, out_of_hours -> text}: used when the
    # customer wrote in it
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # The language of message, messages, trigger messages and business_hours' sentences: the
    # reply times in them ({within}, {next_open}) are written in it.
    language: str = "en"
    # language code -> the phrases for reply times the team overrides in that language
    # (translations.<lang>.phrases), each a string or a tuple of strings
    phrases: Mapping[str, Mapping[str, str | tuple[str, ...]]] = field(default_factory=dict)
    # After a person solves a handed-off ticket, may the bot answer if the customer writes again?
    resume_after_solved: bool = False


@dataclass(frozen=True)
class Policy:
    mode: str
    assistant: AssistantPolicy
    answer: AnswerPolicy
    triggers: Mapping[str, TriggerSettings]
    routing: Routing
    handoff: HandoffPolicy
    business_hours: BusinessHours
    digest: str = ""  # hash of the effective policy, recorded with every decision


# --- schemas ----------------------------------------------------------------------------


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def defaults_of(schema: type[Schema]) -> Any:
    """A nested section left out entirely gets its schema's defaults, post_load included."""
    return lambda: schema().load({})


def _strings(**kwargs: Any) -> fields.List:
    return fields.List(fields.Str(), load_default=list, **kwargs)


class AssistantSchema(_Strict):
    label = fields.Str(load_default="AI assistant", validate=validate.Length(min=1))
    product_context = fields.Str(load_default="")
    answerer = fields.Str(load_default="extractive", validate=validate.OneOf(ANSWERERS))
    way_out = fields.Str(load_default=AssistantPolicy.way_out)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> AssistantPolicy:
        return AssistantPolicy(**data)


# Left out, the floor follows min_confidence: a team that raises the bar for answering also
# asks more of a passage before calling it close.
DEFAULT_FLOOR_SHARE = 0.5


class AnswerSchema(_Strict):
    min_confidence = fields.Float(load_default=0.6, validate=validate.Range(0, 1))
    top_k = fields.Int(load_default=5, validate=validate.Range(1, 50))
    max_citations = fields.Int(load_default=2, validate=validate.Range(1, 10))
    low_confidence_floor = fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(0, 1)
    )

    @validates_schema
    def _floor_within_threshold(self, data: dict[str, Any], **_: Any) -> None:
        floor, threshold = data.get("low_confidence_floor"), data.get("min_confidence", 0.6)
        if floor is not None and floor > threshold:
            # Above the threshold the band would be empty and the setting silently ignored.
            raise ValidationError(
                {"low_confidence_floor": [f"must not be greater than min_confidence ({threshold})"]}
            )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> AnswerPolicy:
        if data["low_confidence_floor"] is None:
            data["low_confidence_floor"] = round(data["min_confidence"] * DEFAULT_FLOOR_SHARE, 4)
        return AnswerPolicy(**data)


class _FieldValues(fields.Dict):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(keys=fields.Str(), values=fields.List(fields.Str()), **kwargs)


class TriggerSchema(_Strict):
    enabled = fields.Bool(load_default=True)
    extra_phrases = _strings()
    message = fields.Str(load_default=None, allow_none=True)
    group = fields.Str(load_default=None, allow_none=True)
    priority = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(PRIORITIES))
    rollout = fields.Str(load_default="auto", validate=validate.OneOf(ROLLOUTS))
    threshold = fields.Float(load_default=None, allow_none=True, validate=validate.Range(0, 1))
    max_turns = fields.Int(load_default=None, allow_none=True, validate=validate.Range(1, 100))
    fields_ = _FieldValues(data_key="fields", load_default=dict)
    tags = _strings()
    max_account_age_days = fields.Int(
        load_default=None, allow_none=True, validate=validate.Range(0, 36500)
    )
    account_age_field = fields.Str(load_default=None, allow_none=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> TriggerSettings:
        data["extra_phrases"] = tuple(data["extra_phrases"])
        data["tags"] = tuple(data["tags"])
        data["fields"] = {k: tuple(v) for k, v in data.pop("fields_").items()}
        return TriggerSettings(**data)


class _TriggersBase(_Strict):
    """``triggers.<name>``: one block per trigger; a trigger left out gets its defaults."""

    @pre_load
    def known_names(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(TRIGGER_NAMES))
            if unknown:
                known = ", ".join(TRIGGER_NAMES)
                raise ValidationError(
                    {name: [f"unknown trigger (known: {known})"] for name in unknown}
                )
        return data

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Mapping[str, TriggerSettings]:
        return MappingProxyType(
            {name: data.get(name) or TriggerSchema().load({}) for name in TRIGGER_NAMES}
        )


TriggersSchema = type(
    "TriggersSchema",
    (_TriggersBase,),
    {name: fields.Nested(TriggerSchema, load_default=None) for name in TRIGGER_NAMES},
)


class _OneOrMany(fields.Field):
    """A string or a list of strings, e.g. ``reason: refund`` or ``reason: [refund, ...]``."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ValidationError("must be a string or a list of strings")


class RoutingRuleSchema(_Strict):
    reason = _OneOrMany(load_default=("*",))
    tier = _OneOrMany(load_default=())
    language = _OneOrMany(load_default=())
    tags = _OneOrMany(load_default=())
    channel = _OneOrMany(load_default=())
    fields_ = _FieldValues(data_key="fields", load_default=dict)
    group = fields.Str(required=True)
    priority = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(PRIORITIES))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> RoutingRule:
        return RoutingRule(
            group=data["group"],
            reasons=data["reason"],
            tiers=data["tier"],
            languages=data["language"],
            tags=data["tags"],
            channels=data["channel"],
            fields={k: tuple(v) for k, v in data["fields_"].items()},
            priority=data["priority"],
        )


class RoutingSchema(_Strict):
    default_group = fields.Str(load_default=None, allow_none=True)
    default_priority = fields.Str(
        load_default=None, allow_none=True, validate=validate.OneOf(PRIORITIES)
    )
    rules = fields.List(fields.Nested(RoutingRuleSchema), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Routing:
        return Routing(
            default_group=data["default_group"],
            rules=tuple(data["rules"]),
            default_priority=data["default_priority"],
        )


_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class _Spans(fields.Field):
    """``"09:00-17:00"``, ``"09:00-12:00, 13:00-17:00"``, or empty/null for closed."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> tuple[tuple[time, time], ...]:
        if value in (None, "", "closed"):
            return ()
        if not isinstance(value, str):
            raise ValidationError('must look like "09:00-17:00"')
        spans = []
        for part in value.split(","):
            match = _SPAN.match(part.strip())
            if not match:
                raise ValidationError(f'{part.strip()!r} must look like "09:00-17:00"')
            h1, m1, h2, m2 = map(int, match.groups())
            if not (h1 < 24 and h2 <= 24 and m1 < 60 and m2 < 60):
                raise ValidationError(f"{part.strip()!r} is not a time of day")
            start = time(h1, m1)
            end = time(23, 59, 59) if h2 == 24 else time(h2, m2)
            if end <= start:
                raise ValidationError(f"{part.strip()!r} ends before it starts")
            spans.append((start, end))
        return tuple(spans)


DEFAULT_IN_HOURS = "A person usually replies {within}."
DEFAULT_OUT_OF_HOURS = (
    "Our team is offline right now; a person will reply after we open again, {next_open}."
)


class BusinessHoursSchema(_Strict):
    timezone = fields.Str(load_default="UTC")
    # Left out entirely: always open. Listed: the days not listed are closed.
    weekly = fields.Dict(
        keys=fields.Str(validate=validate.OneOf(WEEKDAYS)), values=_Spans(), load_default=dict
    )
    holidays = fields.List(fields.Date(), load_default=list)
    reply_within_hours = fields.Float(load_default=24.0, validate=validate.Range(min=0.1))
    in_hours = fields.Str(load_default=DEFAULT_IN_HOURS)
    out_of_hours = fields.Str(load_default=DEFAULT_OUT_OF_HOURS)

    @validates("timezone")
    def known_zone(self, value: str, **_: Any) -> None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"unknown time zone {value!r} (e.g. Europe/Berlin)") from None

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> BusinessHours:
        return BusinessHours(
            timezone=ZoneInfo(data["timezone"]),
            weekly={WEEKDAYS.index(day): spans for day, spans in data["weekly"].items()},
            holidays=frozenset(data["holidays"]),
            reply_within_hours=data["reply_within_hours"],
            in_hours=data["in_hours"],
            out_of_hours=data["out_of_hours"],
        )


DEFAULT_HANDOFF_MESSAGE = (
    "I'm handing this over to our support team ({group}). {when} You don't need to repeat "
    "anything: they can see everything you've written so far."
)


_LANGUAGE_CODE = re.compile(r"^[a-z]{2}$")


class _Translations(fields.Field):
    """``translations.<lang>``: texts by "default", reason, in_hours and out_of_hours, plus
    ``phrases``, the team's own words for reply times in that language."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> dict[str, dict[str, Any]]:
        # Imported here: the decision package imports this module while it loads.
        from bridge.decision.phrases import LANGUAGES, check_overrides

        if not isinstance(value, dict):
            raise ValidationError("must be a mapping of language codes (de, fr, ...) to messages")
        result: dict[str, dict[str, Any]] = {}
        problems: dict[str, Any] = {}
        for lang, block in value.items():
            if not (isinstance(lang, str) and _LANGUAGE_CODE.match(lang)):
                problems[str(lang)] = ["must be a two-letter lowercase language code, e.g. de"]
                continue
            if lang not in LANGUAGES:
                # The customer's language is detected among these only: a message in any
                # other would never be sent, and the team would not know why.
                problems[lang] = [
                    f"customers writing in {lang!r} are not recognised "
                    f"(recognised: {', '.join(LANGUAGES)})"
                ]
                continue
            if not isinstance(block, dict):
                problems[lang] = ["must be a mapping of message names to texts"]
                continue
            texts: dict[str, Any] = {}
            wrong: dict[str, Any] = {}
            for key, text in block.items():
                if key == "phrases":
                    if not isinstance(text, dict):
                        wrong[key] = ["must be a mapping of phrase names to texts"]
                        continue
                    texts[key], phrase_problems = check_overrides(text)
                    if phrase_problems:
                        wrong[key] = phrase_problems
                elif isinstance(text, str):
                    texts[str(key)] = text
                else:
                    wrong[str(key)] = ["must be a string"]
            if wrong:
                problems[lang] = wrong
            result[lang] = texts
        if problems:
            raise ValidationError(problems)
        return result


class HandoffSchema(_Strict):
    message = fields.Str(load_default=DEFAULT_HANDOFF_MESSAGE)
    messages = fields.Dict(keys=fields.Str(), values=fields.Str(), load_default=dict)
    language = fields.Str(load_default="en")
    translations = _Translations(load_default=dict)
    tags = fields.List(fields.Str(), load_default=lambda: ["ai_escalated"])
    resume_after_solved = fields.Bool(load_default=False)

    @validates("language")
    def known_language(self, value: str, **_: Any) -> None:
        # Imported here: the decision package imports this module while it loads.
        from bridge.decision.phrases import LANGUAGES

        if value not in LANGUAGES:
            raise ValidationError(
                f"no built-in phrases for {value!r} (built in: {', '.join(LANGUAGES)})"
            )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> HandoffPolicy:
        translations = data["translations"]
        return HandoffPolicy(
            message=data["message"],
            messages=dict(data["messages"]),
            tags=tuple(data["tags"]),
            translations={
                lang: {k: v for k, v in texts.items() if k != "phrases"}
                for lang, texts in translations.items()
            },
            language=data["language"],
            phrases={
                lang: texts["phrases"] for lang, texts in translations.items() if "phrases" in texts
            },
            resume_after_solved=data["resume_after_solved"],
        )


class PolicySchema(_Strict):
    mode = fields.Str(load_default="public", validate=validate.OneOf(MODES))
    assistant = fields.Nested(AssistantSchema, load_default=defaults_of(AssistantSchema))
    answer = fields.Nested(AnswerSchema, load_default=defaults_of(AnswerSchema))
    triggers = fields.Nested(TriggersSchema, load_default=defaults_of(TriggersSchema))
    routing = fields.Nested(RoutingSchema, load_default=defaults_of(RoutingSchema))
    handoff = fields.Nested(HandoffSchema, load_default=defaults_of(HandoffSchema))
    business_hours = fields.Nested(
        BusinessHoursSchema, load_default=defaults_of(BusinessHoursSchema)
    )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Policy:
        return Policy(**data)
