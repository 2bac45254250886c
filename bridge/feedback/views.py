"""``GET /feedback/<token>/<up|down>``: record a customer's vote and say thank you.

Plain HTML without scripts, since the page opens from an email or a chat widget. The vote
is recorded on GET because that is what a link in a reply can do; ``HEAD`` requests (link
previews, some mail scanners) only check the link and record nothing.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, render_template, request
from sqlalchemy.exc import SQLAlchemyError

from bridge.feedback.links import VOTES, ExpiredLink, InvalidLink, Vote, read_token, vote_url
from bridge.feedback.votes import record_vote
from bridge.web.services import services

log = logging.getLogger(__name__)
feedback = Blueprint("feedback", __name__, template_folder="templates")

_THANKS = {
    "up": "Glad it helped. Your feedback tells us which answers work.",
    "down": "Sorry it did not help. Your feedback tells us which answers to improve; "
    "reply on your ticket if you still need a hand and a person will pick it up.",
}
_SWITCH = {"up": "It did not help after all", "down": "It helped after all"}


def _page(status: int, title: str, message: str, **extra: str) -> tuple[Response, int]:
    response = Response(
        render_template("feedback/page.html", title=title, message=message, **extra),
        mimetype="text/html",
    )
    # The token is in the URL: keep it out of caches, search engines and Referer headers.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response, status


@feedback.get("/feedback/<token>/<vote>")
def vote(token: str, vote: str) -> tuple[Response, int]:
    web = services().runtime.config.web
    if not web.secret_key or vote not in VOTES:
        return _page(404, "Link not found", "This feedback link does not exist.")
    try:
        decision_id = read_token(web.secret_key, token, web.feedback_link_days)
    except ExpiredLink:
        return _page(
            410,
            "This link has expired",
            f"Feedback links work for {web.feedback_link_days} days after the answer was sent.",
        )
    except InvalidLink:
        return _page(
            400,
            "This link is not valid",
            "The feedback link is incomplete or was changed. Please use the link exactly as "
            "it appears under the answer.",
        )
    if request.method == "HEAD":
        return _page(200, "Feedback", "Open this link to send your feedback.")
    try:
        recorded = record_vote(services().runtime.store, decision_id, vote)
    except SQLAlchemyError:
        log.exception("could not record a feedback vote on decision %s", decision_id)
        return _page(
            503, "Please try again", "We could not save your feedback just now. Try again later."
        )
    if recorded is None:
        return _page(404, "Answer not found", "The answer this link belongs to no longer exists.")
    other: Vote = "down" if vote == "up" else "up"
    base = web.public_url or request.host_url.rstrip("/")
    return _page(
        200,
        "Thanks for your feedback",
        _THANKS[vote],
        other_url=vote_url(base, token, other),
        other_label=_SWITCH[vote],
    )
