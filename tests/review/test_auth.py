"""Who gets in: sign-in, sessions, CSRF and the review UI left unconfigured."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import ConfigError
from bridge.store import Store
from tests.conftest import make_config
from tests.review.conftest import (
    PASSWORD,
    TOKEN,
    ReviewHarness,
    review_config,
    review_section,
)

PAGES = [
    "/review/",
    "/review/handoffs",
    "/review/handoffs/1",
    "/review/replies",
    "/review/gaps",
    "/review/candidates",
    "/review/dead-letters",
]
FORMS = [
    "/review/handoffs/1/review",
    "/review/candidates/1/approve",
    "/review/candidates/1/reject",
    "/review/dead-letters/1/retry",
    "/review/dead-letters/1/discard",
    "/review/logout",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_strangers_to_sign_in(harness: ReviewHarness, path: str) -> None:
    response = harness.client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/review/login?next=")


@pytest.mark.parametrize("path", FORMS)
def test_forms_refuse_strangers(harness: ReviewHarness, path: str) -> None:
    token = harness.csrf()  # even with a valid token for the anonymous session
    response = harness.client.post(path, data={"csrf_token": token, "verdict": "right_call"})
    assert response.status_code == 401


def test_sign_in_with_the_password(harness: ReviewHarness) -> None:
    response = harness.login(PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/review/"
    page = harness.client.get("/review/")
    assert page.status_code == 200
    assert "Robin Reviewer" in page.get_data(as_text=True)


def test_sign_in_with_the_token(harness: ReviewHarness) -> None:
    assert harness.login(TOKEN).status_code == 302
    assert harness.client.get("/review/handoffs").status_code == 200


@pytest.mark.parametrize("secret", ["wrong password", "", TOKEN[:-1], PASSWORD.upper()])
def test_wrong_secrets_are_refused(harness: ReviewHarness, secret: str) -> None:
    response = harness.login(secret)
    assert response.status_code == 401
    assert "not right" in response.get_data(as_text=True)
    assert harness.client.get("/review/").status_code == 302


def test_sign_in_without_the_csrf_token_is_refused(harness: ReviewHarness) -> None:
    harness.client.get("/review/login")
    response = harness.client.post("/review/login", data={"secret": PASSWORD})
    assert response.status_code == 400
    assert harness.client.get("/review/").status_code == 302


def test_form_posts_without_the_csrf_token_are_refused(signed_in: ReviewHarness) -> None:
    response = signed_in.client.post(
        "/review/handoffs/1/review", data={"verdict": "right_call", "comment": "x"}
    )
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


def test_a_token_from_another_session_is_refused(tmp_path: Path, store: Store) -> None:
    config = review_config(tmp_path, store)
    attacker = ReviewHarness(config, store)
    foreign = attacker.csrf()
    victim = ReviewHarness(config, store)
    assert victim.login().status_code == 302
    response = victim.client.post("/review/logout", data={"csrf_token": foreign})
    assert response.status_code == 400


def test_the_token_changes_at_sign_in(harness: ReviewHarness) -> None:
    before = harness.csrf()
    harness.login()
    after = harness.csrf("/review/")
    assert before != after
    response = harness.client.post("/review/logout", data={"csrf_token": before})
    assert response.status_code == 400


def test_sign_out(signed_in: ReviewHarness) -> None:
    response = signed_in.post("/review/logout")
    assert response.status_code == 302
    assert signed_in.client.get("/review/").status_code == 302


def test_session_cookie_flags(tmp_path: Path, store: Store) -> None:
    harness = ReviewHarness(review_config(tmp_path, store, secure_cookies=True), store)
    # Over https throughout: the client, like a browser, keeps a Secure cookie off plain http.
    page = harness.client.get("/review/login", base_url="https://review.test")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = harness.client.post(
        "/review/login",
        data={"csrf_token": token, "secret": PASSWORD},
        base_url="https://review.test",
    )
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("helpdesk_bridge_review=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie


def test_cookie_without_secure_for_plain_http(harness: ReviewHarness) -> None:
    cookie = harness.login().headers["Set-Cookie"]
    assert "Secure" not in cookie
    assert "HttpOnly" in cookie


def test_changing_the_credentials_signs_everyone_out(tmp_path: Path, store: Store) -> None:
    first = ReviewHarness(review_config(tmp_path, store), store)
    first.login()
    cookie = first.client.get_cookie("helpdesk_bridge_review")
    assert cookie is not None
    changed = review_config(tmp_path, store, admin_token="another-token-0123456789")
    rotated = ReviewHarness(changed, store)
    rotated.client.set_cookie(cookie.key, cookie.value)
    assert rotated.client.get("/review/").status_code == 302


def test_next_only_leads_to_review_pages(harness: ReviewHarness) -> None:
    token = harness.csrf()
    for target in ("https://evil.example/", "//evil.example/x", "/webhooks/acme", "/\\evil"):
        response = harness.client.post(
            "/review/login", data={"csrf_token": token, "secret": PASSWORD, "next": target}
        )
        assert response.headers["Location"] == "/review/", target
        token = harness.csrf("/review/")
    response = harness.client.post(
        "/review/login",
        data={"csrf_token": token, "secret": PASSWORD, "next": "/review/gaps?since=30d"},
    )
    assert response.headers["Location"] == "/review/gaps?since=30d"


def test_repeated_failures_are_throttled(tmp_path: Path, store: Store) -> None:
    harness = ReviewHarness(review_config(tmp_path, store, max_failed_logins=3), store)
    for _ in range(3):
        assert harness.login("nope").status_code == 401
    response = harness.login(PASSWORD)
    assert response.status_code == 429
    assert harness.client.get("/review/").status_code == 302


def test_pages_are_not_cached_and_not_framed(signed_in: ReviewHarness) -> None:
    response = signed_in.client.get("/review/")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_static_files_need_no_session(harness: ReviewHarness) -> None:
    response = harness.client.get("/review/static/review.css")
    assert response.status_code == 200
    assert b".topbar" in response.data


# --- not configured ---------------------------------------------------------------------------


def test_without_a_review_section_the_ui_is_off(tmp_path: Path, store: Store) -> None:
    config = make_config(tmp_path, store.url)
    assert config.review is None
    harness = ReviewHarness(config, store)
    for path in ("/review", "/review/", "/review/login", "/review/handoffs/1"):
        response = harness.client.get(path)
        assert response.status_code == 404, path
        assert "Review UI not configured" in response.get_data(as_text=True)
    response = harness.client.post("/review/login", data={"secret": ""})
    assert response.status_code == 404
    assert harness.app.secret_key is None


# --- config validation ------------------------------------------------------------------------


def problems(tmp_path: Path, store: Store, section: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        make_config(tmp_path, store.url, review=section)
    return caught.value.problems


def test_a_review_section_needs_a_credential(tmp_path: Path, store: Store) -> None:
    found = problems(tmp_path, store, review_section(admin_password_hash="", admin_token=None))
    assert any(p.startswith("review: set admin_password_hash or admin_token") for p in found)


def test_a_review_section_needs_a_long_secret_key(tmp_path: Path, store: Store) -> None:
    found = problems(tmp_path, store, review_section(secret_key="short"))
    assert any(p.startswith("review.secret_key: must be at least 32") for p in found)
    found = problems(tmp_path, store, {"admin_token": TOKEN})
    assert "review.secret_key: missing required field" in found


def test_a_plain_password_is_not_a_hash(tmp_path: Path, store: Store) -> None:
    found = problems(tmp_path, store, review_section(admin_password_hash="hunter2"))
    assert any(p.startswith("review.admin_password_hash: must be a hash") for p in found)


def test_unknown_review_keys_are_reported(tmp_path: Path, store: Store) -> None:
    found = problems(tmp_path, store, review_section(admin_pasword="x"))
    assert "review.admin_pasword: unknown key" in found


def test_review_secrets_come_from_the_environment(tmp_path: Path, store: Store) -> None:
    from bridge.config import parse_config
    from tests.conftest import REPO_ROOT, config_data

    data = config_data(
        tmp_path,
        store.url,
        review={
            "secret_key": "${REVIEW_SECRET_KEY}",
            "admin_token": "${REVIEW_ADMIN_TOKEN}",
            "admin_password_hash": "${REVIEW_ADMIN_PASSWORD_HASH:-}",
            "secure_cookies": "${REVIEW_SECURE_COOKIES:-true}",
        },
    )
    env = {"REVIEW_SECRET_KEY": "k" * 40, "REVIEW_ADMIN_TOKEN": TOKEN}
    config = parse_config(data, base_dir=REPO_ROOT, env=env)
    assert config.review is not None
    assert config.review.admin_token == TOKEN
    assert config.review.admin_password_hash is None
    assert config.review.secure_cookies is True
    assert TOKEN not in repr(config.review)
