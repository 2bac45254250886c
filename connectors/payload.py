"""Marshmallow fields and helpers that every connector's webhook and settings schemas share.

Webhook bodies are either rendered from a template an admin pasted into the helpdesk (every
value arrives as text, an empty placeholder as blank or null) or sent as JSON that grows with
each API version. The leniencies that follow from that, and the wording of the errors an admin
reads when a delivery is refused, should be the same whichever helpdesk sent the body.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any, Final, Literal

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from connectors.base import MalformedPayload

MISSING: Final = "missing required field"
NOT_EMPTY: Final = validate.Length(min=1, error="must not be empty")

#: What splits a tag list rendered as text, by the name the error message uses for it.
_TAG_SEPARATORS: Final[dict[str, str | None]] = {"space": None, "comma": ","}


class StrippedString(fields.String):
    """Secrets, ids and names pasted into YAML often carry stray whitespace or a newline."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


class DigitsId(fields.Field):
    """A helpdesk's numeric id of a person, such as the seat the bot writes as.

    YAML turns an unquoted id into an int, so both are accepted; the id is kept as text.
    ``kind`` names the id in the error (``"a Zendesk user id"``), so the admin knows which of
    the helpdesk's ids is meant.
    """

    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        super().__init__(error_messages={"invalid": f"must be {kind} (digits only)"}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.make_error("invalid")
        text = str(value).strip()
        if not (text.isascii() and text.isdigit()):
            raise self.make_error("invalid")
        return text


def present(value: str) -> None:
    """Reject a blank value: a placeholder with nothing to render is as good as missing."""
    if not value:
        raise ValidationError(MISSING)


def digits_only(kind: str) -> Callable[[str], None]:
    """A validator for a required id the helpdesk numbers, such as a ticket's.

    ``kind`` names the id in the error (``"a ticket number"``); the value is quoted back, since
    it is most often a placeholder the helpdesk did not render.
    """

    def check(value: str) -> None:
        present(value)
        if not (value.isascii() and value.isdigit()):
            raise ValidationError(f"not {kind}: {value[:40]!r}")

    return check


class Text(fields.Field):
    """A text value. Ids may arrive as JSON numbers; blank and null both mean "not given"."""

    default_error_messages = {"invalid": "must be a string", "required": MISSING}

    def __init__(self, *, required: bool = False, **kwargs: Any) -> None:
        if required:
            kwargs.setdefault("validate", present)
            super().__init__(required=True, **kwargs)
        else:
            super().__init__(load_default="", **kwargs)

    def deserialize(
        self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any
    ) -> Any:
        # A placeholder with nothing to render may come through as null.
        return super().deserialize("" if value is None else value, attr, data, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.make_error("invalid")
        return str(value).strip()


class Flag(fields.Field):
    """A boolean; missing, null (and, from a template, blank) give ``default``.

    ``from_text`` is for bodies rendered from a template, where a flag arrives as the text
    ``true``/``false`` (or ``1``/``0``, ``yes``/``no``). Without it only a JSON boolean is
    accepted, since a vendor's own JSON that carries anything else has changed shape.
    """

    default_error_messages = {"invalid": "must be true or false"}

    def __init__(self, *, default: bool | None, from_text: bool) -> None:
        super().__init__(load_default=default)
        self._default = default
        self._from_text = from_text

    def deserialize(
        self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any
    ) -> Any:
        # Null is how an unset flag arrives in JSON and an empty placeholder may render; either
        # way it is "not given", which even a JSON-only flag must not refuse.
        if value is None:
            return self._default
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        if not self._from_text:
            raise self.make_error("invalid")
        text = str(value).strip().lower()
        if text in {"true", "1", "yes"}:
            return True
        if text in {"false", "0", "no"}:
            return False
        if text == "":
            return self._default
        raise self.make_error("invalid")


class Tags(fields.Field):
    """Tags as a JSON list, or as the text a ``{{ticket.tags}}`` placeholder renders.

    Helpdesks render that placeholder differently (Zendesk space-separated, Freshdesk
    comma-separated), hence ``separated_by``. ``unique`` drops repeats, keeping the first; a
    connector whose helpdesk already keeps a ticket's tags unique leaves the list as sent.
    """

    def __init__(
        self, *, separated_by: Literal["space", "comma"] = "space", unique: bool = False
    ) -> None:
        super().__init__(
            load_default=(),
            error_messages={"invalid": f"must be a list of tags or {separated_by}-separated text"},
        )
        self._separator = _TAG_SEPARATORS[separated_by]
        self._unique = unique

    def deserialize(
        self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any
    ) -> Any:
        return super().deserialize("" if value is None else value, attr, data, **kwargs)

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> tuple[str, ...]:
        if isinstance(value, str):
            items = value.split(self._separator)
        elif isinstance(value, list) and all(isinstance(tag, str) for tag in value):
            items = value
        else:
            raise self.make_error("invalid")
        tags = [tag.strip() for tag in items if tag.strip()]
        return tuple(dict.fromkeys(tags)) if self._unique else tuple(tags)


def nested(schema: type[Schema], *, required: bool) -> fields.Nested:
    """A nested object whose absence reads like any other missing field.

    When not required, a missing or null object loads as None, so the caller can tell "not
    sent" from an empty object.
    """
    messages = {"required": MISSING, "null": MISSING, "type": "must be an object"}
    if required:
        return fields.Nested(schema, required=True, error_messages=messages)
    return fields.Nested(schema, load_default=None, allow_none=True, error_messages=messages)


class LenientSchema(Schema):
    """A webhook body's shape: only the keys the bridge reads are checked.

    Admins add their own keys to a template's body and vendors add fields to their objects
    with every API version; neither should make a delivery fail.
    """

    class Meta:
        unknown = EXCLUDE


def first_error(messages: Any, prefix: str = "") -> tuple[str, str]:
    """The first problem marshmallow reported, as a dotted field path and a message.

    Errors come in declaration order, so for a template's body the first one is its first
    missing field, which is the one an admin fixing their trigger or rule should look at.
    """
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            return first_error(value, path)
    if isinstance(messages, list) and messages:
        return first_error(messages[0], prefix)
    return prefix or "body", str(messages)


def load_payload(schema: type[Schema], data: Any, prefix: str = "") -> dict[str, Any]:
    """Load ``data`` with ``schema``, a refusal reported as ``MalformedPayload`` on one field.

    ``prefix`` is where ``data`` sits in the whole body, so the field is named by its path
    from the top of what the helpdesk sent.
    """
    try:
        return _instance(schema).load(data)
    except ValidationError as exc:
        path, message = first_error(exc.messages, prefix)
        raise MalformedPayload(f"{path}: {message}", field=path) from exc


@cache
def _instance(schema: type[Schema]) -> Schema:
    # Building a schema deep-copies every declared field: a third of a webhook's parsing time
    # when done per request. A schema holds no state between loads, so one instance serves all.
    return schema()


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time, or None: a missing or odd timestamp is not worth losing a message.

    A time without an offset is taken as UTC, so every time compares with every other.
    """
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ConnectorSettingsSchema(Schema):
    """The keys every helpdesk's ``connectors.<name>`` block has besides its own.

    An unknown key is an error: a misspelt setting must not be silently ignored.
    """

    class Meta:
        unknown = RAISE

    # The helpdesk's address when it is not derived from the account (a proxy, a test server).
    base_url = fields.Url(load_default=None, schemes={"http", "https"}, require_tld=False)
    timeout_seconds = fields.Float(
        load_default=10.0, validate=validate.Range(min=0, min_inclusive=False)
    )
    max_retries = fields.Integer(load_default=3, validate=validate.Range(min=0, max=10))
