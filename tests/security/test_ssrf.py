"""The crawler fetches public addresses only, unless a source allows private ones on purpose.

A URL in the config (or given to ``kb crawl``) must not make the service read its own metadata
endpoint, an admin panel on loopback or a neighbour on the private network: not directly, not
through a host name that resolves there, not after a redirect, and not when DNS answers one
address to the check and another to the connection.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bridge.knowledge.crawler import CrawlAborted, Crawler, PrivateAddress, check_public, is_public
from bridge.knowledge.settings import KnowledgeSchema, UrlSource
from tests.knowledge.site import Site, help_site, serve

NOT_PUBLIC = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1%eth0",
    "fc00::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_loopback_private_link_local_and_reserved_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are(address: str) -> None:
    assert is_public(address)


@pytest.fixture
def site() -> Iterator[Site]:
    for running in serve():
        help_site(running)
        yield running


def test_a_loopback_site_is_refused_before_any_request(site: Site) -> None:
    with pytest.raises(CrawlAborted, match="allow_private_addresses"):
        Crawler(UrlSource(url=site.url("/"), delay_seconds=0)).crawl()
    assert site.requests == []


def test_a_source_may_allow_private_addresses_on_purpose(site: Site) -> None:
    source = UrlSource(url=site.url("/"), delay_seconds=0, allow_private_addresses=True)
    assert Crawler(source).crawl().pages


def test_the_setting_is_off_unless_written(tmp_path: Any) -> None:
    loaded = KnowledgeSchema().load({"sources": [{"type": "url", "url": "https://a.example/"}]})
    assert loaded["sources"][0]["allow_private_addresses"] is False
    loaded = KnowledgeSchema().load(
        {"sources": [{"type": "url", "url": "http://wiki.lan/", "allow_private_addresses": True}]}
    )
    assert loaded["sources"][0]["allow_private_addresses"] is True


class FakeDns:
    """Answers for made-up host names; each name may answer differently on each lookup."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, **answers: list[str]) -> None:
        self.answers = {name.replace("_", "."): list(values) for name, values in answers.items()}
        self.real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self.lookup)

    def lookup(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        queue = self.answers.get(str(host))
        if not queue:
            return self.real(host, port, *args, **kwargs)
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, int(port or 80)))]


def test_a_host_name_that_resolves_to_a_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    FakeDns(monkeypatch, docs_intranet_test=["10.0.0.7"])
    with pytest.raises(PrivateAddress, match=r"docs.intranet.test \(10.0.0.7\)"):
        check_public("http://docs.intranet.test/help/")
    FakeDns(monkeypatch, metadata_test=["93.184.216.34", "169.254.169.254"])
    # Any one private answer among several is enough to refuse.
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *a, **k: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 80)),
        ],
    )
    with pytest.raises(PrivateAddress):
        check_public("http://metadata.test/")


def test_dns_that_changes_its_answer_after_the_check_is_caught_at_the_connection(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check is told a public address; the connection is then sent to the loopback site.
    FakeDns(monkeypatch, rebind_test=["93.184.216.34", "127.0.0.1"])
    port = site.base.rsplit(":", 1)[1]
    source = UrlSource(url=f"http://rebind.test:{port}/", delay_seconds=0, timeout_seconds=2)
    with pytest.raises(CrawlAborted, match="not a public address"):
        Crawler(source).crawl()
    assert site.requests == []  # the connection was closed before a request was sent


class ScriptedSession(requests.Session):
    """Answers from a script instead of the network: robots.txt, then a same-site redirect."""

    def get(self, url: str | bytes, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = requests.Response()
        response.url = str(url)
        response.raw = io.BytesIO()
        if str(url).endswith("/robots.txt") or str(url).endswith("/sitemap.xml"):
            response.status_code = 404
            response._content = b""
        else:
            response.status_code = 302
            response.headers["Location"] = "/moved/"
            response._content = b""
        return response


def test_every_redirect_hop_is_checked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # Public for robots.txt, the sitemap and the first page; private by the redirect's hop.
    dns = FakeDns(
        monkeypatch,
        hop_test=["93.184.216.34", "93.184.216.34", "93.184.216.34", "10.0.0.9"],
    )
    source = UrlSource(url="http://hop.test/", delay_seconds=0, max_pages=1)
    crawler = Crawler(source, session_factory=ScriptedSession)
    with pytest.raises(CrawlAborted, match=r"start page failed.*hop.test \(10.0.0.9\)"):
        crawler.crawl()
    assert dns.answers["hop.test"] == ["10.0.0.9"]  # all four lookups were made
