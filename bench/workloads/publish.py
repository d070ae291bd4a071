"""Building the combined Atom feed: N items from a database of 100 x N articles.

Subject: ``aggregator.publish`` as ``feed build`` runs it for the combined feed: the
published-articles query through SQLAlchemy, sightings and sources, plain-text cleaning of
titles, authors, tags and summaries, the check that each body was stored by the current
sanitiser (``sanitized_with``), the attribution paragraph, and the Atom document. Floor: the
same rows read with raw sqlite3 (articles, their primary source and their sightings) and
rendered into Atom with an f-string template and ``html.escape`` (each body decompressed with
zlib, as SQLite stores it), nothing cleaned or sanitised,
but with the same elements per entry (RFC 3339 dates, language, categories, related links, the
same attribution paragraph) and the same feed head. Both read the same open database, so the
ratio is the price of our query layer, cleaning, sanitising and rendering. CPU time: both are
CPU-bound (the database is in the page cache), and CPU time is steadier on a shared machine.

The stored rows are what ingest stores: bodies already through ``sanitize_html`` (so with
``rel="noopener noreferrer"`` on links), marked with ``SANITIZER_VERSION``. Half the articles
score above the threshold, and one source of five is ``keep_all``. ``publish-feed-unmarked``
builds the same feed from rows stored before the marker existed (``sanitized_with`` null), whose
bodies publishing sanitises again: what a database from an older version costs until its
articles are stored anew.
"""

from __future__ import annotations

import hashlib
import html
import json
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from aggregator.publish.atom import render_atom
from aggregator.publish.build import Site, make_feed
from aggregator.publish.feed import Selection
from aggregator.publish.select import PublishPolicy, select_entries
from aggregator.sanitize import SANITIZER_VERSION
from aggregator.storage import Database, article_feeds, open_database
from aggregator.storage.models import Article, Sighting, Source
from aggregator.storage.types import decompress_text
from bench.harness import Workload

START = datetime(2020, 1, 1, tzinfo=UTC)
DATABASE_FACTOR = 100
THRESHOLD = 6.0
SOURCES = ("news", "blog", "coop", "union", "archive")
KEEP_ALL = "blog"
PARAGRAPH = (
    "Mutual aid is the practice of people meeting each other's needs directly, without waiting "
    "for charity or the state; it has a long history in unions, cooperatives and neighbours. "
)
_BATCH = 5000
_REL = ' rel="noopener noreferrer"'  # as the sanitiser leaves every link


@dataclass
class Inputs:
    folder: Path
    database: Database
    connection: sqlite3.Connection
    items: int
    site: Site


def prepare(items: int) -> Inputs:
    """A fresh SQLite database of ``items * 100`` articles, with sources and sightings."""
    folder = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    database = open_database(f"sqlite:///{folder / 'publish.db'}")
    total = items * DATABASE_FACTOR
    with database.session() as session:
        session.execute(
            insert(Source),
            [
                {"id": number + 1, "name": name, "title": name.title(),
                 "homepage": f"https://{name}.example/", "created_at": START}
                for number, name in enumerate(SOURCES)
            ],
        )  # fmt: skip
    for start in range(0, total, _BATCH):
        numbers = range(start, min(start + _BATCH, total))
        with database.session() as session:
            session.execute(insert(Article), [_article(number) for number in numbers])
            session.execute(insert(Sighting), [s for n in numbers for s in _sightings(n)])
            article_feeds.refresh(session, [number + 1 for number in numbers])
    connection = sqlite3.connect(folder / "publish.db", check_same_thread=False)
    policy = PublishPolicy(THRESHOLD, frozenset({KEEP_ALL}))
    site = Site("Bench reader", items, "https://reader.example/", policy)
    return Inputs(folder, database, connection, items, site)


def _article(number: int) -> dict[str, Any]:
    body = [f"{PARAGRAPH * 2} (part {part} of essay {number})" for part in range(5)]
    moment = START + timedelta(minutes=number)
    return {
        "id": number + 1,
        "canonical_url": f"https://{_source(number)}.example/{number:07d}/essay/",
        "guid": None,
        "primary_source_id": number % len(SOURCES) + 1,
        "title": f"Essay {number}: notes on cooperatives & mutual aid",
        "author": "A. Writer",
        "published_at": moment,
        "updated_at": None,
        "date_estimated": False,
        "first_seen_at": moment,
        "last_changed_at": moment,
        "text": "\n\n".join(body),
        "html": "".join(
            f'<p>{p} <a href="https://example.org/{number}"{_REL}>a link</a></p>' for p in body
        ),
        "sanitized_with": SANITIZER_VERSION,
        "language": "en",
        "tags": ["mutual aid", "cooperatives"],
        "word_count": 350,
        "content_hash": hashlib.sha256(str(number).encode()).hexdigest(),
        "simhash": None,
        "relevance": 8.0 if number % 2 else 2.0,
        "matched_terms": {},
    }


def prepare_unmarked(items: int) -> Inputs:
    """``prepare``, with every article as stored before ``sanitized_with`` was recorded."""
    inputs = prepare(items)
    with inputs.connection:
        inputs.connection.execute("UPDATE articles SET sanitized_with = NULL")
    return inputs


def _sightings(number: int) -> list[dict[str, Any]]:
    moment = START + timedelta(minutes=number)
    primary = number % len(SOURCES) + 1
    rows = [
        {"article_id": number + 1, "source_id": primary, "guid": None, "first_seen_at": moment,
         "last_seen_at": moment, "url": f"https://{_source(number)}.example/{number:07d}/essay/"}
    ]  # fmt: skip
    if number % 10 == 0:
        other = (primary % len(SOURCES)) + 1
        rows.append({**rows[0], "source_id": other, "url": f"https://mirror.example/{number}/"})
    return rows


def _source(number: int) -> str:
    return SOURCES[number % len(SOURCES)]


def build_with_publish(inputs: Inputs) -> bytes:
    with inputs.database.session() as session:
        entries = select_entries(session, inputs.site.policy, inputs.items)
    return render_atom(make_feed(inputs.site, Selection(), "atom", entries))


_FLOOR_QUERY = """
SELECT a.id, a.canonical_url, a.primary_source_id, a.title, a.author, a.published_at,
       a.updated_at, a.first_seen_at, substr(a.text, 1, 1200), a.html, a.language, a.tags,
       s.title
FROM articles a JOIN sources s ON s.id = a.primary_source_id
WHERE a.relevance >= ? OR a.primary_source_id IN (SELECT id FROM sources WHERE name = ?)
   OR EXISTS (SELECT 1 FROM sightings x WHERE x.article_id = a.id
              AND x.source_id IN (SELECT id FROM sources WHERE name = ?))
ORDER BY a.published_at DESC, a.id DESC LIMIT ?
"""
_HEAD = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>tag:bench.example,2026:feed</id>
<title type="text">Bench reader</title>
<subtitle type="text">The latest articles collected by Bench reader</subtitle>
<updated>{updated}</updated>
<link rel="self" type="application/atom+xml" href="https://reader.example/feed.atom"/>
<link rel="alternate" type="text/html" href="https://reader.example/"/>
<author><name>Bench reader</name></author><generator>bench</generator>
"""


def build_with_template(inputs: Inputs) -> bytes:
    cursor = inputs.connection.execute(_FLOOR_QUERY, (THRESHOLD, KEEP_ALL, KEEP_ALL, inputs.items))
    rows = cursor.fetchall()
    ids = [row[0] for row in rows]
    marks = ",".join("?" * len(ids))
    seen: dict[int, list[tuple[int, str, str]]] = {}
    query = (
        "SELECT x.article_id, x.source_id, s.title, x.url FROM sightings x JOIN sources s "
        f"ON s.id = x.source_id WHERE x.article_id IN ({marks}) ORDER BY x.first_seen_at, x.url"
    )
    for article_id, source_id, title, url in inputs.connection.execute(query, ids):
        seen.setdefault(article_id, []).append((source_id, html.escape(title), html.escape(url)))
    entries = []
    newest = ""
    for row in rows:
        article_id, url, primary, title, author, published, updated, first = row[:8]
        text, body, language, tags, source = row[8:]
        body = decompress_text(body)
        url = html.escape(url)
        others = [(t, u) for s, t, u in seen.get(article_id, []) if s != primary]
        updated = max(published, updated or published)
        newest = max(newest, updated)
        attribution = f'Originally published at <a href="{url}"{_REL}>{html.escape(source)}</a>'
        if others:
            attribution += "; also seen at " + ", ".join(
                f'<a href="{u}"{_REL}>{t}</a>' for t, u in others
            )
        content = html.escape(f"{body}<p><em>{attribution}.</em></p>")
        links = [f'<link rel="related" href="{u}" title="{t}"/>' for t, u in others]
        links += [f'<category term="{html.escape(tag)}"/>' for tag in json.loads(tags)]
        entries.append(
            f'<entry xml:lang="{language}"><id>tag:bench.example,{first[:10]}:article/'
            f"{article_id}</id>\n<title>{html.escape(title)}</title><published>"
            f"{_rfc3339(published)}</published><updated>{_rfc3339(updated)}</updated>\n"
            f"<author><name>{html.escape(author or '')}</name></author>"
            f'<link rel="alternate" href="{url}"/>{"".join(links)}\n'
            f"<summary>{html.escape(text[:280])}</summary>"
            f'<content type="html">{content}</content></entry>\n'
        )
    head = _HEAD.format(updated=_rfc3339(newest) if newest else "1970-01-01T00:00:00Z")
    return "".join([head, *entries, "</feed>\n"]).encode("utf-8")


def _rfc3339(stored: str) -> str:
    """SQLite's stored UTC text (``2020-01-01 00:00:00.000000``) as an Atom date."""
    return f"{stored[:10]}T{stored[11:19]}Z"


def teardown(inputs: Inputs) -> None:
    inputs.connection.close()
    inputs.database.close()
    shutil.rmtree(inputs.folder, ignore_errors=True)


BUILD_FEED = Workload(
    name="publish-feed",
    description="build the combined Atom feed of N items from a database of 100 x N articles",
    floor_name="raw sqlite3 query + string-template Atom of the same items",
    prepare=prepare,
    floor=build_with_template,
    subject=build_with_publish,
    size=1000,
    quick_size=20,
    target=3.0,
    clock="cpu",
    teardown=teardown,
)
BUILD_FEED_UNMARKED = Workload(
    name="publish-feed-unmarked",
    description="publish-feed from rows stored before sanitized_with, each body sanitised again",
    floor_name=BUILD_FEED.floor_name,
    prepare=prepare_unmarked,
    floor=build_with_template,
    subject=build_with_publish,
    size=1000,
    quick_size=20,
    clock="cpu",
    teardown=teardown,
)
