"""The one HTTP helper every connector talks to its helpdesk through.

It owns timeouts, retries with backoff, ``Retry-After`` and turning vendor error bodies into
``HelpdeskError``, so each connector only describes endpoints and payloads.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
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
    ) -> None:
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
        write may already have been applied, so it is not repeated inline and the error is
        raised as non-retryable instead of risking a duplicate customer-facing reply.
        """
        method = method.upper()
        url = self.url_for(path_or_url)
        if idempotent is None:
            idempotent = method in _IDEMPOTENT_METHODS
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            is_last = attempt == attempts - 1
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=self.headers,
                    timeout=self.timeout,
                )
            except requests.exceptions.RequestException as exc:
                self._check_transport_error(exc, method, url, idempotent, is_last, attempts)
                self._pause(self._backoff(attempt), None, type(exc).__name__, method, url, attempt)
                continue

            if response.ok:
                return _parse_body(response, method, url)

            status = response.status_code
            vendor = vendor_message(response)
            retry_after = (
                parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
                if status in _THROTTLED
                else None
            )
            if status not in _RETRYABLE_STATUSES:
                raise _client_error(status, vendor, method, url)
            if not idempotent and status not in _THROTTLED:
                raise HelpdeskError(
                    f"{method} {_short(url)} failed and may or may not have been applied; "
                    "not repeated here; the caller re-reads the ticket before trying again",
                    status=status,
                    vendor_message=vendor,
                    retryable=True,
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
        raise AssertionError("unreachable: the last attempt always returns or raises")

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
    for key in ("description", "message", "title", "detail"):
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
