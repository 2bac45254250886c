"""What the tests of every helpdesk connector need alike: fixture files, the shipped example
webhooks, settings and connectors built from a dict, and webhooks taken the web layer's way.

Each test module binds these to its own helpdesk (its settings, its ``NOW``), so the tests
still read as being about one connector.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TypeVar

import pytest
from marshmallow import Schema, ValidationError

from bridge.events import Event, Role
from connectors.base import Connector, WebhookRequest
from tests.conftest import FIXTURES, REPO_ROOT

EXAMPLES_DIR: Final = REPO_ROOT / "examples" / "webhooks"
#: The name the connectors under test are configured under.
CONNECTOR_NAME: Final = "support"

FixtureBytes = Callable[[str, str], bytes]
FixtureJson = Callable[[str, str], Any]

C = TypeVar("C", bound=Connector)

# The shipped examples of every helpdesk tell the same conversation, so the worker's tests and
# the connectors' can expect the same messages whichever helpdesk they replay.
QUESTION: Final = "Hi, how do I reset my password? I can't remember it."
HUMAN_REQUEST: Final = "This isn't helping. I want to talk to a real person please."
#: (file, who writes it, what they write) for each shipped example, in the order they happen.
SHIPPED_EXAMPLES: Final[tuple[tuple[str, Role, str], ...]] = (
    ("01_how_to_question.json", Role.CUSTOMER, QUESTION),
    ("02_human_request.json", Role.CUSTOMER, HUMAN_REQUEST),
    ("03_agent_comment.json", Role.AGENT, "Hi Sam, I'm looking into your export issue now."),
    ("04_customer_after_agent.json", Role.CUSTOMER, "Thanks! Also, how do I export my notes?"),
)

#: The connector methods that talk to the helpdesk's API; without credentials each must refuse
#: before sending anything. ``connect`` is not here: only some helpdesks are wired through it.
API_CALLS: Final[tuple[Callable[[Connector], Any], ...]] = (
    lambda c: c.fetch_conversation("1"),
    lambda c: c.post_reply("1", "hi"),
    lambda c: c.post_note("1", "note"),
    lambda c: c.assign_group("1", "Support"),
    lambda c: c.add_tags("1", ["a"]),
    lambda c: c.list_groups(),
    lambda c: c.check_credentials(),
    lambda c: c.escalate("1", "note", "Support", ["a"]),
    lambda c: c.check_bot_identity(),
    lambda c: list(c.list_help_articles()),
)


# -- files ---------------------------------------------------------------------------------
def read_fixture_bytes(helpdesk: str, name: str) -> bytes:
    """Raw bytes of ``tests/fixtures/<helpdesk>/<name>``, exactly as a webhook would carry them."""
    return (FIXTURES / helpdesk / name).read_bytes()


def read_fixture_json(helpdesk: str, name: str) -> Any:
    """A fixture file parsed as JSON, for mocked API responses and edited variants."""
    return json.loads(read_fixture_bytes(helpdesk, name))


def example_paths(helpdesk: str) -> list[Path]:
    """The shipped example webhooks of ``helpdesk`` (examples/webhooks/<helpdesk>/), by name."""
    return sorted((EXAMPLES_DIR / helpdesk).glob("*.json"))


def example_bytes(helpdesk: str, name: str) -> bytes:
    """One shipped example webhook, as the helpdesk would send it."""
    return (EXAMPLES_DIR / helpdesk / name).read_bytes()


def shipped_example_cases(ticket_ids: Sequence[str]) -> list[Any]:
    """``SHIPPED_EXAMPLES`` as parameters (file, ticket id, role, text) named by file, with
    the ticket ids of one helpdesk's examples."""
    return [
        pytest.param((name, ticket_id, role, text), id=name)
        for (name, role, text), ticket_id in zip(SHIPPED_EXAMPLES, ticket_ids, strict=True)
    ]


# -- settings and connectors ---------------------------------------------------------------
def load_settings_with(
    schema: Schema, defaults: Mapping[str, Any], overrides: Mapping[str, Any]
) -> Any:
    """``defaults`` with ``overrides`` loaded through ``schema``; an override of None leaves
    the key out, which is how a test says a setting is missing."""
    config = {**defaults, **overrides}
    return schema.load({key: value for key, value in config.items() if value is not None})


def build_connector(cls: Callable[..., C], settings: Any, sleeps: list[float] | None = None) -> C:
    """A connector whose retry sleeps are only recorded, into ``sleeps`` when given."""
    recorder: list[float] = sleeps if sleeps is not None else []
    return cls(CONNECTOR_NAME, settings, sleep=recorder.append)


def assert_errors_keyed_by_field(
    schema: Schema, config: dict[str, Any], errors: dict[str, str]
) -> None:
    """Loading ``config`` fails on exactly the fields of ``errors``, each message holding the
    fragment given for it: an admin is told every problem, each under its own key."""
    with pytest.raises(ValidationError) as caught:
        schema.load(config)

    messages = caught.value.messages
    assert isinstance(messages, dict)
    assert set(messages) == set(errors)
    for field_name, fragment in errors.items():
        assert fragment in " ".join(messages[field_name])


# -- webhooks ------------------------------------------------------------------------------
def as_body(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


def sign_request(connector: Connector, body: bytes, now: datetime) -> WebhookRequest:
    """A POST of ``body`` carrying the headers the helpdesk would sign it with at ``now``."""
    return WebhookRequest(method="POST", headers=connector.sign(body, now), body=body)


def verify_and_parse(connector: Connector, body: bytes, now: datetime) -> Event:
    """The web layer's order: verify, then parse."""
    request = sign_request(connector, body, now)
    connector.verify(request, now)
    return connector.parse(request)


def replay_shipped_example(
    connector: Connector, helpdesk: str, case: tuple[str, str, Role, str], now: datetime
) -> Event:
    """Take one of ``shipped_example_cases`` through a connector without API credentials: the
    examples are what a dry run replays, so each must parse to the message it is known for."""
    name, ticket_id, role, text = case
    event = verify_and_parse(connector, example_bytes(helpdesk, name), now)

    assert connector.has_credentials is False
    assert event.kind == "comment"
    assert event.ticket_id == ticket_id
    assert event.message is not None
    assert event.message.role is role
    assert event.message.text == text
    return event
