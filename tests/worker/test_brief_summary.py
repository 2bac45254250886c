"""With an LLM answerer, the brief's summary line comes from the model; else the template's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bridge.store import Store
from tests.conftest import make_config
from tests.helpers import trigger_body
from tests.worker.test_pipeline import World

DRY = {"mode": "dry_run", "email": None, "api_token": None, "bot_user_id": None}


class Summarizing:
    name = "stub-llm"

    def __init__(self, result: str | Exception | None) -> None:
        self.result = result
        self.calls: list[tuple[list[str], str]] = []

    def answer(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - not reached
        raise AssertionError("a handoff by trigger does not need an answer")

    def summarize(self, transcript: list[str], reason: str) -> str | None:
        self.calls.append((transcript, reason))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (
            "Intent: talk to a person\nSummary (AI): Wants a human about billing.",
            "Summary (AI): Wants a human about billing.",
        ),
        (TimeoutError("slow"), "Summary: I want to talk to a real person about my bill."),
        (None, "Summary: I want to talk to a real person about my bill."),
    ],
)
def test_brief_summary_from_the_model_or_the_template(
    result: str | Exception | None, expected: str, tmp_path: Path, store: Store
) -> None:
    world = World(make_config(tmp_path, store.url, DRY), store)
    stub = Summarizing(result)
    world.runtime.answerer = lambda policy: stub  # type: ignore[method-assign]

    world.process(
        world.deliver(trigger_body(text="I want to talk to a real person about my bill."))
    )

    [decision] = world.decisions()
    assert decision.kind == "escalate"
    assert any(line.startswith(expected) for line in decision.brief.splitlines())
    assert stub.calls == [(["I want to talk to a real person about my bill."], "human_request")]
