"""Licences recorded by the ingest path: a poll fetches pages over HTTP from a local server, and
each article stores what its page (or its feed content) declares; reading the page again
updates it; ``articles show`` prints it. On SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import select, update

from aggregator.ingest import Ingestor, Outcome
from aggregator.items import FetchedItem, Origin
from aggregator.storage.models import Article
from tests.feedserver import ARTICLE_WORDS, ScriptedServer, feed_response
from tests.pollkit import PollEnv, poll_env
from tests.sites.server import HTML, Response

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
BY_SA = "https://creativecommons.org/licenses/by-sa/4.0/"
BY_ND = "https://creativecommons.org/licenses/by-nd/4.0/"
CC0_BADGE = "https://i.creativecommons.org/p/zero/1.0/88x31.png"


def paragraphs(title: str, count: int = 4) -> str:
    """Paragraphs of their own for each article: no two articles share text (which would
    make them copies of one another, or their paragraphs learned boilerplate)."""
    return "".join(f"<p>{title}, part {n}: {ARTICLE_WORDS}</p>" for n in range(count))


def page(title: str, footer: str = "", head: str = "", extra: str = "") -> Response:
    body = (
        f"<!DOCTYPE html><html><head><title>{escape(title)}</title>{head}</head><body>"
        f"<article><h1>{escape(title)}</h1>{paragraphs(title)}{extra}</article>"
        f"<footer>{footer}</footer></body></html>"
    )
    return Response(body=body.encode(), content_type=HTML)


def cc_widget(url: str) -> str:
    return (
        f'<div class="widget"><a rel="license noopener" href="{url}">'
        f'<img alt="Creative Commons Licence" src="{url}88x31.png"></a></div>'
    )


def feed(base: str) -> bytes:
    """Two summary-only entries (their pages are fetched) and one carrying its article."""
    content = paragraphs("Given", 3)
    content += f'<p><img src="{CC0_BADGE}" alt="CC0"> No rights reserved.</p>'
    items = [
        f"<item><title>Open</title><link>{base}/open/</link><description>Open</description>"
        "<pubDate>Mon, 02 Nov 2026 10:00:00 +0000</pubDate></item>",
        f"<item><title>Closed</title><link>{base}/closed/</link><description>Closed"
        "</description><pubDate>Mon, 02 Nov 2026 11:00:00 +0000</pubDate></item>",
        f"<item><title>Given</title><link>{base}/given/</link><description>Given</description>"
        "<pubDate>Mon, 02 Nov 2026 12:00:00 +0000</pubDate>"
        f"<content:encoded><![CDATA[{content}]]></content:encoded></item>",
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>T</title>'
        f"<link>{base}/</link><description>d</description>{''.join(items)}</channel></rss>"
    ).encode()


@pytest.fixture
def env(write_config, database_url: str, server: ScriptedServer) -> Iterator[PollEnv]:
    server.route("/feed/", feed_response(feed(server.base_url)))
    server.route("/open/", page("Open", footer=cc_widget(BY_SA)))
    server.route(
        "/closed/",
        page("Closed", head='<meta name="copyright" content="© 2026 Closed Press">'),
    )
    sources = {"press": {"feed": server.url("/feed/"), "kind": "feed", "relevance": "keep_all"}}
    with poll_env(write_config, database_url, sources) as environment:
        yield environment


def licences(env: PollEnv) -> dict[str, tuple[str | None, str | None]]:
    with env.database.session() as session:
        rows = session.execute(
            select(Article.canonical_url, Article.licence, Article.licence_declared)
        ).all()
    return {url.rstrip("/").rsplit("/", 1)[-1]: (licence, said) for url, licence, said in rows}


def page_item(url: str) -> FetchedItem:
    with urllib.request.urlopen(url, timeout=10) as response:
        html = response.read().decode("utf-8")
    return FetchedItem(source="press", url=url, origin=Origin.CRAWL, fetched_at=NOW, html=html)


def test_a_poll_stores_the_licence_each_page_declares(env: PollEnv) -> None:
    result = env.one("press")
    assert result.status == "ok", result
    found = licences(env)
    assert found["open"] == ("CC-BY-SA-4.0", BY_SA)
    assert found["closed"] == ("all-rights-reserved", "© 2026 Closed Press")
    assert found["given"] == ("CC0-1.0", CC0_BADGE)  # from the feed's own content


def test_reading_a_page_again_updates_its_licence(env: PollEnv, server: ScriptedServer) -> None:
    env.one("press")
    with env.database.session() as session:  # as stored before licences were read
        session.execute(update(Article).values(licence=None, licence_declared=None))
    ingestor = Ingestor(env.database, env.config, clock=lambda: NOW)
    open_url = server.url("/open/")
    report = ingestor.ingest([page_item(open_url)])
    assert report.counts == {Outcome.UNCHANGED: 1}, report
    assert licences(env)["open"] == ("CC-BY-SA-4.0", BY_SA)

    # The author changes the licence and adds a line: the update carries the new licence.
    server.route("/open/", page("Open", footer=cc_widget(BY_ND), extra="<p>A postscript.</p>"))
    assert ingestor.ingest([page_item(open_url)]).counts == {Outcome.UPDATED: 1}
    assert licences(env)["open"] == ("CC-BY-ND-4.0", BY_ND)

    # Feed content without the page's footer updates the text but keeps the known licence.
    content = FetchedItem(
        source="press", url=open_url, origin=Origin.FEED, fetched_at=NOW,
        content=paragraphs("Open, edited"),
    )  # fmt: skip
    assert ingestor.ingest([content]).counts == {Outcome.UPDATED: 1}
    assert licences(env)["open"] == ("CC-BY-ND-4.0", BY_ND)


def test_articles_show_prints_the_licence(env: PollEnv, run_cli, tmp_path: Path) -> None:
    env.one("press")
    config = str(tmp_path / "config.yaml")
    by_url = {}
    for key in ("1", "2", "3"):
        shown = json.loads(run_cli("-c", config, "articles", "show", key, "--json").out)
        by_url[shown["line"]["url"].rstrip("/").rsplit("/", 1)[-1]] = shown
    assert by_url["open"]["licence"] == "CC-BY-SA-4.0"
    assert by_url["open"]["licence_declared"] == BY_SA
    assert by_url["open"]["republished"] == "full"
    assert by_url["closed"]["licence"] == "all-rights-reserved"
    text = run_cli("-c", config, "articles", "show", str(by_url["open"]["line"]["id"])).out
    assert f"licence: CC-BY-SA-4.0 ({BY_SA}) · republished: full" in text


def dated(day: int, more: str = "") -> str:
    return f'<meta property="article:published_time" content="2026-11-{day:02d}T09:00:00Z">{more}'


def test_an_earlier_original_replaces_the_licence_read_at_a_copy(
    write_config, database_url: str, server: ScriptedServer
) -> None:
    """A copy stored first carries its site's CC badge; when the author's earlier page turns up
    it becomes the primary, and its own terms replace the copy's: a copyright notice, or none
    known at all (a copy's badge is not the author's word)."""
    sources = {
        "mirror": {"feed": server.url("/mirror/"), "kind": "feed", "relevance": "keep_all"},
        "author": {"feed": "http://127.0.0.2:9/feed/", "kind": "feed", "relevance": "keep_all"},
    }
    with poll_env(write_config, database_url, sources) as env:
        ingestor = Ingestor(env.database, env.config, clock=lambda: NOW)

        def item(source: str, url: str, response: Response) -> FetchedItem:
            html = response.body.decode()
            return FetchedItem(source, url, Origin.CRAWL, fetched_at=NOW, html=html)

        mirror, author = server.url("/mirror"), "http://127.0.0.2:9"
        copies = [
            item("mirror", f"{mirror}/{name.lower()}/", page(name, cc_widget(BY_SA), dated(20)))
            for name in ("Essay", "Unmarked")
        ]
        assert ingestor.ingest(copies).counts == {Outcome.NEW: 2}
        assert {url: lic for url, (lic, _) in licences(env).items()} == {
            "essay": "CC-BY-SA-4.0", "unmarked": "CC-BY-SA-4.0",
        }  # fmt: skip

        notice = '<meta name="copyright" content="© 2026 The Author">'
        originals = [
            item("author", f"{author}/essay/", page("Essay", head=dated(1, notice))),
            item("author", f"{author}/unmarked/", page("Unmarked", head=dated(1))),
        ]
        assert ingestor.ingest(originals).counts == {Outcome.DUPLICATE: 2}
        with env.database.session() as session:
            rows = session.execute(
                select(Article.canonical_url, Article.licence, Article.licence_declared)
            ).all()
        assert sorted(rows) == [
            (f"{author}/essay", "all-rights-reserved", "© 2026 The Author"),
            (f"{author}/unmarked", None, None),
        ]
