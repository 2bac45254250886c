"""CSRF protection for the review UI's forms: a per-session token in a hidden field.

A dozen lines instead of Flask-WTF: the pages have no WTForms forms to validate, so the extra
dependency would only bring this check. The token lives in the signed session cookie and is
compared in constant time; a form that arrives without it, or with another session's, is
refused with 400 before any view runs.
"""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

SESSION_KEY = "review_csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token() -> str:
    """The session's token, created on first use (the login form already needs one)."""
    current = session.get(SESSION_KEY)
    if not isinstance(current, str) or not current:
        current = secrets.token_urlsafe(32)
        session[SESSION_KEY] = current
    return current


def rotate() -> str:
    """A fresh token: after sign-in, so one seen before it is worth nothing afterwards."""
    session[SESSION_KEY] = secrets.token_urlsafe(32)
    return session[SESSION_KEY]


def protect() -> None:
    """Abort with 400 unless an unsafe request carries this session's token."""
    if request.method in SAFE_METHODS:
        return
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FIELD) or request.headers.get(HEADER) or ""
    if not isinstance(expected, str) or not expected:
        abort(400, description="Your session has expired. Reload the page and try again.")
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="The form's security token is missing or wrong. Reload the page.")
