"""Answers from Claude through the official SDK, with the result forced through one tool call.

Forcing the tool means the answer is parsed from structured input the model had to fill in,
never scraped from prose. The system prompt is identical on every call and marked for prompt
caching, so repeated questions pay for it once per cache lifetime.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import anthropic
import httpx2

from bridge.knowledge.answerer_settings import LLMSettings
from bridge.knowledge.answerers.base import (
    ANSWER_SCHEMA,
    SUMMARY_MAX_TOKENS,
    SUMMARY_PROMPT,
    SYSTEM_PROMPT,
    TOOL_DESCRIPTION,
    TOOL_NAME,
    AnswererUnavailable,
    build_summary_content,
    build_user_content,
    describe_failure,
    http_client_options,
    parse_summary,
    product_context_block,
    to_answer,
)
from bridge.knowledge.types import Answer, AnswerKind, Hit


class AnthropicAnswerer:
    name = "anthropic"

    def __init__(
        self, settings: LLMSettings, *, transport: httpx2.BaseTransport | None = None
    ) -> None:
        """``transport`` replaces the network layer (tests); everything above it is the SDK's."""
        self.settings = settings
        try:
            self._client = anthropic.Anthropic(
                # None lets the SDK find the key itself (ANTHROPIC_API_KEY, a profile).
                api_key=settings.api_key,
                base_url=settings.base_url,
                timeout=settings.timeout_seconds,
                max_retries=settings.max_retries,
                http_client=anthropic.DefaultHttpxClient(
                    **http_client_options(settings.timeout_seconds, transport)
                ),
            )
        except anthropic.AnthropicError as exc:
            raise AnswererUnavailable(describe_failure("anthropic", exc)) from exc

    def request(
        self,
        question: str,
        conversation: Sequence[str],
        hits: Sequence[Hit],
        product_context: str = "",
    ) -> dict[str, Any]:
        """The Messages API parameters for one question (exposed so tests can read them)."""
        system: list[dict[str, Any]] = [
            {"type": "text", "text": SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}}
        ]
        context = product_context_block(product_context)
        if context:
            # After the cached block: it differs per connector and must not split the cache.
            system.append({"type": "text", "text": context})
        return {
            "model": self.settings.model,
            "max_tokens": self.settings.max_tokens,
            "system": system,
            "messages": [
                {"role": "user", "content": build_user_content(question, conversation, hits)}
            ],
            "tools": [
                {
                    "name": TOOL_NAME,
                    "description": TOOL_DESCRIPTION,
                    "input_schema": ANSWER_SCHEMA,
                }
            ],
            "tool_choice": {"type": "tool", "name": TOOL_NAME, "disable_parallel_tool_use": True},
        }

    def answer(
        self,
        question: str,
        conversation: Sequence[str],
        hits: Sequence[Hit],
        product_context: str = "",
    ) -> Answer:
        if not hits:
            # Nothing to ground an answer in: the core hands off whatever the model would say.
            return Answer(kind=AnswerKind.NOT_COVERED, notes={"reason": "no hits"})
        params = self.request(question, conversation, hits, product_context)
        started = time.monotonic()
        try:
            message = self._client.messages.create(**params)
        except anthropic.AnthropicError as exc:
            # The SDK has already retried timeouts, 429, 529 and 5xx up to max_retries.
            raise AnswererUnavailable(describe_failure("anthropic", exc)) from exc
        latency_ms = int((time.monotonic() - started) * 1000)

        usage = message.usage
        counts = {
            "input_tokens": usage.input_tokens or 0,
            "output_tokens": usage.output_tokens or 0,
            "cache_creation_input_tokens": usage.cache_creation_input_tokens or 0,
            "cache_read_input_tokens": usage.cache_read_input_tokens or 0,
        }
        notes = {key: str(value) for key, value in counts.items()}
        notes.update(
            answerer=self.name,
            model=str(message.model),
            latency_ms=str(latency_ms),
            stop_reason=str(message.stop_reason),
        )
        tool_input = next(
            (
                block.input
                for block in message.content
                if getattr(block, "type", None) == "tool_use"
                and getattr(block, "name", None) == TOOL_NAME
            ),
            None,
        )
        if tool_input is None:
            notes["invalid"] = f"no {TOOL_NAME} call (stop_reason {message.stop_reason})"
            return Answer(kind=AnswerKind.NOT_COVERED, tokens=sum(counts.values()), notes=notes)
        return to_answer(tool_input, hits, tokens=sum(counts.values()), notes=notes)

    def summarize(self, transcript: Sequence[str], reason: str) -> str | None:
        """Intent and a one-sentence summary of a handed-off conversation, for the brief."""
        try:
            message = self._client.messages.create(
                model=self.settings.model,
                max_tokens=SUMMARY_MAX_TOKENS,
                system=SUMMARY_PROMPT,
                messages=[{"role": "user", "content": build_summary_content(transcript, reason)}],
            )
        except anthropic.AnthropicError as exc:
            raise AnswererUnavailable(describe_failure("anthropic", exc)) from exc
        text = "".join(
            getattr(block, "text", "") for block in message.content if block.type == "text"
        )
        return parse_summary(text)
