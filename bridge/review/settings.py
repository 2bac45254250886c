"""The ``review`` section of the config file: who may open the review UI, and how it counts.

Leaving the section out turns the review UI off (``/review`` answers 404). When it is present
it must carry a ``secret_key`` for the session cookie and at least one credential: a
password hash (``admin_password_hash``) or a token (``admin_token``). There is no way to
configure open access.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates

# Hashes made by werkzeug.security.generate_password_hash start with their method.
_HASH_METHODS = ("scrypt:", "pbkdf2:")
MIN_SECRET_KEY_LENGTH = 32
MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class ReviewSettings:
    # Credentials stay out of repr so they never end up in a log line or a traceback.
    secret_key: str = field(repr=False)
    admin_password_hash: str | None = field(default=None, repr=False)
    admin_token: str | None = field(default=None, repr=False)
    # Off only for plain-http local use: browsers then drop a Secure cookie.
    secure_cookies: bool = True
    session_hours: float = 12.0
    # An answered conversation counts as contained only once this long has passed without the
    # customer coming back or asking for a person.
    containment_window_hours: float = 72.0
    # Failed logins per client address within login_lockout_minutes before refusing more.
    max_failed_logins: int = 10
    login_lockout_minutes: float = 15.0


class ReviewSchema(Schema):
    class Meta:
        unknown = RAISE

    secret_key = fields.Str(required=True)
    admin_password_hash = fields.Str(load_default=None, allow_none=True)
    admin_token = fields.Str(load_default=None, allow_none=True)
    secure_cookies = fields.Bool(load_default=True)
    session_hours = fields.Float(load_default=12.0, validate=validate.Range(min=0.1, max=24 * 30))
    containment_window_hours = fields.Float(
        load_default=72.0, validate=validate.Range(min=1, max=24 * 90)
    )
    max_failed_logins = fields.Int(load_default=10, validate=validate.Range(min=1, max=1000))
    login_lockout_minutes = fields.Float(load_default=15.0, validate=validate.Range(min=0.1))

    @validates("secret_key")
    def _secret_key(self, value: str, **_: Any) -> None:
        if len(value) < MIN_SECRET_KEY_LENGTH:
            raise ValidationError(
                f"must be at least {MIN_SECRET_KEY_LENGTH} characters (e.g. the output of "
                "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )

    @validates("admin_password_hash")
    def _password_hash(self, value: str | None, **_: Any) -> None:
        if value and not value.startswith(_HASH_METHODS):
            raise ValidationError(
                "must be a hash from werkzeug.security.generate_password_hash "
                "(starts with scrypt: or pbkdf2:), never the password itself"
            )

    @validates("admin_token")
    def _token(self, value: str | None, **_: Any) -> None:
        if value and len(value) < MIN_TOKEN_LENGTH:
            raise ValidationError(f"must be at least {MIN_TOKEN_LENGTH} characters")

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> ReviewSettings:
        # "${VAR:-}" left empty means "not set", the same as leaving the key out.
        data["admin_password_hash"] = data.get("admin_password_hash") or None
        data["admin_token"] = data.get("admin_token") or None
        if data["admin_password_hash"] is None and data["admin_token"] is None:
            raise ValidationError(
                "set admin_password_hash or admin_token (or leave out the review section "
                "to turn the review UI off)",
                field_name="_schema",
            )
        return ReviewSettings(**data)
