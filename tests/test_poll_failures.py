"""Feeds that misbehave, served by a scripted local server: rate limits, redirects, HTML or JSON
where the feed should be, empty and zero-entry feeds, loops, oversized and hanging responses."""

from __future__ import annotations

import gzip
import socket
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime

import pytest

from aggregator.fetch import FetchLimits
from aggregator.storage.models import Article, Run
from tests.feedserver import (
    ScriptedServer,
    article_page,
    feed_response,
    html_page,
    redirect,
    rss_feed,
)
from tests.pollkit import Clock, PollEnv, poll_env
from tests.sites.server import Response

HOUR = timedelta(hours=1)
TWO = [("one", "First post"), ("two", "Second post")]


@pytest.fixture
def env(write_config, sqlite_url, server: ScriptedServer) -> Iterator[PollEnv]:
    sources = {
        "site": {"feed": server.url("/feed/"), "relevance": "keep_all"},
        "other": {"feed": server.url("/other/"), "relevance": "keep_all"},
    }
    with poll_env(write_config, sqlite_url, sources) as environment:
        yield environment


def good_feed(server: ScriptedServer, items=TWO, etag: str | None = '"v1"') -> bytes:
    return rss_feed(items, base=server.base_url)


# --- rate limits and backoff ---------------------------------------------------------------------


def test_429_with_retry_after_seconds_waits_as_asked(server, env) -> None:
    clock = Clock()
    server.route("/feed/", Response(429, b"slow down", headers={"Retry-After": "7200"}))
    result = env.one("site", clock=clock)
    assert result.status == "failed"
    assert result.error == "HTTP 429: rate limited, asked to wait 7200s"
    state = env.state("site")
    assert state.next_check_at == clock.now + 2 * HOUR  # longer than the 1h backoff
    assert (state.consecutive_failures, state.last_error) == (1, result.error)


def test_503_with_an_http_date_and_a_huge_or_garbage_retry_after(server, env) -> None:
    clock = Clock()
    when = format_datetime(clock.now + 3 * HOUR, usegmt=True)
    server.route(
        "/feed/",
        Response(503, b"", headers={"Retry-After": when}),
        Response(503, b"", headers={"Retry-After": "99999999999"}),
        Response(503, b"", headers={"Retry-After": "after lunch"}),
    )
    env.one("site", clock=clock)
    assert env.state("site").next_check_at == clock.now + 3 * HOUR
    env.one("site", clock=clock, force=True)
    assert env.state("site").next_check_at == clock.now + timedelta(days=1)  # clamped
    result = env.one("site", clock=clock, force=True)
    assert result.error == "HTTP 503: rate limited"
    assert env.state("site").next_check_at == clock.now + 4 * HOUR  # plain backoff, 3rd failure


def test_backoff_doubles_skips_the_source_meanwhile_and_recovers(server, env) -> None:
    clock = Clock()
    server.route("/feed/", Response(500, b"oops"))
    waits = []
    for _ in range(7):
        result = env.one("site", clock=clock, force=True)
        assert result.error == "HTTP 500"
        waits.append(env.state("site").next_check_at - clock.now)
    assert waits == [HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 16 * HOUR, 24 * HOUR, 24 * HOUR]
    skipped = env.one("site", clock=clock)
    assert skipped.status == "skipped" and "backing off after 7 failure(s)" in (skipped.error or "")
    clock.now += timedelta(days=1, seconds=1)
    server.route("/feed/", feed_response(good_feed(server), etag='"v1"'))
    recovered = env.one("site", clock=clock)
    assert (recovered.status, recovered.new) == ("ok", 2)
    assert env.state("site").consecutive_failures == 0
    assert env.state("site").last_error == "HTTP 500"  # history, with its time


def test_due_only_skips_sources_not_yet_due(server, env) -> None:
    clock = Clock()
    server.route("/feed/", feed_response(good_feed(server), etag='"v1"'))
    env.one("site", clock=clock)
    assert env.one("site", clock=clock, due_only=True).status == "skipped"
    clock.now += HOUR
    assert env.one("site", clock=clock, due_only=True).status == "not_modified"


# --- redirects -----------------------------------------------------------------------------------


def test_a_301_moves_the_feed_only_when_it_repeats(server, env) -> None:
    new = server.route("/new-feed/", feed_response(good_feed(server), etag='"v1"'))
    server.route("/feed/", redirect(new, 301))
    first = env.one("site")
    assert (first.status, first.new, first.moved_to) == ("ok", 2, None)
    state = env.state("site")
    assert (state.moved_to, state.redirect_to, state.redirect_count) == (None, new, 1)
    second = env.one("site")
    assert second.status == "not_modified" and second.moved_to == new
    assert env.state("site").moved_to == new
    server.clear_log()
    env.one("site")
    assert server.paths() == ["/new-feed/"]  # fetched at its new home directly


def test_a_302_never_moves_the_feed(server, env) -> None:
    elsewhere = server.route("/elsewhere/", feed_response(good_feed(server), etag='"v1"'))
    server.route("/feed/", redirect(elsewhere, 302))
    for _ in range(3):
        assert env.one("site").status in ("ok", "not_modified")
    state = env.state("site")
    assert (state.moved_to, state.redirect_to, state.redirect_count) == (None, None, 0)
    server.clear_log()
    env.one("site")
    assert server.paths() == ["/feed/", "/elsewhere/"]


def test_a_301_interrupted_by_a_302_starts_counting_again(server, env) -> None:
    target = server.route("/target/", feed_response(good_feed(server), etag='"v1"'))
    server.route("/feed/", redirect(target, 301), redirect(target, 302), redirect(target, 301))
    for _ in range(3):
        env.one("site")
    state = env.state("site")
    assert (state.moved_to, state.redirect_count) == (None, 1)


def test_a_redirect_loop_is_a_clear_failure(server, env) -> None:
    server.route("/feed/", redirect(server.url("/loop/"), 302))
    server.route("/loop/", redirect(server.url("/feed/"), 301))
    result = env.one("site")
    assert (result.status, result.error) == ("failed", "more than 5 redirects")


# --- not a feed ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (html_page("Just a moment..."), "an HTML page, not a feed (title: 'Just a moment...')"),
        (html_page("Site down for maintenance"), "an HTML page, not a feed"),
        (Response(200, b"", "application/rss+xml"), "empty body where a feed was expected"),
        (Response(200, b"  \n\t ", "application/rss+xml"), "empty body"),
        (
            Response(200, b'{"code":"rest_forbidden","message":"Not allowed"}', "application/json"),
            "a JSON document, not a feed (message: 'Not allowed')",
        ),
        (Response(204, b""), "HTTP 204"),
        (Response(410, b"gone"), "HTTP 410"),
    ],
    ids=["bot-challenge", "error-page", "empty", "blank", "json-error", "204", "410"],
)
def test_a_bad_answer_fails_the_source_and_touches_nothing_stored(
    server, env, response: Response, reason: str
) -> None:
    server.route("/feed/", feed_response(good_feed(server), etag='"v1"'), response)
    assert env.one("site").new == 2
    articles_before = env.count(Article)
    etag_before = env.state("site").etag
    result = env.one("site")
    assert result.status == "failed" and reason in (result.error or "")
    assert env.count(Article) == articles_before
    state = env.state("site")
    assert (state.etag, state.consecutive_failures) == (etag_before, 1)
    assert reason in (state.last_error or "")
    assert env.runs("site")[-1].status == "failed"


def test_a_valid_feed_with_zero_entries_deletes_nothing(server, env) -> None:
    server.route(
        "/feed/",
        feed_response(good_feed(server), etag='"v1"'),
        feed_response(rss_feed([], base=server.base_url), etag='"v2"'),
    )
    env.one("site")
    result = env.one("site")
    assert (result.status, result.new, result.failed) == ("ok", 0, 0)
    assert env.count(Article) == 2
    assert env.state("site").etag == '"v2"'


# --- limits --------------------------------------------------------------------------------------


def test_a_body_over_the_cap_is_refused(server, env) -> None:
    big = rss_feed([(f"p{n}", f"Post {n}") for n in range(40)], base=server.base_url)
    server.route("/feed/", feed_response(big))
    with env.poller(limits=FetchLimits(max_bytes=10_000)) as poller:
        [result] = poller.poll(["site"])
    assert result.error == "body larger than 10000 bytes"


def test_the_cap_counts_bytes_after_decompression(server, env) -> None:
    bomb = gzip.compress(b"<rss>" + b" " * 3_000_000)
    server.route(
        "/feed/", Response(body=bomb, content_type="text/xml", headers={"Content-Encoding": "gzip"})
    )
    assert len(bomb) < 10_000
    with env.poller(limits=FetchLimits(max_bytes=1_000_000)) as poller:
        [result] = poller.poll(["site"])
    assert result.error == "body larger than 1000000 bytes"


def test_a_server_that_never_answers_times_out(env) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    port = silent.getsockname()[1]
    try:
        env.config.sources["site"] = env.config.sources["site"].model_copy(
            update={"feed": f"http://127.0.0.1:{port}/feed/"}
        )
        limits = FetchLimits(connect_timeout=0.5, total_timeout=0.5)
        with env.poller(limits=limits) as poller:
            [result] = poller.poll(["site"])
    finally:
        silent.close()
    assert (result.status, result.error) == ("failed", "timed out")


def test_nothing_listening_is_a_connection_failure(env) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    env.config.sources["site"] = env.config.sources["site"].model_copy(
        update={"feed": f"http://127.0.0.1:{port}/feed/"}
    )
    result = env.one("site")
    assert (result.status, result.error) == ("failed", "could not connect")


# --- one bad source, one bad entry ---------------------------------------------------------------


def test_one_bad_feed_never_stops_the_others(server, env) -> None:
    server.route("/feed/", html_page("Error"))
    server.route("/other/", feed_response(good_feed(server), etag='"v1"'))
    results = {result.source: result for result in env.poll()}
    assert results["site"].status == "failed"
    assert (results["other"].status, results["other"].new) == ("ok", 2)
    assert env.count(Run) == 2


def test_a_failed_page_is_retried_on_the_next_poll(server, env) -> None:
    clock = Clock()
    summaries = rss_feed(TWO, base=server.base_url, full=False)
    server.route("/feed/", feed_response(summaries, etag='"v1"'))
    server.route("/posts/one/", article_page("First post"))
    server.route("/posts/two/", Response(503, b"busy"), article_page("Second post"))
    first = env.one("site", clock=clock)
    assert (first.new, first.failed) == (1, 1)
    assert first.failures == ((server.url("/posts/two/"), "HTTP 503"),)
    assert env.state("site").etag == '"v1"'  # kept: the entry waits on its own
    server.clear_log()
    second = env.one("site", clock=clock.advanced(HOUR))
    assert (second.status, second.new) == ("not_modified", 1)
    assert server.paths() == ["/feed/", "/posts/two/"]  # the stored one is not fetched again


def test_a_summary_entry_linking_to_a_file_is_reported(server, env) -> None:
    server.route("/feed/", feed_response(rss_feed(TWO[:1], base=server.base_url, full=False)))
    server.route("/posts/one/", Response(200, b"%PDF-1.4", "application/pdf"))
    result = env.one("site")
    assert result.failures == ((server.url("/posts/one/"), "not an HTML page (application/pdf)"),)


def test_same_body_without_validators_is_not_parsed_again(server, env) -> None:
    server.route("/feed/", feed_response(good_feed(server), etag=None))
    env.one("site")
    before = env.count(Article)
    result = env.one("site")
    assert (result.status, result.requests) == ("not_modified", 1)
    assert env.count(Article) == before


def test_cache_control_and_ttl_set_the_next_poll(server, env) -> None:
    clock = Clock()
    with_ttl = rss_feed(TWO, base=server.base_url, ttl=180)
    server.route(
        "/feed/",
        feed_response(with_ttl, etag='"v1"', Cache_Control="max-age=60"),
        Response(304, b"", headers={"ETag": '"v1"', "Cache-Control": "public, max-age=18000"}),
    )
    env.one("site", clock=clock)
    assert env.state("site").next_check_at == clock.now + 3 * HOUR  # ttl, over max-age and 1h
    result = env.one("site", clock=clock)
    assert result.status == "not_modified"
    assert env.state("site").next_check_at == clock.now + 5 * HOUR  # max-age of the 304


def test_conditional_requests_use_etag_and_last_modified(server, env) -> None:
    server.route("/feed/", feed_response(good_feed(server), etag='"v1"'))
    env.one("site")
    server.clear_log()
    assert env.one("site").status == "not_modified"
    [request] = server.requests
    assert request.headers["if-none-match"] == '"v1"'
    assert request.headers["if-modified-since"] == "Mon, 02 Nov 2026 10:00:00 GMT"
