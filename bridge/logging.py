"""Redaction of everything the service logs: no secret, and by default no customer contact data.

The rule, applied to the formatted message and to tracebacks of every log record any library
makes in a process that loaded the config (web, worker, CLI):

- every configured secret (connector credentials and signing secrets, answerer API keys, the
  web and review secret keys, passwords in the database and broker URLs) becomes ``[secret]``,
  and so do the Basic auth values built from them; any ``Authorization`` header value, bearer
  token or password in a URL becomes ``[secret]`` too, whether configured or not;
- unless ``log_customer_data: true``, email addresses become ``[email]`` and phone numbers
  ``[phone]``. Ticket and delivery ids, dates, times, IP addresses and version numbers stay.

It is a log record factory rather than a handler filter, so handlers added later (Celery's,
gunicorn's) are covered without knowing about them. Secrets shorter than 8 characters are not
replaced: they would garble ordinary words, and no helpdesk issues credentials that short.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import re
import threading
import traceback
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

MIN_SECRET_LENGTH = 8
SECRET = "[secret]"

_EMAIL = re.compile(r"[\w.+%-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Digit groups joined by spaces, hyphens or parentheses, or led by "+"; counted and checked
# in _phone so that dates, times, ids and addresses are left alone.
_PHONE = re.compile(r"(?<![\w.:/+-])(?:\+|\(\+?)?\d[\d ()-]{5,22}\d(?![\w.:/-])")
_PHONE_FIELD = re.compile(
    r"""((?:phone|mobile|tel(?:ephone)?)["']?\s*[:=]\s*["']?)([^"',;\s}]+)""", re.IGNORECASE
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_AUTHORIZATION = re.compile(
    r"""(authorization["']?\s*[:=]\s*["']?)(?:(basic|bearer|token)\s+)?[^\s"',}]+""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(\w[\w+.-]*://[^/\s:@]*:)([^@\s/]+)(@)")


class Redactor:
    def __init__(self, secrets: Iterable[str] = (), *, customer_data: bool = False) -> None:
        found = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
        # Longest first, so a secret containing another is replaced whole.
        self.secrets = sorted(found, key=len, reverse=True)
        self.customer_data = customer_data

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, SECRET)
        text = _URL_PASSWORD.sub(rf"\1{SECRET}\3", text)
        text = _AUTHORIZATION.sub(lambda m: m.group(1) + (m.group(2) or "") + " " + SECRET, text)
        text = _BEARER.sub(lambda m: f"{m.group(1)} {SECRET}", text)
        if not self.customer_data:
            text = _EMAIL.sub("[email]", text)
            text = _PHONE_FIELD.sub(r"\1[phone]", text)
            text = _PHONE.sub(_phone, text)
        return text

    @classmethod
    def from_config(cls, config: Any) -> Redactor:
        return cls(config_secrets(config), customer_data=bool(config.log_customer_data))


def _phone(match: re.Match[str]) -> str:
    candidate = match.group(0)
    digits = sum(c.isdigit() for c in candidate)
    separators = sum(c in " -()" for c in candidate)
    if not 7 <= digits <= 15 or _DATE.search(candidate):
        return candidate
    # "+" or a bracketed area code says phone; otherwise ask for two separators, which a plain
    # number (an id, a count, a port) does not have.
    if candidate.startswith(("+", "(")) or separators >= 2:
        return "[phone]"
    return candidate


def config_secrets(config: Any) -> list[str]:
    """Every secret value the configuration holds, and the forms they travel in."""
    from bridge.decision.guard import config_secrets as credentials

    found = list(credentials(config))
    for holder in (getattr(config, "web", None), getattr(config, "review", None)):
        if holder is not None and dataclasses.is_dataclass(holder):
            found.extend(
                getattr(holder, f.name)
                for f in dataclasses.fields(holder)
                if not f.repr and isinstance(getattr(holder, f.name), str)
            )
    for url in (getattr(config, "database_url", None), getattr(config, "broker_url", None)):
        password = urlsplit(url).password if url else None
        if password:
            found.append(password)
    for connector in (getattr(config, "connectors", None) or {}).values():
        settings = getattr(connector, "settings", None)
        header = getattr(settings, "auth_header", None)
        value = header() if callable(header) else None
        if isinstance(value, str) and " " in value:
            found.append(value.split(" ", 1)[1])  # the base64 of a Basic auth pair
        username = getattr(settings, "webhook_username", None)
        secret = getattr(settings, "webhook_secret", None)
        if username and secret:
            found.append(base64.b64encode(f"{username}:{secret}".encode()).decode("ascii"))
    return list(dict.fromkeys(found))


# -- installation -------------------------------------------------------------------------
_lock = threading.Lock()
_redactor: Redactor | None = None
_installed = False


def install_redaction(config: Any) -> Redactor:
    """Redact every log record made in this process from now on; safe to call again.

    Secrets accumulate across calls (a process that loads two configs redacts both); the
    customer-data choice is the latest config's.
    """
    global _redactor, _installed
    new = Redactor.from_config(config)
    with _lock:
        if _redactor is not None:
            new = Redactor([*_redactor.secrets, *new.secrets], customer_data=new.customer_data)
        _redactor = new
        if not _installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                if _redactor is not None:
                    redact_record(record, _redactor)
                return record

            logging.setLogRecordFactory(factory)
            _installed = True
    return new


def redact_record(record: logging.LogRecord, redactor: Redactor) -> None:
    try:
        message = record.getMessage()
    except Exception:
        return  # a broken format string: let the handler report it as it would
    record.msg = redactor(message)
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = redactor("".join(traceback.format_exception(*record.exc_info)).rstrip())
    if record.stack_info:
        record.stack_info = redactor(record.stack_info)
