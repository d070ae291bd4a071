"""The crawl's outbound gate, through real crawls against misbehaving local servers.

Every local server is on loopback, which crawls refuse unless ``network.allow_private`` is set.
To show that an allowed site cannot lead a crawl to a forbidden address, ``OneAddressPolicy``
stands in for "the public internet": the strict policy, except that 127.0.0.2 is allowed. The
allowed site listens there; the forbidden target listens on 127.0.0.1, which ``localhost`` names.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from scrapy import Request
from scrapy.resolver import dnscache
from sqlalchemy import select
from twisted.python.failure import Failure

from aggregator.config import Config, load_config
from aggregator.errors import ConfigError
from aggregator.net import NetworkPolicy
from aggregator.net.addresses import IPAddress
from aggregator.storage import Database, open_database
from aggregator.storage.models import Sighting
from spiders.encodings import BoundedDecompressionMiddleware
from spiders.outbound import DestinationGateMiddleware, GuardedResolver, RefusedDownload
from spiders.plan import CrawlOptions
from spiders.process import CrawlJob, run_crawl
from spiders.settings import POLICY_SETTING, build_settings
from tests.badserver import (
    BadServer,
    drip,
    echo_headers,
    gzip_bomb,
    head,
    partial,
    redirect,
    respond,
    slow_body,
    stacked_encodings,
)

FAST = {"download_delay": 0, "autothrottle": False, "workers": 0, "retries": 0}
LOCAL = {"allow_private": True}
HTML = {"Content-Type": "text/html; charset=utf-8"}
SECRETS = {"Authorization": "Bearer s3cret", "Cookie": "session=s3cret"}


@dataclass(frozen=True)
class OneAddressPolicy(NetworkPolicy):
    """The strict policy, but ``allowed`` counts as public (a crawl's "internet" in these tests)."""

    allowed: str = "127.0.0.2"

    def check_address(self, address: IPAddress | str, url: str) -> None:
        if str(address) != self.allowed:
            super().check_address(address, url)


# -- helpers --------------------------------------------------------------------------------------


def article_html(title: str) -> bytes:
    words = " ".join(
        f"{title} neighbours shared food, tools and rides, week {n}." for n in range(30)
    )
    return (
        f"<html><head><title>{title}</title><meta property='og:type' content='article'></head>"
        f"<body><article><h1>{title}</h1><p>{words}</p></article></body></html>"
    ).encode()


def listing(*paths: str) -> Any:
    links = "".join(f'<h2><a href="{path}">{path}</a></h2>' for path in paths)
    return respond(200, f"<html><body>{links}</body></html>".encode(), HTML)


@pytest.fixture
def servers() -> Iterator[Callable[..., BadServer]]:
    started: list[BadServer] = []

    def start(host: str = "127.0.0.1") -> BadServer:
        started.append(BadServer(host))
        return started[-1]

    yield start
    for server in started:
        server.close()


@pytest.fixture
def configure(write_config) -> Callable[..., Config]:
    def make(site: BadServer, network: dict[str, Any] | None = None, **block: Any) -> Config:
        crawl = {"start_urls": [site.url("/list/")], "article_links": ["h2 a"], **block}
        source = {"homepage": site.url("/"), "crawl": crawl}
        data = {"crawling": FAST, "network": network or {}, "sources": {"site": source}}
        return load_config(write_config(data), environ={})

    return make


@pytest.fixture
def database() -> Iterator[Callable[[Config], Database]]:
    opened: list[Database] = []

    def open_(config: Config) -> Database:
        opened.append(open_database(config.database.url))
        return opened[-1]

    yield open_
    for handle in opened:
        handle.close()


def crawl(config: Config, database: Database, **settings: Any) -> dict[str, Any]:
    job = CrawlJob(("site",), CrawlOptions(), settings=settings)
    result = run_crawl(config, job, database=database)
    assert result.errors == {}, result.errors
    return result.counts["site"]


def problems(counts: dict[str, Any]) -> dict[str, str]:
    return {url.rsplit("/", 2)[-2]: reason for url, reason in counts["problems"]}


def stored_paths(database: Database) -> set[str]:
    with database.session() as session:
        return {url.rstrip("/").rsplit("/", 1)[-1] for url in session.scalars(select(Sighting.url))}


# -- forbidden destinations ----------------------------------------------------------------------


@pytest.mark.slow
def test_loopback_start_urls_are_refused_without_a_connection(
    servers, configure, database, run_cli
) -> None:
    """The default policy: a loopback address, spelt as an address or as a name, gets nothing,
    not even a robots.txt request; the crawl reports each error, and fails as it fetched nothing."""
    target = servers()
    target.route("/list/", listing("/a/"))
    by_name = target.url("/list/").replace("127.0.0.1", "localhost")
    config = configure(target, start_urls=[target.url("/list/"), by_name])  # no allow_private
    result = run_cli("-c", config.origin, "crawl", "site", "--json")
    assert result.code == 1, result.err
    assert target.hits == []
    assert "Traceback" not in result.err
    report = json.loads(result.out)
    assert report["status"] == "failed"
    assert report["error"].startswith("nothing could be fetched: refused: loopback address")
    assert (report["errors"], report["pages"], report["new"]) == (2, 0, 0)
    reasons = {url.split("/")[2].split(":")[0]: reason for url, reason in report["problems"]}
    assert reasons == {
        "127.0.0.1": "refused: loopback address 127.0.0.1",
        "localhost": "refused: loopback address 127.0.0.1",
    }


@pytest.mark.slow
def test_redirects_to_forbidden_addresses_are_not_followed(servers, configure, database) -> None:
    """An allowed site redirects to loopback as a dotted quad, a decimal number, an IPv4-mapped
    IPv6 address and a name (refused by the resolver, after its answer was cached), and to a
    file: URL. None of them reaches the target; every one is an error; the crawl goes on."""
    site, target = servers("127.0.0.2"), servers("127.0.0.1")
    site.route("/list/", listing("/quad/", "/decimal/", "/mapped/", "/name/", "/file/", "/ok/"))
    site.route("/quad/", redirect(f"http://127.0.0.1:{target.port}/quad/"))
    site.route("/decimal/", redirect(f"http://2130706433:{target.port}/decimal/"))
    site.route("/mapped/", redirect(f"http://[::ffff:7f00:1]:{target.port}/mapped/"))
    site.route("/name/", redirect(f"http://localhost:{target.port}/name/"))
    site.route("/file/", redirect("file:///etc/passwd"))
    site.route("/ok/", respond(200, article_html("Allowed"), HTML))
    for path in ("/quad/", "/decimal/", "/mapped/", "/name/"):
        target.route(path, respond(200, article_html("Forbidden"), HTML))
    # Scrapy drops requests to other domains silently: let all of them through to the gate.
    hosts = ["127.0.0.2", "127.0.0.1", "2130706433", "::ffff:7f00:1", "localhost"]
    config = configure(site, allowed_domains=hosts)
    handle = database(config)
    counts = crawl(config, handle, **{POLICY_SETTING: OneAddressPolicy()})
    assert target.hits == []
    assert all(len(site.hits_to(f"/{p}/")) == 1 for p in ("quad", "decimal", "mapped", "name"))
    loopback = "refused: loopback address 127.0.0.1"
    assert problems(counts) == {
        "quad": loopback,
        "decimal": loopback,
        "mapped": f"{loopback} inside ::ffff:7f00:1",
        "name": loopback,
        "file": "file scheme: only http(s)",  # refused by name, as the fetcher does
    }
    assert (counts["errors"], counts["new"]) == (5, 1)
    assert stored_paths(handle) == {"ok"}


@pytest.mark.slow
def test_without_the_gate_the_resolver_still_refuses_address_literals(
    servers, configure, database
) -> None:
    """Twisted resolves IP-literal hosts through the installed resolver too (it does not skip
    it), so the resolver alone keeps loopback out however the address is spelt. (w3lib 2.6 and
    later rewrite a numeric host as a dotted quad when the request is made, so those spellings
    become one request, refused once.)"""
    target = servers()
    spellings = ["127.0.0.1", "2130706433", "0x7f.1", "[::ffff:127.0.0.1]"]
    starts = [f"http://{host}:{target.port}/list/" for host in spellings]
    requested = {Request(url).url for url in starts}
    config = configure(target, start_urls=starts)
    middlewares = build_settings(config, workers=0)["DOWNLOADER_MIDDLEWARES"]
    without_gate = {**middlewares, "spiders.outbound.DestinationGateMiddleware": None}
    counts = crawl(config, database(config), DOWNLOADER_MIDDLEWARES=without_gate)
    assert target.hits == []
    assert counts["errors"] == len(requested) >= 2
    assert {url for url, _ in counts["problems"]} == requested
    assert {reason for _, reason in counts["problems"]} == {"refused: loopback address 127.0.0.1"}


def test_the_gate_refuses_other_schemes_and_forbidden_addresses_in_any_spelling() -> None:
    strict = DestinationGateMiddleware(NetworkPolicy())
    local = DestinationGateMiddleware(NetworkPolicy(allow_private=True))
    for url in ("file:///etc/passwd", "ftp://ftp.example.org/x", "s3://bucket/key"):
        for gate in (strict, local):
            with pytest.raises(RefusedDownload, match="only http"):
                gate.process_request(Request(url))
    for url in (
        "http://0177.0.0.1/",
        "http://0x7f000001/",
        "http://127.1/",
        "http://[::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://192.168.1.1/",
        "http://224.0.0.1/",
    ):
        with pytest.raises(RefusedDownload, match="refused: "):
            strict.process_request(Request(url))
        assert local.process_request(Request(url)) is None
    assert strict.process_request(Request("https://example.org/")) is None


def test_a_file_start_url_is_a_config_error(write_config) -> None:
    crawl = {"start_urls": ["file:///etc/passwd"], "article_links": ["a"]}
    path = write_config({"sources": {"s": {"homepage": "https://x.example/", "crawl": crawl}}})
    with pytest.raises(ConfigError, match=r"not an http\(s\) URL"):
        load_config(path, environ={})


def test_a_cached_answer_is_checked_again() -> None:
    """The resolver checks what the cache returns too: a name cached while it pointed at a
    public address and now (DNS rebinding) at loopback is refused."""
    resolver = GuardedResolver(None, cache_size=10, timeout=1, policy=NetworkPolicy())  # type: ignore[arg-type]
    outcomes: list[Any] = []
    try:
        dnscache["rebinding.test"] = "93.184.216.34"
        resolver.getHostByName("rebinding.test").addBoth(outcomes.append)
        dnscache["rebinding.test"] = "127.0.0.1"
        resolver.getHostByName("rebinding.test").addBoth(outcomes.append)
    finally:
        dnscache.pop("rebinding.test", None)
    public, refused = outcomes
    assert public == "93.184.216.34"
    assert isinstance(refused, Failure) and "loopback address 127.0.0.1" in str(refused.value)
    assert resolver.refusal("Rebinding.Test") == "refused: loopback address 127.0.0.1"


# -- credentials on redirects --------------------------------------------------------------------


@pytest.mark.slow
def test_credentials_and_cookies_stay_with_their_origin(servers, configure, database) -> None:
    """Every request carries an Authorization and a Cookie header; a redirect within the site
    keeps them, a redirect to another origin (here: another port) drops both."""
    site, other = servers(), servers()
    site.route("/list/", listing("/same/", "/cross/"))
    site.route("/same/", redirect(site.url("/landing/")))
    site.route("/cross/", redirect(other.url("/landing/")))
    site.route("/landing/", echo_headers())
    other.route("/landing/", echo_headers())
    config = configure(site, network=LOCAL, allowed_domains=["127.0.0.1"])
    crawl(config, database(config), DEFAULT_REQUEST_HEADERS=SECRETS)
    (same,) = site.hits_to("/landing/")
    (cross,) = other.hits_to("/landing/")
    assert (same.headers["authorization"], same.headers["cookie"]) == tuple(SECRETS.values())
    assert "authorization" not in cross.headers
    assert "cookie" not in cross.headers
    # The redirecting page's full URL as Referer within its site; only its origin beyond it.
    assert same.headers["referer"] == site.url("/same/")
    assert cross.headers["referer"] == site.url("/")


# -- limits ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_slow_huge_stacked_and_truncated_pages_are_errors_and_nothing_is_stored(
    servers, configure, database
) -> None:
    site = servers()
    page = article_html("Slow")
    whole = head(200, {**HTML, "Content-Length": str(len(page))}) + page
    paths = ["ok", "gzipped", "slow", "drip", "bomb", "stacked", "mixed", "truncated", "cut-gzip"]
    site.route("/list/", listing(*(f"/{path}/" for path in paths)))
    site.route("/ok/", respond(200, article_html("Plain"), HTML))
    gzipped = gzip.compress(article_html("Gzipped"))
    site.route("/gzipped/", respond(200, gzipped, {**HTML, "Content-Encoding": "gzip"}))
    site.route("/slow/", slow_body(page, interval=0.5))
    site.route("/drip/", drip(whole, interval=0.5))
    site.route("/bomb/", gzip_bomb(64 * 1024 * 1024, "text/html"))
    site.route("/stacked/", stacked_encodings(article_html("Stacked"), "gzip, gzip"))
    site.route("/mixed/", stacked_encodings(article_html("Mixed"), "gzip, br"))
    site.route("/truncated/", partial(page[:400], declared=len(page)))
    cut = gzip.compress(article_html("Cut"))[:-20]  # the HTTP body is whole, the gzip stream not
    site.route("/cut-gzip/", respond(200, cut, {**HTML, "Content-Encoding": "gzip"}))
    network = {**LOCAL, "total_timeout": "2s", "max_bytes": 1_000_000}
    config = configure(site, network=network)
    handle = database(config)
    counts = crawl(config, handle)
    found = problems(counts)
    assert found.keys() == {"slow", "drip", "bomb", "stacked", "mixed", "truncated", "cut-gzip"}
    assert "took longer than 2.0 seconds" in found["slow"]
    assert "took longer than 2.0 seconds" in found["drip"]
    assert found["bomb"] == "body larger than 1000000 bytes"
    assert found["stacked"] == "stacked content encodings refused: gzip, gzip"
    assert found["mixed"] == "stacked content encodings refused: gzip, br"
    assert found["cut-gzip"] == "compressed body ends early (truncated)"
    assert found["truncated"].startswith("truncated body")
    assert (counts["errors"], counts["new"]) == (7, 2)
    assert stored_paths(handle) == {"ok", "gzipped"}


def test_decoding_takes_one_encoding_under_the_cap() -> None:
    from scrapy.http import HtmlResponse, Response

    middleware = BoundedDecompressionMiddleware(max_bytes=10_000)
    request = Request("https://a.example/")
    page = article_html("Decoded")

    def response(body: bytes, *codings: str) -> Response:
        headers = [("Content-Type", "text/html"), *(("Content-Encoding", c) for c in codings)]
        return Response("https://a.example/", body=body, headers=headers)

    decoded = middleware.process_response(request, response(gzip.compress(page), "gzip"))
    assert isinstance(decoded, HtmlResponse) and decoded.body == page
    assert "Content-Encoding" not in decoded.headers
    plain = response(page, "identity")
    assert middleware.process_response(request, plain) is plain
    twice = gzip.compress(gzip.compress(page))
    with pytest.raises(RefusedDownload, match="stacked content encodings refused: gzip, gzip"):
        middleware.process_response(request, response(twice, "gzip", "gzip"))
    with pytest.raises(RefusedDownload, match="larger than 10000 bytes"):
        middleware.process_response(request, response(gzip.compress(bytes(20_000)), "gzip"))
