"""The review blueprint: sign-in, the guards every page passes, and how it joins the app."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from bridge.config import AppConfig
from bridge.review import csrf
from bridge.review.auth import (
    DEFAULT_REVIEWER,
    SESSION_FINGERPRINT,
    SESSION_USER,
    LoginThrottle,
    check_secret,
    credentials_fingerprint,
)
from bridge.review.settings import ReviewSettings

EXTENSION = "bridge_review"
SESSION_COOKIE = "helpdesk_bridge_review"
PUBLIC_ENDPOINTS = frozenset({"review.login", "review.static"})

review = Blueprint(
    "review",
    __name__,
    url_prefix="/review",
    template_folder="templates",
    static_folder="static",
)
review_off = Blueprint("review_off", __name__, template_folder="templates")

# Pages hold customer messages: never cached, never framed, nothing but our own assets.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@dataclass
class ReviewState:
    settings: ReviewSettings
    fingerprint: str
    throttle: LoginThrottle


def init_review(app: Flask, config: AppConfig) -> None:
    """Mount ``/review``: the UI when the config has a review section, else a 404 page."""
    settings = config.review
    if settings is None:
        app.register_blueprint(review_off)
        return
    app.secret_key = settings.secret_key
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
    )
    app.extensions[EXTENSION] = ReviewState(
        settings=settings,
        fingerprint=credentials_fingerprint(settings),
        throttle=LoginThrottle(settings.max_failed_logins, settings.login_lockout_minutes * 60),
    )
    # The page modules attach their routes to the blueprint when imported.
    from bridge.review import actions, views  # noqa: F401

    app.register_blueprint(review)


def state() -> ReviewState:
    return current_app.extensions[EXTENSION]


def signed_in() -> bool:
    expected = state().fingerprint
    got = session.get(SESSION_FINGERPRINT)
    return (
        isinstance(got, str)
        and bool(session.get(SESSION_USER))
        and hmac.compare_digest(got.encode(), expected.encode())
    )


def reviewer() -> str:
    return str(session.get(SESSION_USER) or DEFAULT_REVIEWER)


@review.before_request
def guard() -> BaseResponse | None:
    if request.endpoint not in PUBLIC_ENDPOINTS and not signed_in():
        if request.method == "GET":
            return redirect(url_for("review.login", next=request.full_path.rstrip("?")))
        abort(401)
    csrf.protect()
    return None


@review.after_request
def headers(response: Response) -> Response:
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "review.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@review.context_processor
def helpers() -> dict[str, Any]:
    from bridge.review import formatting

    endpoint = request.endpoint or ""
    return {
        # the navigation entry to highlight: a handoff's page belongs to Handoffs
        "section": {"review.handoff": "review.handoffs"}.get(endpoint, endpoint),
        "csrf_token": csrf.token,
        "csrf_field": csrf.FIELD,
        "reviewer": reviewer() if signed_in() else None,
        "when": formatting.when,
        "duration": formatting.duration,
        "pct": formatting.pct,
        "reason_title": formatting.reason_title,
    }


@review.errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[str, int]:
    return render_template("review/error.html", error=error), error.code or 500


@review.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | tuple[str, int] | str:
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if signed_in():
            return redirect(target)
        return render_template("review/login.html", next=target)

    address = request.remote_addr or "unknown"
    throttle = state().throttle
    name = " ".join(request.form.get("name", "").split())[:100]
    if throttle.blocked(address):
        message = "Too many failed sign-ins from your address. Wait a few minutes and try again."
        return render_template("review/login.html", next=target, name=name, error=message), 429
    if not check_secret(state().settings, request.form.get("secret", "")):
        throttle.failed(address)
        message = "That password or token is not right."
        return render_template("review/login.html", next=target, name=name, error=message), 401

    throttle.succeeded(address)
    # A new session from scratch, so nothing set before sign-in carries over.
    session.clear()
    session.permanent = True
    session[SESSION_USER] = name or DEFAULT_REVIEWER
    session[SESSION_FINGERPRINT] = state().fingerprint
    csrf.rotate()
    return redirect(target)


@review.post("/logout")
def logout() -> BaseResponse:
    session.clear()
    flash("Signed out.")
    return redirect(url_for("review.login"))


def page_url(number: int) -> str:
    """The current page's URL with another page number, keeping every filter."""
    args = request.args.to_dict()
    args["page"] = str(number)
    return url_for(request.endpoint or "review.overview", **(request.view_args or {}), **args)


def _safe_next(target: str | None) -> str:
    """Only our own pages: a ``next`` pointing elsewhere would make this an open redirect."""
    default = url_for("review.overview")
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/review"):
        return default
    if target.startswith(("//", "/\\")) or "\\" in target:
        return default
    return target


@review_off.route("/review", defaults={"rest": ""}, methods=["GET", "POST"], strict_slashes=False)
@review_off.route("/review/<path:rest>", methods=["GET", "POST"])
def not_configured(rest: str) -> tuple[str, int]:
    return render_template("review/not_configured.html"), 404
