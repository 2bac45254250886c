"""The shared HTTP helper: retries, Retry-After, and vendor error messages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses

import bridge
from connectors.base import HelpdeskError
from connectors.http import HttpClient, parse_retry_after, vendor_message

BASE = "https://acme.zendesk.com/api/v2/"
URL = BASE + "tickets/1.json"
RATE_LIMIT_TEXT = "Number of allowed API requests per minute exceeded"


def make_client(sleeps: list[float], **overrides: Any) -> HttpClient:
    options: dict[str, Any] = {
        "headers": {"Authorization": "Bearer secret"},
        "sleep": sleeps.append,
        # Jitter fixed at its midpoint so backoff delays are exact.
        "jitter": lambda: 0.5,
    }
    options.update(overrides)
    return HttpClient(BASE, **options)


def rate_limited(retry_after: str | None) -> None:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    responses.add(
        responses.GET,
        URL,
        status=429,
        body=RATE_LIMIT_TEXT,
        content_type="text/plain",
        headers=headers,
    )


@responses.activate
def test_sends_identity_and_auth_headers_and_parses_json(sleeps: list[float]) -> None:
    responses.add(responses.GET, URL, json={"ticket": {"id": 1}})

    assert make_client(sleeps).get("tickets/1.json") == {"ticket": {"id": 1}}

    sent = responses.calls[0].request.headers
    assert sent["User-Agent"] == f"helpdesk-bridge/{bridge.__version__}"
    assert sent["Content-Type"] == "application/json"
    assert sent["Authorization"] == "Bearer secret"


@responses.activate
def test_absolute_url_is_used_as_is_for_pagination_links(sleeps: list[float]) -> None:
    next_link = "https://acme.zendesk.com/api/v2/groups.json?page%5Bafter%5D=abc&page%5Bsize%5D=1"
    responses.add(responses.GET, next_link, json={"groups": []})

    make_client(sleeps).get(next_link)

    assert responses.calls[0].request.url == next_link


@responses.activate
def test_empty_body_returns_none(sleeps: list[float]) -> None:
    responses.add(responses.PUT, URL, body="", status=204)

    assert make_client(sleeps).put("tickets/1.json", json={"ticket": {}}) is None


@responses.activate
def test_429_with_retry_after_is_retried_after_the_header_delay(
    sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    rate_limited("7")
    responses.add(responses.GET, URL, json={"ok": True})

    with caplog.at_level(logging.WARNING, logger="connectors.http"):
        result = make_client(sleeps).get("tickets/1.json")

    assert result == {"ok": True}
    assert sleeps == [7.0]
    assert len(responses.calls) == 2
    assert "HTTP 429" in caplog.text


@responses.activate
def test_long_retry_after_raises_retryable_without_sleeping(sleeps: list[float]) -> None:
    rate_limited("120")

    with pytest.raises(HelpdeskError) as caught:
        make_client(sleeps, max_inline_wait=10).get("tickets/1.json")

    error = caught.value
    assert error.retryable is True
    assert error.retry_after == 120.0
    assert error.status == 429
    assert error.vendor_message == RATE_LIMIT_TEXT
    assert sleeps == []
    assert len(responses.calls) == 1


@responses.activate
def test_429_without_retry_after_backs_off_exponentially(sleeps: list[float]) -> None:
    for _ in range(3):
        rate_limited(None)
    responses.add(responses.GET, URL, json={})

    make_client(sleeps, max_retries=3, backoff_base=1.0).get("tickets/1.json")

    # Half fixed, half jitter (fixed at 0.5 here): 0.75 x 1, 2, 4 s.
    assert sleeps == [0.75, 1.5, 3.0]


@responses.activate
def test_backoff_is_capped_at_backoff_max(sleeps: list[float]) -> None:
    for _ in range(4):
        responses.add(responses.GET, URL, status=503)
    responses.add(responses.GET, URL, json={})

    make_client(sleeps, max_retries=4, backoff_base=1.0, backoff_max=3.0, jitter=lambda: 1.0).get(
        "tickets/1.json"
    )

    assert sleeps == [1.0, 2.0, 3.0, 3.0]


@responses.activate
def test_backoff_longer_than_inline_wait_is_handed_to_the_caller(sleeps: list[float]) -> None:
    responses.add(responses.GET, URL, status=500)

    with pytest.raises(HelpdeskError) as caught:
        make_client(sleeps, backoff_base=30.0, backoff_max=60.0).get("tickets/1.json")

    assert caught.value.retryable is True
    assert caught.value.retry_after == 22.5
    assert sleeps == []


@responses.activate
def test_5xx_exhausts_retries_then_raises_retryable_with_status(sleeps: list[float]) -> None:
    responses.add(responses.GET, URL, status=502, body="<html><body>Bad gateway</body></html>")

    with pytest.raises(HelpdeskError) as caught:
        make_client(sleeps, max_retries=3).get("tickets/1.json")

    error = caught.value
    assert len(responses.calls) == 4
    assert len(sleeps) == 3
    assert error.retryable is True
    assert error.status == 502
    assert error.method == "GET"
    assert error.url == URL
    assert "Bad gateway" in (error.vendor_message or "")


@responses.activate
def test_404_is_not_retried_and_carries_the_vendor_message(
    sleeps: list[float], fixture_bytes: Callable[[str, str], bytes]
) -> None:
    body = fixture_bytes("zendesk", "api_error_404_record_not_found.response.zenpy-cassette.json")
    responses.add(responses.PUT, URL, status=404, body=body, content_type="application/json")

    with pytest.raises(HelpdeskError) as caught:
        make_client(sleeps).put("tickets/1.json", json={"ticket": {"status": "open"}})

    error = caught.value
    assert error.retryable is False
    assert error.status == 404
    assert error.vendor_message == "RecordNotFound: Not found"
    assert error.method == "PUT"
    assert error.url == URL
    assert len(responses.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [401, 403])
@responses.activate
def test_auth_failures_say_the_credentials_were_rejected(sleeps: list[float], status: int) -> None:
    responses.add(responses.GET, URL, status=status, json={"error": "Couldn't authenticate you"})

    with pytest.raises(HelpdeskError, match="credentials were rejected") as caught:
        make_client(sleeps).get("tickets/1.json")

    assert caught.value.retryable is False
    assert caught.value.vendor_message == "Couldn't authenticate you"
    assert len(responses.calls) == 1


@responses.activate
def test_connection_error_is_retried(sleeps: list[float]) -> None:
    responses.add(responses.GET, URL, body=requests.exceptions.ConnectionError("reset by peer"))
    responses.add(responses.GET, URL, json={"ok": True})

    assert make_client(sleeps).get("tickets/1.json") == {"ok": True}
    assert len(sleeps) == 1


@responses.activate
def test_connection_errors_exhaust_into_a_retryable_error(sleeps: list[float]) -> None:
    responses.add(responses.GET, URL, body=requests.exceptions.ReadTimeout("read timed out"))

    with pytest.raises(HelpdeskError) as caught:
        make_client(sleeps, max_retries=2).get("tickets/1.json")

    assert caught.value.retryable is True
    assert caught.value.status is None
    assert len(responses.calls) == 3


@responses.activate
def test_non_idempotent_write_is_not_repeated_after_an_ambiguous_failure(
    sleeps: list[float],
) -> None:
    responses.add(responses.PUT, URL, status=502)

    with pytest.raises(HelpdeskError) as caught:
        make_client(sleeps).put("tickets/1.json", json={"ticket": {}}, idempotent=False)

    assert caught.value.retryable is True  # by the task, which re-reads the ticket first
    assert caught.value.status == 502
    assert len(responses.calls) == 1


@responses.activate
def test_non_idempotent_write_is_not_repeated_after_a_read_timeout(sleeps: list[float]) -> None:
    responses.add(responses.PUT, URL, body=requests.exceptions.ReadTimeout("read timed out"))

    with pytest.raises(HelpdeskError, match="may or may not have been applied"):
        make_client(sleeps).put("tickets/1.json", json={"ticket": {}}, idempotent=False)

    assert len(responses.calls) == 1


@responses.activate
def test_non_idempotent_write_is_retried_when_it_never_left(sleeps: list[float]) -> None:
    responses.add(responses.PUT, URL, body=requests.exceptions.ConnectTimeout("connect timeout"))
    responses.add(responses.PUT, URL, status=429, headers={"Retry-After": "1"})
    responses.add(responses.PUT, URL, json={"audit": {}})

    result = make_client(sleeps).put("tickets/1.json", json={"ticket": {}}, idempotent=False)

    assert result == {"audit": {}}
    assert len(responses.calls) == 3
    assert sleeps[1] == 1.0


@responses.activate
def test_2xx_that_is_not_json_is_an_error(sleeps: list[float]) -> None:
    responses.add(responses.GET, URL, body="<html>maintenance</html>", content_type="text/html")

    with pytest.raises(HelpdeskError, match="not JSON"):
        make_client(sleeps).get("tickets/1.json")


def test_retry_after_parses_seconds_and_http_dates() -> None:
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)

    assert parse_retry_after("30", now) == 30.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:45 GMT", now) == 45.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now) == 0.0
    assert parse_retry_after("-5", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


@responses.activate
def test_503_retry_after_as_http_date_is_honoured(sleeps: list[float]) -> None:
    # A date already in the past means "retry now".
    responses.add(
        responses.GET, URL, status=503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    )
    responses.add(responses.GET, URL, json={})

    make_client(sleeps).get("tickets/1.json")

    assert sleeps == [0.0]


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        # Zendesk
        (
            '{"error":"RecordNotFound","description":"Not found"}',
            "application/json",
            "RecordNotFound: Not found",
        ),
        (
            '{"error":{"title":"Forbidden","message":"You do not have access"}}',
            "application/json",
            "Forbidden: You do not have access",
        ),
        (
            '{"errors":[{"code":"TooManyValues","title":"Too many","detail":"Max 100"}]}',
            "application/json",
            "TooManyValues: Too many: Max 100",
        ),
        (
            '{"error":"RecordInvalid","description":"Record validation errors",'
            '"details":{"status":[{"description":"Status: closed prevents ticket update",'
            '"error":"InvalidValue"}]}}',
            "application/json",
            "RecordInvalid: Record validation errors; "
            "status: Status: closed prevents ticket update",
        ),
        (RATE_LIMIT_TEXT + "\n", "text/plain", RATE_LIMIT_TEXT),
        # Intercom
        (
            '{"type":"error.list","request_id":"r1",'
            '"errors":[{"code":"unauthorized","message":"Access Token Invalid"}]}',
            "application/json",
            "unauthorized: Access Token Invalid",
        ),
        # Freshdesk
        (
            '{"description":"Validation failed","errors":[{"field":"page",'
            '"message":"Too deep","code":"invalid_value"}]}',
            "application/json",
            "Validation failed; page: invalid_value: Too deep",
        ),
        (
            '{"code":"access_denied","message":"You are not authorized."}',
            "application/json",
            "access_denied: You are not authorized.",
        ),
        ("", "text/plain", None),
    ],
)
def test_vendor_message_shapes(body: str, content_type: str, expected: str | None) -> None:
    response = requests.Response()
    response.status_code = 400
    response._content = body.encode()
    response.headers["Content-Type"] = content_type

    assert vendor_message(response) == expected


def test_vendor_message_is_truncated() -> None:
    response = requests.Response()
    response.status_code = 500
    response._content = b"x" * 5000

    message = vendor_message(response)

    assert message is not None
    assert len(message) == 500
