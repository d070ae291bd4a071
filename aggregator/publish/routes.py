"""What a request asks for: its path matched to a route, its query validated.

Pure functions; anything a client can get wrong is a ``BadRequestError`` (400) with a one-line
reason, never an exception that reaches the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode

from aggregator.publish.feed import COMBINED, FORMATS, INDEX, STYLESHEET, Selection
from aggregator.publish.names import is_slug, is_source_name, slugify_tag

HEALTH = "healthz"
MAX_QUERY_FIELDS = 10
MAX_TAG_CHARS = 200
_LIMIT = re.compile(r"[0-9]{1,9}")
_SELECTION_PATH = re.compile(r"feeds/(source|tag)/([^/]+)\.([a-z]+)")


class BadRequestError(Exception):
    """The request cannot be served as asked; the message says why."""


@dataclass(frozen=True)
class Route:
    """``kind`` is index, stylesheet, health or feed; a feed has a format and a selection."""

    kind: str
    format_name: str = ""
    selection: Selection = field(default_factory=Selection)


@dataclass(frozen=True)
class Query:
    limit: int
    source: str | None = None
    tag: str | None = None
    # The validated query, re-encoded: what self links carry.
    canonical: str = ""


def match_route(path: str) -> Route | None:
    """The route for a URL path, or None (404)."""
    name = path.lstrip("/")
    if name in ("", INDEX):
        return Route("index")
    if name == STYLESHEET:
        return Route("stylesheet")
    if name == HEALTH:
        return Route("health")
    stem, _, suffix = name.partition(".")
    if stem == COMBINED and suffix in FORMATS:
        return Route("feed", suffix)
    matched = _SELECTION_PATH.fullmatch(name)
    if not matched or matched[3] not in FORMATS:
        return None
    kind, key, format_name = matched.groups()
    if kind == "source" and is_source_name(key):
        return Route("feed", format_name, Selection(source=key))
    if kind == "tag" and is_slug(key):
        return Route("feed", format_name, Selection(tag=key))
    return None


def parse_query(query_string: str, default_limit: int, max_limit: int) -> Query:
    """Validate ``limit``, ``source`` and ``tag``; a limit above ``max_limit`` is clamped.

    Other parameters (cache busters some readers add) are ignored.
    """
    try:
        fields = parse_qs(query_string, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)
    except ValueError:
        raise BadRequestError("too many query parameters") from None
    for name in ("limit", "source", "tag"):
        if len(fields.get(name, [])) > 1:
            raise BadRequestError(f"{name} given more than once")
    limit = _parse_limit(fields.get("limit", [None])[0], default_limit, max_limit)
    source = _parse_source(fields.get("source", [None])[0])
    tag = _parse_tag(fields.get("tag", [None])[0])
    given = {"limit": limit if "limit" in fields else None, "source": source, "tag": tag}
    canonical = urlencode({name: value for name, value in given.items() if value is not None})
    return Query(limit, source, tag, canonical)


def merge_selection(route: Route, query: Query) -> Selection:
    """The route's selection narrowed by the query; naming one thing twice is an error."""
    selection = route.selection
    if query.source and selection.source:
        raise BadRequestError("the path already names a source")
    if query.tag and selection.tag:
        raise BadRequestError("the path already names a tag")
    return Selection(source=selection.source or query.source, tag=selection.tag or query.tag)


def _parse_limit(value: str | None, default: int, maximum: int) -> int:
    if value is None:
        return min(default, maximum)
    if not _LIMIT.fullmatch(value) or int(value) < 1:
        raise BadRequestError("limit must be a whole number from 1")
    return min(int(value), maximum)


def _parse_source(value: str | None) -> str | None:
    if value is None:
        return None
    if not is_source_name(value):
        raise BadRequestError("source must be a source name (lowercase letters, digits, - and _)")
    return value


def _parse_tag(value: str | None) -> str | None:
    if value is None:
        return None
    slug = slugify_tag(value) if len(value) <= MAX_TAG_CHARS else ""
    if not slug:
        raise BadRequestError(f"tag must be a tag of at most {MAX_TAG_CHARS} characters")
    return slug
