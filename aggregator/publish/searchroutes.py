"""What a search request asks for: ``/search?q=...&page=N`` (a page for people) or
``/search.atom?q=...`` (a saved search to subscribe to), validated.

Pure functions; anything a client can get wrong is a ``BadSearchError`` (a ``BadRequestError``,
400) with a one-line reason and what was typed, so the page can show it back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from aggregator.publish.entries import clean_xml_chars
from aggregator.publish.routes import MAX_QUERY_FIELDS, BadRequestError
from aggregator.search.query import MAX_QUERY_CHARS, QueryError, SearchQuery, parse_query

SEARCH_PAGE = "search"
SEARCH_FEED = "search.atom"
# Pages of results one may walk; deeper pages cost more and nobody reads them.
MAX_PAGES = 50
_PAGE = re.compile(r"[0-9]{1,4}")


class BadSearchError(BadRequestError):
    """A search request that cannot be served; ``typed`` is the query as given, shown back."""

    def __init__(self, reason: str, typed: str = "") -> None:
        super().__init__(reason)
        self.typed = typed


@dataclass(frozen=True)
class SearchRequest:
    query: SearchQuery
    typed: str  # as given, fit to show back in a search box
    page: int = 1

    def link(self, page: int | None = None, path: str = SEARCH_PAGE) -> str:
        """A link to this search (another page of it, or its feed), relative to the server."""
        fields: dict[str, str | int] = {"q": self.typed}
        if page is not None and page > 1:
            fields["page"] = page
        return f"{path}?{urlencode(fields)}"


def match_search(path: str) -> str | None:
    """``page`` or ``feed`` for the search routes, None for any other path."""
    name = path.lstrip("/")
    return {SEARCH_PAGE: "page", SEARCH_FEED: "feed"}.get(name)


def parse_search(query_string: str) -> SearchRequest:
    """Validate ``q`` (required, the query language of ``search.query``) and ``page``."""
    try:
        fields = parse_qs(query_string, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)
    except ValueError:
        raise BadSearchError("too many query parameters") from None
    for name in ("q", "page"):
        if len(fields.get(name, [])) > 1:
            raise BadSearchError(f"{name} given more than once")
    typed = shown_text(fields.get("q", [""])[0])
    if "q" not in fields:
        raise BadSearchError("nothing to search for: give q=WORDS", typed)
    page = _parse_page(fields.get("page", [None])[0], typed)
    try:
        query = parse_query(fields["q"][0])
    except QueryError as exc:
        raise BadSearchError(str(exc), typed) from None
    return SearchRequest(query, typed, page)


def shown_text(typed: str) -> str:
    """What a user typed, fit to be shown back: only characters XML allows, and not too long."""
    return clean_xml_chars(typed[: MAX_QUERY_CHARS + 1])


def _parse_page(value: str | None, typed: str) -> int:
    if value is None:
        return 1
    if not _PAGE.fullmatch(value) or not 1 <= int(value) <= MAX_PAGES:
        raise BadSearchError(f"page must be a whole number from 1 to {MAX_PAGES}", typed)
    return int(value)
