"""The server's search routes: ``/search`` (a page of results) and ``/search.atom`` (the
newest matching published articles, by date, so a saved search can be subscribed to).

The feed is made of the same entries as every other feed (``select.load_entries``) and rendered
by the Atom renderer, so what a feed may republish of an article applies here too. A bad
query is a 400 with its reason: an HTML page for ``/search``, a short text for the feed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import quote

from aggregator.publish.atom import render_atom
from aggregator.publish.build import Site, make_feed
from aggregator.publish.caching import (
    Representation,
    Response,
    conditional_response,
    plain_response,
    security_headers,
)
from aggregator.publish.entries import newest
from aggregator.publish.feed import FEED_ID_DATE, FORMATS, Selection
from aggregator.publish.searchpage import render_search_page
from aggregator.publish.searchroutes import (
    SEARCH_FEED,
    BadSearchError,
    SearchRequest,
    parse_search,
)
from aggregator.search.results import SearchScope, find
from aggregator.storage import Database

# Results on one page of /search.
PAGE_SIZE = 20
HTML = "text/html; charset=utf-8"


class SearchResponder:
    """Answers the two search routes from one database, for one site's settings."""

    def __init__(self, database: Database, site: Site, cache_control: str) -> None:
        self.database = database
        self.site = site
        self.cache_control = cache_control

    def respond(self, kind: str, environ: dict[str, Any]) -> Response:
        query_string = str(environ.get("QUERY_STRING", ""))
        try:
            request = parse_search(query_string)
        except BadSearchError as exc:
            if kind == "feed":
                return plain_response(400, str(exc))
            page = render_search_page(self.site.title, exc.typed, error=str(exc))
            return _html_response(400, page)
        representation = self._feed(request) if kind == "feed" else self._page(request)
        return conditional_response(
            representation,
            if_none_match=environ.get("HTTP_IF_NONE_MATCH"),
            if_modified_since=environ.get("HTTP_IF_MODIFIED_SINCE"),
            accept_encoding=environ.get("HTTP_ACCEPT_ENCODING"),
        )

    def _page(self, request: SearchRequest) -> Representation:
        offset = (request.page - 1) * PAGE_SIZE
        with self.database.session() as session:
            found = find(session, self.site.policy, request.query, PAGE_SIZE + 1, offset)
        results, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
        body = render_search_page(self.site.title, request.typed, results, request, more)
        return Representation(body, HTML, self.cache_control)

    def _feed(self, request: SearchRequest) -> Representation:
        scope = SearchScope(order="newest")
        with self.database.session() as session:
            found = find(session, self.site.policy, request.query, self.site.items, 0, scope)
        entries = [result.entry for result in found]
        text = request.query.text()
        feed = make_feed(self.site, Selection(), "atom", entries)
        feed = replace(
            feed,
            id=f"tag:{self.site.policy.id_domain},{FEED_ID_DATE}:search?q={quote(text)}",
            title=f"{self.site.title}: search “{text}”",
            description=f"The newest articles matching “{text}”",
            path=SEARCH_FEED,
            query=request.link(path="").lstrip("?"),
        )
        last = newest(entries, "changed") if entries else None
        return Representation(
            render_atom(feed), f"{FORMATS['atom']}; charset=utf-8", self.cache_control, last
        )


def _html_response(status: int, body: bytes) -> Response:
    headers = [
        ("Content-Type", HTML),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        *security_headers(HTML),
    ]
    return Response(status, headers, body)
