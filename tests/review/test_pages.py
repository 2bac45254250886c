"""Each review page with seeded data: what it lists, how it filters, what its forms change."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from bridge.review import queries
from bridge.store import Store
from bridge.store.models import (
    DeadLetter,
    Delivery,
    KbCandidate,
    KbChunk,
    KbDocument,
    KbSource,
    Review,
)
from tests.review.conftest import ReviewHarness, Seeder


def recent(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def body(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


@pytest.fixture
def handoffs(seed: Seeder) -> dict[str, int]:
    ids = {
        "person": seed.exchange(
            "501",
            recent(30),
            "escalate",
            "human_request",
            "I want to talk to a real person please",
            group="Tier 2",
            evidence={"matched": ["talk to a real person"], "route": "routing.rules[0]"},
            brief="Customer asked for a person\nCustomer: Sam Lee <sam@example.com>",
        ),
        "gap": seed.exchange(
            "502",
            recent(20),
            "escalate",
            "missing_knowledge",
            "Do you have a Linux desktop app?",
            evidence={"retrieved": ["Apps › Desktop apps"], "confidence": 0.12},
        ),
        "refund": seed.exchange("503", recent(10), "escalate", "refund", "Refund my last invoice"),
    }
    seed.ticket_state("501", escalated_at=recent(30), human_active_at=recent(29))
    return ids


def test_overview_shows_the_numbers(signed_in: ReviewHarness, seed: Seeder, handoffs) -> None:
    seed.exchange("600", recent(100), "reply", "answered")
    html = body(signed_in.client.get("/review/?since=7d"))
    assert re.search(r'id="kpi-handled">\s*<span class="label">Conversations handled</span>\s*'
                     r'<span class="value">4</span>', html)  # fmt: skip
    assert 'data-outcome="contained">1<' in html
    assert 'data-outcome="escalated">3<' in html
    assert "<svg" in html and "Handoffs by reason" in html
    assert "Do you have a Linux desktop app?" in html  # a top unanswered question


def test_overview_filters_by_connector(signed_in: ReviewHarness, seed: Seeder, handoffs) -> None:
    seed.exchange("700", recent(5), "escalate", "refund", connector="other")
    all_html = body(signed_in.client.get("/review/"))
    acme_html = body(signed_in.client.get("/review/?connector=acme"))
    assert '<span class="value">4</span>' in all_html
    assert '<span class="value">3</span>' in acme_html


def test_overview_with_custom_dates(signed_in: ReviewHarness, handoffs) -> None:
    today = datetime.now(UTC).date()
    html = body(signed_in.client.get(f"/review/?since=&from={today - timedelta(days=400)}&to="))
    assert f"{today - timedelta(days=400)} to {today}" in html


def test_handoff_list_and_its_filters(signed_in: ReviewHarness, handoffs) -> None:
    html = body(signed_in.client.get("/review/handoffs"))
    assert html.count('class="rowlink"') == 3
    only_gaps = body(signed_in.client.get("/review/handoffs?reason=missing_knowledge"))
    assert only_gaps.count('class="rowlink"') == 1
    assert f'/review/handoffs/{handoffs["gap"]}"' in only_gaps
    tier2 = body(signed_in.client.get("/review/handoffs?group=Tier+2"))
    assert tier2.count('class="rowlink"') == 1
    nobody = body(signed_in.client.get("/review/handoffs?connector=other"))
    assert nobody.count('class="rowlink"') == 0
    old = body(signed_in.client.get("/review/handoffs?since=&from=2020-01-01&to=2020-01-31"))
    assert old.count('class="rowlink"') == 0


def test_handoff_detail_shows_transcript_brief_and_evidence(
    signed_in: ReviewHarness, seed: Seeder, handoffs
) -> None:
    seed.message("501", recent(29), "Hi Sam, Alex here, I'll sort this out.", role="agent")
    html = body(signed_in.client.get(f"/review/handoffs/{handoffs['person']}"))
    assert "I want to talk to a real person please" in html
    assert "Hi Sam, Alex here" in html  # the agent's message, in order
    assert html.index("I want to talk to a real person") < html.index("Hi Sam, Alex here")
    assert "Customer asked for a person\nCustomer: Sam Lee &lt;sam@example.com&gt;" in html
    assert "talk to a real person</span>" in html  # the trigger's evidence
    assert "Tier 2" in html
    assert "1h 00m" in html  # escalation to a human


def test_handoff_detail_lists_retrieved_and_live_passages(
    signed_in: ReviewHarness, handoffs
) -> None:
    path = f"/review/handoffs/{handoffs['gap']}"
    html = body(signed_in.client.get(path))
    assert "Apps › Desktop apps" in html
    assert "Search the docs for this question now" in html
    searched = body(signed_in.client.get(path + "?search=1"))
    assert "The knowledge base now" in searched


def test_cited_passages_show_their_text(signed_in: ReviewHarness, seed: Seeder, store) -> None:
    reply = seed.exchange("800", recent(3), "reply", "answered")
    with store.session() as session:
        source = KbSource(key="path:test", type="path", origin="config")
        session.add(source)
        session.flush()
        document = KbDocument(source_id=source.id, key="reset.md", title="Reset")
        session.add(document)
        session.flush()
        session.add(
            KbChunk(
                document_id=document.id,
                position=0,
                passage_id="account/reset-password.md#reset-your-password",
                title_path=["Reset your password"],
                text="Open Settings, then Security, then Reset password.",
                source="account/reset-password.md",
            )
        )
    html = body(signed_in.client.get(f"/review/handoffs/{reply}"))
    assert "Open Settings, then Security, then Reset password." in html


def test_unknown_decision_is_404(signed_in: ReviewHarness) -> None:
    response = signed_in.client.get("/review/handoffs/424242")
    assert response.status_code == 404
    assert "There is no decision 424242" in response.get_data(as_text=True)


def test_marking_a_handoff(signed_in: ReviewHarness, store: Store, handoffs) -> None:
    decision_id = handoffs["gap"]
    response = signed_in.post(
        f"/review/handoffs/{decision_id}/review",
        {"verdict": "should_have_answered", "comment": "The Linux page covers this."},
    )
    assert response.status_code == 302
    with store.session() as session:
        review = session.scalars(select(Review)).one()
        assert (review.decision_id, review.verdict) == (decision_id, "should_have_answered")
        assert review.comment == "The Linux page covers this."
        assert review.reviewer == "Robin Reviewer"
    html = body(signed_in.client.get(f"/review/handoffs/{decision_id}"))
    assert "Saved: Should have answered." in html
    assert "The Linux page covers this." in html
    reviewed = body(signed_in.client.get("/review/handoffs?reviewed=yes"))
    assert reviewed.count('class="rowlink"') == 1
    not_reviewed = body(signed_in.client.get("/review/handoffs?reviewed=no"))
    assert not_reviewed.count('class="rowlink"') == 2


def test_a_review_needs_a_known_verdict(signed_in: ReviewHarness, handoffs) -> None:
    response = signed_in.post(
        f"/review/handoffs/{handoffs['gap']}/review", {"verdict": "meh", "comment": ""}
    )
    assert response.status_code == 400


def test_replies_with_citations_and_feedback(signed_in: ReviewHarness, seed: Seeder) -> None:
    liked = seed.exchange("900", recent(5), "reply", "answered", "How do I reset my password?")
    disliked = seed.exchange("901", recent(4), "reply", "answered", "How do I change my email?")
    seed.vote(liked, "up")
    seed.vote(disliked, "down")
    html = body(signed_in.client.get("/review/replies"))
    assert "How do I reset my password?" in html and "How do I change my email?" in html
    assert "Reset your password" in html  # the citation
    assert "▲ 1" in html and "▼ 1" in html
    down = body(signed_in.client.get("/review/replies?vote=down"))
    assert "How do I change my email?" in down
    assert "How do I reset my password?" not in down


def test_pages_work_without_a_feedback_table(
    signed_in: ReviewHarness, seed: Seeder, store: Store
) -> None:
    seed.exchange("902", recent(5), "reply", "answered")
    with store.session() as session:
        session.execute(text("DROP TABLE feedback"))
        assert queries.feedback_votes(session, [1]) is None
    assert "feedback is not recorded yet" in body(signed_in.client.get("/review/"))
    assert "Feedback is not recorded" in body(signed_in.client.get("/review/replies"))
    assert "No AI replies match" in body(signed_in.client.get("/review/replies?vote=down"))


def test_knowledge_gaps_are_clustered(signed_in: ReviewHarness, seed: Seeder) -> None:
    for ticket, question in enumerate(
        [
            "Do you have a Linux desktop app?",
            "Is there a desktop app for Linux?",
            "Linux desktop app available?",
            "Can I pay by bank transfer?",
        ]
    ):
        seed.exchange(
            str(1000 + ticket), recent(ticket + 1), "escalate", "low_confidence", question
        )
    html = body(signed_in.client.get("/review/gaps"))
    assert "4 questions" in html
    assert html.count('class="card cluster"') == 2
    assert re.search(r'<span class="count">3×</span>', html)


# --- candidates -------------------------------------------------------------------------------


def add_candidate(store: Store, **fields) -> int:  # type: ignore[no-untyped-def]
    values = {
        "connector": "acme",
        "ticket_id": "1200",
        "status": "pending",
        "question": "Can I export my notes to Evernote?",
        "answer": "Yes: Settings › Export › Evernote (.enex).",
        "ticket_url": "https://acme.zendesk.test/agent/tickets/1200",
    }
    values.update(fields)
    with store.session() as session:
        row = KbCandidate(**values)
        session.add(row)
        session.flush()
        return row.id


def test_candidates_list_pending_ones(signed_in: ReviewHarness, store: Store) -> None:
    add_candidate(store)
    add_candidate(store, ticket_id="1201", status="rejected", question="Old rejected one")
    html = body(signed_in.client.get("/review/candidates"))
    assert "Can I export my notes to Evernote?" in html
    assert "Old rejected one" not in html


def test_approving_a_candidate_with_edits(signed_in: ReviewHarness, store: Store) -> None:
    candidate_id = add_candidate(store)
    response = signed_in.post(
        f"/review/candidates/{candidate_id}/approve",
        {
            "question": "Can I export notes to Evernote?",
            "answer": "Yes. Open Settings › Export and choose Evernote (.enex).",
        },
    )
    assert response.status_code == 302
    with store.session() as session:
        row = session.get(KbCandidate, candidate_id)
        assert row.status == "approved"
        assert row.answer == "Yes. Open Settings › Export and choose Evernote (.enex)."
        assert row.reviewer == "Robin Reviewer"
    html = body(signed_in.client.get("/review/candidates"))
    assert "is now a curated answer" in html
    assert "No pending candidates." in html


def test_rejecting_a_candidate(signed_in: ReviewHarness, store: Store) -> None:
    candidate_id = add_candidate(store)
    assert signed_in.post(f"/review/candidates/{candidate_id}/reject").status_code == 302
    with store.session() as session:
        assert session.get(KbCandidate, candidate_id).status == "rejected"


def test_an_approval_needs_both_texts(signed_in: ReviewHarness, store: Store) -> None:
    candidate_id = add_candidate(store)
    signed_in.post(f"/review/candidates/{candidate_id}/approve", {"question": "Q", "answer": " "})
    with store.session() as session:
        assert session.get(KbCandidate, candidate_id).status == "pending"


# --- dead letters -----------------------------------------------------------------------------


def dead_letter(seed: Seeder, store: Store, ticket: str = "1300") -> int:
    delivery_pk = seed.message(ticket, recent(2), "Where is my order?")
    with store.session() as session:
        delivery = session.get(Delivery, delivery_pk)
        delivery.status = "dead"
        letter = DeadLetter(
            delivery_pk=delivery_pk,
            connector="acme",
            ticket_id=ticket,
            error="helpdesk error after 3 attempts: 503 Service Unavailable",
            attempts=3,
            event=delivery.event,
        )
        session.add(letter)
        session.flush()
        return letter.id


def test_dead_letters_are_listed_with_their_error(
    signed_in: ReviewHarness, seed: Seeder, store: Store
) -> None:
    dead_letter(seed, store)
    html = body(signed_in.client.get("/review/dead-letters"))
    assert "503 Service Unavailable" in html
    assert "1 failed event waiting" in body(signed_in.client.get("/review/"))


def test_retrying_a_dead_letter_queues_its_delivery_again(
    signed_in: ReviewHarness, seed: Seeder, store: Store
) -> None:
    letter_id = dead_letter(seed, store)
    assert signed_in.post(f"/review/dead-letters/{letter_id}/retry").status_code == 302
    with store.session() as session:
        letter = session.get(DeadLetter, letter_id)
        assert letter.resolved_at is not None
        assert signed_in.enqueued == [letter.delivery_pk]
        assert session.get(Delivery, letter.delivery_pk).status == "queued"
    assert "queued again" in body(signed_in.client.get("/review/dead-letters"))
    resolved = body(signed_in.client.get("/review/dead-letters?show=resolved"))
    assert "503 Service Unavailable" in resolved


def test_retry_is_undone_when_the_queue_is_down(
    signed_in: ReviewHarness, seed: Seeder, store: Store
) -> None:
    letter_id = dead_letter(seed, store)
    signed_in.enqueue_fails = True
    signed_in.post(f"/review/dead-letters/{letter_id}/retry")
    with store.session() as session:
        letter = session.get(DeadLetter, letter_id)
        assert letter.resolved_at is None
        assert session.get(Delivery, letter.delivery_pk).status == "dead"
    assert "Could not queue" in body(signed_in.client.get("/review/dead-letters"))


def test_retrying_a_letter_whose_delivery_is_gone(
    signed_in: ReviewHarness, seed: Seeder, store: Store
) -> None:
    letter_id = dead_letter(seed, store)
    with store.session() as session:
        letter = session.get(DeadLetter, letter_id)
        session.delete(session.get(Delivery, letter.delivery_pk))
    signed_in.post(f"/review/dead-letters/{letter_id}/retry")
    with store.session() as session:
        letter = session.get(DeadLetter, letter_id)
        assert letter.delivery_pk is not None
        assert signed_in.enqueued == [letter.delivery_pk]
        assert session.get(Delivery, letter.delivery_pk).event == letter.event


def test_discarding_a_dead_letter(signed_in: ReviewHarness, seed: Seeder, store: Store) -> None:
    letter_id = dead_letter(seed, store)
    signed_in.post(f"/review/dead-letters/{letter_id}/discard")
    with store.session() as session:
        assert session.get(DeadLetter, letter_id).resolved_at is not None
        assert session.scalar(select(func.count()).select_from(DeadLetter)) == 1
    assert signed_in.enqueued == []
    assert "No failed events." in body(signed_in.client.get("/review/dead-letters"))
