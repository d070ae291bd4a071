"""Feeds whose entries carry short articles: every entry is stored, none lost as "no text".

A real feed of 25 entries holding 38 to 75 words of HTML each stored none of them: trafilatura
finds no article in so little text. Now the fragment is its own article (when it has
``extraction.min_words``), and an entry shorter than that has its page fetched instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import select

from aggregator.poll import Poller
from aggregator.storage.models import Article
from tests.feedserver import ScriptedServer, article_page, feed_response
from tests.pollkit import PollEnv, poll_env

TEXT = (
    "neighbours shared bread tools rides and childcare through the long winter while the "
    "cooperative kitchen fed everyone who came by asking nothing in return for the meals "
    "served each evening to the families of the street and their friends"
)
WORDS = TEXT.split()
ENTRIES = 25


def entry_text(number: int) -> str:
    """38 to 75 words, different for each entry."""
    count = 38 + (number * 37) // (ENTRIES - 1)
    words = [WORDS[(number + i) % len(WORDS)] for i in range(count)]
    return f"Note {number}: " + " ".join(words[2:]) + "."


def short_feed(base: str) -> bytes:
    items = "".join(
        f"<item><title>Note {n}</title><link>{base}/notes/{n}/</link>"
        f"<guid isPermaLink='false'>{base}/?p={n}</guid>"
        "<pubDate>Mon, 02 Nov 2026 10:00:00 +0000</pubDate>"
        f"<description>{escape(entry_text(n)[:60])}</description>"
        f"<content:encoded><![CDATA[<p>{escape(entry_text(n))}</p>]]></content:encoded></item>"
        for n in range(ENTRIES)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Notes</title>'
        f"<link>{base}/</link><description>short notes</description>{items}</channel></rss>"
    ).encode()


@pytest.fixture
def env(write_config, sqlite_url, server: ScriptedServer) -> Iterator[PollEnv]:
    server.route("/feed/", feed_response(short_feed(server.base_url)))
    for n in range(ENTRIES):
        server.route(f"/notes/{n}/", article_page(f"Note {n}, the whole page"))
    sources = {"notes": {"feed": server.url("/feed/"), "relevance": "keep_all"}}
    with poll_env(write_config, sqlite_url, sources) as environment:
        yield environment


def stored_texts(env: PollEnv) -> dict[str, str]:
    with env.database.session() as session:
        rows = session.execute(select(Article.canonical_url, Article.text)).all()
    return {url.rstrip("/").rsplit("/", 1)[-1]: text for url, text in rows}


def test_every_short_entry_is_stored(env, server) -> None:
    min_words = env.config.extraction.min_words
    assert min_words == 40  # the default the entries straddle
    lengths = [len(entry_text(n).split()) for n in range(ENTRIES)]
    assert (min(lengths), max(lengths)) == (38, 75)
    with Poller(env.database, env.config, clock=None) as poller:
        [result] = poller.poll(("notes",))
    assert result.status == "ok", result
    texts = stored_texts(env)
    assert len(texts) == ENTRIES
    fetched = {path for path in server.paths() if path.startswith("/notes/")}
    for n, length in enumerate(lengths):
        if length >= min_words:  # the entry is the article
            assert texts[str(n)] == entry_text(n)
            assert f"/notes/{n}/" not in fetched
        else:  # too short to store: its page was fetched and extracted
            assert "Kropotkin argued" in texts[str(n)]
            assert f"/notes/{n}/" in fetched
