"""The shared HTTP helper: retries, Retry-After, and vendor error messages."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses

import bridge
from connectors.base import HelpdeskError
from connectors.http import (
    MIN_SETTLE_SECONDS,
    HttpClient,
    parse_rate_limit,
    parse_retry_after,
    vendor_message,
)

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
    # Not at once: the write may still be landing, and an early re-read would miss it.
    assert caught.value.retry_after == max(MIN_SETTLE_SECONDS, 2 * make_client(sleeps).timeout)
    assert len(responses.calls) == 1


@responses.activate
def test_non_idempotent_write_is_not_repeated_after_a_read_timeout(sleeps: list[float]) -> None:
    responses.add(responses.PUT, URL, body=requests.exceptions.ReadTimeout("read timed out"))

    client = make_client(sleeps)
    client.timeout = 12.0
    with pytest.raises(HelpdeskError, match="may or may not have been applied") as caught:
        client.put("tickets/1.json", json={"ticket": {}}, idempotent=False)

    assert caught.value.retry_after == 24.0  # twice as long as the helpdesk already had
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


# -- rate limits ---------------------------------------------------------------------------
T0 = 1_700_000_000.0  # a fixed "now" for the client's clock


class Clock:
    """A settable clock; sleeping through ``sleeps`` does not move it unless told to."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def paced_client(sleeps: list[float], clock: Clock, **overrides: Any) -> HttpClient:
    return make_client(sleeps, clock=clock, **overrides)


@pytest.mark.parametrize(
    ("headers", "limit", "remaining", "reset_in", "assumed", "cost"),
    [
        # Zendesk, as recorded in 2024 (both spellings at once)
        (
            {
                "x-rate-limit": "700",
                "x-rate-limit-remaining": "697",
                "ratelimit-limit": "700",
                "ratelimit-remaining": "697",
                "ratelimit-reset": "48",
            },
            700,
            697,
            48.0,
            False,
            None,
        ),
        # Zendesk, as recorded in 2023
        (
            {"Rate-Limit": "400", "Rate-Limit-Remaining": "12", "Rate-Limit-Reset": "20"},
            400,
            12,
            20.0,
            False,
            None,
        ),
        # Intercom: the reset is a Unix time
        (
            {
                "X-RateLimit-Limit": "167",
                "X-RateLimit-Remaining": "3",
                "X-RateLimit-Reset": str(int(T0) + 7),
            },
            167,
            3,
            7.0,
            False,
            None,
        ),
        # Freshdesk: no reset header, so the per-minute window is assumed
        (
            {
                "X-RateLimit-Total": "200",
                "X-RateLimit-Remaining": "150",
                "X-RateLimit-Used-CurrentRequest": "2",
            },
            200,
            150,
            60.0,
            True,
            2,
        ),
        # Freshdesk's older name for the used-credits header
        (
            {"X-RateLimit-Total": "50", "X-RateLimit-Remaining": "49", "X-RateLimit-Used": "1"},
            50,
            49,
            60.0,
            True,
            1,
        ),
        # the IETF draft's parameters and comma-joined repeats
        ({"RateLimit-Limit": "700;w=60", "RateLimit-Remaining": "5, 5"}, 700, 5, 60.0, True, None),
    ],
)
def test_rate_limit_headers_in_every_vendor_spelling(
    headers: dict[str, str],
    limit: int,
    remaining: int,
    reset_in: float,
    assumed: bool,
    cost: int | None,
) -> None:
    state = parse_rate_limit(headers, T0, default_window=60.0)

    assert state is not None
    assert (state.limit, state.remaining, state.cost) == (limit, remaining, cost)
    assert state.reset_in(T0) == reset_in
    assert state.reset_assumed is assumed


def test_responses_without_rate_limit_headers_describe_no_budget() -> None:
    assert parse_rate_limit({"Content-Type": "application/json"}, T0, 60.0) is None


@responses.activate
def test_last_seen_budget_is_exposed(sleeps: list[float]) -> None:
    clock = Clock()
    responses.add(
        responses.GET,
        URL,
        json={},
        headers={"x-rate-limit": "700", "x-rate-limit-remaining": "697", "ratelimit-reset": "48"},
    )
    client = paced_client(sleeps, clock)

    assert client.rate_limit is None
    client.get("tickets/1.json")

    assert client.rate_limit is not None
    assert (client.rate_limit.limit, client.rate_limit.remaining) == (700, 697)
    assert client.rate_limit.reset_at == T0 + 48
    assert client.rate_limit_is_low() is False


@responses.activate
def test_low_remaining_pauses_for_the_reset_before_the_next_request(sleeps: list[float]) -> None:
    clock = Clock()
    # 30 of 700 left is under the 5 % reserve.
    low = {"ratelimit-limit": "700", "ratelimit-remaining": "30", "ratelimit-reset": "8"}
    responses.add(responses.GET, URL, json={"n": 1}, headers=low)
    responses.add(responses.GET, URL, json={"n": 2}, headers={"ratelimit-remaining": "699"})
    responses.add(responses.GET, URL, json={"n": 3})
    client = paced_client(sleeps, clock)

    client.get("tickets/1.json")
    assert sleeps == []  # the request that reported the low budget was not held up
    client.get("tickets/1.json")
    client.get("tickets/1.json")

    assert sleeps == [8.0]  # once, before the second request; the third sees a fresh budget
    assert len(responses.calls) == 3


@responses.activate
def test_long_reset_raises_retryable_without_sending(sleeps: list[float]) -> None:
    clock = Clock()
    responses.add(
        responses.GET,
        URL,
        json={},
        headers={"x-rate-limit": "700", "x-rate-limit-remaining": "2", "ratelimit-reset": "48"},
    )
    client = paced_client(sleeps, clock)
    client.get("tickets/1.json")

    with pytest.raises(HelpdeskError, match="rate limit nearly used up") as caught:
        client.put("tickets/1.json", json={"ticket": {}})

    assert caught.value.retryable is True
    assert caught.value.retry_after == 48.0
    assert "2 of 700 calls left" in str(caught.value)
    assert len(responses.calls) == 1  # the PUT never left
    assert sleeps == []


@responses.activate
def test_budget_is_not_waited_for_once_its_window_has_passed(sleeps: list[float]) -> None:
    clock = Clock()
    responses.add(
        responses.GET,
        URL,
        json={},
        headers={
            "X-RateLimit-Limit": "167",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(T0) + 30),
        },
    )
    client = paced_client(sleeps, clock)
    client.get("tickets/1.json")

    clock.now = T0 + 31
    client.get("tickets/1.json")

    assert sleeps == []
    assert len(responses.calls) == 2


@pytest.mark.parametrize(
    ("headers", "low"),
    [
        ({"x-rate-limit": "700", "x-rate-limit-remaining": "35"}, True),  # exactly 5 %
        ({"x-rate-limit": "700", "x-rate-limit-remaining": "36"}, False),
        ({"x-rate-limit": "20", "x-rate-limit-remaining": "2"}, True),  # the absolute floor
        ({"x-rate-limit": "20", "x-rate-limit-remaining": "3"}, False),
        ({"x-rate-limit-remaining": "2"}, True),  # no limit stated: only the floor applies
        ({"x-rate-limit-remaining": "3"}, False),
    ],
)
def test_what_counts_as_a_low_budget(headers: dict[str, str], low: bool) -> None:
    client = make_client([])

    assert client.rate_limit_is_low(parse_rate_limit(headers, T0, 60.0)) is low


def test_reserve_and_floor_are_configurable() -> None:
    client = make_client([], rate_limit_reserve=0.5, rate_limit_min_remaining=0)
    state = parse_rate_limit({"x-rate-limit": "100", "x-rate-limit-remaining": "50"}, T0, None)

    assert client.rate_limit_is_low(state) is True
    assert state is not None
    assert client.rate_limit_is_low(dataclasses.replace(state, remaining=51)) is False


@responses.activate
def test_freshdesk_budget_without_reset_waits_for_the_assumed_minute(sleeps: list[float]) -> None:
    clock = Clock()
    responses.add(
        responses.GET,
        URL,
        json={},
        headers={"X-RateLimit-Total": "50", "X-RateLimit-Remaining": "1"},
    )
    client = paced_client(sleeps, clock)
    client.get("tickets/1.json")

    with pytest.raises(HelpdeskError) as caught:
        client.get("tickets/1.json")

    assert caught.value.retry_after == 60.0
    assert len(responses.calls) == 1


@responses.activate
def test_429_without_retry_after_waits_for_the_reset_header(sleeps: list[float]) -> None:
    clock = Clock()
    responses.add(
        responses.GET,
        URL,
        status=429,
        body=RATE_LIMIT_TEXT,
        content_type="text/plain",
        headers={"ratelimit-limit": "700", "ratelimit-remaining": "0", "ratelimit-reset": "6"},
    )
    responses.add(responses.GET, URL, json={"ok": True})

    assert paced_client(sleeps, clock).get("tickets/1.json") == {"ok": True}

    # One pause for the reset; the 0-remaining budget is not waited for a second time.
    assert sleeps == [6.0]


@responses.activate
def test_429_with_a_long_reset_and_no_retry_after_is_handed_to_the_caller(
    sleeps: list[float],
) -> None:
    responses.add(
        responses.GET,
        URL,
        status=429,
        json={"type": "error.list", "errors": [{"code": "rate_limit_exceeded"}]},
        headers={
            "X-RateLimit-Limit": "167",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(T0) + 40),
        },
    )

    with pytest.raises(HelpdeskError) as caught:
        paced_client(sleeps, Clock()).get("tickets/1.json")

    assert caught.value.retryable is True
    assert caught.value.retry_after == 40.0
    assert len(responses.calls) == 1
    assert sleeps == []


@responses.activate
def test_429_with_a_negative_retry_after_backs_off_instead_of_hammering(
    sleeps: list[float],
) -> None:
    rate_limited("-1")  # Freshdesk has sent this
    responses.add(responses.GET, URL, json={})

    make_client(sleeps).get("tickets/1.json")

    assert sleeps == [0.75]  # backoff with jitter at its midpoint, not 0


@responses.activate
def test_429_without_budget_headers_keeps_the_last_budget(sleeps: list[float]) -> None:
    clock = Clock()
    responses.add(
        responses.GET,
        URL,
        json={},
        headers={"X-RateLimit-Total": "200", "X-RateLimit-Remaining": "150"},
    )
    rate_limited("2")
    responses.add(responses.GET, URL, json={})
    client = paced_client(sleeps, clock)

    client.get("tickets/1.json")
    client.get("tickets/1.json")

    assert client.rate_limit is not None
    assert client.rate_limit.remaining == 150
    assert sleeps == [2.0]


# -- per-request credentials ----------------------------------------------------------------
class TokenSource:
    """Hands out numbered tokens; ``renew`` moves on to the next one."""

    def __init__(self, renews: bool = True) -> None:
        self.number = 1
        self.renewals = 0
        self.renews = renews

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer token-{self.number}"}

    def renew(self) -> bool:
        self.renewals += 1
        if self.renews:
            self.number += 1
        return self.renews


def sent_tokens() -> list[str]:
    return [call.request.headers["Authorization"] for call in responses.calls]


@responses.activate
def test_auth_hook_supplies_headers_for_every_request(sleeps: list[float]) -> None:
    tokens = TokenSource()
    responses.add(responses.GET, URL, json={})
    client = make_client(sleeps, headers=None, auth=tokens.headers)

    client.get("tickets/1.json")
    tokens.number = 2
    client.get("tickets/1.json")

    assert sent_tokens() == ["Bearer token-1", "Bearer token-2"]
    assert responses.calls[0].request.headers["Accept"] == "application/json"


@responses.activate
def test_401_renews_the_credentials_and_resends_once_even_a_write(sleeps: list[float]) -> None:
    tokens = TokenSource()
    responses.add(responses.POST, URL, status=401, json={"error": "Couldn't authenticate you"})
    responses.add(responses.POST, URL, json={"ok": True})
    client = make_client(
        sleeps, headers=None, max_retries=0, auth=tokens.headers, on_unauthorized=tokens.renew
    )

    assert client.post("tickets/1.json", json={"x": 1}, idempotent=False) == {"ok": True}

    assert sent_tokens() == ["Bearer token-1", "Bearer token-2"]
    assert sleeps == []


@responses.activate
def test_second_401_is_reported_not_renewed_again(sleeps: list[float]) -> None:
    tokens = TokenSource()
    responses.add(responses.GET, URL, status=401, json={"error": "Couldn't authenticate you"})
    client = make_client(sleeps, headers=None, auth=tokens.headers, on_unauthorized=tokens.renew)

    with pytest.raises(HelpdeskError, match="credentials were rejected") as caught:
        client.get("tickets/1.json")

    assert caught.value.status == 401
    assert tokens.renewals == 1
    assert len(responses.calls) == 2


@responses.activate
def test_401_is_not_resent_when_nothing_was_renewed(sleeps: list[float]) -> None:
    tokens = TokenSource(renews=False)
    responses.add(responses.GET, URL, status=401, json={"error": "Couldn't authenticate you"})
    client = make_client(sleeps, headers=None, auth=tokens.headers, on_unauthorized=tokens.renew)

    with pytest.raises(HelpdeskError):
        client.get("tickets/1.json")

    assert len(responses.calls) == 1


def test_oauth_error_descriptions_are_kept() -> None:
    response = requests.Response()
    response.status_code = 401
    response._content = b'{"error":"invalid_client","error_description":"Client not found"}'
    response.headers["Content-Type"] = "application/json"

    assert vendor_message(response) == "invalid_client: Client not found"
