"""One table of hostile-server cases, each run against both outbound stacks.

The stacks: the httpx fetcher every feed poll uses (``aggregator.fetch``) and a real Scrapy crawl
(``spiders``). Both take their decisions from ``aggregator.net``; these cases show that each
carries them out, on the wire, with the same result: the same refusal reason, the same requests
reaching each server, the same credentials on each request, the same wait after a Retry-After.

The servers (``tests.badserver``): ``site`` and ``other`` on 127.0.0.1 (two ports: two
origins), ``secure`` speaking https on 127.0.0.1, and ``forbidden`` on 127.0.0.2. The policy
(``OnlyFirstLoopback``) plays the public internet: 127.0.0.1 is allowed, every other private
address is refused as in production. Every request carries credential headers; a crawl sends
them as its default headers, so every hop gets them again unless the policy takes them off.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from aggregator.config import load_config
from aggregator.errors import FetchError
from aggregator.fetch import FetchLimits, fetch_response, make_client
from aggregator.net import NetworkPolicy
from aggregator.net.addresses import IPAddress
from aggregator.storage import open_database
from spiders.plan import CrawlOptions
from spiders.process import CrawlJob, run_crawl
from spiders.settings import POLICY_SETTING
from tests.badserver import (
    BadServer,
    Behaviour,
    Connection,
    head,
    in_turn,
    redirect,
    respond,
    self_signed_tls,
)
from tests.pollkit import Clock, WriteConfig, poll_env

pytestmark = [pytest.mark.slow, pytest.mark.allow_hosts(["127.0.0.1", "127.0.0.2"])]

QUICK = FetchLimits(connect_timeout=2.0, total_timeout=10.0, max_bytes=1_000_000)
HTML = {"Content-Type": "text/html; charset=utf-8"}
SECRETS = {
    "Authorization": "Bearer s3cret",
    "Proxy-Authorization": "Basic cHJveHk6czNjcmV0",
    "Cookie": "session=s3cret",
}
CREDENTIALS = frozenset(name.lower() for name in SECRETS)
FORBIDDEN_HOST = "127.0.0.2"
REFUSED = f"refused: loopback address {FORBIDDEN_HOST}"


@dataclass(frozen=True)
class OnlyFirstLoopback(NetworkPolicy):
    """Private addresses refused as in production, except exactly 127.0.0.1."""

    def check_address(self, address: IPAddress | str, url: str) -> None:
        if ipaddress.ip_address(str(address).split("%", 1)[0]) == ipaddress.ip_address("127.0.0.1"):
            return
        super().check_address(address, url)


@dataclass
class Sites:
    site: BadServer
    other: BadServer
    secure: BadServer
    forbidden: BadServer
    client_tls: ssl.SSLContext

    def server(self, name: str) -> BadServer:
        server: BadServer = getattr(self, name)
        return server


def article(title: str) -> Behaviour:
    words = " ".join(f"{title}: neighbours shared food and rides, week {n}." for n in range(30))
    page = (
        f"<html><head><title>{title}</title><meta property='og:type' content='article'></head>"
        f"<body><article><h1>{title}</h1><p>{words}</p></article></body></html>"
    )
    return respond(200, page.encode(), HTML)


# -- the cases -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """``arrange`` routes the servers and gives the URL to fetch; the rest is what must happen.

    ``hits``: (server, path, requests it must get); ``credentials``: (server, path, whether the
    request there carried every credential header, or none of them).
    """

    name: str
    arrange: Callable[[Sites], str]
    error: str | None = None
    hits: tuple[tuple[str, str, int], ...] = ()
    credentials: tuple[tuple[str, str, bool], ...] = ()
    needs_port_80: bool = False


def _to_forbidden(spelling: str) -> Callable[[Sites], str]:
    def arrange(sites: Sites) -> str:
        sites.forbidden.route("/secret/", article("Secret"))
        location = f"http://{spelling}:{sites.forbidden.port}/secret/"
        return sites.site.route("/start/", redirect(location))

    return arrange


def _to_other_scheme(location: str) -> Callable[[Sites], str]:
    def arrange(sites: Sites) -> str:
        return sites.site.route("/start/", redirect(location))

    return arrange


def _cross_origin(sites: Sites) -> str:
    sites.other.route("/landing/", article("Landing"))
    return sites.site.route("/start/", redirect(sites.other.url("/landing/")))


def _cross_then_within(sites: Sites) -> str:
    sites.other.route("/hop/", redirect("/landing/"))
    sites.other.route("/landing/", article("Landing"))
    return sites.site.route("/start/", redirect(sites.other.url("/hop/")))


def _same_origin(sites: Sites) -> str:
    sites.site.route("/landing/", article("Landing"))
    return sites.site.route("/start/", redirect("/landing/"))


def _downgrade(sites: Sites) -> str:
    sites.other.route("/landing/", article("Landing"))
    return sites.secure.route("/start/", redirect(sites.other.url("/landing/")))


def _within_https(sites: Sites) -> str:
    sites.secure.route("/landing/", article("Landing"))
    return sites.secure.route(
        "/start/", redirect(f"https://127.0.0.1:{sites.secure.port}/landing/")
    )


def _chain(length: int) -> Callable[[Sites], str]:
    def arrange(sites: Sites) -> str:
        for hop in range(length):
            sites.site.route(f"/r{hop}/", redirect(f"/r{hop + 1}/", 301 if hop % 2 else 308))
        sites.site.route(f"/r{length}/", article("End of the chain"))
        return sites.site.url("/r0/")

    return arrange


def _loop(sites: Sites) -> str:
    return sites.site.route("/loop/", redirect("/loop/"))


def _default_port(spelt_out: bool) -> Callable[[Sites], str]:
    """The site on port 80: ``http://127.0.0.1/`` and ``http://127.0.0.1:80/`` are one origin."""

    def arrange(sites: Sites) -> str:
        landing = "http://127.0.0.1:80/landing/" if spelt_out else "http://127.0.0.1/landing/"
        sites.site.route("/landing/", article("Landing"))
        sites.site.route("/start/", redirect(landing))
        return "http://127.0.0.1/start/" if spelt_out else "http://127.0.0.1:80/start/"

    return arrange


_FORBIDDEN_UNTOUCHED = (("forbidden", "/secret/", 0),)
_CHAIN_OF_SIX = tuple(("site", f"/r{hop}/", 1) for hop in range(6))

CASES = [
    Case("redirect to a private address", _to_forbidden(FORBIDDEN_HOST), REFUSED,
         _FORBIDDEN_UNTOUCHED),
    Case("redirect to a private address spelt as a number", _to_forbidden("2130706434"),
         REFUSED, _FORBIDDEN_UNTOUCHED),
    Case("redirect to a private address spelt in hex", _to_forbidden("0x7f.0.0.2"), REFUSED,
         _FORBIDDEN_UNTOUCHED),
    Case("redirect to file:", _to_other_scheme("file:///etc/passwd"),
         "file scheme: only http(s)"),
    Case("redirect to ftp:", _to_other_scheme("ftp://127.0.0.1/x"), "ftp scheme: only http(s)"),
    Case("redirect to another origin", _cross_origin,
         hits=(("other", "/landing/", 1),),
         credentials=(("site", "/start/", True), ("other", "/landing/", False))),
    Case("redirect to another origin, then within it", _cross_then_within,
         hits=(("other", "/hop/", 1), ("other", "/landing/", 1)),
         credentials=(("other", "/hop/", False), ("other", "/landing/", False))),
    Case("redirect within the origin", _same_origin,
         credentials=(("site", "/start/", True), ("site", "/landing/", True))),
    Case("redirect from https down to http", _downgrade,
         hits=(("other", "/landing/", 1),),
         credentials=(("secure", "/start/", True), ("other", "/landing/", False))),
    Case("redirect within an https origin", _within_https,
         credentials=(("secure", "/landing/", True),)),
    Case("five redirects are followed", _chain(5), hits=(*_CHAIN_OF_SIX,)),
    Case("a sixth redirect is refused", _chain(6), "more than 5 redirects",
         (*_CHAIN_OF_SIX, ("site", "/r6/", 0))),
    Case("a redirect loop ends at the limit", _loop, "more than 5 redirects",
         (("site", "/loop/", 6),)),
    Case("port 80 spelt out in the redirect", _default_port(True), needs_port_80=True,
         credentials=(("site", "/landing/", True),)),
    Case("port 80 spelt out in the first URL", _default_port(False), needs_port_80=True,
         credentials=(("site", "/landing/", True),)),
]  # fmt: skip


# -- the two stacks --------------------------------------------------------------------------------


def through_fetcher(url: str, sites: Sites, **_: Any) -> str | None:
    """Fetch ``url`` as a feed poll does; the refusal's reason, or None."""
    with make_client(QUICK, OnlyFirstLoopback(), ssl_context=sites.client_tls) as client:
        try:
            fetch_response(url, QUICK, client, headers=dict(SECRETS))
        except FetchError as exc:
            return exc.reason
    return None


def through_crawl(url: str, sites: Sites, write_config: WriteConfig, **_: Any) -> str | None:
    """Crawl a listing page on ``site`` whose one article link is ``url``; the problem, or None."""
    sites.site.route("/list/", respond(200, f'<h2><a href="{url}">case</a></h2>'.encode(), HTML))
    crawl = {
        "start_urls": [sites.site.url("/list/")],
        "article_links": ["h2 a"],
        "allowed_domains": ["127.0.0.1", FORBIDDEN_HOST, "2130706434", "0x7f.0.0.2"],
    }
    fast = {"download_delay": 0, "autothrottle": False, "workers": 0, "retries": 0}
    data = {
        "crawling": fast,
        "network": {"allow_private": False},
        "sources": {"site": {"homepage": sites.site.url("/"), "crawl": crawl}},
    }
    config = load_config(write_config(data), environ={})
    settings = {"DEFAULT_REQUEST_HEADERS": SECRETS, POLICY_SETTING: OnlyFirstLoopback()}
    database = open_database(config.database.url)
    try:
        result = run_crawl(
            config, CrawlJob(("site",), CrawlOptions(), settings=settings), database=database
        )
    finally:
        database.close()
    assert result.errors == {}, result.errors
    reasons = [reason for _url, reason in result.counts["site"]["problems"]]
    assert len(reasons) <= 1, reasons
    return reasons[0] if reasons else None


STACKS = {"httpx fetcher": through_fetcher, "scrapy crawl": through_crawl}


@pytest.fixture
def sites(request: pytest.FixtureRequest) -> Iterator[Sites]:
    case: Case = request.node.callspec.params["case"]
    server_tls, client_tls = self_signed_tls()
    started: list[BadServer] = []
    try:
        site = BadServer(port=80 if case.needs_port_80 else 0)
    except OSError as exc:
        pytest.skip(f"port 80 on 127.0.0.1 cannot be bound here: {exc}")
    started.append(site)
    try:
        for server in (BadServer(), BadServer(tls=server_tls), BadServer(FORBIDDEN_HOST)):
            started.append(server)
        yield Sites(site, started[1], started[2], started[3], client_tls)
    finally:
        for server in started:
            server.close()


@pytest.mark.parametrize("stack", list(STACKS))
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_both_stacks_treat_a_hostile_server_alike(
    case: Case, stack: str, sites: Sites, write_config: WriteConfig
) -> None:
    url = case.arrange(sites)
    assert STACKS[stack](url, sites, write_config=write_config) == case.error
    for server, path, count in case.hits:
        assert len(sites.server(server).hits_to(path)) == count, (server, path)
    for server, path, carried in case.credentials:
        [hit] = sites.server(server).hits_to(path)
        assert CREDENTIALS & hit.headers.keys() == (CREDENTIALS if carried else set()), hit


# -- Retry-After: the wait before asking again -----------------------------------------------------


def _retry_after_in(seconds: int) -> Behaviour:
    """503 with a Retry-After HTTP date ``seconds`` from when the answer is sent."""

    def behave(conn: Connection) -> None:
        when = format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)
        conn.send(head(503, {"Retry-After": when, "Content-Length": "4"}) + b"busy")

    return behave


@dataclass(frozen=True)
class RetryCase:
    """A 503 with ``busy``'s Retry-After; the wait before the next request, in seconds."""

    name: str
    busy: Callable[[], Behaviour]
    wait: tuple[float, float]  # at least, at most
    extra: dict[str, Any] = field(default_factory=dict)


BASE = 1.0  # the backoff both stacks start from: poll interval 1s, crawl retry_backoff 1s
RETRY_CASES = [
    RetryCase("seconds", lambda: respond(503, b"busy", {"Retry-After": "2"}), (2.0, 2.0)),
    RetryCase("an HTTP date", lambda: _retry_after_in(3), (1.5, 3.5)),
    RetryCase("garbage: the backoff", lambda: respond(503, b"busy", {"Retry-After": "soon"}),
              (BASE, BASE)),
    RetryCase("none: the backoff", lambda: respond(503, b"busy"), (BASE, BASE)),
]  # fmt: skip
SCHEDULING_SLACK = 3.0  # a crawl's retry goes through its scheduler: it may come a bit late


def poller_wait(sites: Sites, write_config: WriteConfig, sqlite_url: str) -> float:
    """Poll a feed answering 503: how long until the poller's next check."""
    source = {"feed": sites.site.url("/busy/"), "poll_interval": "1s", "relevance": "keep_all"}
    with poll_env(write_config, sqlite_url, {"site": source}) as env:
        clock = Clock(datetime.now(UTC))
        result = env.one("site", clock=clock)
        assert result.status == "failed"
        return (env.state("site").next_check_at - clock.now).total_seconds()


def crawl_wait(sites: Sites, write_config: WriteConfig, sqlite_url: str) -> float:
    """Crawl a page answering 503 once: the time between that answer and the retry."""
    sites.site.route("/list/", respond(200, b'<h2><a href="/busy/">busy</a></h2>', HTML))
    crawl = {"start_urls": [sites.site.url("/list/")], "article_links": ["h2 a"]}
    crawling = {"download_delay": 0, "autothrottle": False, "workers": 0, "retries": 1}
    crawling |= {"retry_backoff": BASE, "retry_max_wait": "10s"}
    data = {
        "crawling": crawling,
        "sources": {"site": {"homepage": sites.site.url("/"), "crawl": crawl}},
    }
    config = load_config(write_config(data), environ={})
    result = run_crawl(config, CrawlJob(("site",), CrawlOptions()))
    assert result.errors == {}, result.errors
    first, retry = sites.site.hits_to("/busy/")
    return retry.at - first.at


@pytest.fixture
def busy_site() -> Iterator[Sites]:
    server_tls, client_tls = self_signed_tls()
    servers = [BadServer(), BadServer(), BadServer(tls=server_tls), BadServer(FORBIDDEN_HOST)]
    try:
        yield Sites(*servers, client_tls)
    finally:
        for server in servers:
            server.close()


@pytest.mark.parametrize("stack", ["httpx poller", "scrapy crawl"])
@pytest.mark.parametrize("case", RETRY_CASES, ids=[case.name for case in RETRY_CASES])
def test_both_stacks_wait_as_retry_after_asks(
    case: RetryCase, stack: str, busy_site: Sites, write_config: WriteConfig, sqlite_url: str
) -> None:
    busy_site.site.route("/busy/", in_turn(case.busy(), article("Back")))
    least, most = case.wait
    if stack == "httpx poller":
        assert least <= poller_wait(busy_site, write_config, sqlite_url) <= most
    else:
        waited = crawl_wait(busy_site, write_config, sqlite_url)
        assert least - 0.05 <= waited <= most + SCHEDULING_SLACK
