"""``mutualaid serve``: the feeds and the page over HTTP, rendered from the database per request.

A small WSGI application, served by waitress within bounds (``httpd``). Routes mirror the
written files (``/feed.atom``, ``/feeds/source/NAME.atom``, ``/feeds/tag/SLUG.atom``,
``/index.html``, ``/style.css``; every feed also as ``.rss`` and ``.json``), plus ``/healthz``,
and the archive's pages when it is on (``archive.py``; the same bytes as the built files).
Query parameters ``limit``, ``source`` and ``tag`` narrow any feed or the page; ``/search`` and
``/search.atom`` answer searches (``searchserve``). Every failure is
a short text answer; tracebacks go to the log only.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from aggregator.config import Config, ServeConfig
from aggregator.publish.archive_pages import OPML
from aggregator.publish.build import Site, make_feed, render_feed, render_index
from aggregator.publish.caching import (
    Representation,
    Response,
    conditional_response,
    plain_response,
)
from aggregator.publish.entries import newest
from aggregator.publish.feed import FORMATS
from aggregator.publish.httpd import AppServer, stop_on_signals
from aggregator.publish.page import stylesheet
from aggregator.publish.routes import (
    BadRequestError,
    Query,
    Route,
    match_route,
    merge_selection,
    parse_query,
)
from aggregator.publish.searchroutes import match_search
from aggregator.publish.searchserve import SearchResponder
from aggregator.publish.select import select_entries, source_named, sources_with_published
from aggregator.storage import Database

log = logging.getLogger(__name__)

OPML_TYPE = "text/x-opml"
# The most entries one request may ask for; larger limits are clamped to it.
MAX_LIMIT = 500
_REASONS = {
    200: "OK",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_Value = TypeVar("_Value")


class Kept(Generic[_Value]):
    """A value read again once it is older than ``seconds``, by one thread at a time.

    The archive's listings need every published id; ``serve`` reads them at most once per
    ``serve.max_age`` (what clients and proxies may cache a page for anyway), so a request
    costs its own page, not the archive. ``seconds`` 0 reads every time.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._kept: tuple[float, _Value] | None = None

    def get(self, read: Callable[[], _Value]) -> _Value:
        with self._lock:
            now = self.clock()
            if self._kept is None or now - self._kept[0] >= self.seconds:
                self._kept = (now, read())
            return self._kept[1]


class NotFoundError(Exception):
    """The request names something that does not exist (404)."""


class PublishApp:
    """The WSGI application: one database, the config's output settings."""

    def __init__(self, database: Database, config: Config) -> None:
        self.database = database
        self.site = Site.from_config(config)
        self.max_age = int(config.serve.max_age.total_seconds())
        self.max_limit = max(MAX_LIMIT, self.site.items)
        self.archive_index: Kept[Any] = Kept(self.max_age)
        self.searcher = SearchResponder(database, self.site, self._cache_control())

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            response = self.respond(method, _path(environ), environ)
        except Exception:
            log.exception("error serving %s", environ.get("PATH_INFO"))
            response = plain_response(500, "internal error")
        status = f"{response.status} {_REASONS.get(response.status, '')}".strip()
        start_response(status, response.headers)
        return [b""] if method == "HEAD" else [response.body]

    def respond(self, method: str, path: str, environ: dict[str, Any]) -> Response:
        if method not in ("GET", "HEAD"):
            response = plain_response(405, "only GET and HEAD")
            response.headers.append(("Allow", "GET, HEAD"))
            return response
        if (search := match_search(path)) is not None:
            return self.searcher.respond(search, environ)
        route = match_route(path)
        if route is None and self.site.archive:
            return self._archive(path, environ)
        if route is None:
            return plain_response(404, "not found", cache_control=self._cache_control())
        if route.kind == "health":
            return self._health()
        try:
            query = parse_query(environ.get("QUERY_STRING", ""), self.site.items, self.max_limit)
            representation = self._represent(route, path, query)
        except BadRequestError as exc:
            return plain_response(400, str(exc))
        except NotFoundError as exc:
            return plain_response(404, str(exc), cache_control=self._cache_control())
        return conditional_response(
            representation,
            if_none_match=environ.get("HTTP_IF_NONE_MATCH"),
            if_modified_since=environ.get("HTTP_IF_MODIFIED_SINCE"),
            accept_encoding=environ.get("HTTP_ACCEPT_ENCODING"),
        )

    def _archive(self, path: str, environ: dict[str, Any]) -> Response:
        """An archive page, as ``feed build`` writes it (``archive_outputs``); no query is read."""
        from aggregator.publish.archive_index import read_archive
        from aggregator.publish.archive_outputs import render_archive_file
        from aggregator.publish.archive_routes import archive_path

        try:
            name = archive_path(path)
        except BadRequestError as exc:
            return plain_response(400, str(exc))
        body = None
        if name is not None:
            with self.database.session() as session:

                def index() -> Any:
                    return read_archive(session, self.site, with_marks=False)

                body = render_archive_file(
                    session, self.site, name, lambda: self.archive_index.get(index)
                )
        if body is None:
            return plain_response(404, "not found", cache_control=self._cache_control())
        kind = OPML_TYPE if name == OPML else "text/html"
        representation = Representation(body, f"{kind}; charset=utf-8", self._cache_control())
        return conditional_response(
            representation,
            if_none_match=environ.get("HTTP_IF_NONE_MATCH"),
            if_modified_since=environ.get("HTTP_IF_MODIFIED_SINCE"),
            accept_encoding=environ.get("HTTP_ACCEPT_ENCODING"),
        )

    def _represent(self, route: Route, path: str, query: Query) -> Representation:
        if route.kind == "stylesheet":
            return Representation(stylesheet(), "text/css; charset=utf-8", self._cache_control())
        selection = merge_selection(route, query)
        with self.database.session() as session:
            source = None
            if selection.source:
                source = source_named(session, selection.source)
                if source is None or source.name in self.site.policy.opted_out:
                    raise NotFoundError(f"no source named {selection.source!r}")
            entries = select_entries(
                session, self.site.policy, query.limit, selection.source, selection.tag
            )
            sources = (
                sources_with_published(session, self.site.policy) if route.kind == "index" else []
            )
        if route.kind == "index":
            about = [name for name in (source.title if source else None, selection.tag) if name]
            heading = f"{self.site.title}: {', '.join(about)}" if about else None
            body = render_index(
                self.site, entries, sources, query.canonical, heading, search_box=True
            )
            content_type = "text/html; charset=utf-8"
        else:
            feed = make_feed(
                self.site, selection, route.format_name, entries, source, selection.tag
            )
            feed = dataclasses.replace(feed, path=path.lstrip("/"), query=query.canonical)
            body = render_feed(feed, route.format_name)
            content_type = f"{FORMATS[route.format_name]}; charset=utf-8"
        return Representation(
            body,
            content_type,
            self._cache_control(),
            newest(entries, "changed") if entries else None,
        )

    def _health(self) -> Response:
        if not self.database.answers():
            return _json_response(503, {"status": "error", "database": "unavailable"})
        return _json_response(200, {"status": "ok", "database": "ok"})

    def _cache_control(self) -> str:
        return f"public, max-age={self.max_age}"


def make_app_server(app: Wsgi, host: str, port: int, settings: ServeConfig) -> AppServer:
    """A bounded server for ``app`` on ``host:port`` (port 0: any free port); each request is
    logged in one line. ``run()`` it, ``stop()`` it from anywhere."""
    return AppServer(log_requests(app), host, port, settings)


def serve(
    database: Database,
    config: Config,
    host: str,
    port: int,
    ready: Callable[[list[str]], None] | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then let requests in flight finish (``shutdown_timeout``)
    and return; ``ready`` gets the addresses once the server listens."""
    server = make_app_server(PublishApp(database, config), host, port, config.serve)
    try:
        if ready:
            ready(server.urls())
        with stop_on_signals(server.stop):
            server.run()
    finally:
        server.close()
    log.info("server stopped")


def log_requests(app: Wsgi) -> Wsgi:
    """``app``, logging one line per request: client, method, target, status."""

    def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        statuses: list[str] = []

        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            statuses.append(status)
            return start_response(status, headers, *exc_info)

        body = app(environ, start)
        target = _printable(str(environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")))
        log.info(
            '%s "%s %s" %s',
            environ.get("REMOTE_ADDR", "-"),
            _printable(str(environ.get("REQUEST_METHOD", "-"))),
            target,
            statuses[-1].split(" ", 1)[0] if statuses else "-",
        )
        return body

    return logged


def _printable(text: str, limit: int = 300) -> str:
    """Request text fit for one log line: control characters escaped, long targets cut."""
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text[:limit])
    return shown + "…" if len(text) > limit else shown


def _path(environ: dict[str, Any]) -> str:
    """PATH_INFO as text: WSGI hands it over as bytes decoded as Latin-1."""
    raw = str(environ.get("PATH_INFO", "/"))
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return raw


def _json_response(status: int, value: dict[str, str]) -> Response:
    body = json.dumps(value).encode("utf-8")
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
    ]
    return Response(status, headers, body)
