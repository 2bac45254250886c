"""URL normalisation and main-content extraction."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from bridge.knowledge.extract import extract_page
from bridge.knowledge.loader import html_passages
from bridge.knowledge.urls import looks_non_html, normalize_url, same_site, under_prefix


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Help.Example.COM:80", "http://help.example.com/"),
        ("https://h.example/a/./b/../c#frag", "https://h.example/a/c"),
        ("https://h.example/a?utm_source=x&b=2&a=1", "https://h.example/a?a=1&b=2"),
        ("https://h.example/a?sort=asc&ref=nav&fbclid=1", "https://h.example/a"),
        ("https://h.example/a?page=2", "https://h.example/a?page=2"),
        ("https://h.example//x/y/", "https://h.example/x/y/"),
        ("https://h.example/a b", "https://h.example/a%20b"),
        ("https://user:pw@h.example:8443/", "https://h.example:8443/"),
        ("mailto:help@h.example", None),
        ("javascript:void(0)", None),
        ("https://h.example/" + "x" * 3000, None),
    ],
)
def test_normalize_url(url: str, expected: str | None) -> None:
    assert normalize_url(url) == expected


def test_relative_links_and_scope() -> None:
    assert normalize_url("../b", base="https://h.example/docs/a/") == "https://h.example/docs/b"
    assert same_site("http://h.example/a", "https://h.example/b")  # an https upgrade is fine
    assert not same_site("https://h.example/", "https://www.h.example/")
    assert under_prefix("https://h.example/docs/a", "/docs/")
    assert not under_prefix("https://h.example/blog", "/docs/")
    assert looks_non_html("https://h.example/files/Guide.PDF")
    assert not looks_non_html("https://h.example/guide")


def test_prefers_main_and_drops_layout_and_banners() -> None:
    page = extract_page(
        b"""<html><head><title>Refunds | Acme Help Center</title>
        <link rel="canonical" href="/refunds"><meta name="robots" content="nofollow"></head>
        <body><header><a href="/">Home</a></header><nav><a href="/a">A</a></nav>
        <div class="cookie-notice">We use cookies</div>
        <div id="gdpr-consent">Consent please</div>
        <main class="layout with-sidebar"><h1>Refunds</h1><p>Refunds take 5 days.</p>
        <div class="related-articles">See also: Billing</div>
        <form><label>Search</label></form>
        <div hidden>secret draft text</div>
        <div style="display: none">invisible</div>
        </main><footer>Copyright</footer></body></html>"""
    )
    assert page.title == "Refunds"
    assert page.canonical == "/refunds"
    assert page.nofollow and not page.noindex
    assert page.links == ["/", "/a"]
    text = page.content.get_text(" ", strip=True)
    assert text == "Refunds Refunds take 5 days."


def test_without_main_the_single_article_is_used_and_keeps_its_header() -> None:
    page = extract_page(
        """<html><body><header class="top">Site</header>
        <article><header><h1>Export notes</h1></header><p>Use the menu.</p></article>
        <aside>Ads</aside></body></html>"""
    )
    [passage] = html_passages(page.content, key="https://h.example/x", url="https://h.example/x")
    assert passage.title_path == ("Export notes",)
    assert passage.text == "Use the menu."


def test_body_fallback_drops_site_header_but_keeps_article_text() -> None:
    page = extract_page(
        """<html><body><header>Acme site header</header><div class="content">
        <h1>Plans</h1><p>Pro costs $8.</p></div><footer>Foot</footer></body></html>"""
    )
    assert page.content.get_text(" ", strip=True) == "Plans Pro costs $8."


def test_a_wrapper_named_like_boilerplate_is_kept_when_it_holds_the_content() -> None:
    page = extract_page(
        """<html><body><div class="page-with-banner"><h1>Sync</h1>
        <p>Notes sync within seconds whenever you are online.</p></div>
        <div class="banner">Sale!</div></body></html>"""
    )
    text = page.content.get_text(" ", strip=True)
    assert "Notes sync" in text and "Sale!" not in text


def test_charset_from_the_header_is_used() -> None:
    html = "<html><body><main><p>Café crème</p></main></body></html>".encode("latin-1")
    page = extract_page(html, "iso-8859-1")
    assert "Café crème" in page.content.get_text()


def test_helpdesk_html_is_chunked_by_headings() -> None:
    soup = BeautifulSoup(
        "<p>Intro.</p><h2 id='s1'>Step one</h2><p>Do this.</p><h2>Step two</h2><p>Then that.</p>",
        "html.parser",
    )
    passages = html_passages(
        soup, key="https://hc.example/a/1", url="https://hc.example/a/1", title="Guide"
    )
    assert [p.title_path for p in passages] == [
        ("Guide",),
        ("Guide", "Step one"),
        ("Guide", "Step two"),
    ]
    assert [p.url for p in passages] == [
        "https://hc.example/a/1",
        "https://hc.example/a/1#s1",
        "https://hc.example/a/1#step-two",
    ]
