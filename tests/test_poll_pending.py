"""Entries whose page waits (the page limit, a page that fails) are remembered on their own, so a
feed's validators are always kept and an unchanged feed costs one conditional request plus only
the pending pages that are due. Over a scripted local server that counts requests."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from alembic import command
from sqlalchemy import inspect, select, text

from aggregator.kinds.wordpress import Api
from aggregator.poll.collect import Collected, CollectSettings
from aggregator.poll.entries import PlannedEntry
from aggregator.poll.known import KnownEntries
from aggregator.poll.parsed import FeedEntry
from aggregator.poll.pending import (
    Pending,
    PendingBook,
    PendingRules,
    entry_from_json,
    entry_json,
    settle,
    to_row,
)
from aggregator.runs import RunKind
from aggregator.storage import migrate, open_database
from aggregator.storage import pending as storage_pending
from aggregator.storage.engine import make_engine
from aggregator.storage.models import URL_LENGTH, Article, PendingEntry
from tests.feedserver import ARTICLE_WORDS, ScriptedServer, feed_response, rss_feed
from tests.pollkit import Clock, PollEnv, poll_env
from tests.publish_data import add_sources
from tests.sites.server import HTML, Response

HOUR = timedelta(hours=1)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
FEED = "http://site.example/feed/"


def posts(*slugs: str) -> list[tuple[str, str]]:
    return [(slug, f"Post {slug}") for slug in slugs]


@pytest.fixture
def env(write_config, database_url, server: ScriptedServer) -> Iterator[PollEnv]:
    sources = {"site": {"feed": server.url("/feed/"), "kind": "feed", "relevance": "keep_all"}}
    with poll_env(write_config, database_url, sources) as environment:
        yield environment


def summaries(server: ScriptedServer, *slugs: str) -> bytes:
    return rss_feed(posts(*slugs), base=server.base_url, full=False)


def route_pages(server: ScriptedServer, *slugs: str) -> None:
    for slug in slugs:
        server.route(f"/posts/{slug}/", own_page(slug))


def own_page(slug: str) -> Response:
    """An article page whose text is its own: shared paragraphs would be learned as boilerplate
    after a few pages, and the pages then stored as too short."""
    words = ARTICLE_WORDS.lower().replace(".", "").replace(",", "").split()
    pick = random.Random(slug).sample
    sentences = [" ".join(pick(words, 12)).capitalize() + "." for _ in range(24)]
    paragraphs = "".join(f"<p>{' '.join(sentences[at : at + 6])}</p>" for at in range(0, 24, 6))
    body = (
        f"<!DOCTYPE html><html><head><title>Post {slug}</title></head><body><article>"
        f"<h1>Post {slug}</h1>{paragraphs}</article></body></html>"
    )
    return Response(body=body.encode(), content_type=HTML)


def pending_rows(env: PollEnv) -> list[PendingEntry]:
    with env.database.session() as session:
        return list(session.scalars(select(PendingEntry).order_by(PendingEntry.link)))


# --- over HTTP -----------------------------------------------------------------------------------


def test_an_entry_whose_page_is_always_404_costs_one_request_per_poll_until_due(
    server, env
) -> None:
    clock = Clock()
    server.route("/feed/", feed_response(summaries(server, "one", "two", "gone"), etag='"v1"'))
    route_pages(server, "one", "two")  # /posts/gone/ is not routed: 404
    first = env.one("site", clock=clock)
    assert (first.new, first.failed, first.requests) == (2, 1, 4)
    state = env.state("site")
    assert (state.etag, state.last_modified) == ('"v1"', "Mon, 02 Nov 2026 10:00:00 GMT")
    assert state.body_hash is not None  # stored although an entry failed
    [row] = pending_rows(env)
    assert (row.link, row.attempts, row.last_error) == (server.url("/posts/gone/"), 1, "HTTP 404")
    assert row.entry["title"] == "Post gone" and row.given_up_at is None

    server.clear_log()
    second = env.one("site", clock=clock.advanced(HOUR / 2))  # the entry is not due yet
    assert (second.status, second.requests) == ("not_modified", 1)
    assert server.paths() == ["/feed/"]
    assert server.requests[0].headers["if-none-match"] == '"v1"'

    server.clear_log()
    third = env.one("site", clock=clock.advanced(HOUR))  # due: one retry besides the feed
    assert (third.status, third.requests, third.failed) == ("not_modified", 2, 1)
    assert server.paths() == ["/feed/", "/posts/gone/"]
    assert [row.attempts for row in pending_rows(env)] == [2]
    assert env.count(Article) == 2


def test_the_page_limit_leaves_entries_for_later_polls_of_an_unchanged_feed(
    write_config, database_url, server
) -> None:
    slugs = ("a", "b", "c", "d", "e")
    server.route("/feed/", feed_response(summaries(server, *slugs), etag='"v1"'))
    route_pages(server, *slugs)
    sources = {"site": {"feed": server.url("/feed/"), "kind": "feed", "relevance": "keep_all"}}
    with poll_env(write_config, database_url, sources) as env:
        counts = []
        with env.poller(collect=_pages(2)) as poller:
            for _ in range(4):
                [result] = poller.poll(["site"])
                counts.append((result.status, result.new, result.requests))
        assert counts == [
            ("ok", 2, 3),
            ("not_modified", 2, 3),
            ("not_modified", 1, 2),
            ("not_modified", 0, 1),  # nothing left: one conditional request
        ]
        pages = [path for path in server.paths() if path.startswith("/posts/")]
        assert sorted(pages) == [f"/posts/{slug}/" for slug in slugs]  # each fetched once
        assert env.count(Article) == len(slugs)
        assert pending_rows(env) == []


# Status and the command line read the same rows on both databases: SQLite only.
def test_a_failing_entry_is_given_up_and_shown_by_status(
    write_config, sqlite_url, server, run_cli, caplog
) -> None:
    clock = Clock()
    sources = {"site": {"feed": server.url("/feed/"), "kind": "feed", "relevance": "keep_all"}}
    path = write_config({"database": {"url": sqlite_url}, "sources": sources})
    server.route("/feed/", feed_response(summaries(server, "one", "busy"), etag='"v1"'))
    route_pages(server, "one")
    server.route("/posts/busy/", Response(503, b"busy"))
    rules = PendingRules(attempts=2, gone_attempts=1)
    with poll_env(write_config, sqlite_url, sources) as env:
        with env.poller(clock, pending=rules) as poller:
            poller.poll(["site"])
        caplog.set_level(logging.WARNING, logger="aggregator.poll.poller")
        later = clock.advanced(HOUR)
        with env.poller(later, pending=rules) as poller:
            [result] = poller.poll(["site"])
        assert result.requests == 2
        [row] = pending_rows(env)
        assert row.given_up_at == later.now
        assert row.last_error == "given up: HTTP 503 on 2 tries"
        assert f"gave up on {server.url('/posts/busy/')}" in caplog.text
        # Given up: not fetched again, though the feed still lists it (and has changed).
        server.route("/feed/", feed_response(summaries(server, "one", "busy", "two"), etag='"v2"'))
        route_pages(server, "two")
        server.clear_log()
        with env.poller(later.advanced(10 * HOUR), pending=rules) as poller:
            [result] = poller.poll(["site"])
        assert (result.new, result.requests) == (1, 2)
        assert "/posts/busy/" not in server.paths()
        assert len(pending_rows(env)) == 1
    shown = run_cli("-c", str(path), "status")
    assert shown.code == 0, shown.err
    assert f"given up: site: {server.url('/posts/busy/')}: given up: HTTP 503" in shown.out
    listed = json.loads(run_cli("-c", str(path), "status", "--json").out)["pending"]
    assert listed["site"]["waiting"] == 0
    assert listed["site"]["given_up"][0]["link"] == server.url("/posts/busy/")


def test_a_listed_again_entry_keeps_one_row_and_leaves_once_stored(server, env) -> None:
    clock = Clock()
    server.route("/feed/", feed_response(summaries(server, "late"), etag='"v1"'))
    server.route("/posts/late/", Response(503, b"busy"))
    env.one("site", clock=clock)
    # The feed changes and still lists the entry, due again: one row, a second attempt.
    server.route("/feed/", feed_response(summaries(server, "late", "new"), etag='"v2"'))
    route_pages(server, "new")
    env.one("site", clock=clock.advanced(HOUR))
    [row] = pending_rows(env)
    assert row.attempts == 2
    server.route("/posts/late/", own_page("late"))
    result = env.one("site", clock=clock.advanced(3 * HOUR))
    assert (result.status, result.new) == ("not_modified", 1)
    assert pending_rows(env) == []
    with env.database.session() as session:
        titles = set(session.scalars(select(Article.title)))
    assert titles == {"Post late", "Post new"}


def test_the_poll_command_leaves_entries_for_later_and_status_counts_them(
    write_config, sqlite_url, server, run_cli
) -> None:
    site = {"feed": server.url("/feed/"), "homepage": server.url("/"), "kind": "feed"}
    sources = {"site": {**site, "relevance": "keep_all"}}
    polling = {"max_pages": 1, "host_delay": 0}
    config = {"database": {"url": sqlite_url}, "polling": polling, "sources": sources}
    path = write_config(config)
    server.route("/feed/", feed_response(summaries(server, "a", "b", "c"), etag='"v1"'))
    route_pages(server, "a", "b", "c")
    requests = []
    for _ in range(2):
        polled = run_cli("-c", str(path), "poll", "--json")
        assert polled.code == 0, polled.err
        [result] = json.loads(polled.out)["sources"]
        requests.append((result["status"], result["new"], result["requests"]))
    assert requests == [("ok", 1, 2), ("not_modified", 1, 2)]
    shown = run_cli("-c", str(path), "status")
    assert "pending: site: 1 entries to fetch" in shown.out


def _pages(count: int) -> CollectSettings:
    return CollectSettings(max_pages=count)


# --- the rules, without a server -----------------------------------------------------------------


def planned(slug: str) -> PlannedEntry:
    link = f"http://site.example/posts/{slug}/"
    entry = FeedEntry(link=link, guid=f"g-{slug}", title=slug.title(), summary="<p>Sum</p>")
    return PlannedEntry(entry, link, f"g-{slug}", has_content=False)


def book(rows: list[Pending] = ()) -> PendingBook:  # type: ignore[assignment]
    found = PendingBook(FEED)
    found.add_rows(rows)
    return found


def test_failures_wait_longer_each_time_up_to_the_cap() -> None:
    rules = PendingRules(max_wait=timedelta(hours=5))
    waits = [rules.wait_after(attempts, HOUR) for attempts in range(1, 6)]
    assert waits == [HOUR, 2 * HOUR, 4 * HOUR, 5 * HOUR, 5 * HOUR]


def test_a_404_is_given_up_sooner_than_other_failures() -> None:
    rules = PendingRules(attempts=4, gone_attempts=2)
    entry = planned("x")
    current = book()
    current.failed[entry.link] = (entry, "HTTP 404")
    [once] = settle(current, {}, NOW, HOUR, rules).save
    assert (once.attempts, once.next_try_at, once.given_up_at) == (1, NOW + HOUR, None)
    again = book([once])
    again.failed[entry.link] = (entry, "HTTP 404")
    [twice] = settle(again, {}, NOW + HOUR, HOUR, rules).save
    assert twice.given_up_at == NOW + HOUR
    assert twice.last_error == "given up: HTTP 404 on 2 tries"
    other = book([once])
    other.failed[entry.link] = (entry, "HTTP 500")
    [busy] = settle(other, {}, NOW + HOUR, HOUR, rules).save
    assert (busy.attempts, busy.given_up_at) == (2, None)


def test_an_entry_left_too_long_is_given_up() -> None:
    rules = PendingRules(max_age=timedelta(days=2))
    entry = planned("old")
    left = book()
    left.deferred[entry.link] = entry
    [fresh] = settle(left, {}, NOW, HOUR, rules).save
    assert (fresh.next_try_at, fresh.attempts) == (NOW, 0)
    assert settle(_deferred(fresh, entry), {}, NOW + HOUR, HOUR, rules).save == ()  # unchanged
    [old] = settle(_deferred(fresh, entry), {}, NOW + timedelta(days=2), HOUR, rules).save
    assert old.given_up_at is not None and "within 2 days" in (old.last_error or "")


def test_an_entry_stored_leaves_unless_storing_it_failed() -> None:
    rules = PendingRules()
    done, broken = planned("done"), planned("broken")
    rows = [
        Pending(entry.link, entry.guid, entry.entry, FEED, NOW, NOW, attempts=1)
        for entry in (done, broken)
    ]
    current = book(rows)
    current.made_item(done, done.link)
    current.made_item(broken, broken.link)
    changes = settle(current, {broken.link: "storage failed: boom"}, NOW, HOUR, rules)
    assert changes.delete == (done.link,)
    [kept] = changes.save
    assert (kept.link, kept.attempts, kept.last_error) == (broken.link, 2, "storage failed: boom")


def test_an_item_the_wordpress_api_made_stays_pending_if_storing_it_fails() -> None:
    """The feed's validators are kept whatever its entries' fate, so an entry the API covered
    must be booked like a fetched page: if it then fails to be stored, it is tried again."""
    entry = planned("api")
    current = book()
    job = SimpleNamespace(name="site", state=SimpleNamespace(kind_state={}))
    out = Collected(job=job, kind=RunKind.POLL, started_at=NOW, pending=current)  # type: ignore[arg-type]
    api = Api(collector=None, job=job, http=None, out=out)  # type: ignore[arg-type]
    post = {"id": 7, "slug": "api", "link": entry.link, "content": {"rendered": "<p>Text</p>"}}
    covered = api._take_matching([post], {7: entry}, {}, KnownEntries({}, {}))
    assert covered == {id(entry)} and [item.url for item in out.items] == [entry.link]
    changes = settle(current, {entry.link: "storage failed: boom"}, NOW, HOUR, PendingRules())
    assert [row.link for row in changes.save] == [entry.link]


def test_an_entry_whose_link_does_not_fit_is_not_remembered(database_url: str) -> None:
    """PostgreSQL refuses a value longer than its column, and would fail the poll's whole write."""
    database = open_database(database_url)
    add_sources(database, "site")
    fits, too_long = planned("fits"), planned("x" * URL_LENGTH)
    rows = [
        to_row(1, Pending(entry.link, entry.guid, entry.entry, FEED, NOW, NOW, attempts=1))
        for entry in (fits, too_long)
    ]
    with database.write_session() as session:
        storage_pending.save_rows(session, rows)
    with database.session() as session:
        assert list(session.scalars(select(PendingEntry.link))) == [fits.link]
    database.close()


def test_what_the_feed_said_survives_the_json_round_trip() -> None:
    entry = FeedEntry(
        link="http://site.example/p/",
        guid="g",
        title="T",
        author="A",
        summary="<p>S</p>",
        content=None,
        published=NOW,
        updated=NOW + HOUR,
        tags=("x", "y"),
    )
    stored = json.loads(json.dumps(entry_json(entry)))
    assert entry_from_json(entry.link or "", entry.guid, stored) == entry


def test_the_packaged_defaults_are_the_library_defaults(tmp_path, monkeypatch) -> None:
    from aggregator.config import load_config
    from aggregator.poll.poller import PollSettings

    monkeypatch.chdir(tmp_path)
    assert PollSettings.from_config(load_config(environ={})).pending == PendingRules()


def _deferred(row: Pending, entry: PlannedEntry) -> PendingBook:
    current = book([row])
    current.deferred[entry.link] = entry
    return current


# --- migration -----------------------------------------------------------------------------------


def test_migration_0013_up_and_down(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine, "0013")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO sources (name, homepage, enabled, created_at) "
                    "VALUES ('s', 'https://s.example/', :yes, :now)"
                ),
                {"yes": True, "now": NOW},
            )
            connection.execute(
                text(
                    "INSERT INTO pending_entries (source_id, feed_url, link, entry, attempts, "
                    "first_seen_at, next_try_at) VALUES (1, :feed, :link, '{}', 0, :now, :now)"
                ),
                {"feed": FEED, "link": "https://s.example/p/", "now": NOW},
            )
        assert "pending_entries" in inspect(engine).get_table_names()
        config = migrate.alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0010")
        assert "pending_entries" not in inspect(engine).get_table_names()
        assert migrate.upgrade(engine, "0013").after == "0013"
        assert "pending_entries" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
