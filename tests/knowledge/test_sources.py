"""Folder and help-center sources: incremental refresh, removal, and what is reported."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.knowledge.refresh import KnowledgeBase, KnowledgeError, RefreshReport
from bridge.knowledge.settings import HelpdeskSource, KnowledgeSettings, PathSource
from bridge.store import Store
from connectors.base import HelpArticle, HelpdeskError


def write(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def only(reports: list[RefreshReport]) -> RefreshReport:
    [report] = reports
    assert report.error is None, report.error
    return report


def test_folder_refresh_adds_changes_and_removes_files(kb: KnowledgeBase, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs, "a.md", "# Alpha\n\nAlpha explains avocados.\n")
    write(docs, "b.md", "# Beta\n\nBeta explains bananas.\n")
    write(docs, "empty.md", "")
    write(docs, ".hidden/c.md", "# Hidden\n\nNever indexed.\n")
    info = kb.add_source(PathSource(docs))

    first = only(kb.refresh([info.id]))
    assert (first.added, first.changed, first.removed) == (2, 0, 0)
    assert dict(first.skipped) == {"empty": 1}
    revision = kb.revision()

    again = only(kb.refresh([info.id]))
    assert (again.added, again.changed, again.unchanged) == (0, 0, 2)
    assert kb.revision() == revision

    write(docs, "a.md", "# Alpha\n\nAlpha now explains apricots.\n")
    (docs / "b.md").unlink()
    write(docs, "d.md", "# Delta\n\nDelta explains dates.\n")
    third = only(kb.refresh([info.id]))
    assert (third.added, third.changed, third.removed) == (1, 1, 1)
    assert kb.revision() != revision

    _, index = kb.open_index()
    assert {p.source for p in index.passages} == {"a.md", "d.md"}
    assert index.search("apricots")[0].passage.source == "a.md"
    assert not index.search("avocados")
    assert not index.search("bananas")


def test_touching_a_file_without_changing_its_passages_changes_nothing(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    write(docs, "a.md", "# Alpha\n\nAlpha explains avocados.\n")
    info = kb.add_source(PathSource(docs))
    kb.refresh([info.id])
    revision = kb.revision()
    write(docs, "a.md", "# Alpha\n\nAlpha explains avocados.\n\n\n")  # new bytes, same passages
    report = only(kb.refresh([info.id]))
    assert report.unchanged == 1
    assert kb.revision() == revision


def test_a_missing_folder_is_an_error_and_removes_nothing(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    write(docs, "a.md", "# Alpha\n\nAlpha explains avocados.\n")
    info = kb.add_source(PathSource(docs))
    kb.refresh([info.id])
    (docs / "a.md").rename(tmp_path / "a.md")
    docs.rmdir()

    [report] = kb.refresh([info.id])

    assert report.error == f"not a folder: {docs}"
    assert "nothing removed" in report.summary()
    assert kb.stats().documents == 1


@dataclass
class FakeHelpdesk:
    """Stands in for a connector: only what the knowledge base uses."""

    articles: list[HelpArticle] = field(default_factory=list)
    fail: bool = False

    def list_help_articles(self) -> Iterator[HelpArticle]:
        yield from self.articles[:1]
        if self.fail:
            raise HelpdeskError("help center unavailable", status=503)
        yield from self.articles[1:]


def article(article_id: str, title: str, body: str) -> HelpArticle:
    return HelpArticle(
        id=article_id,
        title=title,
        body_html=body,
        url=f"https://acme.example/hc/articles/{article_id}",
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.fixture
def helpdesk(store: Store, tmp_path: Path) -> tuple[KnowledgeBase, FakeHelpdesk]:
    fake = FakeHelpdesk(
        [
            article("1", "Two-factor sign-in", "<p>Use your authenticator app.</p>"),
            article(
                "2",
                "Exporting",
                "<h2 id='pdf'>As PDF</h2><p>Choose PDF.</p><h2>As ZIP</h2><p>Choose ZIP.</p>",
            ),
        ]
    )
    settings = KnowledgeSettings(sources=(HelpdeskSource("acme", refresh_minutes=60),))
    kb = KnowledgeBase(store, settings, tmp_path / "index", connectors={"acme": fake})
    kb.sync_config_sources()
    return kb, fake


def test_helpdesk_articles_are_chunked_and_kept_in_step(
    helpdesk: tuple[KnowledgeBase, FakeHelpdesk],
) -> None:
    kb, fake = helpdesk
    first = only(kb.refresh())
    assert first.added == 2
    _, index = kb.open_index()
    pdf = index.search("export pdf")[0].passage
    assert pdf.title_path == ("Exporting", "As PDF")
    assert pdf.url == "https://acme.example/hc/articles/2#pdf"

    # Article 1 unpublished (the connector stops listing it), 2 edited, 3 published.
    fake.articles = [
        article("2", "Exporting", "<h2 id='pdf'>As PDF</h2><p>Choose PDF, then Save.</p>"),
        article("3", "Dark mode", "<p>Switch themes in Settings.</p>"),
    ]
    second = only(kb.refresh())
    assert (second.added, second.changed, second.removed) == (1, 1, 1)
    _, index = kb.open_index()
    assert not index.search("authenticator")
    assert index.search("dark themes")[0].passage.url == "https://acme.example/hc/articles/3"


def test_a_failed_article_listing_removes_nothing(
    helpdesk: tuple[KnowledgeBase, FakeHelpdesk],
) -> None:
    kb, fake = helpdesk
    kb.refresh()
    fake.fail = True
    [report] = kb.refresh()
    assert report.error is not None and "help center unavailable" in report.error
    assert kb.stats().documents == 2


def test_helpdesk_source_without_its_connector_fails(store: Store, tmp_path: Path) -> None:
    settings = KnowledgeSettings(sources=(HelpdeskSource("gone"),))
    kb = KnowledgeBase(store, settings, tmp_path / "index", connectors={})
    kb.sync_config_sources()
    [report] = kb.refresh()
    assert report.error == "no connector named 'gone'"


def test_config_sync_adds_updates_and_drops_sources(store: Store, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs, "a.md", "# Alpha\n\nAlpha explains avocados.\n")
    other = tmp_path / "other"
    write(other, "o.md", "# Omega\n\nOmega explains olives.\n")
    configured = KnowledgeSettings(sources=(PathSource(docs, refresh_minutes=60),))
    kb = KnowledgeBase(store, configured, tmp_path / "index")
    kb.sync_config_sources()
    added = kb.add_source(PathSource(other))  # from the command line: survives config changes
    kb.refresh()
    assert kb.stats().documents == 2

    later = KnowledgeBase(store, KnowledgeSettings(), tmp_path / "index")
    later.sync_config_sources()

    stats = later.stats()
    assert [s.id for s in stats.sources] == [added.id]
    assert stats.documents == 1
    assert {p.source for p in later.open_index()[1].passages} == {"o.md"}
    with pytest.raises(KnowledgeError, match="no source 999"):
        later.refresh([999])


def test_only_command_line_sources_can_be_removed(store: Store, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs, "a.md", "# Alpha\n\nAlpha explains avocados.\n")
    kb = KnowledgeBase(
        store, KnowledgeSettings(sources=(PathSource(docs, refresh_minutes=60),)), tmp_path / "i"
    )
    kb.sync_config_sources()
    [configured] = kb.sources()
    with pytest.raises(KnowledgeError, match="config file"):
        kb.remove_source(configured.id)
    extra = kb.add_source(PathSource(tmp_path))
    kb.remove_source(extra.id)
    assert [s.id for s in kb.sources()] == [configured.id]


def test_due_only_skips_sources_refreshed_recently(kb: KnowledgeBase, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs, "a.md", "# Alpha\n\nAlpha explains avocados.\n")
    info = kb.add_source(PathSource(docs, refresh_minutes=60))
    assert len(kb.refresh(due_only=True)) == 1  # never refreshed: due
    assert kb.refresh(due_only=True) == []
    [source] = kb.sources()
    assert source.next_refresh_at is not None and source.last_refresh_at is not None
    assert (source.next_refresh_at - source.last_refresh_at).total_seconds() == 3600
    assert source.id == info.id


def test_a_locked_source_is_not_refreshed_twice(kb: KnowledgeBase, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs, "a.md", "# Alpha\n\nAlpha explains avocados.\n")
    info = kb.add_source(PathSource(docs))
    assert kb._claim(info.id, "another-worker")
    [report] = kb.refresh([info.id])
    assert report.busy and "another process" in report.summary()
    kb._release(info.id, "another-worker")
    assert not only(kb.refresh([info.id])).busy
