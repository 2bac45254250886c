"""Rate limiting of ``POST /webhooks/<connector>``: one token bucket per connector.

A bucket holds ``burst`` tokens and refills at ``requests_per_second``; each webhook takes one.
With Redis as the broker the buckets live in Redis, so every web process and host shares them;
otherwise each process keeps its own (a gunicorn with N processes then admits N times the rate).

The check runs after the signature check: forged requests are refused by it without spending
the helpdesk's budget, so the limit only smooths bursts of genuine deliveries (a mass update, a
redelivery storm after an outage) that the database and the queue would otherwise take at once.
Turning away floods of unsigned traffic is the reverse proxy's job; the body limit and a cheap
HMAC already bound what each such request costs here.

Over the limit the answer is 429 with ``Retry-After``: Zendesk and Freshdesk deliver again later.
Intercom connectors are exempt unless configured explicitly: Intercom answers a 429 by delaying
all further notifications (from a minute up to two hours) and drops those it cannot deliver in
time, so a customer's message could be lost. An Intercom connector given a limit on purpose
gets 503 with ``Retry-After`` instead, which it retries.

If the bucket store (Redis) cannot be reached the request is let through: the enqueue right
after needs the same Redis and answers 503 on its own when it is really down.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Response, jsonify

from bridge.config import AppConfig, RateLimit, RateLimitSettings

log = logging.getLogger(__name__)

#: Helpdesks that must not be told 429, and what they get instead when limited on purpose.
_NO_429_TYPES = {"intercom": 503}
_KEY_PREFIX = "helpdesk-bridge:webhook-rate:"


class Buckets(Protocol):
    def take(self, key: str, limit: RateLimit) -> float:
        """Take a token: 0 when one was there, else the seconds until one will be."""


class LocalBuckets:
    """Buckets in this process's memory."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)

    def take(self, key: str, limit: RateLimit) -> float:
        with self._lock:
            now = self._clock()
            tokens, when = self._state.get(key, (float(limit.burst), now))
            refill = max(0.0, now - when) * limit.requests_per_second
            tokens = min(float(limit.burst), tokens + refill)
            if tokens >= 1:
                self._state[key] = (tokens - 1, now)
                return 0.0
            self._state[key] = (tokens, now)
            return (1 - tokens) / limit.requests_per_second


# Atomic in Redis; the clock is Redis's own, so web hosts with skewed clocks share one bucket.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisBuckets:
    """Buckets in Redis, shared by every web process that uses the same Redis."""

    def __init__(self, url: str) -> None:
        import redis

        # Short timeouts: a slow Redis must not hold webhooks; the request then goes through.
        self._client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        self._script = self._client.register_script(_TAKE)

    def take(self, key: str, limit: RateLimit) -> float:
        wait = self._script(keys=[_KEY_PREFIX + key], args=[limit.requests_per_second, limit.burst])
        return float(wait)


@dataclass(frozen=True)
class Limited:
    status: int
    retry_after: int

    def response(self) -> tuple[Response, int]:
        response = jsonify(error="too many webhooks; deliver again later")
        response.headers["Retry-After"] = str(self.retry_after)
        return response, self.status


class RateLimiter:
    def __init__(self, settings: RateLimitSettings, buckets: Buckets) -> None:
        self.settings = settings
        self.buckets = buckets

    def limit_for(self, name: str, connector_type: str) -> RateLimit | None:
        if connector_type in _NO_429_TYPES and name not in self.settings.connectors:
            return None  # exempt unless limited on purpose (see the module docstring)
        return self.settings.for_connector(name)

    def check(self, name: str, connector_type: str) -> Limited | None:
        """None to go on, or the answer for a webhook over its connector's limit."""
        limit = self.limit_for(name, connector_type)
        if limit is None:
            return None
        try:
            wait = self.buckets.take(name, limit)
        except Exception as exc:
            log.warning("webhook rate limit for %s not checked: %s", name, exc)
            return None
        if wait <= 0:
            return None
        status = _NO_429_TYPES.get(connector_type, 429)
        return Limited(status=status, retry_after=max(1, math.ceil(wait)))


def build_rate_limiter(config: AppConfig, **options: Any) -> RateLimiter:
    """Buckets in Redis when the broker is Redis, else in this process."""
    broker = config.broker_url or ""
    buckets: Buckets
    if broker.split("://", 1)[0] in ("redis", "rediss"):
        buckets = RedisBuckets(broker)
    else:
        buckets = LocalBuckets(**options)
    return RateLimiter(config.web.rate_limit, buckets)
