"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1).

Attribution goes in the body's last paragraph, like the other formats, and as data in the
``_mutualaid`` extension object (the spec reserves names starting with ``_`` for extensions).
"""

from __future__ import annotations

import json
from typing import Any

from aggregator.publish.entries import Entry, Sighted
from aggregator.publish.feed import Feed, rfc3339

VERSION = "https://jsonfeed.org/version/1.1"


def render_jsonfeed(feed: Feed) -> bytes:
    """The feed as a JSON Feed document (UTF-8)."""
    document: dict[str, Any] = {"version": VERSION, "title": feed.title}
    if feed.base_url:
        # The spec wants full URLs here; without a base URL they are left out.
        document["home_page_url"] = feed.home_url
        document["feed_url"] = feed.self_url
    document["description"] = feed.description
    document["authors"] = [{"name": feed.title}]
    document["items"] = [_item(entry) for entry in feed.entries]
    # On one line: with an indent, the json module encodes in Python, ten times slower.
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def _item(entry: Entry) -> dict[str, Any]:
    item: dict[str, Any] = {"id": entry.id}
    if entry.url:
        item["url"] = entry.url
    item["title"] = entry.title
    item["content_html"] = entry.content_html
    if entry.summary:
        item["summary"] = entry.summary
    item["date_published"] = rfc3339(entry.published)
    item["date_modified"] = rfc3339(entry.updated)
    if entry.author:
        item["authors"] = [{"name": entry.author}]
    if entry.tags:
        item["tags"] = list(entry.tags)
    if entry.language:
        item["language"] = entry.language
    item["_mutualaid"] = {
        "original": _sighted(entry.original),
        "also_seen": [_sighted(sighted) for sighted in entry.also_seen],
    }
    return item


def _sighted(sighted: Sighted) -> dict[str, str]:
    return {"source": sighted.source.name, "title": sighted.source.title, "url": sighted.url}
