"""A small help-center website served on 127.0.0.1 for crawler tests.

Pages are plain data the test may change between crawls; the server answers conditional
requests (ETag / Last-Modified) like a real one and records every request it receives.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LAST_MODIFIED = "Mon, 01 Dec 2025 10:00:00 GMT"

# Text that only ever appears in the site's chrome; none of it may reach the index.
BOILERPLATE = (
    "Acme Help home",
    "We use cookies",
    "Accept all cookies",
    "Copyright Acme",
    "Privacy policy",
    "Popular articles",
    "Subscribe to our newsletter",
    "Was this article helpful",
)


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = True  # answer If-None-Match with 304
    last_modified: str | None = LAST_MODIFIED


def page(
    title: str,
    main: str,
    *,
    canonical: str | None = None,
    links: tuple[str, ...] = (),
    extra_head: str = "",
) -> bytes:
    """A page in the site's layout: header, nav, cookie banner, main, sidebar, footer."""
    nav = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    canonical_tag = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Acme Help</title>
{canonical_tag}{extra_head}<style>.x {{ color: red }}</style>
<script>window.tracking = "Subscribe to our newsletter";</script></head>
<body class="has-cookie-banner">
<header class="site-header"><a href="/">Acme Help home</a>
<nav><ul>{nav}</ul></nav></header>
<div id="cookie-consent" class="banner">We use cookies to make this site work.
<button>Accept all cookies</button></div>
<main>
<h1>{title}</h1>
{main}
<footer class="article-footer">Was this article helpful? Yes / No</footer>
</main>
<aside class="sidebar"><h3>Popular articles</h3><ul><li>Getting started</li></ul></aside>
<div class="newsletter">Subscribe to our newsletter for updates</div>
<footer><p>Copyright Acme Inc.</p><a href="/privacy">Privacy policy</a></footer>
</body></html>""".encode()


class Site:
    def __init__(self) -> None:
        self.routes: dict[str, Response] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path with query, headers)
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_port}"
        # A short poll interval keeps shutdown (once per test) from waiting half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def set(self, path: str, response: Response | bytes) -> None:
        with self._lock:
            self.routes[path] = (
                response if isinstance(response, Response) else Response(body=response)
            )

    def remove(self, path: str) -> None:
        with self._lock:
            self.routes.pop(path, None)

    def redirect(self, path: str, location: str, status: int = 301) -> None:
        self.set(path, Response(status=status, headers={"Location": location}, body=b""))

    def requested(self, path: str) -> list[dict[str, str]]:
        """Headers of every request for ``path`` (query included when given)."""
        with self._lock:
            return [headers for got, headers in self.requests if got == path]

    def paths_requested(self) -> set[str]:
        with self._lock:
            return {got for got, _ in self.requests}

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        headers = {k: v for k, v in handler.headers.items()}
        with self._lock:
            self.requests.append((handler.path, headers))
            route = self.routes.get(handler.path) or self.routes.get(handler.path.split("?")[0])
        if route is None:
            route = Response(status=404, body=b"<html><body>Not found</body></html>")
        etag = '"' + hashlib.md5(route.body).hexdigest() + '"' if route.etag else None
        if route.status == 200:
            if etag and headers.get("If-None-Match") == etag:
                self._send(handler, 304, b"", {"ETag": etag})
                return
            since = headers.get("If-Modified-Since")
            if not route.etag and since and since == route.last_modified:
                self._send(handler, 304, b"", {"Last-Modified": since})
                return
        extra = dict(route.headers)
        if route.status == 200:
            extra["Content-Type"] = route.content_type
            if etag:
                extra["ETag"] = etag
            if route.last_modified:
                extra["Last-Modified"] = route.last_modified
        elif route.body:
            extra["Content-Type"] = "text/html"
        self._send(handler, route.status, route.body, extra)

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]
    ) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if body:
            handler.wfile.write(body)


def help_site(site: Site) -> None:
    """Lay out the standard test site (see test_crawler for what each page exercises)."""
    nav = (
        "/",
        "/billing",
        "/password",
        "/password#steps",
        "/billing?utm_source=newsletter&sort=asc",
        "/private/secret",
        "/guide.pdf",
        "/download",
        "/huge",
        "/loop-a",
        "/missing",
        "/moved",
        "/copy",
        "/mirror",
        "http://external.invalid/elsewhere",
        "mailto:help@acme.example",
    )
    site.set(
        "/robots.txt",
        Response(
            body=(
                f"User-agent: *\nDisallow: /private/\nSitemap: {site.base}/sitemap_index.xml\n"
            ).encode(),
            content_type="text/plain",
        ),
    )
    site.set(
        "/sitemap_index.xml",
        Response(
            body=(
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{site.base}/sitemap-pages.xml</loc></sitemap>"
                f"<sitemap><loc>{site.base}/sitemap_index.xml</loc></sitemap>"
                "</sitemapindex>"
            ).encode(),
            content_type="application/xml",
        ),
    )
    site.set("/sitemap-pages.xml", sitemap(site, "/", "/orphan", "http://other.invalid/x"))
    site.set("/", page("Welcome to Acme Help", "<p>Find answers about billing.</p>", links=nav))
    site.set("/billing", billing(site, "Invoices are emailed on the first day of each month."))
    site.set(
        "/password",
        page(
            "Reset your password",
            "<p>Forgot your login password? Reset it from the sign-in page.</p>"
            '<h2 id="steps">Steps</h2><ol><li>Click Forgot password.</li>'
            "<li>Open the email and choose a new password.</li></ol>",
            links=nav,
        ),
    )
    site.set(
        "/mirror",  # the password article again under another address, without a canonical
        page(
            "Reset your password",
            "<p>Forgot your login password? Reset it from the sign-in page.</p>"
            '<h2 id="steps">Steps</h2><ol><li>Click Forgot password.</li>'
            "<li>Open the email and choose a new password.</li></ol>",
        ),
    )
    site.set(
        "/copy",
        page(
            "Billing (print view)",
            "<p>Printer-friendly copy.</p>",
            canonical=site.url("/billing"),
        ),
    )
    site.set(
        "/refunds",
        Response(
            body=page("Refunds", "<p>Refunds take five business days to reach your card.</p>"),
            etag=False,  # only Last-Modified: exercises If-Modified-Since
        ),
    )
    site.redirect("/moved", "/refunds")
    site.redirect("/loop-a", "/loop-b", 302)
    site.redirect("/loop-b", "/loop-a", 302)
    site.set("/download", Response(body=b"%PDF-1.4 fake", content_type="application/pdf"))
    site.set("/guide.pdf", Response(body=b"%PDF-1.4 fake", content_type="application/pdf"))
    site.set(
        "/huge",
        page("Huge", "<p>" + "All work and no play. " * 2000 + "</p>"),
    )
    site.set("/private/secret", page("Secret", "<p>Internal only.</p>"))
    site.set(
        "/orphan",
        page("Delete your account", "<p>Ask support to delete your account.</p>"),
    )


def billing(site: Site, sentence: str) -> bytes:
    return page(
        "Billing and invoices",
        f'<h2 id="invoices">Invoices</h2><p>{sentence}</p>'
        '<h2 id="payment">Payment methods</h2><p>We accept cards and PayPal.</p>',
        canonical=site.url("/billing?utm_campaign=x"),
    )


def sitemap(site: Site, *paths: str) -> Response:
    entries = "".join(
        f"<url><loc>{path if path.startswith('http') else site.base + path}</loc></url>"
        for path in paths
    )
    return Response(
        body=(
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
        ).encode(),
        content_type="application/xml",
    )


def serve() -> Iterator[Site]:
    site = Site()
    try:
        yield site
    finally:
        site.close()
