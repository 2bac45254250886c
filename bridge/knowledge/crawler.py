"""Crawl one website into passages: politely, within limits, and incrementally.

The crawl stays on the start URL's host (and under ``path_prefix``), obeys robots.txt and
``<meta name="robots">``, seeds itself from sitemap.xml, and spaces its requests. Pages seen
before are requested conditionally (ETag / Last-Modified) and not re-parsed when the server
says 304 or the body is byte-identical; their stored links keep the crawl going.

Only public addresses are fetched: a host that is (or resolves to) a loopback, private,
link-local or otherwise non-global address is refused, before each request (robots.txt, sitemaps,
pages and every redirect hop) and again on the connected socket, so a DNS answer that changes in
between cannot slip through. ``allow_private_addresses: true`` on a source lifts this for an
intranet site.

Pages are visited breadth first, one depth level at a time, and results are consumed in
queue order even though several requests are in flight: the same site always yields the same
pages in the same order, whatever the timing, so ``max_pages`` cuts at the same place.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import ipaddress
import logging
import socket
import threading
import time
import urllib.robotparser
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
import urllib3
from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

from bridge.knowledge.extract import extract_page
from bridge.knowledge.loader import html_passages
from bridge.knowledge.settings import UrlSource
from bridge.knowledge.types import Passage
from bridge.knowledge.urls import (
    looks_non_html,
    normalize_url,
    same_site,
    site_root,
    under_prefix,
)

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
MAX_SITEMAPS = 50
MAX_SITEMAP_BYTES = 20_000_000
MAX_SITEMAP_URLS = 50_000
# Failed and skipped requests cost the site too, so they are bounded as well as pages.
REQUEST_BUDGET_FACTOR = 3
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})

SkipReason = Literal[
    "robots", "non_html", "too_large", "duplicate", "redirect", "not_found", "error"
]
SKIP_LABELS: dict[str, str] = {
    "robots": "robots",
    "non_html": "non-HTML",
    "too_large": "too large",
    "duplicate": "duplicate",
    "redirect": "redirect",
    "not_found": "not found",
    "error": "error",
    "empty": "no text",
}


class CrawlAborted(Exception):
    """The site could not be crawled at all (robots.txt unreachable, start page failed)."""


@dataclass(frozen=True)
class KnownPage:
    """What an earlier crawl stored about a page, for conditional requests and reuse."""

    key: str  # the page's canonical URL: the document's identity
    fetch_url: str  # the URL that was requested (after redirects)
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None  # of the response body
    text_hash: str | None = None  # of the extracted passages
    links: tuple[str, ...] = ()  # normalised in-scope links found on the page


@dataclass
class CrawledPage:
    key: str
    fetch_url: str
    title: str
    # None: unchanged since ``known`` (304, identical body, or kept through a failed request)
    passages: list[Passage] | None
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    text_hash: str | None
    links: tuple[str, ...]
    depth: int
    state: Literal["fetched", "not_modified", "same_body", "kept"]


@dataclass(frozen=True)
class CrawlSkip:
    url: str
    reason: SkipReason
    detail: str = ""


@dataclass
class CrawlResult:
    pages: list[CrawledPage] = field(default_factory=list)
    skipped: list[CrawlSkip] = field(default_factory=list)
    requests: int = 0
    limit_reached: bool = False  # max_pages stopped the crawl with URLs still queued


Progress = Callable[[str, str], None]  # (url, "page" | skip reason)


@dataclass
class _Seen:
    """Settled during this crawl: page keys, and content hashes for spotting copies."""

    keys: set[str] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)


@dataclass
class _Response:
    """The outcome of fetching one URL, computed on a worker thread."""

    url: str  # as queued
    final_url: str
    kind: Literal["ok", "not_modified", "same_body", "skip"]
    skip: CrawlSkip | None = None
    transient: bool = False  # a failure that says nothing about whether the page still exists
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    key: str | None = None
    title: str = ""
    passages: list[Passage] | None = None
    text_hash: str | None = None
    links: tuple[str, ...] = ()
    noindex: bool = False
    nofollow: bool = False


class _Throttle:
    """Spaces request starts on one host by at least ``delay`` seconds, across threads."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.delay
        if start > now:
            time.sleep(start - now)


class Crawler:
    def __init__(
        self,
        source: UrlSource,
        *,
        known: Iterable[KnownPage] = (),
        session_factory: Callable[[], requests.Session] = requests.Session,
        progress: Progress | None = None,
    ) -> None:
        self.source = source
        self.start = normalize_url(source.url)
        if self.start is None:
            raise ValueError(f"not an http(s) URL: {source.url}")
        self.known: dict[str, KnownPage] = {}
        for page in known:
            self.known.setdefault(page.fetch_url, page)
            self.known.setdefault(page.key, page)
        self._session_factory = session_factory
        self._local = threading.local()
        self._progress = progress or (lambda url, what: None)
        self._throttle = _Throttle(source.delay_seconds)
        self._robots = urllib.robotparser.RobotFileParser()
        self._requests = 0
        self._count_lock = threading.Lock()

    # -- public ----------------------------------------------------------------------------

    def crawl(self) -> CrawlResult:
        """Crawl the site; raises CrawlAborted when nothing trustworthy could be learned."""
        assert self.start is not None
        result = CrawlResult()
        sitemaps = self._load_robots()
        seeds = [self.start, *self._sitemap_urls(sitemaps)]

        claimed: set[str] = set()  # every URL queued or settled, so each is handled once
        seen = _Seen()
        level: list[str] = []
        for url in seeds:
            if url not in claimed and self._admit(url, claimed, result):
                level.append(url)
        budget = self.source.max_pages * REQUEST_BUDGET_FACTOR + 10

        with ThreadPoolExecutor(
            max_workers=self.source.concurrency, thread_name_prefix="kb-crawl"
        ) as pool:
            depth = 0
            while level:
                next_level: list[str] = []
                queue = deque(level)
                inflight: deque[tuple[str, Future[_Response]]] = deque()
                while queue or inflight:
                    while (
                        queue
                        and len(inflight) < self.source.concurrency
                        and len(result.pages) + len(inflight) < self.source.max_pages
                        and self._requests + len(inflight) < budget
                    ):
                        url = queue.popleft()
                        inflight.append((url, pool.submit(self._fetch, url)))
                    if not inflight:
                        break  # limits reached with URLs left
                    url, future = inflight.popleft()
                    response = future.result()
                    links = self._settle(response, depth, claimed, seen, result)
                    if depth < self.source.max_depth:
                        for link in links:
                            if link not in claimed and self._admit(link, claimed, result):
                                next_level.append(link)
                if queue or (next_level and len(result.pages) >= self.source.max_pages):
                    result.limit_reached = True
                    break
                level = next_level
                depth += 1
        result.requests = self._requests
        if not result.pages:
            first = next((s for s in result.skipped if s.url == self.start), None)
            if first is not None and first.reason == "error":
                # The site is down or refusing us: that says nothing about its pages, so
                # nothing may be removed because of this crawl.
                raise CrawlAborted(f"start page failed: {first.detail}")
        return result

    # -- robots and sitemaps ---------------------------------------------------------------

    def _load_robots(self) -> list[str]:
        """Read robots.txt; return the sitemap URLs it lists (same site only)."""
        assert self.start is not None
        robots_url = site_root(self.start) + "robots.txt"
        try:
            response = self._get(robots_url)
        except requests.RequestException as exc:
            raise CrawlAborted(f"robots.txt unreachable: {exc}") from exc
        with response:
            status = response.status_code
            if status in (401, 403):
                self._robots.disallow_all = True
            elif status >= 500 or status == 429:
                # Without the rules we cannot know what we may fetch; try again next time.
                raise CrawlAborted(f"robots.txt answered HTTP {status}")
            elif status >= 400:
                self._robots.allow_all = True
            else:
                text = _read_limited(response, 500_000).decode("utf-8", "replace")
                self._robots.parse(text.splitlines())
        self._robots.modified()  # marks the rules as read; can_fetch refuses everything before
        delay = self._robots.crawl_delay(self.source.user_agent)
        if delay is not None:
            self._throttle.delay = max(self._throttle.delay, float(delay))
        listed = [normalize_url(u) for u in self._robots.site_maps() or []]
        return [u for u in listed if u and same_site(u, self.start)]

    def _allowed(self, url: str) -> bool:
        return self._robots.can_fetch(self.source.user_agent, url)

    def _sitemap_urls(self, listed: list[str]) -> list[str]:
        """Page URLs from the sitemaps (following sitemap indexes), in the order listed."""
        assert self.start is not None
        queue = deque([*listed, site_root(self.start) + "sitemap.xml"])
        visited: set[str] = set()
        pages: list[str] = []
        while queue and len(visited) < MAX_SITEMAPS and len(pages) < MAX_SITEMAP_URLS:
            url = queue.popleft()
            if url in visited:
                continue  # an index that lists itself, or two that list each other
            visited.add(url)
            if not self._allowed(url):
                continue
            body = self._fetch_sitemap(url)
            if body is None:
                continue
            with warnings.catch_warnings():
                # The lenient HTML parser is chosen on purpose: real sitemaps are often not
                # well-formed XML, and only <loc> elements are needed.
                warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
                soup = BeautifulSoup(body, "html.parser")
            for loc in soup.find_all("loc"):
                target = normalize_url(loc.get_text(strip=True))
                if target is None or not same_site(target, self.start):
                    continue
                parent = loc.parent.name if loc.parent is not None else ""
                if parent == "sitemap":
                    queue.append(target)
                elif under_prefix(target, self.source.path_prefix):
                    pages.append(target)
        return pages

    def _fetch_sitemap(self, url: str) -> bytes | None:
        try:
            response = self._get(url)
        except requests.RequestException as exc:
            log.info("sitemap %s unreachable: %s", url, exc)
            return None
        with response:
            if response.status_code != 200:
                return None
            body = _read_limited(response, MAX_SITEMAP_BYTES)
        if body[:2] == b"\x1f\x8b":  # sitemap.xml.gz served as a file
            try:
                with gzip.GzipFile(fileobj=io.BytesIO(body)) as unzipped:
                    body = unzipped.read(MAX_SITEMAP_BYTES)
            except OSError:
                return None
        return body

    # -- per URL ---------------------------------------------------------------------------

    def _admit(self, url: str, claimed: set[str], result: CrawlResult) -> bool:
        """Claim an in-scope URL; record why it is skipped when it may not be fetched."""
        assert self.start is not None
        if not same_site(url, self.start) or not under_prefix(url, self.source.path_prefix):
            return False  # not part of this site: not followed, not counted
        claimed.add(url)
        if looks_non_html(url):
            self._skip(result, CrawlSkip(url, "non_html", "file type"))
            return False
        if not self._allowed(url):
            self._skip(result, CrawlSkip(url, "robots", "disallowed by robots.txt"))
            return False
        return True

    def _skip(self, result: CrawlResult, skip: CrawlSkip) -> None:
        result.skipped.append(skip)
        self._progress(skip.url, skip.reason)

    def _settle(
        self,
        response: _Response,
        depth: int,
        claimed: set[str],
        seen: _Seen,
        result: CrawlResult,
    ) -> tuple[str, ...]:
        """Turn a worker's response into a page or a skip; return the links to follow."""
        url, final = response.url, response.final_url
        known = self.known.get(final) or self.known.get(url)
        if final != url:
            if final in claimed:
                self._skip(result, CrawlSkip(url, "duplicate", f"redirects to {final}"))
                return ()
            claimed.add(final)

        if response.kind == "skip":
            assert response.skip is not None
            self._skip(result, response.skip)
            if response.transient and known is not None and known.key not in seen.keys:
                # A timeout or a 5xx is not a deletion: keep the page and its links.
                seen.keys.add(known.key)
                result.pages.append(_reuse(known, known.fetch_url, depth, "kept"))
                return known.links
            return ()

        if response.kind in ("not_modified", "same_body"):
            if known is None:
                self._skip(result, CrawlSkip(url, "error", "304 for a page never fetched"))
                return ()
            if known.key in seen.keys:
                self._skip(result, CrawlSkip(url, "duplicate", f"canonical is {known.key}"))
                return ()
            claimed.add(known.key)
            seen.keys.add(known.key)
            if known.text_hash:
                seen.texts.add(known.text_hash)
            page = _reuse(known, final, depth, response.kind)
            page.etag = response.etag or known.etag
            page.last_modified = response.last_modified or known.last_modified
            result.pages.append(page)
            self._progress(url, "page")
            return known.links

        follow = () if response.nofollow else response.links
        key = response.key or final
        if key in seen.keys:
            self._skip(result, CrawlSkip(url, "duplicate", f"canonical is {key}"))
            return follow
        claimed.add(key)
        if response.noindex:
            self._skip(result, CrawlSkip(url, "robots", "meta robots noindex"))
            return follow
        if response.text_hash in seen.texts:
            self._skip(result, CrawlSkip(url, "duplicate", "same content as another page"))
            return follow
        seen.keys.add(key)
        if response.text_hash:
            seen.texts.add(response.text_hash)
        result.pages.append(
            CrawledPage(
                key=key,
                fetch_url=final,
                title=response.title,
                passages=response.passages or [],
                etag=response.etag,
                last_modified=response.last_modified,
                content_hash=response.content_hash,
                text_hash=response.text_hash,
                links=response.links,
                depth=depth,
                state="fetched",
            )
        )
        self._progress(url, "page")
        return follow

    def _fetch(self, url: str) -> _Response:
        """Fetch one URL, following same-site redirects; parse it unless known unchanged."""
        assert self.start is not None
        chain = [url]
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            known = self.known.get(current)
            headers: dict[str, str] = {}
            if known is not None and known.fetch_url == current:
                if known.etag:
                    headers["If-None-Match"] = known.etag
                if known.last_modified:
                    headers["If-Modified-Since"] = known.last_modified
            try:
                response = self._get(current, headers)
            except requests.RequestException as exc:
                # A refused address is no passing failure: the page is not to be kept.
                transient = not isinstance(exc, PrivateAddress)
                return _skipped(url, current, "error", _describe(exc), transient=transient)
            with response:
                status = response.status_code
                if status in _REDIRECT_CODES:
                    location = response.headers.get("Location")
                    target = normalize_url(location, base=current) if location else None
                    if target is None:
                        return _skipped(url, current, "error", f"HTTP {status} without Location")
                    if not same_site(target, self.start):
                        return _skipped(url, current, "redirect", f"leaves the site: {target}")
                    if not under_prefix(target, self.source.path_prefix):
                        return _skipped(url, current, "redirect", f"leaves the prefix: {target}")
                    if target in chain:
                        return _skipped(url, current, "redirect", "redirect loop")
                    if not self._allowed(target):
                        return _skipped(url, target, "robots", "redirect target disallowed")
                    chain.append(target)
                    current = target
                    continue
                etag = response.headers.get("ETag")
                last_modified = response.headers.get("Last-Modified")
                if status == 304:
                    return _Response(
                        url, current, "not_modified", etag=etag, last_modified=last_modified
                    )
                if status in (404, 410):
                    return _skipped(url, current, "not_found", f"HTTP {status}")
                if status == 429 or status >= 500:
                    return _skipped(url, current, "error", f"HTTP {status}", transient=True)
                if status != 200:
                    # 401/403 and the like: the page is no longer public, so it must go.
                    return _skipped(url, current, "error", f"HTTP {status}")
                mime, charset = _content_type(response.headers.get("Content-Type", ""))
                length = response.headers.get("Content-Length", "")
                if mime and mime not in HTML_TYPES:
                    return _skipped(url, current, "non_html", mime)
                if length.isdigit() and int(length) > self.source.max_bytes:
                    return _skipped(url, current, "too_large", f"{length} bytes")
                try:
                    body = _read_limited(response, self.source.max_bytes + 1)
                except requests.RequestException as exc:
                    return _skipped(url, current, "error", _describe(exc), transient=True)
                if len(body) > self.source.max_bytes:
                    return _skipped(url, current, "too_large", f"over {self.source.max_bytes}")
                if not mime and not _sniff_html(body):
                    return _skipped(url, current, "non_html", "no Content-Type, not HTML")
            content_hash = hashlib.sha256(body).hexdigest()
            if known is not None and known.content_hash == content_hash:
                return _Response(
                    url,
                    current,
                    "same_body",
                    etag=etag,
                    last_modified=last_modified,
                    content_hash=content_hash,
                )
            return self._parse(url, current, body, charset, etag, last_modified, content_hash)
        return _skipped(url, current, "redirect", f"more than {MAX_REDIRECTS} redirects")

    def _parse(
        self,
        url: str,
        final: str,
        body: bytes,
        charset: str | None,
        etag: str | None,
        last_modified: str | None,
        content_hash: str,
    ) -> _Response:
        assert self.start is not None
        try:
            page = extract_page(body, charset)
        except Exception as exc:  # a page the parser chokes on must not stop the crawl
            log.warning("cannot parse %s: %s", final, exc)
            return _skipped(url, final, "error", f"unparseable: {exc}")
        base = normalize_url(page.base_url, base=final) if page.base_url else None
        base = base or final
        key = final
        if page.canonical:
            canonical = normalize_url(page.canonical, base=base)
            # A canonical on another site (syndicated copies) or outside the prefix is not
            # where this crawl's citations should point; the fetched URL is.
            if (
                canonical
                and same_site(canonical, self.start)
                and under_prefix(canonical, self.source.path_prefix)
            ):
                key = canonical
        links: list[str] = []
        seen: set[str] = set()
        for href in page.links:
            target = normalize_url(href, base=base)
            if (
                target
                and target not in seen
                and same_site(target, self.start)
                and under_prefix(target, self.source.path_prefix)
            ):
                seen.add(target)
                links.append(target)
        passages = html_passages(
            page.content, key=key, url=key, title=None, fallback_title=page.title or key
        )
        return _Response(
            url,
            final,
            "ok",
            etag=etag,
            last_modified=last_modified,
            content_hash=content_hash,
            key=key,
            title=passages[0].title_path[0] if passages else page.title,
            passages=passages,
            text_hash=passages_hash(passages, key),
            links=tuple(links),
            noindex=page.noindex,
            nofollow=page.nofollow,
        )

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._session_factory()
            session.headers["User-Agent"] = self.source.user_agent
            if not self.source.allow_private_addresses:
                adapter = PublicOnlyAdapter()
                session.mount("http://", adapter)
                session.mount("https://", adapter)
            self._local.session = session
        return session

    def _get(self, url: str, headers: Mapping[str, str] | None = None) -> requests.Response:
        if not self.source.allow_private_addresses:
            check_public(url)
        self._throttle.wait()
        with self._count_lock:
            self._requests += 1
        return self._session().get(
            url,
            headers=dict(headers or {}),
            timeout=self.source.timeout_seconds,
            allow_redirects=False,
            stream=True,
        )


def passages_hash(passages: Iterable[Passage], key: str) -> str:
    """What a document contributes to the index; equal hashes mean nothing to re-index.

    The document's own key is left out of ids and links, so two URLs serving the same article
    hash alike (and the second is a duplicate) while a changed anchor still counts.
    """
    digest = hashlib.sha256()
    for passage in passages:
        parts = (
            passage.id.removeprefix(key),
            (passage.url or "").removeprefix(key),
            *passage.title_path,
            passage.text,
        )
        for part in parts:
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        digest.update(b"\x01")
    return digest.hexdigest()


def _reuse(
    known: KnownPage,
    fetch_url: str,
    depth: int,
    state: Literal["not_modified", "same_body", "kept"],
) -> CrawledPage:
    return CrawledPage(
        key=known.key,
        fetch_url=fetch_url,
        title="",
        passages=None,
        etag=known.etag,
        last_modified=known.last_modified,
        content_hash=known.content_hash,
        text_hash=known.text_hash,
        links=known.links,
        depth=depth,
        state=state,
    )


def _skipped(
    url: str, final: str, reason: SkipReason, detail: str, *, transient: bool = False
) -> _Response:
    return _Response(url, final, "skip", skip=CrawlSkip(url, reason, detail), transient=transient)


def _content_type(header: str) -> tuple[str, str | None]:
    mime, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    return mime.strip().lower(), charset


def _sniff_html(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<body" in head


def _read_limited(response: requests.Response, limit: int) -> bytes:
    """At most ``limit`` bytes of the body, without downloading the rest."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=65536):
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


# -- public addresses only ---------------------------------------------------------------------
class PrivateAddress(requests.exceptions.ConnectionError):
    """The host is, or resolves to, an address this source may not reach."""


def is_public(address: str) -> bool:
    """Whether ``address`` is globally routable (and not multicast)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone index
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return ip.is_global and not ip.is_multicast


def _refusal(host: str, address: str) -> PrivateAddress:
    where = host if host == address else f"{host} ({address})"
    return PrivateAddress(
        f"{where} is not a public address; set allow_private_addresses: true on the source "
        "to crawl an internal site"
    )


def check_public(url: str) -> None:
    """Raise PrivateAddress unless every address the URL's host resolves to is public."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError):
        return  # not resolvable: the request fails on its own, and checks what it reaches
    for *_, sockaddr in found:
        address = str(sockaddr[0])
        if not is_public(address):
            raise _refusal(host, address)


class _PublicOnlyConnection:
    """Refuses a connection whose peer is not public, whatever DNS said a moment before."""

    host: str

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        address = str(sock.getpeername()[0])
        if not is_public(address):
            sock.close()
            raise _refusal(self.host, address)
        return sock


class _HTTPConnection(_PublicOnlyConnection, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_PublicOnlyConnection, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class PublicOnlyAdapter(requests.adapters.HTTPAdapter):
    """Direct connections to public addresses only. Through a proxy it is the proxy that
    connects, so there the check before each request is what applies."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
