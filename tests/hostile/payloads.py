"""Hostile webhook bodies and headers, as hypothesis strategies, and the connectors they hit.

Three families of bodies:

- raw bytes: anything at all, including text in the wrong encoding, byte-order marks and
  deeply nested brackets that exhaust a recursive JSON parser;
- JSON of any shape: wrong top-level types, NaN and Infinity, huge numbers, huge strings;
- real payloads (the fixtures every connector is tested with) with fields replaced by values of
  the wrong type, removed, or blown up: these get past the first checks and reach the schemas.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from bridge.config import AppConfig, parse_config
from bridge.runtime import build_connectors
from connectors.base import Connector
from tests.conftest import FIXTURES, REPO_ROOT

ZENDESK_SECRET = "hostile-zendesk-signing-secret"
INTERCOM_SECRET = "hostile-intercom-client-secret"
FRESHDESK_SECRET = "hostile-freshdesk-webhook-secret"

#: Connector name -> the fixtures its real webhooks look like.
FIXTURE_BODIES: dict[str, tuple[str, ...]] = {
    "zendesk": (
        "zendesk/webhook_trigger_template.end_user_comment.json",
        "zendesk/webhook_trigger_template.agent_private_note.json",
        "zendesk/webhook_event_ticket_comment_added.third-party-sample.json",
        "zendesk/webhook_event_messaging_ticket_message_added.docs-example.json",
    ),
    "intercom": (
        "intercom/webhook_conversation_user_created.v1-format.zulip.json",
        "intercom/webhook_conversation_user_replied.v1-format.zulip.json",
        "intercom/webhook_conversation_admin_open_assigned.v2-format.zulip.json",
        "intercom/webhook_conversation_operator_replied.v2-format.zulip.json",
        "intercom/webhook_ping.zulip.json",
    ),
    "freshdesk": (
        "freshdesk/webhook_template.new_ticket.json",
        "freshdesk/webhook_template.requester_reply.json",
        "freshdesk/webhook_template.agent_reply.json",
        "freshdesk/webhook_private_note.zulip.json",
    ),
}
# Freshdesk's secret can travel as a header or as a Basic auth password: both are attacked.
FIXTURE_BODIES["freshdesk-basic"] = FIXTURE_BODIES["freshdesk"]


def config_data(database_url: str, data_dir: Path, mode: str = "dry_run") -> dict[str, Any]:
    return {
        "database_url": database_url,
        "data_dir": str(data_dir),
        "knowledge": {"sources": [{"type": "path", "path": "examples/help-center"}]},
        "worker": {
            "max_retries": 1,
            "retry_backoff_seconds": 0,
            "lock_timeout_seconds": 5,
            "coalesce_seconds": 0,  # each body is decided as soon as it is accepted
        },
        # Hundreds of requests a second are the test here, not a flood to refuse.
        "web": {"rate_limit": {"enabled": False}},
        "connectors": {
            "zendesk": {
                "type": "zendesk",
                "mode": mode,
                "subdomain": "acme",
                "signing_secret": ZENDESK_SECRET,
            },
            "intercom": {"type": "intercom", "mode": mode, "client_secret": INTERCOM_SECRET},
            "freshdesk": {
                "type": "freshdesk",
                "mode": mode,
                "domain": "acme",
                "webhook_secret": FRESHDESK_SECRET,
            },
            "freshdesk-basic": {
                "type": "freshdesk",
                "mode": mode,
                "domain": "acme",
                "webhook_secret": FRESHDESK_SECRET,
                "webhook_auth": "basic",
            },
        },
    }


def hostile_config(database_url: str, data_dir: Path) -> AppConfig:
    return parse_config(config_data(database_url, data_dir), base_dir=REPO_ROOT, env={})


def connectors(config: AppConfig) -> dict[str, Connector]:
    return build_connectors(config)


def fixture(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text(encoding="utf-8"))


# -- values ---------------------------------------------------------------------------------
HUGE = 200_000  # characters: far past any column, well inside the 1 MB body limit

strings = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
    st.sampled_from(["", " ", "\x00", "\u202e", "\ufeff", "null", "true", "0", "-1", "1e999"]),
    # Half of an escaped emoji: valid JSON, but no database driver will encode it.
    st.sampled_from(["\ud800", "a\udfffb", "\ud83d", "x\x00\ud800y"]),
    st.builds(lambda n, c: c * n, st.integers(HUGE // 2, HUGE), st.sampled_from("a9 <\x00é😀")),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    strings,
)

json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


def deeply_nested(depth: int, kind: str) -> Any:
    """Nested ``depth`` levels, built without recursion (the point is to break recursion)."""
    value: Any = "bottom"
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


# -- bodies ---------------------------------------------------------------------------------
def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if len(prefix) >= 8:
        return  # not into the deep values planted by an earlier mutation
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:5]):
            yield from _paths(item, (*prefix, index))


def _replace(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return {} if new is _DELETE else new
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if new is _DELETE and isinstance(parent, dict):
        parent.pop(path[-1], None)
    elif new is not _DELETE:
        parent[path[-1]] = new
    return document


_DELETE = object()


@st.composite
def mutated_fixture(draw: st.DrawFn, helpdesk: str) -> Any:
    """A real payload of ``helpdesk`` with up to four fields replaced, removed or blown up."""
    document = fixture(draw(st.sampled_from(FIXTURE_BODIES[helpdesk])))
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(document))
        path = draw(st.sampled_from(paths))
        new = draw(
            st.one_of(
                json_values,
                st.just(_DELETE),
                st.builds(deeply_nested, st.integers(50, 5_000), st.sampled_from(["list", "dict"])),
            )
        )
        document = _replace(document, path, new)  # loaded fresh for this example
    return document


def encode(value: Any) -> bytes:
    """JSON as a helpdesk would send it (NaN and Infinity included, as Python writes them).

    Written without recursion: the documents may be nested far deeper than the recursion limit.
    """
    parts: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Token):
            parts.append(item.text)
        elif isinstance(item, dict):
            stack.append(_Token("}"))
            for index, (key, child) in enumerate(reversed(list(item.items()))):
                stack.append(child)
                separator = "" if index == len(item) - 1 else ","
                stack.append(_Token(separator + json.dumps(str(key)) + ":"))
            stack.append(_Token("{"))
        elif isinstance(item, list):
            stack.append(_Token("]"))
            for index, child in enumerate(reversed(item)):
                stack.append(child)
                if index != len(item) - 1:
                    stack.append(_Token(","))
            stack.append(_Token("["))
        else:
            parts.append(json.dumps(item))
    return "".join(parts).encode("utf-8", "surrogatepass")


class _Token:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


raw_bodies = st.one_of(
    st.binary(max_size=4_000),
    st.builds(lambda n, c: c * n, st.integers(1, 300_000), st.sampled_from([b"[", b'{"a":', b"{"])),
    st.builds(
        lambda text, codec: text.encode(codec, "replace"),
        st.text(max_size=200),
        st.sampled_from(["utf-16", "utf-16-be", "utf-32", "latin-1", "cp1252", "utf-8-sig"]),
    ),
    st.builds(lambda b: b"\xef\xbb\xbf" + b, st.binary(max_size=200)),
    st.builds(lambda b: b'{"ticket_id": "' + b + b'"}', st.binary(max_size=200)),
)


def bodies(helpdesk: str) -> st.SearchStrategy[bytes]:
    """Every family of hostile body for one helpdesk."""
    return st.one_of(
        raw_bodies,
        json_values.map(encode),
        mutated_fixture(helpdesk).map(encode),
        mutated_fixture(helpdesk).map(lambda doc: encode(doc).decode("utf-8").encode("utf-16")),
    )


# -- headers --------------------------------------------------------------------------------
#: Header values reach the app decoded as latin-1 (WSGI), so that is the alphabet used.
header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=80)
SIGNATURE_HEADERS = (
    "X-Zendesk-Webhook-Signature",
    "X-Zendesk-Webhook-Signature-Timestamp",
    "X-Hub-Signature",
    "X-Helpdesk-Bridge-Secret",
    "Authorization",
)
headers = st.dictionaries(
    st.one_of(st.sampled_from(SIGNATURE_HEADERS), header_text.filter(lambda h: h.strip())),
    st.one_of(
        header_text,
        st.sampled_from(["sha1=", "sha1=" + "0" * 40, "Basic ", "Basic Og==", "Basic !!!", ""]),
        st.sampled_from(["2026-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00", "0001-01-01"]),
    ),
    max_size=6,
)
