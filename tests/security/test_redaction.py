"""The redaction rule on single log lines and records (the full run is test_log_capture.py)."""

from __future__ import annotations

import logging

import pytest

from bridge.logging import SECRET, Redactor, install_redaction, redact_record

SECRETS = ["zendesk-signing-secret-1234", "api-token-abcdefgh"]


@pytest.fixture
def redact() -> Redactor:
    return Redactor(SECRETS)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("signing with zendesk-signing-secret-1234", f"signing with {SECRET}"),
        ("x api-token-abcdefghzendesk-signing-secret-1234", f"x {SECRET}{SECRET}"),
        ("Authorization: Basic Ym90QGFjbWUudGVzdDp4", f"Authorization: Basic {SECRET}"),
        ('{"authorization": "Bearer eyJhbGciOi.J9"}', f'{{"authorization": "Bearer {SECRET}"}}'),
        ("sent Bearer abcdefghijklmnop", f"sent Bearer {SECRET}"),
        ("postgresql://bridge:pa55word@db/x", f"postgresql://bridge:{SECRET}@db/x"),
        ("mail sam.lee+help@example.co.uk now", "mail [email] now"),
        ("call +1 (555) 010-4477 or 555 010 4477", "call [phone] or [phone]"),
        ("whatsapp +4915112345678", "whatsapp [phone]"),
        ('{"phone": "5550104477"}', '{"phone": "[phone]"}'),
    ],
)
def test_secrets_and_customer_data_are_replaced(redact: Redactor, line: str, expected: str) -> None:
    assert redact(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "[2026-12-01 15:24:16,237: INFO/MainProcess] ticket acme/10093: reply (answered), written",
        "Task bridge.handle_event[cee1c45b-9417-49f2-8b38-97b5ad638a80] succeeded in 0.1s",
        "GET http://127.0.0.1:45187/api/v2/tickets/10093/comments.json: HTTP 429, retry 1 of 3",
        "delivery 1234567890 dead-lettered after 7 attempts",
        "kombu 5.7.0 on 10.0.0.12 since 2026-12-01 10:00",
        '127.0.0.1 - - [01/Dec/2026:15:24:16 +0000] "POST /webhooks/acme HTTP/1.1" 202 62',
        "a short secret is ignored: token",
    ],
)
def test_ordinary_log_lines_are_left_alone(redact: Redactor, line: str) -> None:
    assert redact(line) == line


def test_customer_data_stays_when_the_config_says_so() -> None:
    redact = Redactor(SECRETS, customer_data=True)
    line = "sam@example.com +1 (555) 010-4477 zendesk-signing-secret-1234"
    assert redact(line) == f"sam@example.com +1 (555) 010-4477 {SECRET}"


def test_a_record_is_redacted_with_its_arguments_and_traceback(redact: Redactor) -> None:
    try:
        raise ValueError("token api-token-abcdefgh rejected for sam@example.com")
    except ValueError:
        import sys

        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "call for %s failed", ("sam@example.com",), exc_info
    )
    redact_record(record, redact)
    formatted = logging.Formatter().format(record)
    assert "sam@example.com" not in formatted and "api-token-abcdefgh" not in formatted
    assert "call for [email] failed" in formatted and f"token {SECRET} rejected" in formatted


def test_once_installed_every_logger_is_covered(caplog: pytest.LogCaptureFixture) -> None:
    class Config:
        log_customer_data = False
        connectors: dict[str, object] = {}

    install_redaction(Config())
    with caplog.at_level(logging.INFO):
        logging.getLogger("some.library").info("user %s", "jo@example.org")
    assert caplog.records[-1].getMessage() == "user [email]"
