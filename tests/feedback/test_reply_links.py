"""Feedback links under AI replies: posted to Zendesk, followed by the customer, recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses

from bridge.feedback.links import make_token
from bridge.store import Store
from tests.feedback.world import (
    COMMENTS,
    SECRET_KEY,
    TICKET,
    Service,
    feedback_config,
    links_in,
    posted_bodies,
)
from tests.helpers import REQUESTER, comment, comments_page, trigger_body, update_response

QUESTION = "Hi, how do I reset my password? I can't remember it."


@pytest.fixture
def service(tmp_path: Path, store: Store) -> Service:
    return Service(feedback_config(tmp_path, store), store)


def answer_question(service: Service) -> dict[str, str]:
    """The customer asks; the bot replies on Zendesk. Returns the links in the posted reply."""
    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, QUESTION)))
    responses.put(TICKET, json=update_response(601))
    outcome = service.deliver(trigger_body(text=QUESTION))
    assert outcome is not None and (outcome.kind, outcome.write_status) == ("reply", "written")
    [reply] = posted_bodies()
    return links_in(reply["comment"]["body"])


@responses.activate
def test_posted_reply_ends_with_working_links_and_a_second_vote_replaces_the_first(
    service: Service,
) -> None:
    links = answer_question(service)
    assert set(links) == {"up", "down"}
    [reply] = posted_bodies()
    body = reply["comment"]["body"]
    assert body.index("Sources:") < body.index("Did this answer help?")
    assert body.rstrip().endswith(links["down"])
    [decision] = service.decisions()
    assert decision.text == body  # what was posted is what was recorded

    up = service.open(links["up"])
    assert up.status_code == 200
    page = up.get_data(as_text=True)
    assert "Thanks for your feedback" in page and "<script" not in page
    assert up.headers["Cache-Control"] == "no-store"
    assert links["down"].split("bridge.example.com")[1] in page  # changing one's mind
    [vote] = service.feedback()
    assert (vote.decision_id, vote.source, vote.vote) == (decision.id, "link", "up")
    assert (vote.connector, vote.ticket_id) == ("acme", "42")

    assert service.open(links["down"]).status_code == 200
    [vote] = service.feedback()
    assert vote.vote == "down"
    assert service.open(links["down"]).status_code == 200  # the same vote again: no change
    assert [v.vote for v in service.feedback()] == ["down"]


@responses.activate
def test_a_tampered_link_is_refused_with_a_page(service: Service) -> None:
    links = answer_question(service)
    token = links["up"].split("/")[-2]
    tampered = links["up"].replace(token, token[:-3] + ("xyz" if token[-3:] != "xyz" else "abc"))
    response = service.open(tampered)
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)
    assert service.feedback() == []


@responses.activate
def test_an_expired_link_is_refused_with_a_page(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_question(service)
    [decision] = service.decisions()
    from itsdangerous import TimestampSigner

    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: 1_000_000_000)
    old_token = make_token(SECRET_KEY, decision.id)
    monkeypatch.undo()
    response = service.client.get(f"/feedback/{old_token}/up")
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)
    assert service.feedback() == []


@responses.activate
def test_head_requests_and_unknown_votes_record_nothing(service: Service) -> None:
    links = answer_question(service)
    path = links["up"].split("bridge.example.com")[1]
    assert service.client.head(path).status_code == 200
    assert service.client.get(path.rsplit("/", 1)[0] + "/maybe").status_code == 404
    assert service.feedback() == []


@responses.activate
def test_links_only_vote_on_replies(service: Service) -> None:
    text = "This isn't helping. I want to talk to a real person please."
    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, text)))
    responses.get(
        "https://acme.zendesk.test/api/v2/groups.json",
        json={"groups": [{"id": 22, "name": "Tier 2"}], "meta": {"has_more": False}},
    )
    responses.put(TICKET, json=update_response(601))
    responses.put(TICKET, json=update_response(602))
    responses.put("https://acme.zendesk.test/api/v2/tickets/42/tags.json", json={"tags": []})
    outcome = service.deliver(trigger_body(text=text))
    assert outcome is not None and outcome.kind == "escalate"
    handoff = posted_bodies()[0]["comment"]["body"]
    assert links_in(handoff) == {}  # a handoff is not the bot's answer to rate
    [decision] = service.decisions()
    forged = make_token(SECRET_KEY, decision.id)  # even a valid signature for it
    assert service.client.get(f"/feedback/{forged}/up").status_code == 404
    assert service.feedback() == []


@responses.activate
def test_dry_run_records_the_reply_with_its_links(tmp_path: Path, store: Store) -> None:
    service = Service(feedback_config(tmp_path, store, mode="dry_run"), store)
    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, QUESTION)))
    outcome = service.deliver(trigger_body(text=QUESTION))
    assert outcome is not None and (outcome.kind, outcome.write_status) == ("reply", "recorded")
    [decision] = service.decisions()
    links = links_in(decision.text or "")
    assert set(links) == {"up", "down"}
    assert service.open(links["up"]).status_code == 200
    assert [v.vote for v in service.feedback()] == ["up"]
    assert posted_bodies() == []  # recorded only


@responses.activate
def test_draft_replies_carry_no_links(tmp_path: Path, store: Store) -> None:
    service = Service(feedback_config(tmp_path, store, mode="draft"), store)
    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, QUESTION)))
    responses.put(TICKET, json=update_response(601))
    outcome = service.deliver(trigger_body(text=QUESTION))
    assert outcome is not None and outcome.kind == "reply"
    [note] = posted_bodies()
    assert note["comment"]["public"] is False
    assert links_in(note["comment"]["body"]) == {}


@responses.activate
def test_without_a_public_url_replies_are_unchanged(tmp_path: Path, store: Store) -> None:
    from tests.conftest import make_config

    service = Service(make_config(tmp_path, store.url), store)
    responses.get(COMMENTS, json=comments_page(comment(501, REQUESTER, QUESTION)))
    responses.put(TICKET, json=update_response(601))
    service.deliver(trigger_body(text=QUESTION))
    [reply] = posted_bodies()
    assert "/feedback/" not in reply["comment"]["body"]
    assert service.client.get("/feedback/anything/up").status_code == 404
