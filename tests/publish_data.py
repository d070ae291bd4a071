"""Helpers for the publishing tests: configs, articles inserted directly, and output readers.

Direct inserts are for content the ingest path would never produce (hostile markup in a title,
control characters, exact dates); tests of the real path ingest the local test sites.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import yaml
from lxml import etree
from sqlalchemy import insert

from aggregator.config import Config, ServeConfig, load_config
from aggregator.publish.server import PublishApp, make_app_server
from aggregator.storage import Database, article_feeds
from aggregator.storage.models import Article, Sighting, Source

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SCHEMA = Path(__file__).resolve().parent / "schemas" / "atom.rng"


def publish_config(
    folder: Path,
    database_url: str,
    sources: Mapping[str, Mapping[str, Any]],
    **output: Any,
) -> Config:
    """A config file in ``folder`` with these sources and output settings, loaded."""
    data = {
        "database": {"url": database_url},
        "output": {"dir": str(folder / "public"), **output},
        "sources": {name: dict(settings) for name, settings in sources.items()},
    }
    path = folder / "publish-config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_config(path, environ={})


def add_sources(database: Database, *names: str, titles: Mapping[str, str] | None = None) -> None:
    titles = titles or {}
    with database.session() as session:
        session.execute(
            insert(Source),
            [
                {
                    "id": number,
                    "name": name,
                    "title": titles.get(name, name.title()),
                    "homepage": f"https://{name}.example/",
                    "created_at": NOW,
                }
                for number, name in enumerate(names, start=1)
            ],
        )


@dataclass
class Row:
    """An article to insert directly, with sensible defaults."""

    id: int
    source_id: int = 1
    title: str = "An essay on mutual aid"
    author: str | None = "A. Writer"
    html: str = "<p>Neighbours organised a community fridge and a rota of drivers.</p>"
    text: str = "Neighbours organised a community fridge and a rota of drivers."
    tags: tuple[str, ...] = ("mutual aid",)
    relevance: float | None = 9.0
    published_at: datetime | None = None
    first_seen_at: datetime = NOW
    url: str | None = None
    also_seen: tuple[tuple[int, str], ...] = ()
    # None: stored before the sanitiser's version was recorded, so published bodies are cleaned
    # again (every hostile-content test relies on that).
    sanitized_with: int | None = None

    def article(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "canonical_url": self.url or f"https://source{self.source_id}.example/{self.id}/",
            "guid": None,
            "primary_source_id": self.source_id,
            "title": self.title,
            "author": self.author,
            "published_at": self.published_at or NOW - timedelta(hours=self.id),
            "updated_at": None,
            "date_estimated": False,
            "first_seen_at": self.first_seen_at,
            "last_changed_at": self.first_seen_at,
            "text": self.text,
            "html": self.html,
            "sanitized_with": self.sanitized_with,
            "language": "en",
            "tags": list(self.tags),
            "word_count": len(self.text.split()),
            "content_hash": hashlib.sha256(f"{self.id}{self.text}".encode()).hexdigest(),
            "simhash": None,
            "relevance": self.relevance,
            "matched_terms": {},
        }

    def sightings(self) -> list[dict[str, Any]]:
        own = self.url or f"https://source{self.source_id}.example/{self.id}/"
        places = [(self.source_id, own), *self.also_seen]
        return [
            {
                "article_id": self.id,
                "source_id": source_id,
                "url": url,
                "guid": None,
                "first_seen_at": self.first_seen_at + timedelta(minutes=position),
                "last_seen_at": self.first_seen_at + timedelta(minutes=position),
            }
            for position, (source_id, url) in enumerate(places)
        ]


def insert_rows(database: Database, rows: Iterable[Row]) -> None:
    rows = list(rows)
    with database.session() as session:
        session.execute(insert(Article), [row.article() for row in rows])
        session.execute(insert(Sighting), [s for row in rows for s in row.sightings()])
        # What ingest does for every article it writes: file it under its feeds.
        article_feeds.refresh(session, [row.id for row in rows])


def parse_feed(data: bytes) -> Any:
    """feedparser's reading of a feed document, asserting it found nothing wrong."""
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def atom_schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(SCHEMA)))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class Served:
    """A running PublishApp on loopback, and a small client for it."""

    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def get(self, path: str, method: str = "GET", **headers: str) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        response.body = response.read()  # type: ignore[attr-defined]
        connection.close()
        return response


@contextmanager
def serving(app: PublishApp, settings: ServeConfig | None = None) -> Iterator[Served]:
    """Serve ``app`` on 127.0.0.1 (a free port) in a thread for the duration of the block, with
    the packaged ``serve:`` settings unless told otherwise."""
    server = make_app_server(app, "127.0.0.1", 0, settings or load_config(environ={}).serve)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield Served("127.0.0.1", server.port)
    finally:
        server.stop()
        thread.join(timeout=30)
        server.close()
