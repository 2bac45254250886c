"""The ``answerers`` section of the config file: how to reach each LLM answerer.

Connectors choose an answerer by name in ``assistant.answerer``; the LLM ones need their block
here (model, key, limits). ``extractive`` needs none.

``temperature`` is only honoured by ``openai_compatible``: the Anthropic Messages API this
answerer targets has no sampling knob, so setting it there is a config error rather than a value
silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

ANSWERERS = ("extractive", "anthropic", "openai_compatible")


@dataclass(frozen=True)
class LLMSettings:
    model: str
    api_key: str | None = field(default=None, repr=False)  # kept out of logs and tracebacks
    base_url: str | None = None
    timeout_seconds: float = 30.0
    max_tokens: int = 1024
    max_retries: int = 2
    temperature: float | None = None  # None: the server's default


@dataclass(frozen=True)
class AnswererSettings:
    anthropic: LLMSettings | None = None
    openai_compatible: LLMSettings | None = None

    def configured(self, name: str) -> bool:
        return name == "extractive" or getattr(self, name, None) is not None


class LLMSchema(Schema):
    class Meta:
        unknown = RAISE

    model = fields.Str(required=True, validate=validate.Length(min=1))
    api_key = fields.Str(load_default=None, allow_none=True)
    base_url = fields.Str(load_default=None, allow_none=True)
    timeout_seconds = fields.Float(load_default=30.0, validate=validate.Range(min=1, max=600))
    max_tokens = fields.Int(load_default=1024, validate=validate.Range(min=64, max=64000))
    max_retries = fields.Int(load_default=2, validate=validate.Range(min=0, max=10))
    temperature = fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(min=0, max=2)
    )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> LLMSettings:
        return LLMSettings(**data)


class AnswerersSchema(Schema):
    class Meta:
        unknown = RAISE

    anthropic = fields.Nested(LLMSchema, load_default=None, allow_none=True)
    openai_compatible = fields.Nested(LLMSchema, load_default=None, allow_none=True)

    @validates_schema
    def anthropic_has_no_temperature(self, data: dict[str, Any], **_: Any) -> None:
        anthropic = data.get("anthropic")
        if anthropic is not None and anthropic.temperature is not None:
            raise ValidationError(
                {"temperature": ["not supported by the anthropic answerer"]}, "anthropic"
            )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> AnswererSettings:
        return AnswererSettings(**data)
