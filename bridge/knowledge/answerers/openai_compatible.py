"""Answers from any server that speaks the chat-completions API: hosted, vLLM, Ollama, others.

The result is asked for as a forced function call, like the Anthropic answerer's tool. Not every
self-hosted model can call tools; when the server rejects the request, the same question is
asked again for a bare JSON object, and once that works the answerer stays in JSON mode. Either
way the output goes through the same validation.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from typing import Any

import httpx2
import openai

from bridge.knowledge.answerer_settings import LLMSettings
from bridge.knowledge.answerers.base import (
    ANSWER_SCHEMA,
    JSON_OUTPUT_INSTRUCTIONS,
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
    parse_json_object,
    parse_summary,
    product_context_block,
    to_answer,
)
from bridge.knowledge.types import Answer, AnswerKind, Hit

# Local servers need no key, but the SDK refuses to start without one.
_NO_KEY = "not-needed"


class OpenAICompatibleAnswerer:
    name = "openai_compatible"

    def __init__(
        self, settings: LLMSettings, *, transport: httpx2.BaseTransport | None = None
    ) -> None:
        """``transport`` replaces the network layer (tests); everything above it is the SDK's."""
        self.settings = settings
        self.use_tools = True  # False once the server has shown it cannot call functions
        try:
            self._client = openai.OpenAI(
                api_key=settings.api_key or os.environ.get("OPENAI_API_KEY") or _NO_KEY,
                base_url=settings.base_url,
                timeout=settings.timeout_seconds,
                max_retries=settings.max_retries,
                http_client=openai.DefaultHttpxClient(
                    **http_client_options(settings.timeout_seconds, transport)
                ),
            )
        except openai.OpenAIError as exc:
            raise AnswererUnavailable(describe_failure("openai_compatible", exc)) from exc

    def request(
        self,
        question: str,
        conversation: Sequence[str],
        hits: Sequence[Hit],
        product_context: str = "",
        *,
        tools: bool = True,
    ) -> dict[str, Any]:
        """The chat-completions parameters for one question (exposed so tests can read them)."""
        system = SYSTEM_PROMPT
        context = product_context_block(product_context)
        if context:
            system += "\n\n" + context
        if not tools:
            system += "\n\n" + JSON_OUTPUT_INSTRUCTIONS
        params: dict[str, Any] = {
            "model": self.settings.model,
            "max_tokens": self.settings.max_tokens,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": build_user_content(question, conversation, hits)},
            ],
        }
        if self.settings.temperature is not None:
            params["temperature"] = self.settings.temperature
        if tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": TOOL_NAME,
                        "description": TOOL_DESCRIPTION,
                        "parameters": ANSWER_SCHEMA,
                    },
                }
            ]
            params["tool_choice"] = {"type": "function", "function": {"name": TOOL_NAME}}
        return params

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
        started = time.monotonic()
        completion, mode = self._complete(question, conversation, hits, product_context)
        latency_ms = int((time.monotonic() - started) * 1000)

        usage = completion.usage
        prompt = (usage.prompt_tokens or 0) if usage else 0
        output = (usage.completion_tokens or 0) if usage else 0
        details = getattr(usage, "prompt_tokens_details", None)
        cached = (getattr(details, "cached_tokens", None) or 0) if details else 0
        notes = {
            "answerer": self.name,
            "model": str(completion.model),
            "output_mode": mode,
            "input_tokens": str(prompt),
            "output_tokens": str(output),
            "cache_read_input_tokens": str(cached),
            "latency_ms": str(latency_ms),
        }
        if not completion.choices:
            notes["invalid"] = "no choices in the response"
            return Answer(kind=AnswerKind.NOT_COVERED, tokens=prompt + output, notes=notes)
        choice = completion.choices[0]
        notes["stop_reason"] = str(choice.finish_reason)
        try:
            data = _structured_output(choice.message)
        except ValueError as exc:
            notes["invalid"] = str(exc)[:200]
            return Answer(kind=AnswerKind.NOT_COVERED, tokens=prompt + output, notes=notes)
        return to_answer(data, hits, tokens=prompt + output, notes=notes)

    def _complete(
        self,
        question: str,
        conversation: Sequence[str],
        hits: Sequence[Hit],
        product_context: str,
    ) -> tuple[Any, str]:
        """Call the server (the SDK retries timeouts, 429 and 5xx); return the reply and mode."""
        args = (question, conversation, hits, product_context)
        if self.use_tools:
            try:
                params = self.request(*args, tools=True)
                return self._client.chat.completions.create(**params), "tools"
            except (openai.BadRequestError, openai.UnprocessableEntityError) as rejected:
                # Most often a model or server without function calling; anything else fails
                # again below and is reported as the original rejection.
                try:
                    params = self.request(*args, tools=False)
                    completion = self._client.chat.completions.create(**params)
                except openai.OpenAIError as exc:
                    raise AnswererUnavailable(
                        describe_failure("openai_compatible", rejected)
                    ) from exc
                self.use_tools = False
                return completion, "json"
            except openai.OpenAIError as exc:
                raise AnswererUnavailable(describe_failure("openai_compatible", exc)) from exc
        try:
            params = self.request(*args, tools=False)
            return self._client.chat.completions.create(**params), "json"
        except openai.OpenAIError as exc:
            raise AnswererUnavailable(describe_failure("openai_compatible", exc)) from exc


def _structured_output(message: Any) -> Any:
    """The record_answer arguments, or failing that a JSON object in the message text.

    Some servers accept tools but let the model answer in plain content anyway, so the content
    is read too before giving up.
    """
    for call in getattr(message, "tool_calls", None) or ():
        function = getattr(call, "function", None)
        if function is not None and getattr(function, "name", None) == TOOL_NAME:
            try:
                return json.loads(function.arguments or "")
            except ValueError as exc:
                raise ValueError(f"{TOOL_NAME} arguments are not JSON") from exc
    content = getattr(message, "content", None)
    if isinstance(content, str) and content.strip():
        return parse_json_object(content)
    raise ValueError(f"no {TOOL_NAME} call and no JSON in the reply")

    def summarize(self, transcript: Sequence[str], reason: str) -> str | None:
        """Intent and a one-sentence summary of a handed-off conversation, for the brief."""
        params: dict[str, Any] = {
            "model": self.settings.model,
            "max_tokens": SUMMARY_MAX_TOKENS,
            "messages": [
                {"role": "system", "content": SUMMARY_PROMPT},
                {"role": "user", "content": build_summary_content(transcript, reason)},
            ],
        }
        if self.settings.temperature is not None:
            params["temperature"] = self.settings.temperature
        try:
            completion = self._client.chat.completions.create(**params)
        except openai.OpenAIError as exc:
            raise AnswererUnavailable(describe_failure("openai_compatible", exc)) from exc
        if not completion.choices:
            return None
        return parse_summary(completion.choices[0].message.content or "")
