"""Structured logs: one line per event, with the source and URL it concerns."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime

import pytest

from aggregator.config import load_config
from aggregator.ingest import Ingestor
from aggregator.items import FetchedItem, Origin
from aggregator.logs import configure_logging
from aggregator.storage import open_database


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_source_and_url(restore_logging, write_config, news_site) -> None:
    stream = io.StringIO()
    configure_logging(verbosity=1, as_json=True, stream=stream)
    path = write_config({"sources": {"news": {"homepage": f"{news_site.base_url}/"}}})
    config = load_config(path, environ={})
    database = open_database(config.database.url)
    listing = news_site.listing_urls[0]
    page = "<html><body class='blog'></body></html>"
    item = FetchedItem(
        source="news", url=listing, origin=Origin.CRAWL, fetched_at=datetime.now(UTC), html=page
    )
    Ingestor(database, config).ingest([item])
    database.close()
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    skipped = [event for event in events if event["message"].startswith("skipped")]
    assert skipped, events
    assert skipped[0]["source"] == "news"
    assert skipped[0]["url"] == listing
    assert skipped[0]["level"] == "info"
    assert skipped[0]["time"].endswith("+00:00")


def test_text_lines_show_context_and_levels_follow_verbosity(restore_logging) -> None:
    stream = io.StringIO()
    configure_logging(verbosity=0, stream=stream)
    log = logging.getLogger("aggregator.test")
    log.info("hidden at the default level")
    log.warning("fetch failed", extra={"source": "news", "url": "https://x.example/"})
    assert stream.getvalue() == (
        "WARNING aggregator.test: fetch failed [source=news url=https://x.example/]\n"
    )


def test_configuring_twice_does_not_duplicate_lines(restore_logging) -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    configure_logging(stream=stream)
    logging.getLogger("aggregator.test").error("once")
    assert stream.getvalue().count("once") == 1
