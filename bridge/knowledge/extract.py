"""Find the article in a web page: the text a customer came for, without the site around it.

Navigation, headers, footers, sidebars, forms and cookie banners repeat on every page; indexed,
they would make every page match "privacy", "cookies" or "sign in", and an answer might quote
them. Links are collected from the whole page first, because menus are how pages are found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bs4 import BeautifulSoup, Tag

# Never part of an article's text.
_ALWAYS_DROP = (
    "aside", "button", "canvas", "dialog", "embed", "footer", "form", "iframe", "input", "nav",
    "noscript", "object", "script", "select", "style", "svg", "template", "textarea",
)  # fmt: skip
_LAYOUT_ROLES = frozenset(
    {"alertdialog", "banner", "complementary", "contentinfo", "dialog", "navigation", "search"}
)
# Matched against id and class words: the names sites give their cookie banners, consent
# dialogs, sidebars and "was this helpful" widgets.
_BOILERPLATE_RE = re.compile(
    r"(?:^|[\s_-])(?:cookies?|consent|gdpr|banner|newsletter|popup|modal|breadcrumbs?|sidebar|"
    r"toc|feedback|related|share|social|skip)(?:$|[\s_-])",
    re.I,
)
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_TITLE_SEPARATORS = (" | ", " – ", " — ", " · ", " :: ")
# An element holding more than this share of the content is the content, whatever its name.
_MAX_BOILERPLATE_SHARE = 0.5


@dataclass
class ExtractedPage:
    title: str  # the <title>, without the " | Site name" suffix
    canonical: str | None  # href of <link rel="canonical">, resolved against the page URL
    links: list[str]  # every <a href> on the page, as written, in document order
    base_url: str | None  # <base href>, which relative links resolve against
    noindex: bool  # <meta name="robots" content="noindex">
    nofollow: bool
    content: Tag  # the main content, boilerplate removed


def extract_page(html: bytes | str, encoding: str | None = None) -> ExtractedPage:
    soup = BeautifulSoup(html, "html.parser", from_encoding=encoding)
    title = _clean_title(soup.title.get_text(" ", strip=True) if soup.title else "")
    canonical = None
    for link in soup.find_all("link", href=True):
        rel = link.get("rel") or []
        rels = rel if isinstance(rel, list) else str(rel).split()
        if "canonical" in (r.lower() for r in rels):
            canonical = str(link["href"]).strip() or None
            break
    base = soup.find("base", href=True)
    base_url = str(base["href"]).strip() if isinstance(base, Tag) else None
    noindex = nofollow = False
    for meta in soup.find_all("meta", attrs={"name": True, "content": True}):
        if str(meta["name"]).lower() in ("robots", "helpdesk-bridge"):
            directives = {d.strip().lower() for d in str(meta["content"]).split(",")}
            noindex = noindex or bool(directives & {"noindex", "none"})
            nofollow = nofollow or bool(directives & {"nofollow", "none"})
    links = [str(a["href"]) for a in soup.find_all("a", href=True)]

    content = _main_element(soup)
    _strip_boilerplate(content)
    return ExtractedPage(title, canonical, links, base_url, noindex, nofollow, content)


def _main_element(soup: BeautifulSoup) -> Tag:
    """<main>, else role=main, else the page's only <article>, else <body>."""
    main = soup.find("main") or soup.find(attrs={"role": "main"})
    if isinstance(main, Tag):
        return main
    articles = soup.find_all("article")
    if len(articles) == 1:
        return articles[0]
    return soup.body or soup


def _strip_boilerplate(content: Tag) -> None:
    for tag in content.find_all(_ALWAYS_DROP):
        tag.decompose()
    if content.name in ("body", "html", "[document]"):
        # Without a <main> or <article> a <header> is the site's; inside one it holds the
        # article's own title, which is worth keeping.
        for tag in content.find_all("header"):
            if tag.find_parent("article") is None:
                tag.decompose()
    total = len(content.get_text(" ", strip=True)) or 1
    for tag in list(content.find_all(True)):
        if tag.decomposed or not _looks_like_boilerplate(tag):
            continue
        if len(tag.get_text(" ", strip=True)) > _MAX_BOILERPLATE_SHARE * total:
            continue  # a wrapper that happens to be called "with-sidebar" is still the page
        tag.decompose()


def _looks_like_boilerplate(tag: Tag) -> bool:
    if tag.attrs is None:
        return False
    if str(tag.get("role") or "").lower() in _LAYOUT_ROLES:
        return True
    if tag.has_attr("hidden") or str(tag.get("aria-hidden") or "").lower() == "true":
        return True
    if _HIDDEN_STYLE_RE.search(str(tag.get("style") or "")):
        return True
    classes = tag.get("class") or []
    names = " ".join([str(tag.get("id") or ""), *(classes if isinstance(classes, list) else [])])
    return bool(names.strip()) and _BOILERPLATE_RE.search(names) is not None


def _clean_title(title: str) -> str:
    for separator in _TITLE_SEPARATORS:
        if separator in title:
            first = title.split(separator)[0].strip()
            if len(first) >= 3:
                return first
    return title.strip()
