"""The learning loop: a ticket the bot handed off is solved by a person, the agent's answer
becomes a candidate, and only an approved candidate is searchable."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses

from bridge.events import Message, Role
from bridge.feedback.signals import handle_signal
from bridge.learning.candidates import (
    APPROVED,
    COLLECTING,
    FAILED,
    PENDING,
    REJECTED,
    SKIPPED,
    CandidateNotFound,
    approve_candidate,
    collect_pending,
    compose,
    list_candidates,
    reject_candidate,
)
from bridge.learning.curated import passage_id
from bridge.runtime import Runtime
from bridge.store import Store
from tests.feedback.test_signals import parse
from tests.feedback.world import (
    BASE,
    COMMENTS,
    GROUPS,
    TAGS,
    TICKET,
    Service,
    feedback_config,
)
from tests.helpers import (
    AGENT,
    BOT,
    REQUESTER,
    comment,
    comments_page,
    trigger_body,
    update_response,
)

ASKED = "My PDF exports all show a big watermark. I want to talk to a real person please."
ANSWER = (
    "Hi Sam, the watermark appears on PDF exports made on the Free plan. Upgrade to Pro, or "
    "turn it off under Settings > Export > Branding, then export again."
)
QUESTION = "Why do my PDF exports show a watermark?"
CURATED = (
    "The watermark appears on PDF exports made on the Free plan. Upgrade to Pro, or turn it "
    "off under Settings > Export > Branding, then export again."
)


@pytest.fixture
def service(tmp_path: Path, store: Store) -> Service:
    return Service(feedback_config(tmp_path, store), store)


def escalate(service: Service) -> None:
    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, ASKED)))
    responses.get(
        GROUPS, json={"groups": [{"id": 22, "name": "Tier 2"}], "meta": {"has_more": False}}
    )
    responses.put(TICKET, json=update_response(601))
    responses.put(TICKET, json=update_response(602))
    responses.put(TAGS, json={"tags": ["ai_escalated"]})
    outcome = service.deliver(trigger_body(text=ASKED))
    assert outcome is not None and (outcome.kind, outcome.reason) == ("escalate", "human_request")


def solved_conversation() -> dict:
    """What Zendesk holds once an agent has answered and solved the ticket."""
    return comments_page(
        comment(501, REQUESTER, ASKED),
        comment(601, BOT, "Thanks, a person from Tier 2 will take over."),
        comment(602, BOT, "Handoff: human_request", public=False),
        comment(701, AGENT, "Known issue, see the branding toggle.", public=False),
        comment(702, AGENT, ANSWER),
        comment(703, REQUESTER, "That fixed it, thanks!"),
    )


def solve(service: Service) -> str | None:
    event = parse(service.connector, {"bridge_event": "solved", "ticket_id": "42"})
    return handle_signal(service.runtime, service.connector, event)


@responses.activate
def test_solved_escalated_ticket_becomes_a_candidate_with_the_agents_answer(
    service: Service,
) -> None:
    escalate(service)
    assert solve(service) == "solved; answer will be collected"
    [candidate] = service.candidates()
    assert candidate.status == COLLECTING
    assert candidate.escalation_reason == "human_request"
    assert candidate.ticket_url == "https://acme.zendesk.test/agent/tickets/42"

    responses.replace(responses.GET, COMMENTS, json=solved_conversation())
    assert collect_pending(service.runtime) == {PENDING: 1}
    [candidate] = service.candidates()
    assert candidate.status == PENDING
    assert candidate.question == ASKED
    assert candidate.answer == ANSWER  # the private note and the bot's words left out
    assert [c.id for c in list_candidates(service.store)] == [candidate.id]

    assert solve(service) == "solved; answer will be collected"  # a redelivery: still one
    assert len(service.candidates()) == 1


@responses.activate
def test_approved_answer_is_retrieved_as_a_curated_passage(service: Service) -> None:
    escalate(service)
    solve(service)
    responses.replace(responses.GET, COMMENTS, json=solved_conversation())
    collect_pending(service.runtime)
    [candidate] = service.candidates()

    fresh = Runtime(service.config, store=service.store)
    assert passage_id(candidate.id) not in [h.passage.id for h in fresh.retriever.search(QUESTION)]

    approve_candidate(service.store, candidate.id, QUESTION, CURATED, reviewer="priya")
    [candidate] = service.candidates()
    assert (candidate.status, candidate.reviewer) == (APPROVED, "priya")
    assert candidate.reviewed_at is not None

    hits = Runtime(service.config, store=service.store).retriever.search(QUESTION)
    top = hits[0].passage
    assert top.id == passage_id(candidate.id)
    assert (top.title, top.text, top.source) == (QUESTION, CURATED, "curated")
    assert "Hi Sam" not in top.text  # the reviewer's text, not the agent's

    solve(service)  # solved again after review: the decision stands
    assert service.candidates()[0].status == APPROVED


@responses.activate
def test_a_curated_answer_is_cited_in_a_later_reply(service: Service) -> None:
    escalate(service)
    solve(service)
    responses.replace(responses.GET, COMMENTS, json=solved_conversation())
    collect_pending(service.runtime)
    [candidate] = service.candidates()
    approve_candidate(service.store, candidate.id, QUESTION, CURATED, reviewer="priya")

    service.runtime.retriever.check_now()  # the revision check normally runs every 10 s
    asked = "Why is there a watermark on my PDF exports?"
    responses.get(
        f"{BASE}/tickets/43/comments.json", json=comments_page(comment(801, REQUESTER, asked))
    )
    responses.put(f"{BASE}/tickets/43.json", json=update_response(901))
    outcome = service.deliver(trigger_body(ticket_id="43", comment_id="801", text=asked))
    assert outcome is not None and outcome.kind == "reply"
    reply = service.decisions()[-1]
    assert [c["title"] for c in reply.citations][:1] == [QUESTION]
    assert "Settings > Export > Branding" in (reply.text or "")


@responses.activate
def test_rejected_candidate_is_not_indexed(service: Service) -> None:
    escalate(service)
    solve(service)
    responses.replace(responses.GET, COMMENTS, json=solved_conversation())
    collect_pending(service.runtime)
    [candidate] = service.candidates()

    reject_candidate(service.store, candidate.id, reviewer="priya")
    assert service.candidates()[0].status == REJECTED
    hits = Runtime(service.config, store=service.store).retriever.search(QUESTION)
    assert passage_id(candidate.id) not in [h.passage.id for h in hits]


@responses.activate
def test_rejecting_an_approved_candidate_takes_it_out_of_the_index(service: Service) -> None:
    escalate(service)
    solve(service)
    responses.replace(responses.GET, COMMENTS, json=solved_conversation())
    collect_pending(service.runtime)
    [candidate] = service.candidates()
    approve_candidate(service.store, candidate.id, QUESTION, CURATED, reviewer="priya")
    retriever = service.runtime.retriever
    assert retriever.search(QUESTION)[0].passage.id == passage_id(candidate.id)

    reject_candidate(service.store, candidate.id, reviewer="sam")
    retriever.check_now()  # type: ignore[attr-defined]
    assert passage_id(candidate.id) not in [h.passage.id for h in retriever.search(QUESTION)]


@responses.activate
def test_a_ticket_the_bot_never_handed_off_is_not_collected(service: Service) -> None:
    text = "Hi, how do I reset my password? I can't remember it."
    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, text)))
    responses.put(TICKET, json=update_response(601))
    assert service.deliver(trigger_body(text=text)).kind == "reply"  # type: ignore[union-attr]
    assert solve(service) == "solved"
    assert service.candidates() == []


@responses.activate
def test_no_public_agent_answer_is_skipped(service: Service) -> None:
    escalate(service)
    solve(service)
    only_notes = comments_page(
        comment(501, REQUESTER, ASKED), comment(701, AGENT, ANSWER, public=False)
    )
    responses.replace(responses.GET, COMMENTS, json=only_notes)
    assert collect_pending(service.runtime) == {SKIPPED: 1}
    [candidate] = service.candidates()
    assert candidate.last_error == "no public answer by an agent"


@responses.activate
def test_helpdesk_errors_are_retried_then_given_up(service: Service) -> None:
    escalate(service)
    solve(service)
    responses.replace(responses.GET, COMMENTS, status=503, json={"error": "down"})
    for _ in range(service.config.learning.max_attempts - 1):
        assert collect_pending(service.runtime) == {COLLECTING: 1}
    assert collect_pending(service.runtime) == {FAILED: 1}
    [candidate] = service.candidates()
    assert candidate.attempts == service.config.learning.max_attempts
    assert "503" in (candidate.last_error or "")
    assert collect_pending(service.runtime) == {}


def test_review_validates_its_input(store: Store) -> None:
    with pytest.raises(CandidateNotFound):
        approve_candidate(store, 999, QUESTION, CURATED, reviewer="priya")
    with pytest.raises(CandidateNotFound):
        reject_candidate(store, 999, reviewer="priya")
    with pytest.raises(ValueError):
        approve_candidate(store, 999, "  ", CURATED, reviewer="priya")
    with pytest.raises(ValueError):
        approve_candidate(store, 999, QUESTION, CURATED, reviewer=" ")


def message(id: str, role: Role, text: str, public: bool = True) -> Message:
    return Message(id=id, role=role, text=text, public=public)


def test_compose_takes_the_customers_words_up_to_the_handoff() -> None:
    conversation = [
        message("1", Role.CUSTOMER, "How do I export?"),
        message("2", Role.BOT, "Use File > Export."),
        message("3", Role.CUSTOMER, "It fails. Human please."),
        message("4", Role.BOT, "A person will take over."),
        message("5", Role.CUSTOMER, "Hello?"),
        message("6", Role.AGENT, "Clear the cache, then export again."),
        message("7", Role.AGENT, "And update the app.", public=True),
    ]
    composed = compose(conversation, message("3", Role.CUSTOMER, "It fails. Human please."))
    assert composed is not None
    assert composed.question == "How do I export?\n\nIt fails. Human please."
    assert composed.answer == "Clear the cache, then export again.\n\nAnd update the app."


def test_compose_without_the_handoff_uses_what_came_before_the_first_answer() -> None:
    conversation = [
        message("a", Role.CUSTOMER, "Refund please"),
        message("b", Role.AGENT, "Refunded, it takes 5 days."),
    ]
    composed = compose(conversation, message("zzz", Role.CUSTOMER, "edited away"))
    assert composed is not None and composed.question == "Refund please"
    assert compose([message("a", Role.CUSTOMER, "Refund please")], None) is None


@responses.activate
def test_the_beat_task_collects_solved_tickets(service: Service) -> None:
    from tasks.celery_app import create_celery
    from tasks.learning import COLLECT_CANDIDATES

    escalate(service)
    solve(service)
    responses.replace(responses.GET, COMMENTS, json=solved_conversation())
    celery = create_celery(service.config, service.runtime, task_always_eager=True)
    assert celery.tasks[COLLECT_CANDIDATES].apply().get() == {PENDING: 1}
    assert celery.tasks[COLLECT_CANDIDATES].apply().get() == {}
    assert service.candidates()[0].status == PENDING
