"""``helpdesk-bridge kb``: crawl, import, import-helpdesk, refresh, search, stats, remove."""

from __future__ import annotations

import json
from pathlib import Path

import responses
import yaml
from click.testing import CliRunner, Result

from bridge.cli import main
from tests.conftest import REPO_ROOT, config_data
from tests.knowledge.site import Site

HELP_CENTER = REPO_ROOT / "examples" / "help-center"


def write_config(tmp_path: Path, database_url: str, **top: object) -> Path:
    top.setdefault("knowledge", {"sources": [{"type": "path", "path": str(HELP_CENTER)}]})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config_data(tmp_path, database_url, **top)))
    return path


def kb(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["kb", *args, "--config", str(config)])


def test_search_finds_the_password_article(tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, database_url)
    result = kb(config, "search", "I forgot my login password", "-k", "3")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("1. ")
    assert "Reset your password" in lines[0]
    assert lines[1].strip().startswith("https://help.notebird.example/articles/reset-password")
    assert len([line for line in lines if line[:2] in ("1.", "2.", "3.")]) == 3


def test_stats_and_refresh(tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, database_url)
    result = kb(config, "stats")
    assert result.exit_code == 0, result.output
    assert "1 sources, 0 documents" in result.output
    assert "never" in result.output

    result = kb(config, "refresh")
    assert result.exit_code == 0, result.output
    [summary] = [line for line in result.output.splitlines() if line.startswith("source 1")]
    assert "10 added, 0 changed, 0 removed, 0 unchanged, 0 skipped" in summary

    result = kb(config, "refresh", "--source", "1")
    assert "0 added, 0 changed, 0 removed, 10 unchanged" in result.output

    result = kb(config, "stats", "--format", "json")
    data = json.loads(result.output)
    assert data["documents"] == 10
    [source] = data["sources"]
    assert (source["type"], source["origin"], source["last_status"]) == ("path", "config", "ok")
    assert source["last_summary"]["unchanged"] == 10

    result = kb(config, "refresh", "--source", "7")
    assert result.exit_code == 2
    assert "no source 7" in result.output


def test_crawl_import_and_remove(tmp_path: Path, database_url: str, site: Site) -> None:
    from tests.knowledge.site import help_site

    help_site(site)
    config = write_config(tmp_path, database_url, knowledge={"sources": []})

    # The test site is on loopback, which must be allowed explicitly.
    args = ("--max-pages", "3", "--delay", "0", "--allow-private-addresses")
    result = kb(config, "crawl", site.url("/"), *args)
    assert result.exit_code == 0, result.output
    assert "3 added, 0 changed, 0 removed" in result.output
    assert "stopped at max_pages" in result.output

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "offline.md").write_text("# Offline\n\nWork without a connection.\n")
    result = kb(config, "import", str(docs))
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output

    result = kb(config, "search", "without a connection")
    assert "offline.md" in result.output

    result = kb(config, "stats")
    assert "2 sources, 4 documents" in result.output
    result = kb(config, "remove", "1")
    assert result.exit_code == 0, result.output
    assert "removed source 1 (url" in result.output
    assert "1 sources, 1 documents" in kb(config, "stats").output


def test_import_helpdesk(tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, database_url, knowledge={"sources": []})
    result = kb(config, "import-helpdesk", "nope")
    assert result.exit_code == 2
    assert "no connector named 'nope' (acme)" in result.output

    with responses.RequestsMock() as mock:
        mock.get(
            "https://acme.zendesk.test/api/v2/help_center/articles.json",
            json={
                "articles": [
                    {
                        "id": 11,
                        "title": "Change your email address",
                        "body": "<p>Open Settings, then Profile, and edit the address.</p>",
                        "html_url": "https://acme.zendesk.test/hc/articles/11",
                        "draft": False,
                        "user_segment_id": None,
                    }
                ],
                "meta": {"has_more": False},
            },
        )
        result = kb(config, "import-helpdesk", "acme")
    assert result.exit_code == 0, result.output
    assert "(helpdesk connector acme): 1 added" in result.output
    result = kb(config, "search", "change email address")
    assert "https://acme.zendesk.test/hc/articles/11" in result.output


def test_crawl_rejects_a_non_http_address(tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, database_url)
    result = kb(config, "crawl", "ftp://example.com/")
    assert result.exit_code == 2
    assert "must be an http" in result.output
