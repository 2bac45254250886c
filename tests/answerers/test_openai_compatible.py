"""The chat-completions answerer against a scripted server: real SDK, real requests, no network."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2
import pytest

from bridge.decision import DecisionKind, answerer_failed, settle
from bridge.knowledge.answerer_settings import LLMSettings
from bridge.knowledge.answerers.base import (
    JSON_OUTPUT_INSTRUCTIONS,
    SYSTEM_PROMPT,
    TOOL_NAME,
    AnswererUnavailable,
)
from bridge.knowledge.answerers.openai_compatible import OpenAICompatibleAnswerer
from bridge.knowledge.index import KnowledgeIndex
from bridge.knowledge.types import AnswerKind
from tests.answerers.conftest import (
    OPENAI_KEY,
    NoSleep,
    ScriptedServer,
    policy_for,
    search,
    situation,
    tool_answer,
)

BASE_URL = "http://llm.internal:11434/v1"
PRICE_QUESTION = "How much does the Pro plan cost?"
PRO = "plans-and-pricing.md#pro"
REFUNDS = "billing-and-invoices.md#refunds"


def completion(
    *, arguments: Any = None, content: str | None = None, finish: str = "tool_calls"
) -> httpx2.Response:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if arguments is not None:
        message["tool_calls"] = [
            {
                "id": "call_1",
                "type": "function",
                "function": {
                    "name": TOOL_NAME,
                    "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                },
            }
        ]
    return httpx2.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1767225600,
            "model": "llama-test",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": 1300,
                "completion_tokens": 70,
                "total_tokens": 1370,
                "prompt_tokens_details": {"cached_tokens": 1024},
            },
        },
    )


def server_error(status: int, message: str = "error") -> httpx2.Response:
    return httpx2.Response(status, json={"error": {"message": message, "type": "server_error"}})


def make(server: ScriptedServer, **overrides: Any) -> OpenAICompatibleAnswerer:
    settings = LLMSettings(
        model="llama-test",
        api_key=OPENAI_KEY,
        base_url=BASE_URL,
        timeout_seconds=5,
        max_tokens=600,
        max_retries=2,
        temperature=0.1,
    )
    return OpenAICompatibleAnswerer(replace(settings, **overrides), transport=server.transport)


def test_request_forces_the_function_and_sends_passages_as_data(index: KnowledgeIndex) -> None:
    server = ScriptedServer([completion(arguments=tool_answer("Pro costs $8 per month.", [PRO]))])
    hits = search(index, PRICE_QUESTION)
    make(server).answer(PRICE_QUESTION, [PRICE_QUESTION], hits, "Notebird is a note-taking app.")

    request = server.requests[0]
    assert str(request.url) == f"{BASE_URL}/chat/completions"
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    body = server.body()
    assert body["model"] == "llama-test" and body["max_tokens"] == 600
    assert body["temperature"] == 0.1
    system, user = body["messages"]
    assert system["role"] == "system" and system["content"].startswith(SYSTEM_PROMPT)
    assert "Notebird is a note-taking app." in system["content"]
    assert JSON_OUTPUT_INSTRUCTIONS not in system["content"]
    assert user["role"] == "user"
    assert f"<customer_message>\n{PRICE_QUESTION}\n</customer_message>" in user["content"]
    assert f'<passage id="{PRO}"' in user["content"]
    (tool,) = body["tools"]
    assert tool["type"] == "function" and tool["function"]["name"] == TOOL_NAME
    assert tool["function"]["parameters"]["properties"]["triage"]["required"] == [
        "intent",
        "sentiment",
        "escalate",
        "reason",
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": TOOL_NAME}}


def test_a_local_server_needs_no_key(index: KnowledgeIndex) -> None:
    server = ScriptedServer([completion(arguments=tool_answer("Pro costs $8 per month.", [PRO]))])
    answer = make(server, api_key=None).answer(
        PRICE_QUESTION, [PRICE_QUESTION], search(index, PRICE_QUESTION)
    )
    assert answer.kind is AnswerKind.ANSWER


def test_a_cited_grounded_answer_becomes_a_reply(tmp_path: Path, index: KnowledgeIndex) -> None:
    server = ScriptedServer(
        [completion(arguments=tool_answer("Pro costs $8 per month, or $80 per year.", [PRO]))]
    )
    hits = search(index, PRICE_QUESTION)
    answer = make(server).answer(PRICE_QUESTION, [PRICE_QUESTION], hits)
    assert answer.kind is AnswerKind.ANSWER and answer.cited_ids == (PRO,)
    assert answer.tokens == 1370
    assert answer.notes["cache_read_input_tokens"] == "1024"
    assert answer.notes["output_mode"] == "tools"

    policy = policy_for(tmp_path, "openai_compatible", openai_compatible={"model": "llama-test"})
    decision = settle(situation(PRICE_QUESTION), hits, answer, policy)
    assert decision.kind is DecisionKind.REPLY
    assert [c.passage_id for c in decision.citations] == [PRO]


def test_an_invented_price_is_escalated_as_ungrounded(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    server = ScriptedServer([completion(arguments=tool_answer("Pro is $15/month.", [PRO]))])
    hits = search(index, PRICE_QUESTION)
    answer = make(server).answer(PRICE_QUESTION, [PRICE_QUESTION], hits)
    decision = settle(situation(PRICE_QUESTION), hits, answer, policy_for(tmp_path))
    assert (decision.kind, decision.reason) == (DecisionKind.ESCALATE, "ungrounded")
    assert decision.evidence["matched"] == ["number 15"]


def test_a_server_without_tools_is_asked_for_json_instead(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    payload = tool_answer("El plan Pro cuesta $8 al mes.", [PRO], language="es")
    server = ScriptedServer(
        [
            server_error(400, "registry/llama-test does not support tools"),
            completion(content="```json\n" + json.dumps(payload) + "\n```", finish="stop"),
        ]
    )
    answerer = make(server)
    question = "¿Cuánto cuesta el plan Pro?"
    hits = search(index, PRICE_QUESTION)
    answer = answerer.answer(question, [question], hits)

    assert [("tools" in json.loads(r.content)) for r in server.requests] == [True, False]
    retry = server.body(1)
    assert JSON_OUTPUT_INSTRUCTIONS in retry["messages"][0]["content"]
    assert answer.kind is AnswerKind.ANSWER and answer.notes["output_mode"] == "json"
    assert answer.notes["language"] == "es"
    decision = settle(situation(question), hits, answer, policy_for(tmp_path))
    assert decision.kind is DecisionKind.REPLY

    # Once the server has shown it cannot call tools, it is not asked to again.
    answerer.answer(question, [question], hits)
    assert len(server.requests) == 3 and "tools" not in server.body(2)


def test_a_server_that_answers_in_content_despite_tools_is_understood(
    index: KnowledgeIndex,
) -> None:
    payload = tool_answer("Pro costs $8 per month.", [PRO])
    server = ScriptedServer(
        [completion(content="Here you go: " + json.dumps(payload), finish="stop")]
    )
    answer = make(server).answer(PRICE_QUESTION, [PRICE_QUESTION], search(index, PRICE_QUESTION))
    assert answer.kind is AnswerKind.ANSWER and answer.cited_ids == (PRO,)


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (completion(arguments="{not json"), "arguments are not JSON"),
        (completion(content="I think Pro costs $8.", finish="stop"), "JSON"),
        (completion(arguments={**tool_answer("x", [PRO]), "kind": "refund"}), "unknown kind"),
    ],
)
def test_unusable_output_is_not_covered(
    response: httpx2.Response, problem: str, index: KnowledgeIndex
) -> None:
    server = ScriptedServer([response])
    answer = make(server).answer(PRICE_QUESTION, [PRICE_QUESTION], search(index, PRICE_QUESTION))
    assert answer.kind is AnswerKind.NOT_COVERED
    assert problem in answer.notes["invalid"]


@pytest.mark.parametrize(
    ("reply", "fault"),
    [
        (httpx2.ReadTimeout("timed out"), "APITimeoutError"),
        (server_error(503), "HTTP 503"),
        (server_error(429), "HTTP 429"),
    ],
)
def test_failures_are_retried_then_reported_once(
    reply: Any, fault: str, tmp_path: Path, index: KnowledgeIndex, no_sleep: NoSleep
) -> None:
    server = ScriptedServer([reply])
    with pytest.raises(AnswererUnavailable, match=fault) as failure:
        make(server).answer(PRICE_QUESTION, [PRICE_QUESTION], search(index, PRICE_QUESTION))
    assert len(server.requests) == 3 and len(no_sleep.waits) == 2

    decision = answerer_failed(situation(PRICE_QUESTION), policy_for(tmp_path), str(failure.value))
    assert (decision.kind, decision.reason) == (DecisionKind.ESCALATE, "ai_unavailable")


def test_a_request_rejected_with_and_without_tools_is_unavailable(
    index: KnowledgeIndex, no_sleep: NoSleep
) -> None:
    server = ScriptedServer([server_error(400, "context length exceeded")])
    answerer = make(server)
    with pytest.raises(AnswererUnavailable, match="HTTP 400"):
        answerer.answer(PRICE_QUESTION, [PRICE_QUESTION], search(index, PRICE_QUESTION))
    assert len(server.requests) == 2
    assert answerer.use_tools  # the server was not shown to lack tools


def test_an_action_claim_in_spanish_is_blocked(tmp_path: Path, index: KnowledgeIndex) -> None:
    question = "¿Puedo obtener un reembolso?"
    hits = search(index, "Can I get a refund?")
    server = ScriptedServer(
        [completion(arguments=tool_answer("Listo: he procesado su reembolso.", [REFUNDS]))]
    )
    answer = make(server).answer(question, [question], hits)
    decision = settle(situation(question), hits, answer, policy_for(tmp_path))
    assert (decision.kind, decision.reason) == (DecisionKind.ESCALATE, "unsafe_reply")
    assert decision.rule_id == "guard.action_claim"


def test_a_leaked_api_key_is_blocked(tmp_path: Path, index: KnowledgeIndex) -> None:
    server = ScriptedServer(
        [completion(arguments=tool_answer(f"Pro costs $8. Key: {OPENAI_KEY}", [PRO]))]
    )
    hits = search(index, PRICE_QUESTION)
    answer = make(server).answer(PRICE_QUESTION, [PRICE_QUESTION], hits)
    decision = settle(situation(PRICE_QUESTION), hits, answer, policy_for(tmp_path))
    assert (decision.kind, decision.reason) == (DecisionKind.ESCALATE, "unsafe_reply")
    assert OPENAI_KEY not in json.dumps(decision.evidence) and OPENAI_KEY not in decision.brief
