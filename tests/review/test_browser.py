"""The review UI in a real browser: sign in, read the overview, find a handoff and judge it.

Runs headless Chromium against the app served on a loopback port in a thread. Screenshots of
the overview and of a handoff's page are saved (their paths are listed at the end of the run).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bridge.store import Store
from bridge.store.models import KbCandidate, Review
from tests.cli.conftest import invoke, write_config
from tests.review.browser import browser, live_server
from tests.review.conftest import (
    PASSWORD,
    ReviewHarness,
    Seeder,
    artifacts_dir,
    review_section,
    saved_artifact,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with browser() as instance:
        yield instance


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def seed_a_week(seed: Seeder) -> dict[str, int]:
    """A believable week: answers, handoffs for several reasons, agents picking them up."""
    now = datetime.now(UTC)
    ids: dict[str, int] = {}
    questions = [
        ("How do I reset my password?", "reply", "answered"),
        ("I want to talk to a real person", "escalate", "human_request"),
        ("Do you have a Linux desktop app?", "escalate", "missing_knowledge"),
        ("How do I share a notebook?", "reply", "answered"),
        ("Refund my last invoice please", "escalate", "refund"),
        ("Is there a Linux version of the app?", "escalate", "missing_knowledge"),
        ("How do I change my email address?", "reply", "answered"),
        ("This is the third time I ask, fix it!", "escalate", "frustration"),
        ("Can I export notes to PDF?", "reply", "answered"),
        ("Can I pay by bank transfer?", "escalate", "low_confidence"),
    ]
    for number in range(40):
        text, kind, reason = questions[number % len(questions)]
        when = now - timedelta(hours=4 + number * 4)
        ticket = str(2000 + number)
        decision_id = seed.exchange(ticket, when, kind, reason, text)
        if kind == "escalate":
            human = when + timedelta(minutes=10 + 7 * number)
            seed.ticket_state(ticket, escalated_at=when, human_active_at=human, reason=reason)
            seed.message(ticket, human, "Hi, Alex from support here. Let me help.", role="agent")
        elif number % 3 == 0:
            seed.vote(decision_id, "up" if number % 2 else "down")
        ids.setdefault(reason, decision_id)
    return ids


def sign_in(page: Any, base: str, secret: str = PASSWORD) -> None:
    page.goto(f"{base}/review/")
    assert "/review/login" in page.url
    page.fill("input[name=name]", "Robin Reviewer")
    page.fill("input[name=secret]", secret)
    page.click("button:has-text('Sign in')")


def test_sign_in_read_the_overview_filter_and_mark_a_handoff(
    page: Any, harness: ReviewHarness, seed: Seeder, store: Store
) -> None:
    ids = seed_a_week(seed)
    shots = artifacts_dir()
    with live_server(harness.app) as base:
        sign_in(page, base, secret="not the password")
        assert page.locator(".flash.error").inner_text() == "That password or token is not right."

        page.fill("input[name=secret]", PASSWORD)
        page.click("button:has-text('Sign in')")
        page.wait_for_url(f"{base}/review/")
        assert page.locator("#kpi-handled .value").inner_text() == "40"
        assert page.locator("#kpi-handoff .value").inner_text() == "60%"
        assert page.locator("svg.chart").count() == 2
        top_gap = page.locator("ol.gaps li").first.inner_text()
        assert top_gap.startswith("8× “") and "Linux" in top_gap  # both phrasings, one gap
        overview_shot = saved_artifact(shots / "overview.png")
        page.screenshot(path=str(overview_shot), full_page=True)

        page.click("nav.mainnav >> text=Handoffs")
        page.wait_for_url(re.compile(r".*/review/handoffs$"))
        assert page.locator("#handoff-list a.rowlink").count() == 24
        page.select_option("select[name=reason]", "missing_knowledge")
        page.click("form.filters button[type=submit]")
        page.wait_for_url(re.compile(r".*reason=missing_knowledge.*"))
        rows = page.locator("#handoff-list a.rowlink")
        assert rows.count() == 8
        assert page.locator("#handoff-list .badge.reason-refund").count() == 0

        target = ids["missing_knowledge"]
        page.click(f"#handoff-list a[href='/review/handoffs/{target}']")
        page.wait_for_url(f"{base}/review/handoffs/{target}")
        transcript = page.locator("#transcript").inner_text()
        assert "Do you have a Linux desktop app?" in transcript
        assert "Alex from support" in transcript
        brief = page.locator("#brief").inner_text()
        assert "Handoff: The help docs do not cover this question" in brief

        page.check("input[value=should_have_answered]")
        page.fill("textarea[name=comment]", "The Desktop apps page says Linux is in beta.")
        detail_shot = saved_artifact(shots / "handoff-detail.png")
        page.screenshot(path=str(detail_shot), full_page=True)
        page.click("button:has-text('Save review')")
        page.wait_for_selector(".flash.ok")
        assert page.locator(".flash.ok").inner_text() == "Saved: Should have answered."
        assert (
            "The Desktop apps page says Linux is in beta." in page.locator(".reviews").inner_text()
        )

        page.goto(f"{base}/review/handoffs?reviewed=yes")
        assert page.locator("#handoff-list a.rowlink").count() == 1

    with store.session() as session:
        review = session.scalars(select(Review)).one()
        assert (review.decision_id, review.verdict) == (target, "should_have_answered")
        assert review.reviewer == "Robin Reviewer"
    for shot in (overview_shot, detail_shot):
        assert shot.stat().st_size > 10_000, shot
        print(f"screenshot: {shot}")


def test_a_form_without_its_token_is_refused_in_the_browser(
    page: Any, harness: ReviewHarness, seed: Seeder
) -> None:
    ids = seed_a_week(seed)
    with live_server(harness.app) as base:
        sign_in(page, base)
        page.wait_for_url(f"{base}/review/")
        page.goto(f"{base}/review/handoffs/{ids['refund']}")
        # What a forged cross-site form would send: everything but this session's token.
        page.locator("#review-form input[name=csrf_token]").evaluate("field => field.value = 'x'")
        page.check("input[value=right_call]")
        page.click("button:has-text('Save review')")
        assert "security token is missing or wrong" in page.locator("main").inner_text()


def test_approve_a_candidate_then_kb_search_finds_it(
    page: Any, tmp_path: Path, store: Store
) -> None:
    config_path = write_config(tmp_path, store.url, review=review_section())
    from bridge.cli import load_or_exit

    harness = ReviewHarness(load_or_exit(str(config_path)), store)
    with store.session() as session:
        candidate = KbCandidate(
            connector="acme",
            ticket_id="3100",
            status="pending",
            question="Can I sync Notebird with Obsidian vaults?",
            answer="Not yet.",
            ticket_url="https://acme.zendesk.test/agent/tickets/3100",
        )
        session.add(candidate)
        session.flush()
        candidate_id = candidate.id

    with live_server(harness.app) as base:
        sign_in(page, base)
        page.wait_for_url(f"{base}/review/")
        page.click("nav.mainnav >> text=Candidates")
        form = page.locator(f"#candidate-{candidate_id}")
        form.locator("textarea[name=answer]").fill(
            "Notebird syncs with Obsidian vaults through the Markdown export: "
            "Settings › Export › Obsidian vault, then pick the vault folder."
        )
        form.locator("button:has-text('Approve')").click()
        page.wait_for_selector(".flash.ok")
        assert "is now a curated answer" in page.locator(".flash.ok").inner_text()

    with store.session() as session:
        assert session.get(KbCandidate, candidate_id).status == "approved"

    result = invoke("kb", "search", "--config", str(config_path), "sync with Obsidian vaults")
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert "Can I sync Notebird with Obsidian vaults?" in first
