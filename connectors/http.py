"""The one HTTP helper every connector talks to its helpdesk through.

It owns timeouts, retries with backoff, ``Retry-After``, pacing against the vendor's rate-limit
headers, per-request credentials and turning vendor error bodies into ``HelpdeskError``, so
each connector only describes endpoints and payloads.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from urllib3.exceptions import NewConnectionError

import bridge
from connectors.base import HelpdeskError

logger = logging.getLogger(__name__)

USER_AGENT = f"helpdesk-bridge/{bridge.__version__}"

#: statuses where the server tells us it did not process the request, so a retry is harmless
_THROTTLED = frozenset({429, 503})
#: statuses worth another attempt; for non-idempotent writes only the throttled ones are
_RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_MAX_VENDOR_MESSAGE = 500
#: The least time left to a write that may still be applied before the ticket is read again.
MIN_SETTLE_SECONDS = 5.0

# Rate-limit headers in every spelling the supported helpdesks use; the first present wins.
# Zendesk sends x-rate-limit* and ratelimit-* (older responses: rate-limit-*), Intercom
# X-RateLimit-Limit/-Remaining/-Reset, Freshdesk X-RateLimit-Total/-Remaining.
_LIMIT_HEADERS = ("x-rate-limit", "ratelimit-limit", "rate-limit", "x-ratelimit-limit")
_TOTAL_HEADERS = ("x-ratelimit-total",)
_REMAINING_HEADERS = (
    "x-rate-limit-remaining",
    "ratelimit-remaining",
    "rate-limit-remaining",
    "x-ratelimit-remaining",
)
_RESET_HEADERS = ("ratelimit-reset", "rate-limit-reset", "x-rate-limit-reset", "x-ratelimit-reset")
# Freshdesk: credits the request consumed (embeds cost more); older responses said "-Used".
_COST_HEADERS = ("x-ratelimit-used-currentrequest", "x-ratelimit-used")
# A reset value this large is a Unix time (Intercom), anything smaller a number of seconds
# (Zendesk): no window is ever 30 years long, and no clock reads 1 billion seconds any more.
_EPOCH_THRESHOLD = 1_000_000_000
_NUMBER = re.compile(r"\s*(-?\d+(?:\.\d+)?)")

AuthHeaders = Callable[[], Mapping[str, str]]


@dataclass(frozen=True)
class RateLimit:
    """The rate-limit budget as the helpdesk's most recent response described it."""

    limit: int | None
    remaining: int | None
    #: clock time (Unix seconds) when the window resets; None when the headers don't say and
    #: no default window applies
    reset_at: float | None
    #: True when ``reset_at`` was assumed from the default window rather than read from a header
    reset_assumed: bool
    observed_at: float
    #: credits the request consumed, when the helpdesk says (Freshdesk)
    cost: int | None = None

    def reset_in(self, now: float) -> float | None:
        """Seconds until the window resets, never negative; None when unknown."""
        if self.reset_at is None:
            return None
        return max(0.0, self.reset_at - now)


def parse_rate_limit(
    headers: Mapping[str, str], now: float, default_window: float | None = None
) -> RateLimit | None:
    """The budget a response's headers describe, or None when it carries no such headers.

    ``default_window`` is assumed as the time to reset when a helpdesk states the remaining
    budget but never when it refills (Freshdesk's limits are per minute).
    """
    lowered = {key.lower(): value for key, value in headers.items()}

    def first(names: tuple[str, ...]) -> float | None:
        for name in names:
            value = _leading_number(lowered.get(name))
            if value is not None:
                return value
        return None

    limit = first(_LIMIT_HEADERS)
    if limit is None:
        limit = first(_TOTAL_HEADERS)
    remaining = first(_REMAINING_HEADERS)
    if limit is None and remaining is None:
        return None
    reset = first(_RESET_HEADERS)
    reset_at: float | None
    if reset is None:
        reset_at = now + default_window if default_window is not None else None
    elif reset >= _EPOCH_THRESHOLD:
        reset_at = reset
    else:
        reset_at = now + max(0.0, reset)
    cost = first(_COST_HEADERS)
    return RateLimit(
        limit=int(limit) if limit is not None else None,
        remaining=int(remaining) if remaining is not None else None,
        reset_at=reset_at,
        reset_assumed=reset is None and reset_at is not None,
        observed_at=now,
        cost=int(cost) if cost is not None else None,
    )


def _leading_number(value: str | None) -> float | None:
    """The first number of a header value: proxies may join repeated headers with commas
    and the IETF draft appends parameters (``700;w=60``)."""
    if value is None:
        return None
    match = _NUMBER.match(value)
    return float(match.group(1)) if match else None


class HttpClient:
    """A JSON-over-HTTPS client bound to one API base URL and one set of credentials."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        max_inline_wait: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
        jitter: Callable[[], float] = random.random,
        auth: AuthHeaders | None = None,
        on_unauthorized: Callable[[], bool] | None = None,
        rate_limit_reserve: float = 0.05,
        rate_limit_min_remaining: int = 2,
        rate_limit_window: float | None = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``auth`` returns headers added to every attempt (tokens that expire);
        ``on_unauthorized`` is called after a 401 and returns True when it renewed the
        credentials, and the request is then sent once more.

        Before a request, when the last response left at most ``rate_limit_reserve`` of the
        limit or ``rate_limit_min_remaining`` calls, the client waits for the window to reset
        (``rate_limit_window`` seconds when the helpdesk does not say), or raises a retryable
        error when that is longer than ``max_inline_wait``.
        """
        self.base_url = base_url.rstrip("/") + "/"
        self.headers: dict[str, str] = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        self.headers.update(headers or {})
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_inline_wait = max_inline_wait
        self._sleep = sleep
        self._jitter = jitter
        self.session = session or requests.Session()
        self._auth = auth
        self._on_unauthorized = on_unauthorized
        self.rate_limit_reserve = rate_limit_reserve
        self.rate_limit_min_remaining = rate_limit_min_remaining
        self.rate_limit_window = rate_limit_window
        self._clock = clock
        self._rate_limit: RateLimit | None = None
        # The budget whose window was already waited out, so it is not waited for twice.
        self._waited_out: RateLimit | None = None

    @property
    def settle_seconds(self) -> float:
        """How long to leave a write that may still be running at the helpdesk.

        A write we gave up on after ``timeout`` seconds (or that failed with a 5xx from a
        gateway) may still be applied behind it. The caller re-reads the ticket before trying
        again; reading it at once could miss the comment about to appear and post it twice.
        """
        return max(MIN_SETTLE_SECONDS, 2 * self.timeout)

    @property
    def rate_limit(self) -> RateLimit | None:
        """The budget the last response reported (None until one carried the headers)."""
        return self._rate_limit

    def rate_limit_is_low(self, state: RateLimit | None = None) -> bool:
        """Whether ``state`` (default: the last seen) is within the reserve."""
        state = state if state is not None else self._rate_limit
        if state is None or state.remaining is None:
            return False
        if state.remaining <= self.rate_limit_min_remaining:
            return True
        return state.limit is not None and state.remaining <= state.limit * self.rate_limit_reserve

    # -- conveniences --------------------------------------------------------------------
    def get(self, path_or_url: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path_or_url, params=params)

    def put(
        self,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        return self.request("PUT", path_or_url, params=params, json=json, idempotent=idempotent)

    def post(
        self,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        return self.request("POST", path_or_url, params=params, json=json, idempotent=idempotent)

    def delete(
        self,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        return self.request("DELETE", path_or_url, params=params, json=json)

    def close(self) -> None:
        self.session.close()

    # -- the one code path ---------------------------------------------------------------
    def url_for(self, path_or_url: str) -> str:
        """Absolute URL: pagination links come back absolute and are used unchanged."""
        if path_or_url.startswith(("https://", "http://")):
            return path_or_url
        return self.base_url + path_or_url.lstrip("/")

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one request, retrying what is safe to retry; return the parsed JSON body.

        ``idempotent`` defaults from the method. Pass ``False`` for a write that must not
        happen twice (a PUT that adds a comment): after a timeout or a 500/502/504 the
        write may already have been applied, so it is not repeated here; the error is raised
        for the task to retry, which re-reads the ticket first and skips what was posted.
        """
        body, _ = self.request_with_headers(
            method, path_or_url, params=params, json=json, idempotent=idempotent
        )
        return body

    def request_with_headers(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> tuple[Any, Mapping[str, str]]:
        """Like ``request``, also returning the response headers (for ``Link`` paging)."""
        method = method.upper()
        url = self.url_for(path_or_url)
        if idempotent is None:
            idempotent = method in _IDEMPOTENT_METHODS
        attempts = self.max_retries + 1
        attempt = 0
        reauthorized = False
        while True:
            is_last = attempt == attempts - 1
            self._wait_for_budget(method, url)
            headers = self.headers if self._auth is None else {**self.headers, **self._auth()}
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=headers,
                    timeout=self.timeout,
                )
            except requests.exceptions.RequestException as exc:
                self._check_transport_error(exc, method, url, idempotent, is_last, attempts)
                self._pause(self._backoff(attempt), None, type(exc).__name__, method, url, attempt)
                attempt += 1
                continue

            observed = self._observe(response.headers)
            if response.ok:
                return _parse_body(response, method, url), response.headers

            status = response.status_code
            if (
                status == 401
                and not reauthorized
                and self._on_unauthorized is not None
                and self._on_unauthorized()
            ):
                # An expired or revoked token: the request was refused, not applied, so
                # sending it again with the renewed credentials is safe even for writes.
                # This does not count as a retry, and happens once per request.
                reauthorized = True
                continue
            vendor = vendor_message(response)
            retry_after = self._throttle_delay(status, response.headers, observed)
            if status not in _RETRYABLE_STATUSES:
                raise _client_error(status, vendor, method, url)
            if not idempotent and status not in _THROTTLED:
                raise HelpdeskError(
                    f"{method} {_short(url)} failed and may or may not have been applied; "
                    "not repeated here; the caller re-reads the ticket before trying again",
                    status=status,
                    vendor_message=vendor,
                    retryable=True,
                    retry_after=max(retry_after or 0.0, self.settle_seconds),
                    method=method,
                    url=url,
                )
            if is_last:
                raise HelpdeskError(
                    f"{method} {_short(url)} still failing after {attempts} attempts",
                    status=status,
                    vendor_message=vendor,
                    retryable=True,
                    retry_after=retry_after,
                    method=method,
                    url=url,
                )
            delay = retry_after if retry_after is not None else self._backoff(attempt)
            self._pause(delay, status, vendor, method, url, attempt)
            # The pause honoured the server's own instruction; the budget that came with the
            # 429 is spent waiting, not waited for again before the retry.
            self._waited_out = self._rate_limit
            attempt += 1

    # -- rate limits ---------------------------------------------------------------------
    def _observe(self, headers: Mapping[str, str]) -> RateLimit | None:
        """Remember the budget a response reported; keep the old one when it says nothing
        (Freshdesk's 429s and unauthenticated answers carry no budget headers)."""
        state = parse_rate_limit(headers, self._clock(), self.rate_limit_window)
        if state is not None:
            self._rate_limit = state
        return state

    def _wait_for_budget(self, method: str, url: str) -> None:
        """Pause before sending while the budget is nearly spent, so the call does not
        just earn a 429 and so other workers sharing the account keep some headroom."""
        state = self._rate_limit
        if state is None or state is self._waited_out or not self.rate_limit_is_low(state):
            return
        wait = state.reset_in(self._clock())
        if not wait:
            return  # the window has reset since (or the helpdesk never says when it will)
        if wait > self.max_inline_wait:
            # Holding a worker thread for the rest of the window would starve other
            # connectors; the task reschedules itself instead, and nothing was sent.
            raise HelpdeskError(
                f"{method} {_short(url)} not sent: rate limit nearly used up "
                f"({_budget(state)}); the window resets in {wait:.0f} s",
                retryable=True,
                retry_after=wait,
                method=method,
                url=url,
            )
        logger.info(
            "%s %s: rate limit nearly used up (%s); waiting %.1f s for the window to reset",
            method,
            _short(url),
            _budget(state),
            wait,
        )
        self._sleep(wait)
        self._waited_out = state

    def _throttle_delay(
        self, status: int, headers: Mapping[str, str], observed: RateLimit | None
    ) -> float | None:
        """Seconds the server asked us to wait before retrying, or None to back off."""
        if status not in _THROTTLED:
            return None
        retry_after = parse_retry_after(headers.get("Retry-After"), datetime.now(UTC))
        if status != 429:
            return retry_after
        if retry_after is not None and retry_after > 0:
            return retry_after
        # Without a usable Retry-After (absent, or the -1 Freshdesk has sent), the window's
        # own reset time is the next best answer; an assumed window is a guess, so back off.
        if observed is not None and not observed.reset_assumed:
            reset = observed.reset_in(self._clock())
            if reset:
                return reset
        return None

    # -- helpers -------------------------------------------------------------------------
    def _check_transport_error(
        self,
        exc: requests.exceptions.RequestException,
        method: str,
        url: str,
        idempotent: bool,
        is_last: bool,
        attempts: int,
    ) -> None:
        """Raise unless a request that failed with ``exc`` may be sent again."""
        transient = isinstance(
            exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout
        )
        if not transient:
            raise HelpdeskError(
                f"{method} {_short(url)} could not be sent",
                vendor_message=str(exc),
                retryable=False,
                method=method,
                url=url,
            ) from exc
        if not idempotent and not _never_reached_server(exc):
            raise HelpdeskError(
                f"{method} {_short(url)} was interrupted and may or may not have been applied; "
                "not repeated here; the caller re-reads the ticket before trying again",
                vendor_message=str(exc),
                retryable=True,
                retry_after=self.settle_seconds,
                method=method,
                url=url,
            ) from exc
        if is_last:
            raise HelpdeskError(
                f"{method} {_short(url)} could not reach the helpdesk after {attempts} attempts",
                vendor_message=str(exc),
                retryable=True,
                method=method,
                url=url,
            ) from exc

    def _pause(
        self,
        delay: float,
        status: int | None,
        reason: str | None,
        method: str,
        url: str,
        attempt: int,
    ) -> None:
        """Sleep before the next attempt, or hand the wait to the caller when it is long."""
        if delay > self.max_inline_wait:
            # Sleeping here would pin a worker for the whole wait; the task can
            # reschedule itself with retry_after instead.
            raise HelpdeskError(
                f"{method} {_short(url)}: asked to wait {delay:.0f} s before retrying",
                status=status,
                vendor_message=reason,
                retryable=True,
                retry_after=delay,
                method=method,
                url=url,
            )
        logger.warning(
            "%s %s: %s, retrying in %.1f s (retry %d of %d)",
            method,
            _short(url),
            f"HTTP {status}" if status is not None else reason,
            delay,
            attempt + 1,
            self.max_retries,
        )
        self._sleep(delay)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random, capped."""
        ceiling = min(self.backoff_max, self.backoff_base * (2**attempt))
        return min(self.backoff_max, ceiling / 2 + self._jitter() * ceiling / 2)


def _never_reached_server(exc: requests.exceptions.RequestException) -> bool:
    """True when the connection was never established, so nothing can have been applied.

    A reset or read timeout after the request went out may follow a write that succeeded.
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason: Any = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3 MaxRetryError wraps the cause
    return isinstance(reason, NewConnectionError)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def vendor_message(response: requests.Response) -> str | None:
    """What the vendor said about a failure, from whichever error shape it uses."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict | list):
        text = _message_from_json(data)
    else:
        # 429s and proxy errors come as plain text or HTML; keep a readable snippet.
        text = " ".join(response.text.split())
    return _truncate(text) if text else None


def _message_from_json(data: Any) -> str:
    if isinstance(data, list):
        return "; ".join(filter(None, (_describe(item) for item in data)))
    if not isinstance(data, dict):
        return str(data) if data is not None else ""

    head: list[str] = []
    error = data.get("error")
    if isinstance(error, str):
        head.append(error)
    elif isinstance(error, dict):
        head.append(_describe(error))
    elif isinstance(data.get("code"), str):
        head.append(data["code"])  # Freshdesk's flat {"code", "message"}
    # "error_description" is how OAuth token endpoints explain a refused grant (RFC 6749).
    for key in ("description", "error_description", "message", "title", "detail"):
        value = data.get(key)
        if isinstance(value, str) and value and value not in head:
            head.append(value)
    parts = [": ".join(head)] if head else []

    errors = data.get("errors")
    if isinstance(errors, list):
        parts.extend(filter(None, (_describe(item) for item in errors)))
    elif isinstance(errors, dict):
        parts.extend(_describe_fields(errors))
    details = data.get("details")
    if isinstance(details, dict):
        parts.extend(_describe_fields(details))
    elif isinstance(details, str):
        parts.append(details)
    return "; ".join(p for p in parts if p)


def _describe(item: Any) -> str:
    """One error object as text: ``field: code: title: message`` with what is present."""
    if isinstance(item, str):
        return item
    if not isinstance(item, dict):
        return str(item)
    bits: list[str] = []
    for key in ("field", "code", "error", "title", "message", "detail", "description"):
        value = item.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            text = str(value)
            if text not in bits:
                bits.append(text)
    return ": ".join(bits)


def _describe_fields(errors: Mapping[str, Any]) -> Iterable[str]:
    """Rails-style ``{"field": [{"description": ...}]}`` or ``{"field": ["..."]}``."""
    for name, problems in errors.items():
        items = problems if isinstance(problems, list) else [problems]
        for problem in items:
            text = problem.get("description") if isinstance(problem, dict) else None
            yield f"{name}: {text or _describe(problem)}"


def _budget(state: RateLimit) -> str:
    if state.limit is None:
        return f"{state.remaining} calls left"
    return f"{state.remaining} of {state.limit} calls left"


def _truncate(text: str) -> str:
    if len(text) <= _MAX_VENDOR_MESSAGE:
        return text
    return text[: _MAX_VENDOR_MESSAGE - 1] + "…"


def _short(url: str) -> str:
    """The URL without its query string, for messages (cursors make them unreadable)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _client_error(status: int, vendor: str | None, method: str, url: str) -> HelpdeskError:
    if status == 401:
        message = f"{method} {_short(url)}: credentials were rejected"
    elif status == 403:
        message = (
            f"{method} {_short(url)}: credentials were rejected or lack permission for this call"
        )
    else:
        message = f"{method} {_short(url)} failed"
    return HelpdeskError(
        message, status=status, vendor_message=vendor, retryable=False, method=method, url=url
    )


def _parse_body(response: requests.Response, method: str, url: str) -> Any:
    if not response.content or not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise HelpdeskError(
            f"{method} {_short(url)} answered with a body that is not JSON",
            status=response.status_code,
            vendor_message=_truncate(" ".join(response.text.split())),
            retryable=False,
            method=method,
            url=url,
        ) from exc
