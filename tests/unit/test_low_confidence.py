"""Which handoff a question the docs do not answer gets: low_confidence or missing_knowledge.

low_confidence: the closest docs touch the question (check those articles); missing_knowledge:
nothing relevant (write one). The rule reads only the answer, so it is the same for every
answerer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bridge.config import ConfigError, Policy, parse_config
from bridge.decision import DecisionKind, TicketView, core
from bridge.decision.model import Decision, Situation
from bridge.events import Message, Role
from bridge.knowledge.answerers.base import to_answer
from bridge.knowledge.extractive import ExtractiveAnswerer
from bridge.knowledge.index import KnowledgeIndex
from bridge.knowledge.loader import load_folder
from bridge.knowledge.types import Answer, AnswerKind, Hit, Passage
from tests.conftest import REPO_ROOT, config_data, make_config

PASSAGE = Passage(
    id="getting-started.md#install",
    title_path=("Getting started", "Install the desktop and mobile apps"),
    text="Download the app for Windows, macOS, iOS or Android.",
    source="getting-started.md",
)
HITS = [Hit(PASSAGE, 4.2)]


def policy_with(tmp_path: Path, **answer: Any) -> Policy:
    return make_config(tmp_path, "sqlite://", {"answer": answer}).connectors["acme"].policy


def settle(answer: Answer, policy: Policy, hits: list[Hit] = HITS) -> Decision:
    message = Message(id="c1", role=Role.CUSTOMER, text="Is there a Linux app?")
    return core.settle(Situation(message, [message], TicketView()), hits, answer, policy)


def not_covered(confidence: float) -> Answer:
    return Answer(AnswerKind.NOT_COVERED, confidence=confidence)


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    return policy_with(tmp_path)  # min_confidence 0.6, so the floor is 0.3


def test_the_floor_defaults_to_half_the_threshold(tmp_path: Path) -> None:
    assert policy_with(tmp_path).answer.low_confidence_floor == 0.3
    assert policy_with(tmp_path, min_confidence=0.8).answer.low_confidence_floor == 0.4
    assert policy_with(tmp_path, low_confidence_floor=0.1).answer.low_confidence_floor == 0.1


@pytest.mark.parametrize("confidence", [0.3, 0.45, 0.5999])
def test_docs_that_partly_cover_the_question_hand_off_as_low_confidence(
    policy: Policy, confidence: float
) -> None:
    decision = settle(not_covered(confidence), policy)
    assert (decision.kind, decision.reason) == (DecisionKind.ESCALATE, "low_confidence")
    assert decision.rule_id == "answer.partial_coverage"
    assert "ai_reason_low_confidence" in decision.tags
    assert decision.evidence["confidence"] == round(confidence, 3)


@pytest.mark.parametrize("confidence", [0.0, 0.1, 0.2999])
def test_docs_far_from_the_question_hand_off_as_missing_knowledge(
    policy: Policy, confidence: float
) -> None:
    decision = settle(not_covered(confidence), policy)
    assert (decision.reason, decision.rule_id) == ("missing_knowledge", "answer.not_covered")


@pytest.mark.parametrize("confidence", [0.6, 0.95])
def test_not_covered_at_or_above_the_threshold_keeps_the_answerers_verdict(
    policy: Policy, confidence: float
) -> None:
    # A model sure that the docs lack the answer may report how sure it is; that is no sign
    # that the passages came close.
    assert settle(not_covered(confidence), policy).reason == "missing_knowledge"


def test_nothing_retrieved_is_missing_knowledge_whatever_the_confidence(policy: Policy) -> None:
    assert settle(not_covered(0.5), policy, hits=[]).reason == "missing_knowledge"


def test_an_unsure_answer_stays_low_confidence_below_the_floor(policy: Policy) -> None:
    # The answerer did answer from the passages; it only was not sure enough to send it.
    answer = Answer(AnswerKind.ANSWER, "Download the app.", (PASSAGE.id,), 0.1)
    decision = settle(answer, policy)
    assert (decision.reason, decision.rule_id) == ("low_confidence", "answer.min_confidence")


def test_the_floor_is_configurable(tmp_path: Path) -> None:
    lower = policy_with(tmp_path, low_confidence_floor=0.1)
    assert settle(not_covered(0.15), lower).reason == "low_confidence"
    # A floor equal to the threshold leaves no band: every NOT_COVERED is missing knowledge.
    off = policy_with(tmp_path, min_confidence=0.5, low_confidence_floor=0.5)
    assert settle(not_covered(0.49), off).reason == "missing_knowledge"


def test_a_zero_floor_still_needs_some_coverage(tmp_path: Path) -> None:
    policy = policy_with(tmp_path, low_confidence_floor=0.0)
    assert settle(not_covered(0.0), policy).reason == "missing_knowledge"
    assert settle(not_covered(0.01), policy).reason == "low_confidence"


def test_an_llm_answerers_not_covered_follows_the_same_rule(policy: Policy) -> None:
    def model_says(confidence: float) -> Answer:
        output = {
            "kind": "not_covered",
            "text": "",
            "cited_ids": [],
            "confidence": confidence,
            "language": "en",
            "triage": {
                "intent": "linux app",
                "sentiment": "neutral",
                "escalate": False,
                "reason": "docs do not say",
            },
        }
        return to_answer(output, HITS)

    assert settle(model_says(0.4), policy).reason == "low_confidence"
    assert settle(model_says(0.05), policy).reason == "missing_knowledge"


# --- configuration ---------------------------------------------------------------------------


def problems(
    tmp_path: Path, defaults: dict[str, Any], connector: dict[str, Any] | None = None
) -> list[str]:
    data = config_data(tmp_path, "sqlite://", connector)
    data["defaults"]["answer"] = defaults
    with pytest.raises(ConfigError) as info:
        parse_config(data, base_dir=REPO_ROOT, env={})
    return info.value.problems


def test_a_floor_above_the_threshold_is_a_config_error(tmp_path: Path) -> None:
    found = problems(tmp_path, {"min_confidence": 0.5, "low_confidence_floor": 0.7})
    assert (
        "defaults.answer.low_confidence_floor: must not be greater than min_confidence (0.5)"
        in found
    )


def test_a_connector_that_lowers_the_threshold_below_the_floor_is_named(tmp_path: Path) -> None:
    found = problems(
        tmp_path, {"low_confidence_floor": 0.4}, connector={"answer": {"min_confidence": 0.3}}
    )
    assert any(
        p.startswith("connectors.acme.answer.low_confidence_floor: must not be greater")
        for p in found
    ), found


@pytest.mark.parametrize("value", [-0.1, 1.5, "high"])
def test_a_floor_outside_zero_to_one_is_a_config_error(tmp_path: Path, value: object) -> None:
    found = problems(tmp_path, {"low_confidence_floor": value})
    assert any(p.startswith("defaults.answer.low_confidence_floor: ") for p in found), found


# --- end to end with the extractive answerer on the example help center ---------------------


@pytest.fixture(scope="module")
def index() -> KnowledgeIndex:
    return KnowledgeIndex.build(load_folder(REPO_ROOT / "examples" / "help-center"))


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        # The install section names apps, not Linux.
        ("Is there a Linux app?", "low_confidence"),
        # Shared notebooks are documented, a member limit is not.
        ("Is there a maximum number of members in a shared notebook?", "low_confidence"),
        # Nothing about discounts or integrations.
        ("Can I get a student discount?", "missing_knowledge"),
        ("Does Notebird integrate with Salesforce?", "missing_knowledge"),
    ],
)
def test_the_extractive_answerers_handoffs_tell_near_from_missing(
    index: KnowledgeIndex, policy: Policy, question: str, reason: str
) -> None:
    hits = index.search(question, k=policy.answer.top_k)
    answer = ExtractiveAnswerer(policy.answer.min_confidence).answer(question, [question], hits)
    assert answer.kind is AnswerKind.NOT_COVERED
    message = Message(id="c1", role=Role.CUSTOMER, text=question)
    decision = core.settle(Situation(message, [message], TicketView()), hits, answer, policy)
    assert decision.reason == reason, answer.confidence
