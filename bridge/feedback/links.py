"""Signed feedback links: ``{public_url}/feedback/<token>/<up|down>`` under every AI reply.

The token carries only the decision's id, signed with ``web.secret_key`` and timestamped, so a
link cannot be forged for another reply and stops working after ``web.feedback_link_days``.
Both links of one reply share the token; the vote is the last path segment.
"""

from __future__ import annotations

from typing import Final, Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from bridge.config import WebConfig

Vote = Literal["up", "down"]
VOTES: Final[tuple[Vote, ...]] = ("up", "down")
# A salt of its own: a token signed for something else with the same key is no feedback link.
_SALT: Final = "helpdesk-bridge.feedback-link"
PROMPT: Final = "Did this answer help?"
LABELS: Final[dict[str, str]] = {"up": "Yes", "down": "No"}


class InvalidLink(Exception):
    """The token was not signed by us, or was altered."""


class ExpiredLink(Exception):
    """The token is genuine but older than the configured lifetime."""


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def make_token(secret_key: str, decision_id: int) -> str:
    return _serializer(secret_key).dumps(decision_id)


def read_token(secret_key: str, token: str, max_age_days: int) -> int:
    """The decision id a token was signed for; raises ExpiredLink or InvalidLink."""
    try:
        value = _serializer(secret_key).loads(token, max_age=max_age_days * 86_400)
    except SignatureExpired as exc:  # before BadSignature: it is a subclass of it
        raise ExpiredLink(str(exc)) from None
    except BadSignature as exc:
        raise InvalidLink(str(exc)) from None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidLink("the link does not name a reply")
    return value


def vote_url(public_url: str, token: str, vote: Vote) -> str:
    return f"{public_url}/feedback/{token}/{vote}"


def feedback_urls(web: WebConfig, decision_id: int) -> dict[Vote, str]:
    if not web.public_url or not web.secret_key:
        raise ValueError("feedback links need web.public_url and web.secret_key")
    token = make_token(web.secret_key, decision_id)
    return {vote: vote_url(web.public_url, token, vote) for vote in VOTES}


def with_feedback_links(text: str, web: WebConfig, decision_id: int) -> str:
    """The reply text followed by its two links, one per line so every helpdesk links them."""
    urls = feedback_urls(web, decision_id)
    lines = [PROMPT, *(f"{LABELS[vote]}: {urls[vote]}" for vote in VOTES)]
    return text.rstrip() + "\n\n" + "\n".join(lines)
