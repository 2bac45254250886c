"""Admin sign-in for the review UI: a password hash or a token from the config, never open.

The session is Flask's signed cookie. It carries a fingerprint of the configured credentials,
so changing the password or the token signs every existing session out.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque

from werkzeug.security import check_password_hash

from bridge.review.settings import ReviewSettings

SESSION_USER = "review_user"
SESSION_FINGERPRINT = "review_auth"
DEFAULT_REVIEWER = "admin"


def credentials_fingerprint(settings: ReviewSettings) -> str:
    material = "\0".join(
        (settings.admin_password_hash or "", settings.admin_token or "", settings.secret_key)
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def check_secret(settings: ReviewSettings, secret: str) -> bool:
    """Whether ``secret`` is the admin password or the admin token."""
    if not secret:
        return False
    ok = False
    # Both are checked whatever the first said, so timing does not tell which one matched.
    if settings.admin_password_hash:
        ok = check_password_hash(settings.admin_password_hash, secret) or ok
    if settings.admin_token:
        ok = hmac.compare_digest(secret.encode(), settings.admin_token.encode()) or ok
    return ok


class LoginThrottle:
    """Refuses sign-ins from an address after too many failures in a sliding window.

    Per process, in memory: enough to make guessing slow, with nothing to set up.
    """

    def __init__(self, max_failures: int, window_seconds: float) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(address, deque())
        while failures and failures[0] <= now - self.window_seconds:
            failures.popleft()
        return failures

    def blocked(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address, time.monotonic())) >= self.max_failures

    def failed(self, address: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(address, now).append(now)
            if len(self._failures) > 10_000:  # bound memory under a spray of addresses
                self._failures = {k: v for k, v in self._failures.items() if v}

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)
