"""Read one knowledge source and say, per document, what changed since the last refresh.

A collector only observes; ``bridge.knowledge.refresh`` turns its observations into database
changes. Documents a collector does not mention are removed, so a collector that could not
see the whole source raises ``SourceError`` instead of returning a partial list.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import requests
from bs4 import BeautifulSoup

from bridge.knowledge.crawler import (
    CrawlAborted,
    Crawler,
    CrawlSkip,
    KnownPage,
    passages_hash,
)
from bridge.knowledge.loader import html_passages, iter_files, load_file
from bridge.knowledge.settings import HelpdeskSource, KnowledgeSource, PathSource, UrlSource
from bridge.knowledge.types import Passage

# (document key or URL, "document" or a skip reason); called as work progresses
Progress = Callable[[str, str], None]

# A document that yields no passage (an empty file, an article with no text) is not kept.
EMPTY = "empty"
SKIP_DETAIL_LIMIT = 20  # how many skips are kept with their URL and reason, for the logs


class SourceError(Exception):
    """The source could not be read completely; nothing may be removed because of this run."""


@dataclass(frozen=True)
class KnownDocument:
    key: str
    url: str | None
    fetch_url: str | None
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    text_hash: str | None
    links: tuple[str, ...]


@dataclass
class Observed:
    """One document as this refresh saw it."""

    key: str
    # content: ``passages`` holds the document's passages now (new, or read again);
    # unchanged: the stored passages are still right; kept: could not check it this time
    state: Literal["content", "unchanged", "kept"]
    passages: list[Passage] | None = None
    url: str | None = None
    fetch_url: str | None = None
    title: str = ""
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    text_hash: str | None = None
    links: tuple[str, ...] = ()


@dataclass
class Collection:
    documents: list[Observed] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    skip_details: list[CrawlSkip] = field(default_factory=list)
    requests: int = 0
    limit_reached: bool = False

    def skip(self, url: str, reason: str, detail: str = "") -> None:
        self.skipped[reason] += 1
        if len(self.skip_details) < SKIP_DETAIL_LIMIT:
            self.skip_details.append(CrawlSkip(url, reason, detail))  # type: ignore[arg-type]


def collect(
    source: KnowledgeSource,
    known: Mapping[str, KnownDocument],
    *,
    connectors: Mapping[str, object] | None = None,
    session_factory: Callable[[], requests.Session] = requests.Session,
    progress: Progress | None = None,
) -> Collection:
    report = progress or (lambda key, what: None)
    if isinstance(source, PathSource):
        return _collect_folder(source, known, report)
    if isinstance(source, UrlSource):
        return _collect_site(source, known, session_factory, report)
    return _collect_helpdesk(source, known, connectors or {}, report)


def _digest(*parts: bytes | str | None) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else (part or b"")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def _from_passages(
    key: str, passages: list[Passage], content_hash: str, **extra: str | None
) -> Observed:
    url = passages[0].url.split("#", 1)[0] if passages and passages[0].url else extra.get("url")
    return Observed(
        key=key,
        state="content",
        passages=passages,
        url=url,
        title=passages[0].title_path[0] if passages else "",
        content_hash=content_hash,
        text_hash=passages_hash(passages, key),
        last_modified=extra.get("last_modified"),
    )


# --- folders ------------------------------------------------------------------------------


def _collect_folder(
    source: PathSource, known: Mapping[str, KnownDocument], report: Progress
) -> Collection:
    root = source.path
    if not root.is_dir():
        # An unmounted volume or a typo must not empty the knowledge base.
        raise SourceError(f"not a folder: {root}")
    collection = Collection()
    for path, relative in iter_files(root):
        try:
            data = path.read_bytes()
        except OSError as exc:
            _keep_or_skip(collection, known.get(relative), relative, f"cannot read: {exc}")
            report(relative, "error")
            continue
        # The base URL is part of every citation link, so changing it re-reads the files.
        content_hash = _digest(source.base_url, data)
        previous = known.get(relative)
        if previous is not None and previous.content_hash == content_hash:
            collection.documents.append(Observed(relative, "unchanged"))
            report(relative, "document")
            continue
        try:
            passages = load_file(path, relative, source.base_url)
        except Exception as exc:  # one broken file never stops the others
            collection.skip(relative, "error", str(exc))
            report(relative, "error")
            continue
        if not passages:
            collection.skip(relative, EMPTY, "no text")
            report(relative, EMPTY)
            continue
        collection.documents.append(_from_passages(relative, passages, content_hash))
        report(relative, "document")
    return collection


def _keep_or_skip(
    collection: Collection, previous: KnownDocument | None, key: str, detail: str
) -> None:
    collection.skip(key, "error", detail)
    if previous is not None:
        collection.documents.append(Observed(key, "kept"))


# --- websites -----------------------------------------------------------------------------


def _collect_site(
    source: UrlSource,
    known: Mapping[str, KnownDocument],
    session_factory: Callable[[], requests.Session],
    report: Progress,
) -> Collection:
    pages = [
        KnownPage(
            key=doc.key,
            fetch_url=doc.fetch_url or doc.key,
            etag=doc.etag,
            last_modified=doc.last_modified,
            content_hash=doc.content_hash,
            text_hash=doc.text_hash,
            links=doc.links,
        )
        for doc in known.values()
    ]
    crawler = Crawler(
        source,
        known=pages,
        session_factory=session_factory,
        progress=lambda url, what: report(url, "document" if what == "page" else what),
    )
    try:
        result = crawler.crawl()
    except CrawlAborted as exc:
        raise SourceError(str(exc)) from exc
    collection = Collection(requests=result.requests, limit_reached=result.limit_reached)
    for skip in result.skipped:
        collection.skip(skip.url, skip.reason, skip.detail)
    for page in result.pages:
        if page.state == "fetched":
            assert page.passages is not None
            if not page.passages:
                collection.skip(page.fetch_url, EMPTY, "no text in the main content")
                continue
            observed = _from_passages(page.key, page.passages, page.content_hash or "")
            observed.url = page.key
        else:
            observed = Observed(page.key, "kept" if page.state == "kept" else "unchanged")
        observed.fetch_url = page.fetch_url
        observed.etag = page.etag
        observed.last_modified = page.last_modified
        observed.links = page.links
        collection.documents.append(observed)
    return collection


# --- help centers -------------------------------------------------------------------------


def _collect_helpdesk(
    source: HelpdeskSource,
    known: Mapping[str, KnownDocument],
    connectors: Mapping[str, object],
    report: Progress,
) -> Collection:
    from connectors.base import HelpdeskError

    connector = connectors.get(source.connector)
    list_articles = getattr(connector, "list_help_articles", None)
    if list_articles is None:
        raise SourceError(f"no connector named {source.connector!r}")
    collection = Collection()
    seen: set[str] = set()
    try:
        # The connector lists only published, public articles: an article it leaves out
        # (a draft now, or deleted) is removed here.
        for article in list_articles():
            key = str(article.id)
            if key in seen:
                collection.skip(key, "duplicate", "listed twice")
                continue
            seen.add(key)
            updated = article.updated_at.isoformat() if article.updated_at else None
            content_hash = _digest(
                json.dumps(
                    [article.title, article.body_html, article.url, article.section],
                    ensure_ascii=False,
                )
            )
            previous = known.get(key)
            if previous is not None and previous.content_hash == content_hash:
                collection.documents.append(Observed(key, "unchanged", last_modified=updated))
                report(key, "document")
                continue
            soup = BeautifulSoup(article.body_html or "", "html.parser")
            passages = html_passages(
                soup,
                key=article.url or f"{source.connector}/articles/{key}",
                url=article.url,
                title=article.title or None,
                fallback_title=article.title or f"Article {key}",
            )
            if not passages:
                collection.skip(key, EMPTY, "article has no text")
                report(key, EMPTY)
                continue
            observed = _from_passages(key, passages, content_hash, last_modified=updated)
            observed.url = article.url
            observed.title = article.title or observed.title
            collection.documents.append(observed)
            report(key, "document")
    except HelpdeskError as exc:
        raise SourceError(f"{source.connector}: {exc}") from exc
    return collection
