"""Hostile and broken feeds through the real poller over loopback: item and size caps, wrong
encodings and control characters, unusable dates, unreliable GUIDs, answers that are not feeds,
and the warnings (feed flags) that ``mutualaid status`` shows."""

from __future__ import annotations

import json
import logging
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.poll import Poller
from aggregator.storage import migrate
from aggregator.storage.engine import make_engine
from aggregator.storage.models import Sighting
from tests.feedserver import feed_response, rss_feed
from tests.hostile.shared import MB, NOW, articles
from tests.hostilefeeds import (
    KROPOTKIN,
    StreamingFeedServer,
    body_paragraphs,
    item,
    many_items,
    rss,
)
from tests.pollkit import Clock, poll_env
from tests.sites.server import Response

# --- 2. limits -----------------------------------------------------------------------------------


def test_only_the_first_items_of_a_huge_feed_are_read(server, env) -> None:
    server.route("/feed/", feed_response(many_items(server.base_url, 5000, full=30)))
    with env.poller(max_items_per_feed=25) as poller:
        [result] = poller.poll(["site"])
    assert (result.status, result.new, result.failed, result.requests) == ("ok", 25, 0, 1)
    assert sorted(article.title for article in articles(env)) == sorted(
        f"Post {n}" for n in range(25)
    )
    assert env.state("site").flags == [
        "too_many_items: the feed lists 5000 entries; only the first 25 are read"
    ]


def test_an_endless_feed_stops_at_the_size_cap_and_spares_the_others(server, env) -> None:
    server.route("/other/", feed_response(rss_feed([("one", "First post")], base=server.base_url)))
    with StreamingFeedServer(limit=64 * MB) as endless:
        env.config.sources["site"] = env.config.sources["site"].model_copy(
            update={"feed": endless.url}
        )
        tracemalloc.start()
        try:
            results = {result.source: result for result in env.poll()}
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert endless.done.wait(10)
        sent = endless.sent
    site = results["site"]
    assert site.status == "failed"
    assert "larger than" in (site.error or "")
    assert sent < 32 * MB  # the client hung up near the 10 MB cap, not at the end
    assert peak < 40 * MB  # about the cap, not the stream
    assert (results["other"].status, results["other"].new) == ("ok", 1)
    assert [article.title for article in articles(env)] == ["First post"]
    assert env.state("site").consecutive_failures == 1


# --- 3. encodings and control characters -------------------------------------------------------


UTF8_DECLARED = '<?xml version="1.0" encoding="UTF-8"?>'


CP1252_DECLARED = '<?xml version="1.0" encoding="windows-1252"?>'


def encoded_feed(base: str, declaration: str, encode: str, bom: bytes = b"") -> bytes:
    entry = item(base, "k", KROPOTKIN, author="Émile Pouget")
    return bom + rss([entry], declaration=declaration).encode(encode)


@pytest.mark.parametrize(
    ("declaration", "content_type", "bom", "encode", "flag"),
    [
        (UTF8_DECLARED, "application/rss+xml; charset=ISO-8859-1", b"", "utf-8", "Content-Type"),
        (CP1252_DECLARED, "application/rss+xml", b"", "utf-8", "windows-1252"),
        (CP1252_DECLARED, "text/xml; charset=windows-1252", b"", "utf-8", "windows-1252"),
        (CP1252_DECLARED, "application/rss+xml", b"\xef\xbb\xbf", "utf-8", "windows-1252"),
        (UTF8_DECLARED, "application/rss+xml", b"\xff\xfe", "utf-16-le", "UTF-8"),
        (CP1252_DECLARED, "application/rss+xml", b"", "cp1252", None),
        (UTF8_DECLARED, "application/rss+xml; charset=utf-8", b"", "utf-8", None),
    ],
    ids=[
        "header-latin1-bytes-utf8",
        "declaration-cp1252-bytes-utf8",
        "both-cp1252-bytes-utf8",
        "utf8-bom-declaration-cp1252",
        "utf16-bom-declaration-utf8",
        "honest-cp1252",
        "honest-utf8",
    ],
)
def test_the_bytes_decide_the_encoding_never_mojibake(
    server, env, declaration, content_type, bom, encode, flag
) -> None:
    body = encoded_feed(server.base_url, declaration, encode, bom)
    server.route("/feed/", Response(body=body, content_type=content_type))
    result = env.one("site")
    assert (result.status, result.new) == ("ok", 1), result.error
    [article] = articles(env)
    assert article.title == KROPOTKIN
    assert article.author == "Émile Pouget"
    assert "Kropotkin’s Malatesta — café: Neighbours organised" in article.text
    flags = env.state("site").flags
    if flag is None:
        assert flags == []
    else:
        [encoding_flag] = flags
        assert encoding_flag.startswith("encoding: read as ") and flag in encoding_flag


def test_a_byte_order_mark_the_bytes_contradict_is_a_clear_failure(server, env) -> None:
    body = b"\xff\xfe" + encoded_feed(server.base_url, UTF8_DECLARED, "utf-16-le")[:-1]
    server.route("/feed/", Response(body=body, content_type="application/rss+xml"))
    result = env.one("site")
    assert result.status == "failed"
    assert result.error == "the bytes are not the UTF-16 their start says"
    assert articles(env) == []


CONTROLS = "\x00\x01\x08\x0b\x1b\x7f"


def test_control_characters_are_stripped_before_storage(write_config, database_url, server) -> None:
    sources = {
        "rss": {"feed": server.url("/rss/"), "relevance": "keep_all"},
        "json": {"feed": server.url("/json/"), "relevance": "keep_all"},
    }
    title = f"Mutual{CONTROLS} aid"
    body = body_paragraphs("Nul\x00 and bell\x07 and escape\x1b")
    xml_item = item(server.base_url, "c", title, author="Pe\x00ter\x01", body=body)
    xml_item = xml_item.replace("</item>", "<category>ta\x00g</category></item>")
    server.route("/rss/", feed_response(rss([xml_item]).encode()))
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "items": [
            {
                "id": "j\x001",
                "url": server.url("/posts/j/"),
                "title": f"Json{CONTROLS} title",
                "authors": [{"name": "Ali\x00ce"}],
                "tags": ["t\x01ag"],
                "content_html": body_paragraphs("Json\x00 body\x0b"),
            }
        ],
    }
    server.route(
        "/json/", Response(body=json.dumps(document).encode(), content_type="application/feed+json")
    )
    with poll_env(write_config, database_url, sources) as env:
        results = env.poll()
        assert [(r.status, r.new) for r in results] == [("ok", 1), ("ok", 1)], results
        stored = {article.primary_source_id: article for article in articles(env)}
    assert len(stored) == 2
    for article in stored.values():
        for text in (
            article.title,
            article.author or "",
            article.text,
            article.html,
            *article.tags,
        ):
            assert not any(char in text for char in CONTROLS + "\x07"), repr(text)
    titles = sorted(article.title for article in stored.values())
    assert titles == ["Json title", "Mutual aid"]
    assert sorted(article.author or "" for article in stored.values()) == ["Alice", "Peter"]
    assert "Nul and bell and escape" in "".join(a.text for a in stored.values())


# --- 4. dates ------------------------------------------------------------------------------------


BAD_DATES = {
    "unreadable": "not a date",
    "february-30": "2026-02-30T10:00:00Z",
    "hour-25": "2026-11-02T25:61:00Z",
    "rfc822-hour-25": "Mon, 02 Nov 2026 25:61:00 +0000",
    "year-2999": "Fri, 01 Jan 2999 00:00:00 GMT",
    "next-week": "Mon, 07 Dec 2026 10:00:00 +0000",
}


def test_unusable_dates_become_the_first_seen_time_flagged(server, env, caplog) -> None:
    entries = [
        item(server.base_url, slug, f"Dated {slug}", date=date) for slug, date in BAD_DATES.items()
    ]
    entries.append(
        item(server.base_url, "good", "Dated good", date="Mon, 02 Nov 2026 10:00:00 +0000")
    )
    server.route("/feed/", feed_response(rss(entries).encode()))
    clock = Clock()
    with caplog.at_level(logging.WARNING, logger="aggregator.poll"):
        result = env.one("site", clock=clock)
    assert (result.status, result.new) == ("ok", 7), result
    dated = {article.title.removeprefix("Dated "): article for article in articles(env)}
    for slug in BAD_DATES:
        assert (dated[slug].published_at, dated[slug].date_estimated) == (NOW, True), slug
    good = dated["good"]
    assert (good.published_at, good.date_estimated) == (
        datetime(2026, 11, 2, 10, tzinfo=UTC),
        False,
    )
    [flag] = env.state("site").flags
    assert flag.startswith("bad_dates: 6 of 7 entries have unusable dates")
    logged = caplog.text
    assert "unreadable date 'not a date'" in logged
    assert server.url("/posts/unreadable/") in logged


@pytest.mark.parametrize(
    ("date", "reason"),
    [
        ("2026-02-30T10:00:00Z", "impossible date '2026-02-30T10:00:00Z'"),
        ("2026-11-02T25:61:00+00:00", "impossible date '2026-11-02T25:61:00+00:00'"),
        ("2999-01-01T00:00:00Z", "date in the future (2999-01-01 00:00 UTC)"),
    ],
)
def test_atom_and_json_feeds_flag_bad_dates_too(server, env, date, reason) -> None:
    atom = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        f'<entry><title>Atom entry</title><link href="{server.url("/posts/a/")}"/><id>urn:a</id>'
        f"<published>{date}</published><updated>{date}</updated>"
        f'<content type="html"><![CDATA[{body_paragraphs("Atom entry")}]]></content></entry></feed>'
    ).encode()
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {
                "id": "j1",
                "url": server.url("/posts/j/"),
                "title": "Json entry",
                "date_published": date,
                "content_html": body_paragraphs("Json entry"),
            }
        ],
    }
    server.route("/feed/", feed_response(atom))
    server.route(
        "/other/", Response(body=json.dumps(document).encode(), content_type="application/json")
    )
    results = env.poll(clock=Clock())
    assert [(r.status, r.new) for r in results] == [("ok", 1), ("ok", 1)]
    for article in articles(env):
        assert (article.published_at, article.date_estimated) == (NOW, True)
    for name in ("site", "other"):
        [flag] = env.state(name).flags
        assert flag.startswith("bad_dates: 1 of 1 entries") and reason.split(" '")[0] in flag


# --- 5. GUIDs ------------------------------------------------------------------------------------


def article_page(title: str) -> Response:
    body = body_paragraphs(title)
    page = f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}"
    return Response(body=f"{page}</article></body></html>".encode())


def guid_feed(base: str, guids: list[str | None], *, full: bool = True, version: int = 1) -> bytes:
    """Posts with the given GUIDs (summaries only unless ``full``); ``version`` changes the
    bytes, not the posts."""
    entries = [
        item(base, f"g{n}", f"Guid post {n}", guid=guid, body=None if full else "")
        for n, guid in enumerate(guids)
    ]
    return rss(entries, doctype=f"<!-- version {version} -->").encode()


@pytest.mark.parametrize(
    ("first", "second", "finding"),
    [
        ([None, None], [None, None], "2 of 2 entries have no GUID"),
        (["same", "same"], ["same", "same"], "1 GUID(s) shared by several entries"),
        (
            [str(uuid.uuid4()), str(uuid.uuid4())],
            [str(uuid.uuid4()), str(uuid.uuid4())],
            "2 entries have a GUID other than the one stored",
        ),
    ],
    ids=["missing", "duplicated", "changing"],
)
@pytest.mark.parametrize("full", [True, False], ids=["full-content", "summaries"])
def test_unreliable_guids_create_nothing_new_and_flag_the_feed(
    server, env, first, second, finding, full
) -> None:
    base = server.base_url
    server.route(
        "/feed/",
        feed_response(guid_feed(base, first, full=full, version=1)),
        feed_response(guid_feed(base, second, full=full, version=2)),
    )
    for n in range(2):
        server.route(f"/posts/g{n}/", article_page(f"Guid post {n}"))
    assert env.one("site").new == 2
    before = {(a.id, a.title, a.text) for a in articles(env)}
    server.clear_log()
    again = env.one("site")
    assert (again.status, again.new, again.failed) == ("ok", 0, 0)
    assert {(a.id, a.title, a.text) for a in articles(env)} == before
    assert env.count(Sighting) == 2
    assert "/posts/g0/" not in server.paths()  # stored pages are not fetched again
    [flag] = env.state("site").flags
    assert flag.startswith("unreliable_guids: ") and finding in flag


# --- 6. flags: kept, replaced, shown -----------------------------------------------------------


def test_flags_survive_a_304_and_clear_on_a_clean_read(server, env) -> None:
    undated = rss([item(server.base_url, "u", "Undated", date="someday")]).encode()
    clean = rss([item(server.base_url, "u", "Undated")]).encode()
    server.route(
        "/feed/",
        feed_response(undated, etag='"v1"'),
        Response(304, b"", headers={"ETag": '"v1"'}),
        Response(500, b"oops"),
        feed_response(clean, etag='"v2"'),
    )
    env.one("site")
    flagged = env.state("site").flags
    assert len(flagged) == 1 and flagged[0].startswith("bad_dates:")
    assert env.one("site").status == "not_modified"
    assert env.state("site").flags == flagged
    assert env.one("site", force=True).status == "failed"
    assert env.state("site").flags == flagged
    assert env.one("site", force=True).status == "ok"
    assert env.state("site").flags == []


def test_status_shows_flags_in_text_and_json(server, env, run_cli, tmp_path) -> None:
    server.route("/feed/", feed_response(many_items(server.base_url, 40, full=40)))
    server.route("/other/", feed_response(rss_feed([("one", "First post")], base=server.base_url)))
    with env.poller(max_items_per_feed=10) as poller:
        poller.poll()
    config = str(tmp_path / "config.yaml")
    text = run_cli("-c", config, "status")
    assert text.code == 0, text.err
    expected = "the feed lists 40 entries; only the first 10 are read"
    assert f"warning: site: too_many_items: {expected}" in text.out
    assert "warning: other" not in text.out
    report = json.loads(run_cli("-c", config, "status", "--json").out)
    flags = {source["name"]: source["flags"] for source in report["sources"]}
    assert flags == {"site": [f"too_many_items: {expected}"], "other": []}


def test_migration_0005_gives_existing_fetch_states_no_flags(sqlite_url) -> None:
    engine = make_engine(sqlite_url)
    try:
        migrate.upgrade(engine, "0004")
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO sources (name, homepage, enabled, created_at) "
                "VALUES ('old', 'https://old.example/', 1, '2026-01-01 00:00:00')"
            )
            connection.exec_driver_sql(
                "INSERT INTO fetch_states (source_id, url, consecutive_failures, redirect_count) "
                "VALUES (1, 'https://old.example/feed/', 0, 0)"
            )
        migrate.upgrade(engine)
        with engine.connect() as connection:
            [flags] = connection.exec_driver_sql("SELECT flags FROM fetch_states").one()
    finally:
        engine.dispose()
    assert json.loads(flags) == []


# --- 7. answers that are not feeds -------------------------------------------------------------


CHALLENGE = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    b'<div id="cf-challenge-running"><form id="challenge-form" action="/cdn-cgi/challenge-platform'
    b'/h/b/orchestrate/jsch/v1"></form></div></body></html>'
)


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (Response(403, CHALLENGE, headers={"cf-mitigated": "challenge"}), "HTTP 403"),
        (Response(200, CHALLENGE), "an HTML page, not a feed (title: 'Just a moment...')"),
        (Response(200, b"", "application/rss+xml"), "empty body where a feed was expected"),
        (
            Response(200, b'{"error": "rate limited"}', "application/json"),
            "a JSON document, not a feed (error: 'rate limited')",
        ),
    ],
    ids=["challenge-403", "challenge-200", "empty-200", "json-error"],
)
def test_a_non_feed_answer_fails_the_source_and_changes_nothing(
    server, env, response: Response, reason: str
) -> None:
    good = rss([item(server.base_url, "one", "First post", date="not a date")]).encode()
    server.route("/feed/", feed_response(good, etag='"v1"'), response)
    assert env.one("site").new == 1
    stored = [(a.id, a.title, a.text, a.html, a.last_changed_at) for a in articles(env)]
    state = env.state("site")
    kept = (state.etag, state.last_modified, state.body_hash, state.flags)
    result = env.one("site", force=True)
    assert (result.status, result.error) == ("failed", reason)
    assert [(a.id, a.title, a.text, a.html, a.last_changed_at) for a in articles(env)] == stored
    after = env.state("site")
    assert (after.etag, after.last_modified, after.body_hash, after.flags) == kept
    assert (after.consecutive_failures, after.last_error) == (1, reason)


def test_the_item_cap_and_pacing_come_from_the_polling_config(server, env) -> None:
    server.route("/feed/", feed_response(many_items(server.base_url, 40, full=30)))
    polling = {"max_items_per_feed": 7, "host_delay": 0.0, "workers": 3, "max_pages": 2}
    config = env.config.model_copy(
        update={"polling": env.config.polling.model_copy(update=polling)}
    )
    with Poller(env.database, config, jitter=lambda: timedelta(0)) as poller:
        assert (poller.settings.workers, poller.settings.collect.max_pages) == (3, 2)
        [result] = poller.poll(["site"])
    assert (result.status, result.new) == ("ok", 7)
    assert env.state("site").flags[0].startswith("too_many_items:")
