"""Crawling a live local site into the knowledge base, first in full, then incrementally."""

from __future__ import annotations

import functools
from pathlib import Path

from sqlalchemy import select

from bridge.knowledge.crawler import Crawler
from bridge.knowledge.refresh import KnowledgeBase, RefreshReport
from bridge.knowledge.settings import UrlSource
from bridge.store.models import KbChunk, KbDocument
from tests.knowledge.site import BOILERPLATE, Response, Site, billing, page, sitemap

EXPECTED = {"/", "/billing", "/password", "/refunds", "/orphan"}
# The test sites are on loopback, which a source must allow explicitly.
LOOPBACK = functools.partial(UrlSource, allow_private_addresses=True)


def source(site: Site, **limits: object) -> UrlSource:
    settings: dict[str, object] = {
        "allow_private_addresses": True,  # the test sites are on loopback
        "max_bytes": 20_000,
        "delay_seconds": 0,
        "concurrency": 2,
        "timeout_seconds": 5,
    }
    settings.update(limits)
    return UrlSource(url=site.url("/"), **settings)  # type: ignore[arg-type]


def crawl(kb: KnowledgeBase, src: UrlSource) -> RefreshReport:
    info = kb.add_source(src)
    [report] = kb.refresh([info.id])
    assert report.error is None, report.error
    return report


def document_paths(kb: KnowledgeBase, site: Site) -> set[str]:
    with kb.store.session() as session:
        keys = session.scalars(select(KbDocument.key)).all()
    return {key.removeprefix(site.base) for key in keys}


def chunk_ids(kb: KnowledgeBase) -> dict[str, list[int]]:
    with kb.store.session() as session:
        rows = session.execute(
            select(KbDocument.key, KbChunk.id).join(KbChunk, KbChunk.document_id == KbDocument.id)
        ).all()
    out: dict[str, list[int]] = {}
    for key, chunk_id in rows:
        out.setdefault(key, []).append(chunk_id)
    return {key: sorted(ids) for key, ids in out.items()}


def test_first_crawl_indexes_exactly_the_site_pages_without_boilerplate(
    kb: KnowledgeBase, help_center_site: Site
) -> None:
    site = help_center_site
    report = crawl(kb, source(site))

    assert document_paths(kb, site) == EXPECTED
    assert (report.added, report.changed, report.removed) == (5, 0, 0)
    assert dict(report.skipped) == {
        "robots": 1,  # /private/secret
        "non_html": 2,  # /guide.pdf by its name, /download by its Content-Type
        "too_large": 1,  # /huge
        "redirect": 1,  # /loop-a -> /loop-b -> /loop-a
        "not_found": 2,  # /missing, and /privacy linked from the footer
        "duplicate": 2,  # /copy (canonical is /billing), /mirror (same text as /password)
    }
    requested = site.paths_requested()
    assert "/private/secret" not in requested  # robots.txt is obeyed before any request
    assert "/guide.pdf" not in requested
    # The tracking and sort parameters collapse into /billing: fetched once.
    assert not any(path.startswith("/billing?") for path in requested)
    assert len(site.requested("/billing")) == 1
    assert "/sitemap-pages.xml" in requested  # found through the sitemap index in robots.txt

    _, index = kb.open_index()
    texts = [" ".join([*p.title_path, p.text]) for p in index.passages]
    for phrase in BOILERPLATE:
        assert not any(phrase in text for text in texts), phrase
    assert not any("window.tracking" in text or "color: red" in text for text in texts)

    # Citations link to the canonical page, with the section's anchor.
    steps = next(p for p in index.passages if p.title_path[-1] == "Steps")
    assert steps.url == site.url("/password#steps")
    assert steps.title_path == ("Reset your password", "Steps")
    invoices = next(p for p in index.passages if p.title_path[-1] == "Invoices")
    assert invoices.url == site.url("/billing#invoices")
    # The redirect was followed: the refunds article is known by its final address.
    refunds = next(p for p in index.passages if p.title_path[0] == "Refunds")
    assert refunds.source == site.url("/refunds")
    assert kb.open_index()[1].search("forgot login password")[0].passage.source == site.url(
        "/password"
    )


def test_second_crawl_is_conditional_and_reprocesses_nothing(
    kb: KnowledgeBase, help_center_site: Site
) -> None:
    site = help_center_site
    crawl(kb, source(site))
    before_chunks = chunk_ids(kb)
    before_revision = kb.revision()
    site.reset_log()

    report = crawl(kb, source(site))

    assert (report.added, report.changed, report.removed, report.unchanged) == (0, 0, 0, 5)
    for path in ("/", "/billing", "/password", "/orphan"):
        [headers] = site.requested(path)
        assert headers.get("If-None-Match", "").startswith('"'), path
    [refunds] = site.requested("/refunds")
    assert refunds.get("If-Modified-Since")  # this page sends no ETag
    assert chunk_ids(kb) == before_chunks  # no passage rewritten
    assert kb.revision() == before_revision  # so no process reloads anything


def test_changed_page_is_rechunked_and_removed_pages_leave_the_index(
    kb: KnowledgeBase, help_center_site: Site
) -> None:
    site = help_center_site
    crawl(kb, source(site))
    before = chunk_ids(kb)
    site.set("/billing", billing(site, "Invoices now arrive by text message as well."))
    site.set("/refunds", Response(status=410))  # still linked through /moved
    site.set("/sitemap-pages.xml", sitemap(site, "/"))  # /orphan is gone from the site
    site.remove("/orphan")

    report = crawl(kb, source(site))

    assert (report.added, report.changed, report.removed) == (0, 1, 2)
    assert document_paths(kb, site) == {"/", "/billing", "/password"}
    after = chunk_ids(kb)
    assert after[site.url("/billing")] != before[site.url("/billing")]
    assert after[site.url("/password")] == before[site.url("/password")]
    _, index = kb.open_index()
    assert index.search("text message")[0].passage.url == site.url("/billing#invoices")
    assert not index.search("first day each month")  # the old wording is gone
    assert not any(p.title_path[0] == "Refunds" for p in index.passages)
    assert not any(p.source == site.url("/orphan") for p in index.passages)


def test_a_server_error_keeps_what_was_indexed(kb: KnowledgeBase, help_center_site: Site) -> None:
    site = help_center_site
    crawl(kb, source(site))
    site.set("/password", Response(status=503))

    report = crawl(kb, source(site))

    assert report.removed == 0
    assert report.skipped["error"] == 1
    assert site.url("/password") in {p.source for p in kb.open_index()[1].passages}


def test_unreachable_site_fails_without_removing_anything(
    kb: KnowledgeBase, help_center_site: Site
) -> None:
    site = help_center_site
    crawl(kb, source(site))
    site.set("/robots.txt", Response(status=500))

    info = kb.add_source(source(site))
    [report] = kb.refresh([info.id])

    assert report.error and "robots.txt" in report.error
    assert document_paths(kb, site) == EXPECTED
    [row] = kb.stats().sources
    assert row.last_status == "error"


def test_limits_on_pages_and_depth(kb: KnowledgeBase, help_center_site: Site) -> None:
    site = help_center_site
    report = crawl(kb, source(site, max_pages=2))
    assert report.added == 2
    assert report.limit_reached
    # Breadth first, start page first, then the sitemap's pages in their order.
    assert document_paths(kb, site) == {"/", "/orphan"}


def test_depth_zero_keeps_to_the_start_page_and_the_sitemap(help_center_site: Site) -> None:
    site = help_center_site
    result = Crawler(source(site, max_depth=0)).crawl()
    assert {p.key.removeprefix(site.base) for p in result.pages} == {"/", "/orphan"}


def test_path_prefix_and_off_site_redirects(site: Site) -> None:
    site.set(
        "/docs/",
        page("Docs", "<p>Start here.</p>", links=("/docs/a", "/blog/post", "/docs/leave")),
    )
    site.set("/docs/a", page("Alpha", "<p>Alpha article text.</p>"))
    site.set("/blog/post", page("Blog", "<p>Not documentation.</p>"))
    port = site.base.rsplit(":", 1)[1]
    site.redirect("/docs/leave", f"http://localhost:{port}/docs/a")  # another host name

    result = Crawler(
        UrlSource(
            url=site.url("/docs/"),
            path_prefix="/docs/",
            delay_seconds=0,
            allow_private_addresses=True,
        )
    ).crawl()

    assert {p.key.removeprefix(site.base) for p in result.pages} == {"/docs/", "/docs/a"}
    assert "/blog/post" not in site.paths_requested()
    [leave] = [s for s in result.skipped if s.url.endswith("/docs/leave")]
    assert leave.reason == "redirect" and "leaves the site" in leave.detail


def test_meta_robots_noindex_page_is_followed_not_indexed(site: Site) -> None:
    site.set(
        "/",
        page(
            "Index",
            "<p>Hub page.</p>",
            links=("/a",),
            extra_head='<meta name="robots" content="noindex, follow">',
        ),
    )
    site.set("/a", page("Article A", "<p>Body A.</p>"))

    result = Crawler(LOOPBACK(url=site.url("/"), delay_seconds=0, concurrency=2)).crawl()

    assert [p.key for p in result.pages] == [site.url("/a")]
    assert [s.reason for s in result.skipped if s.url == site.url("/")] == ["robots"]


def test_robots_crawl_delay_slows_the_crawler_down(site: Site) -> None:
    site.set(
        "/robots.txt",
        Response(body=b"User-agent: *\nCrawl-delay: 3\n", content_type="text/plain"),
    )
    crawler = Crawler(LOOPBACK(url=site.url("/"), delay_seconds=0.5))
    crawler._load_robots()
    assert crawler._throttle.delay == 3.0  # more than the config asked for, so it wins


def test_throttle_spaces_requests_across_threads() -> None:
    import itertools
    import threading
    import time

    from bridge.knowledge.crawler import _Throttle

    throttle = _Throttle(0.05)
    starts: list[float] = []

    def go() -> None:
        throttle.wait()
        starts.append(time.monotonic())

    threads = [threading.Thread(target=go) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts.sort()
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(gap >= 0.045 for gap in gaps), gaps


def test_robots_can_shut_the_crawler_out(site: Site) -> None:
    site.set(
        "/robots.txt",
        Response(
            body=b"User-agent: helpdesk-bridge\nDisallow: /\n\nUser-agent: *\nAllow: /\n",
            content_type="text/plain",
        ),
    )
    site.set("/", page("Home", "<p>Hello.</p>"))
    result = Crawler(LOOPBACK(url=site.url("/"), delay_seconds=0)).crawl()
    assert result.pages == []
    assert [s.reason for s in result.skipped] == ["robots"]
    assert site.paths_requested() <= {"/robots.txt", "/sitemap.xml"}


def test_a_crawl_of_a_new_site_that_is_down_is_aborted(tmp_path: Path) -> None:
    import socket

    from bridge.knowledge.crawler import CrawlAborted

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    try:
        Crawler(LOOPBACK(url=f"http://127.0.0.1:{port}/", delay_seconds=0)).crawl()
    except CrawlAborted as exc:
        assert "robots.txt" in str(exc)
    else:
        raise AssertionError("expected CrawlAborted")
