"""The outbound-request gate over real HTTP: refused destinations, redirects, limits.

A misbehaving raw-socket server (``tests.badserver``) plays the sites. Refusals are proven by
the target's own request log: a refused destination never sees a request. With
``allow_private: false`` nothing local is reachable, so tests of "an allowed host redirects to
a forbidden one" use a policy that allows exactly 127.0.0.1 and bind the target on 127.0.0.2
(Linux routes all of 127/8 to this machine).
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from aggregator.config import load_config
from aggregator.errors import BlockedDestinationError, FetchError
from aggregator.fetch import FetchLimits, fetch, fetch_response, make_client
from aggregator.net import NetworkPolicy
from aggregator.net.addresses import IPAddress
from aggregator.net.identity import user_agent
from aggregator.net.redirects import keeps_credentials
from aggregator.storage import open_database
from aggregator.storage.models import Article
from tests.badserver import (
    BadServer,
    drip,
    drop,
    echo_headers,
    endless_chunked,
    gzip_bomb,
    hang,
    head,
    partial,
    redirect,
    respond,
    slow_body,
    stacked_encodings,
)
from tests.conftest import CliResult
from tests.feedserver import rss_feed
from tests.pollkit import PollEnv, WriteConfig

LOCAL = NetworkPolicy(allow_private=True)
QUICK = FetchLimits(connect_timeout=2.0, total_timeout=5.0, max_bytes=1_000_000)
BOTH_LOOPBACKS = pytest.mark.allow_hosts(["127.0.0.1", "127.0.0.2"])
RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}


@dataclass(frozen=True)
class OnlyFirstLoopback(NetworkPolicy):
    """Private addresses refused as in production, except exactly 127.0.0.1 (the test origin)."""

    def check_address(self, address: IPAddress | str, url: str) -> None:
        if ipaddress.ip_address(str(address).split("%", 1)[0]) == ipaddress.ip_address("127.0.0.1"):
            return
        super().check_address(address, url)


@pytest.fixture
def site() -> Iterator[BadServer]:
    with BadServer() as server:
        yield server


@pytest.fixture
def forbidden() -> Iterator[BadServer]:
    """A target on 127.0.0.2: reachable over loopback, refused by ``OnlyFirstLoopback``."""
    with BadServer(host="127.0.0.2") as server:
        server.route("/secret", respond(200, b"<rss/>", RSS_TYPE))
        yield server


# --- refused destinations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    # "localhost" passes the URL check (a name) and is refused once resolved, before connecting.
    ["127.0.0.1", "localhost", "2130706433", "0x7f.1", "127.1", "[::ffff:127.0.0.1]"],
)
def test_a_loopback_feed_url_is_refused_before_any_request(site: BadServer, host: str) -> None:
    site.route("/feed", respond(200, b"<rss/>", RSS_TYPE))
    url = f"http://{host}:{site.port}/feed"
    with pytest.raises(BlockedDestinationError, match="refused: loopback") as caught:
        fetch_response(url, QUICK)
    assert caught.value.url == url
    assert site.hits == []
    assert fetch_response(site.url("/feed"), QUICK, policy=LOCAL).status == 200  # reachable


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fd00::1]/feed", "private"),
        ("http://10.0.0.1/feed", "private"),
        ("http://100.64.0.1/feed", "carrier-grade NAT"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[ff02::1]/", "multicast"),
        ("http://0.0.0.0:80/", "unspecified"),
    ],
)
def test_private_and_metadata_addresses_are_refused_without_connecting(
    url: str, named: str
) -> None:
    # Were the gate to let these through, pytest-socket would fail the connection instead,
    # with another error than the refusal matched here.
    with pytest.raises(BlockedDestinationError, match=f"refused: {named}"):
        fetch_response(url, QUICK)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml", "data:text/xml,<rss/>"]
)
def test_other_schemes_are_refused_even_with_the_opt_in(url: str) -> None:
    with pytest.raises(BlockedDestinationError, match="scheme: only http"):
        fetch_response(url, QUICK, policy=LOCAL)


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:,hello", "gopher://x/"]
)
def test_a_redirect_to_another_scheme_is_refused(site: BadServer, location: str) -> None:
    site.route("/feed", redirect(location))
    with pytest.raises(BlockedDestinationError, match="scheme: only http"):
        fetch_response(site.url("/feed"), QUICK, policy=LOCAL)
    assert len(site.hits) == 1


@BOTH_LOOPBACKS
@pytest.mark.parametrize("spelling", ["127.0.0.2", "0x7f.0.0.2", "2130706434", "127.2"])
def test_a_redirect_to_a_forbidden_address_never_reaches_it(
    site: BadServer, forbidden: BadServer, spelling: str
) -> None:
    site.route("/feed", redirect(f"http://{spelling}:{forbidden.port}/secret"))
    with pytest.raises(BlockedDestinationError, match=r"refused: loopback address 127\.0\.0\.2"):
        fetch_response(site.url("/feed"), QUICK, policy=OnlyFirstLoopback())
    assert forbidden.hits == []
    assert len(site.hits) == 1
    # The same redirect with every private address allowed does reach it: the refusal above
    # is the policy's doing, not a target that cannot be reached.
    assert fetch_response(site.url("/feed"), QUICK, policy=LOCAL).status == 200
    assert len(forbidden.hits) == 1


@BOTH_LOOPBACKS
def test_the_poller_refuses_a_redirect_to_a_forbidden_address(
    site: BadServer, forbidden: BadServer, write_config: WriteConfig, sqlite_url: str
) -> None:
    site.route("/feed", redirect(forbidden.url("/secret"), status=301))
    site.route("/fine", respond(200, rss_feed([("a", "Post A")], base=site.base_url), RSS_TYPE))
    sources = {
        "bad": {"homepage": site.url("/"), "feed": site.url("/feed"), "relevance": "keep_all"},
        "good": {"homepage": site.url("/"), "feed": site.url("/fine"), "relevance": "keep_all"},
    }
    with polling(write_config, sqlite_url, sources, allow_private=False) as env:
        client = make_client(QUICK, OnlyFirstLoopback())
        with client, env.poller(client=client) as poller:
            results = {result.source: result for result in poller.poll()}
    assert results["bad"].status == "failed"
    assert "refused: loopback address 127.0.0.2" in (results["bad"].error or "")
    assert results["good"].status == "ok" and results["good"].new == 1
    assert forbidden.hits == []


def test_without_the_opt_in_the_poller_reaches_no_local_feed(
    site: BadServer, write_config: WriteConfig, sqlite_url: str
) -> None:
    site.route("/feed", respond(200, rss_feed([("a", "Post A")], base=site.base_url), RSS_TYPE))
    sources = {"local": {"homepage": site.url("/"), "feed": site.url("/feed")}}
    with polling(write_config, sqlite_url, sources, allow_private=False) as env:
        [result] = env.poll("local")
        assert (result.status, result.requests) == ("failed", 1)
        assert "refused: loopback address 127.0.0.1" in (result.error or "")
        assert env.count(Article) == 0
    assert site.hits == []


def test_the_poller_takes_the_opt_in_and_user_agent_from_the_config(
    site: BadServer, write_config: WriteConfig, sqlite_url: str
) -> None:
    site.route("/feed", respond(200, rss_feed([("a", "Post A")], base=site.base_url), RSS_TYPE))
    sources = {"local": {"homepage": site.url("/"), "feed": site.url("/feed")}}
    with polling(write_config, sqlite_url, sources, allow_private=True) as env:
        [result] = env.poll("local")
        agent = user_agent(env.config)
    assert result.status == "ok"
    [hit] = site.hits
    assert hit.headers["user-agent"] == agent
    assert "github.com/mutualaid" in agent  # the contact from the packaged defaults
    assert hit.headers["accept-encoding"] == "gzip, deflate"


def test_the_extract_command_refuses_a_local_url_in_one_line(
    site: BadServer, run_cli: Callable[..., CliResult]
) -> None:
    site.route("/page", respond(200, b"<html><body><p>hi</p></body></html>"))
    result = run_cli("extract", site.url("/page"))
    assert result.code == 1
    assert result.err.strip() == (
        f"error: {site.url('/page')}: refused: loopback address 127.0.0.1"
    )
    assert site.hits == []


def test_proxy_settings_in_the_environment_are_ignored(
    site: BadServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with BadServer() as proxy:
        proxy.route("/", respond(200, b"proxied"))
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy.base_url)
        site.route("/feed", respond(200, b"direct"))
        assert fetch_response(site.url("/feed"), QUICK, policy=LOCAL).body == b"direct"
        assert proxy.hits == []


# --- redirects -----------------------------------------------------------------------------------


def test_a_redirect_loop_fails_after_five_hops(site: BadServer) -> None:
    site.route("/loop", redirect("/loop"))
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch_response(site.url("/loop"), QUICK, policy=LOCAL)
    assert len(site.hits_to("/loop")) == 6  # the request and five redirects followed


def test_five_redirects_are_followed_and_recorded(site: BadServer) -> None:
    for hop in range(5):
        site.route(f"/r{hop}", redirect(f"/r{hop + 1}", status=301 if hop % 2 else 308))
    site.route("/r5", respond(200, b"<rss/>", RSS_TYPE))
    fetched = fetch_response(site.url("/r0"), QUICK, policy=LOCAL)
    assert (fetched.status, fetched.url) == (200, site.url("/r5"))
    assert fetched.redirects == tuple(
        (301 if hop % 2 else 308, site.url(f"/r{hop}")) for hop in range(5)
    )


def test_a_looping_source_leaves_the_others_in_the_same_poll_alone(
    site: BadServer, write_config: WriteConfig, sqlite_url: str
) -> None:
    site.route("/loop", redirect("/loop"))
    site.route("/fine", respond(200, rss_feed([("a", "Post A")], base=site.base_url), RSS_TYPE))
    sources = {
        "loops": {"homepage": site.url("/"), "feed": site.url("/loop"), "relevance": "keep_all"},
        "fine": {"homepage": site.url("/"), "feed": site.url("/fine"), "relevance": "keep_all"},
    }
    with polling(write_config, sqlite_url, sources, allow_private=True) as env:
        results = {result.source: result for result in env.poll()}
    assert (results["loops"].status, results["loops"].error) == (
        "failed",
        "more than 5 redirects",
    )
    assert (results["fine"].status, results["fine"].new) == ("ok", 1)


@pytest.mark.parametrize(
    ("userinfo", "headers"),
    [
        ("", {"Authorization": "Bearer token", "Cookie": "mine=1"}),
        ("reader:secret@", {}),  # httpx turns these into an Authorization header
    ],
)
def test_credentials_do_not_follow_a_redirect_to_another_origin(
    site: BadServer, userinfo: str, headers: dict[str, str]
) -> None:
    with BadServer() as other:  # another port: another origin
        other.route("/landing", echo_headers())
        site.route(
            "/feed",
            respond(302, b"", {"Location": other.url("/landing"), "Set-Cookie": "session=s1"}),
        )
        url = site.url("/feed").replace("http://", f"http://{userinfo}")
        fetched = fetch_response(url, QUICK, policy=LOCAL, headers=headers)
        echoed = json.loads(fetched.body)
        assert "authorization" in site.hits[0].headers  # sent to its own site
        assert "authorization" not in echoed
        assert "cookie" not in echoed
        assert fetched.url == other.url("/landing")


def test_credentials_and_cookies_stay_within_one_origin(site: BadServer) -> None:
    site.route("/feed", respond(302, b"", {"Location": "/landing", "Set-Cookie": "session=s1"}))
    site.route("/landing", echo_headers())
    url = site.url("/feed").replace("http://", "http://reader:secret@")
    echoed = json.loads(fetch_response(url, QUICK, policy=LOCAL).body)
    assert echoed["authorization"] == "Basic cmVhZGVyOnNlY3JldA=="  # reader:secret
    assert echoed["cookie"] == "session=s1"


def test_cookies_from_one_fetch_are_not_sent_on_the_next(site: BadServer) -> None:
    site.route("/set", respond(200, b"ok", {"Set-Cookie": "session=s1"}))
    site.route("/echo", echo_headers())
    with make_client(QUICK, LOCAL) as client:
        fetch_response(site.url("/set"), QUICK, client)
        echoed = json.loads(fetch_response(site.url("/echo"), QUICK, client).body)
    assert "cookie" not in echoed


def test_credentials_never_go_from_https_down_to_http() -> None:
    https, http = "https://example.org/a", "http://example.org/b"
    assert not keeps_credentials(https, http)
    assert not keeps_credentials(http, https)  # an upgrade changes the origin too
    assert not keeps_credentials(https, "https://example.org:8443/b")
    assert keeps_credentials(https, "https://example.org:443/c?x=1")


# --- limits --------------------------------------------------------------------------------------


def test_a_gzip_bomb_stops_at_the_cap_with_memory_bounded(site: BadServer) -> None:
    site.route("/bomb", gzip_bomb(2 * 1024**3))  # 2 GiB of zeros, about 2 MiB on the wire
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="body larger than 1000000 bytes"):
            fetch_response(site.url("/bomb"), QUICK, policy=LOCAL)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024  # the cap is 1 MB; inflating the bomb would take 2 GiB


def test_an_endless_chunked_body_stops_at_the_cap(site: BadServer) -> None:
    site.route("/endless", endless_chunked())
    with pytest.raises(FetchError, match="body larger than 1000000 bytes"):
        fetch_response(site.url("/endless"), QUICK, policy=LOCAL)


@pytest.mark.parametrize("codings", ["gzip, gzip", "deflate, gzip", "gzip,deflate"])
def test_stacked_content_encodings_are_refused(site: BadServer, codings: str) -> None:
    site.route("/feed", stacked_encodings(b"<rss/>", codings))
    with pytest.raises(FetchError, match="stacked content encodings refused"):
        fetch_response(site.url("/feed"), QUICK, policy=LOCAL)


def test_a_coding_we_did_not_ask_for_is_refused(site: BadServer) -> None:
    site.route("/feed", respond(200, b"\x1b\x00\x00", {"Content-Encoding": "br"}))
    with pytest.raises(FetchError, match="unsupported content encoding: br"):
        fetch_response(site.url("/feed"), QUICK, policy=LOCAL)


@pytest.mark.parametrize(
    ("coding", "encoded"),
    [
        ("gzip", gzip.compress("café <rss/>".encode())),
        ("x-gzip", gzip.compress("café <rss/>".encode())),
        ("identity, gzip", gzip.compress("café <rss/>".encode())),
        ("deflate", zlib.compress("café <rss/>".encode())),  # zlib-wrapped, as the RFC says
        ("deflate", zlib.compress("café <rss/>".encode())[2:-4]),  # raw, as some servers send
        ("gzip", gzip.compress("café ".encode()) + gzip.compress(b"<rss/>")),  # two members
        ("identity", "café <rss/>".encode()),
    ],
    # Named, not by their bytes: a gzip header holds the time it was made, and pytest-xdist's
    # workers must collect the same test ids.
    ids=["gzip", "x-gzip", "identity-gzip", "deflate-zlib", "deflate-raw", "gzip-2-members",
         "identity"],
)  # fmt: skip
def test_single_codings_decode(site: BadServer, coding: str, encoded: bytes) -> None:
    site.route(
        "/feed",
        respond(
            200, encoded, {"Content-Encoding": coding, "Content-Type": "text/xml; charset=utf-8"}
        ),
    )
    fetched = fetch_response(site.url("/feed"), QUICK, policy=LOCAL)
    assert fetched.body == "café <rss/>".encode()
    assert fetched.text() == "café <rss/>"


def test_text_uses_the_charset_the_headers_name(site: BadServer) -> None:
    body = gzip.compress("<p>Ça va</p>".encode("latin-1"))
    fields = {"Content-Encoding": "gzip", "Content-Type": "text/html; charset=iso-8859-1"}
    site.route("/page", respond(200, body, fields))
    assert fetch(site.url("/page"), QUICK, policy=LOCAL).text() == "<p>Ça va</p>"


def test_a_gzip_body_cut_short_is_an_error(site: BadServer) -> None:
    cut = gzip.compress(b"<rss>" + b"x" * 5000 + b"</rss>")[:-20]
    site.route("/feed", respond(200, cut, {"Content-Encoding": "gzip"}))
    with pytest.raises(FetchError, match="truncated"):
        fetch_response(site.url("/feed"), QUICK, policy=LOCAL)


def test_a_server_that_never_sends_headers_times_out(site: BadServer) -> None:
    site.route("/feed", hang())
    limits = FetchLimits(connect_timeout=1.0, total_timeout=1.0)
    with pytest.raises(FetchError, match="timed out"):
        fetch_response(site.url("/feed"), limits, policy=LOCAL)


def test_headers_dripping_a_byte_at_a_time_are_cut_off_at_the_total_time(
    site: BadServer,
) -> None:
    # Each byte comes well within httpx's per-read timeout (also 1.5 s here): only the total
    # time limit for the fetch can stop it before the 20 s the whole response would take.
    response = head(200, {"Content-Length": "5", **RSS_TYPE}) + b"<rss>"
    site.route("/feed", drip(response, interval=0.25))
    assert len(response) * 0.25 > 15
    limits = FetchLimits(connect_timeout=1.5, total_timeout=1.5)
    with pytest.raises(FetchError, match="timed out"):
        fetch_response(site.url("/feed"), limits, policy=LOCAL)


def test_a_body_dripping_a_byte_at_a_time_is_cut_off_at_the_total_time(site: BadServer) -> None:
    site.route("/feed", slow_body(b"<rss>" + b" " * 100 + b"</rss>", interval=0.25))
    limits = FetchLimits(connect_timeout=1.5, total_timeout=1.5)
    with pytest.raises(FetchError, match="timed out"):
        fetch_response(site.url("/feed"), limits, policy=LOCAL)


def test_the_total_time_spans_every_redirect_hop(site: BadServer) -> None:
    # Each hop drips its redirect over about 0.8 s, each byte well within the per-read
    # timeout; four hops together exceed the two seconds the whole fetch may take.
    for hop in range(4):
        response = head(302, {"Location": f"/hop{hop + 1}", "Content-Length": "0"})
        site.route(f"/hop{hop}", drip(response, interval=0.8 / len(response)))
    site.route("/hop4", respond(200, b"<rss/>"))
    limits = FetchLimits(connect_timeout=2.0, total_timeout=2.0)
    with pytest.raises(FetchError, match="timed out"):
        fetch_response(site.url("/hop0"), limits, policy=LOCAL)
    assert site.hits_to("/hop4") == []


def test_a_connection_dropped_before_any_answer_is_an_error(site: BadServer) -> None:
    site.route("/feed", drop())
    with pytest.raises(FetchError):
        fetch_response(site.url("/feed"), QUICK, policy=LOCAL)


def test_a_truncated_body_is_an_error(site: BadServer) -> None:
    site.route("/feed", partial(b"<rss><channel>", declared=5000))
    with pytest.raises(FetchError, match="body truncated"):
        fetch_response(site.url("/feed"), QUICK, policy=LOCAL)


def test_a_truncated_feed_stores_nothing_and_leaves_the_source_state_alone(
    site: BadServer, write_config: WriteConfig, sqlite_url: str
) -> None:
    first = rss_feed([("a", "Post A")], base=site.base_url)
    second = rss_feed([("a", "Post A"), ("b", "Post B")], base=site.base_url)
    site.route("/feed", respond(200, first, {**RSS_TYPE, "ETag": '"v1"'}))
    sources = {
        "blog": {"homepage": site.url("/"), "feed": site.url("/feed"), "relevance": "keep_all"}
    }
    with polling(write_config, sqlite_url, sources, allow_private=True) as env:
        assert env.one("blog").new == 1
        before = env.state("blog")
        # The new feed, cut off after its new item: a lenient parser would find Post B in it.
        cut = second[: second.index(b"</item>", second.index(b"Post B")) + len(b"</item>")]
        site.route("/feed", partial(cut, declared=len(second)))
        result = env.one("blog", force=True)
        after = env.state("blog")
        assert result.status == "failed"
        assert "body truncated" in (result.error or "")
        assert env.count(Article) == 1
        assert (after.etag, after.last_modified, after.body_hash) == (
            before.etag,
            before.last_modified,
            before.body_hash,
        )
        assert after.last_success_at == before.last_success_at


# --- helpers -------------------------------------------------------------------------------------


@contextmanager
def polling(
    write_config: WriteConfig,
    database_url: str,
    sources: dict[str, dict[str, str]],
    *,
    allow_private: bool,
) -> Iterator[PollEnv]:
    """A config with these sources and the given opt-in, and its database."""
    network = {"allow_private": allow_private, "total_timeout": "5s"}
    path = write_config({"database": {"url": database_url}, "network": network, "sources": sources})
    config = load_config(path, environ={})
    database = open_database(config.database.url)
    try:
        yield PollEnv(config, database)
    finally:
        database.close()
