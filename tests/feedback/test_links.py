"""Signing, reading and formatting feedback links, and the config keys behind them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from itsdangerous import TimestampSigner

from bridge.config import ConfigError, WebConfig, parse_config
from bridge.feedback.links import (
    ExpiredLink,
    InvalidLink,
    feedback_urls,
    make_token,
    read_token,
    with_feedback_links,
)
from tests.conftest import REPO_ROOT, config_data

KEY = "k" * 40
WEB = WebConfig(max_body_bytes=4096, public_url="https://bridge.example.com", secret_key=KEY)


def test_a_token_reads_back_as_its_decision_id() -> None:
    assert read_token(KEY, make_token(KEY, 42), max_age_days=30) == 42


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: make_token("another-key-" + "x" * 30, 42),  # signed with another key
        lambda t: t.split(".", 1)[1],  # payload removed
        lambda t: "not-a-token",
    ],
)
def test_a_tampered_token_is_invalid(tamper) -> None:
    with pytest.raises(InvalidLink):
        read_token(KEY, tamper(make_token(KEY, 42)), max_age_days=30)


def test_a_token_for_another_decision_cannot_be_made_by_editing_the_payload() -> None:
    token = make_token(KEY, 42)
    other = make_token(KEY, 43)
    forged = other.split(".")[0] + "." + ".".join(token.split(".")[1:])
    with pytest.raises(InvalidLink):
        read_token(KEY, forged, max_age_days=30)


def test_an_old_token_is_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    long_ago = int(time.time()) - 31 * 86_400
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: long_ago)
    token = make_token(KEY, 42)
    monkeypatch.undo()
    with pytest.raises(ExpiredLink):
        read_token(KEY, token, max_age_days=30)
    assert read_token(KEY, token, max_age_days=32) == 42


def test_reply_text_ends_with_both_links() -> None:
    text = with_feedback_links("Answer.\n\n— AI assistant (automated).\n", WEB, 7)
    lines = text.splitlines()
    assert lines[0] == "Answer."
    assert lines[-3] == "Did this answer help?"
    assert lines[-2].startswith("Yes: https://bridge.example.com/feedback/")
    assert lines[-2].endswith("/up") and lines[-1].endswith("/down")
    urls = feedback_urls(WEB, 7)
    assert read_token(KEY, urls["up"].split("/")[-2], 30) == 7


def _config(tmp_path: Path, web: dict) -> None:
    data = config_data(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", web=web)
    parse_config(data, base_dir=REPO_ROOT, env={})


def test_public_url_needs_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        _config(tmp_path, {"public_url": "https://bridge.example.com"})
    assert any(
        p.startswith("web.secret_key: required when public_url") for p in error.value.problems
    )


def test_secret_key_must_be_long_and_public_url_a_web_address(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        _config(tmp_path, {"public_url": "ftp://bridge", "secret_key": "short"})
    problems = "\n".join(error.value.problems)
    assert "web.public_url:" in problems and "web.secret_key:" in problems


def test_web_and_learning_defaults(tmp_path: Path) -> None:
    data = config_data(
        tmp_path,
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        web={"public_url": "https://bridge.example.com/", "secret_key": KEY},
        learning={"batch_size": 5},
    )
    config = parse_config(data, base_dir=REPO_ROOT, env={})
    assert config.web.public_url == "https://bridge.example.com"
    assert config.web.feedback_link_days == 30 and config.web.feedback_links
    assert KEY not in repr(config.web)
    assert config.learning.enabled and config.learning.batch_size == 5
