"""URL normalisation for the crawler: one spelling per page, so each page is fetched once."""

from __future__ import annotations

import posixpath
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that track a visit or change presentation but never which page is shown.
# Dropping them lets "/billing?utm_source=mail" and "/billing?sort=asc" collapse into "/billing".
IGNORED_PARAMS = frozenset(
    {
        "_ga", "_gl", "dclid", "dir", "direction", "fbclid", "gclid", "igshid", "jsessionid",
        "mc_cid", "mc_eid", "msclkid", "order", "orderby", "phpsessid", "print", "ref",
        "ref_src", "referrer", "session_id", "sessionid", "sid", "sort", "sort_by", "sortby",
        "source", "yclid",
    }
)  # fmt: skip
IGNORED_PREFIXES = ("utm_", "hsa_", "pk_", "mtm_")

# Links to these are never HTML; skipping them saves a request per download link.
NON_HTML_SUFFIXES = frozenset(
    {
        ".7z", ".apk", ".avi", ".bmp", ".css", ".csv", ".dmg", ".doc", ".docx", ".eot", ".epub",
        ".exe", ".gif", ".gz", ".ico", ".jpeg", ".jpg", ".js", ".json", ".m4a", ".mov", ".mp3",
        ".mp4", ".msi", ".odt", ".ogg", ".otf", ".pdf", ".png", ".ppt", ".pptx", ".rar", ".rss",
        ".svg", ".tar", ".tgz", ".ttf", ".wav", ".webm", ".webp", ".woff", ".woff2", ".xls",
        ".xlsx", ".xml", ".zip",
    }
)  # fmt: skip

# Longer URLs are almost always generated (session ids, search results), not articles.
MAX_URL_LENGTH = 2000
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


def normalize_url(url: str, base: str | None = None) -> str | None:
    """The canonical spelling of an http(s) URL, or None when it is not one.

    Lower-cases scheme and host, drops default ports, credentials and the fragment, resolves
    ``.``/``..`` segments, and keeps only query parameters that select content, sorted.
    """
    try:
        absolute = urljoin(base, url.strip()) if base else url.strip()
        parts = urlsplit(absolute)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if ":" in host:
        netloc = f"[{host}]" + ("" if port in (None, _DEFAULT_PORTS[scheme]) else f":{port}")
    path = parts.path or "/"
    trailing = path.endswith("/")
    # normpath keeps a leading "//" (POSIX allows it), which for a URL is just noise.
    path = "/" + posixpath.normpath(path).lstrip("/")
    if path == "/.":
        path = "/"
    if trailing and not path.endswith("/"):
        path += "/"
    # Existing %XX escapes are kept as they are: decoding "%2F" would change the path.
    path = quote(path, safe=_PATH_SAFE)
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name.lower() not in IGNORED_PARAMS and not name.lower().startswith(IGNORED_PREFIXES)
    ]
    normalized = urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))
    return normalized if len(normalized) <= MAX_URL_LENGTH else None


def same_site(url: str, other: str) -> bool:
    """Same host and port; the scheme may differ so an http -> https upgrade stays on site."""
    return urlsplit(url).netloc == urlsplit(other).netloc


def under_prefix(url: str, prefix: str | None) -> bool:
    return prefix is None or urlsplit(url).path.startswith(prefix)


def looks_non_html(url: str) -> bool:
    suffix = posixpath.splitext(urlsplit(url).path)[1].lower()
    return suffix in NON_HTML_SUFFIXES


def site_root(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
