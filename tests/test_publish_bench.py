"""The publish benchmark's two sides render the same items and fields (no timing asserted)."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import lxml.html

from aggregator.sanitize import SANITIZER_VERSION, sanitize_html
from aggregator.storage.types import decompress_text
from bench.workloads.publish import (
    BUILD_FEED,
    Inputs,
    build_with_publish,
    build_with_template,
    prepare,
    prepare_unmarked,
)
from tests.publish_data import parse_feed


def _fields(entry: Any) -> dict[str, Any]:
    """What both sides must agree on, with the id's domain (which differs) left out."""
    body = lxml.html.fragment_fromstring(entry.content[0].value, create_parent="div")
    return {
        "id": re.sub(r"^tag:[^,]+", "", entry.id),
        "title": entry.title,
        "link": entry.link,
        "published": entry.published,
        "updated": entry.updated,
        "author": entry.author,
        "tags": [tag.term for tag in entry.tags],
        "related": [(link.href, link.title) for link in entry.links if link.rel == "related"],
        "language": entry.content[0].language,
        "attribution": body[-1].text_content(),
        "links in body": [a.get("href") for a in body.iter("a")],
    }


def test_both_sides_of_the_publish_workload_render_the_same_items() -> None:
    inputs = prepare(20)
    try:
        ours = parse_feed(build_with_publish(inputs))
        floor = parse_feed(build_with_template(inputs))
    finally:
        BUILD_FEED.teardown(inputs)
    assert len(ours.entries) == len(floor.entries) == 20
    assert ours.feed.updated == floor.feed.updated
    assert [_fields(e) for e in ours.entries] == [_fields(e) for e in floor.entries]
    assert any(_fields(e)["related"] for e in ours.entries)  # some have other sightings
    assert _fields(ours.entries[0])["attribution"].startswith("Originally published at ")


def _stored(inputs: Inputs) -> list[tuple[str, int | None]]:
    try:
        with sqlite3.connect(inputs.folder / "publish.db") as connection:
            rows = connection.execute("SELECT html, sanitized_with FROM articles").fetchall()
    finally:
        BUILD_FEED.teardown(inputs)
    return [(decompress_text(body), marker) for body, marker in rows]  # compressed on SQLite


def test_stored_rows_are_what_ingest_stores() -> None:
    """Sanitised and marked with the sanitiser's version, so published as stored."""
    rows = _stored(prepare(1))
    assert rows
    assert all(sanitize_html(body) == body for body, _ in rows)
    assert {marker for _, marker in rows} == {SANITIZER_VERSION}


def test_the_unmarked_variant_stores_rows_publishing_sanitises_again() -> None:
    rows = _stored(prepare_unmarked(1))
    assert rows
    assert {marker for _, marker in rows} == {None}


def test_both_variants_publish_the_same_feed() -> None:
    feeds = []
    for make in (prepare, prepare_unmarked):
        inputs = make(5)
        try:
            feeds.append(build_with_publish(inputs))
        finally:
            BUILD_FEED.teardown(inputs)
    assert feeds[0] == feeds[1]
    assert len(parse_feed(feeds[0]).entries) == 5
