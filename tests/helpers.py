"""Builders for webhook bodies and signed requests used across the test suite."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from connectors.base import Connector

REQUESTER = "9001"
AGENT = "7001"
BOT = "1000"


def trigger_body(
    ticket_id: str = "42",
    comment_id: str = "501",
    text: str = "How do I reset my password?",
    author_id: str = REQUESTER,
    author_role: str = "End-user",
    **extra: str,
) -> dict[str, str]:
    """A body as rendered from our documented Zendesk trigger template."""
    body = {
        "ticket_id": ticket_id,
        "comment_id": comment_id,
        "author_id": author_id,
        "author_role": author_role,
        "is_public": "true",
        "body": text,
        "subject": "Help",
        "tags": "",
        "via": "Web form",
        "requester_id": REQUESTER,
        "requester_name": "Sam Lee",
        "requester_email": "sam@example.com",
        "organization": "",
    }
    body.update(extra)
    return body


def signed(connector: Connector, body: bytes | dict[str, Any], now: datetime | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **connector.sign(raw, now or datetime.now(UTC))}
    return raw, headers


def comment(
    id: int, author_id: str, text: str, public: bool = True, channel: str = "web"
) -> dict[str, Any]:
    return {
        "id": id,
        "type": "Comment",
        "author_id": int(author_id),
        "body": text,
        "plain_body": text,
        "public": public,
        "via": {"channel": channel},
        "created_at": "2026-11-30T10:00:00Z",
    }


def comments_page(*comments: dict[str, Any]) -> dict[str, Any]:
    users = [
        {"id": int(REQUESTER), "role": "end-user", "name": "Sam Lee"},
        {"id": int(AGENT), "role": "agent", "name": "Alex Agent"},
        {"id": int(BOT), "role": "agent", "name": "Notebird Bot"},
    ]
    return {
        "comments": list(comments),
        "users": users,
        "meta": {"has_more": False, "after_cursor": None},
        "links": {"next": None},
    }


def update_response(comment_id: int) -> dict[str, Any]:
    return {
        "ticket": {"id": 42},
        "audit": {"events": [{"id": comment_id, "type": "Comment", "body": "..."}]},
    }
