"""The answerers behind ``assistant.answerer``: one interface, whichever model answers.

The SDK-backed modules are imported only when their answerer is built, so the decision core
(which reads the prompt text from ``base``) never pays for loading an SDK it does not use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridge.knowledge.answerer_settings import ANSWERERS, AnswererSettings
from bridge.knowledge.answerers.base import Answerer, AnswererUnavailable

if TYPE_CHECKING:
    from bridge.policy import Policy

__all__ = ["Answerer", "AnswererUnavailable", "build_answerer"]


def build_answerer(name: str, settings: AnswererSettings, policy: Policy) -> Answerer:
    """The answerer called ``name``, configured from the ``answerers`` section and the policy."""
    if name == "extractive":
        from bridge.knowledge.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer(min_confidence=policy.answer.min_confidence)
    if name not in ANSWERERS:
        raise ValueError(f"unknown answerer {name!r} (known: {', '.join(ANSWERERS)})")
    llm = getattr(settings, name)
    if llm is None:
        # The config loader rejects this already; a hand-built config could still get here.
        raise AnswererUnavailable(f"answerer {name!r} has no answerers.{name} section")
    if name == "anthropic":
        from bridge.knowledge.answerers.anthropic import AnthropicAnswerer

        return AnthropicAnswerer(llm)
    from bridge.knowledge.answerers.openai_compatible import OpenAICompatibleAnswerer

    return OpenAICompatibleAnswerer(llm)
