"""A small misbehaving feed server on 127.0.0.1, scripted per test.

``ScriptedServer.route(path, *responses)`` answers the given responses in turn, repeating the
last one; anything unrouted is a 404. Conditional GET, gzip and the request log come from the
test sites' ``SiteServer``. Builders make the usual bodies: a small RSS feed, an HTML page.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Self
from xml.sax.saxutils import escape

from tests.sites.server import HTML, RSS, XML, Request, Response, SiteServer, redirect

ARTICLE_WORDS = (
    "Neighbours organised a community kitchen and a tool library, sharing what they had "
    "without waiting for permission. Mutual aid, as Kropotkin argued, is a factor of "
    "evolution as much as competition is, and these groups show it every week. "
)


class ScriptedServer:
    """Serve scripted responses per path; ``requests`` is the log, ``url(path)`` an address."""

    def __init__(self) -> None:
        self._routes: dict[str, list[Response]] = {}
        self._lock = threading.Lock()
        self._server = SiteServer(self._respond)
        self.base_url = self._server.base_url
        self._server.start()

    def route(self, path: str, *responses: Response) -> str:
        """Answer ``path`` (with its query, if any) with ``responses`` in turn; return its URL."""
        with self._lock:
            self._routes[path] = list(responses)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    @property
    def requests(self) -> list[Request]:
        return self._server.requests

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    def clear_log(self) -> None:
        self._server.clear_log()

    def _respond(self, request: Request) -> Response:
        with self._lock:
            script = self._routes.get(request.path) or self._routes.get(request.path.split("?")[0])
            if not script:
                return Response(404, b"<html><title>Not Found</title></html>", HTML)
            return script.pop(0) if len(script) > 1 else script[0]

    def close(self) -> None:
        self._server.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def rss_feed(
    items: Iterable[tuple[str, str]],
    *,
    base: str = "http://127.0.0.1",
    full: bool = True,
    ttl: int | None = None,
) -> bytes:
    """An RSS 2.0 feed of (slug, title) items linking to ``{base}/posts/{slug}/``.

    ``full`` adds a ``content:encoded`` article body to each item; else only a summary.
    """
    entries = []
    for slug, title in items:
        body = f"<p>{escape(title)}.</p>" + f"<p>{ARTICLE_WORDS}</p>" * 3
        content = f"<content:encoded><![CDATA[{body}]]></content:encoded>" if full else ""
        entries.append(
            f"<item><title>{escape(title)}</title><link>{base}/posts/{slug}/</link>"
            f"<guid isPermaLink='false'>{base}/?p={slug}</guid>"
            f"<pubDate>Mon, 02 Nov 2026 10:00:00 +0000</pubDate>"
            f"<description>A summary of {escape(title)} […]</description>{content}</item>"
        )
    ttl_element = f"<ttl>{ttl}</ttl>" if ttl is not None else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>Scripted</title><link>{base}/</link>"
        f"<description>test</description>{ttl_element}{''.join(entries)}</channel></rss>"
    ).encode()


def feed_response(body: bytes, etag: str | None = None, **headers: str) -> Response:
    modified = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    return Response(
        body=body,
        content_type=RSS,
        etag=etag,
        last_modified=modified if etag else None,
        headers={key.replace("_", "-"): value for key, value in headers.items()},
    )


def article_page(title: str) -> Response:
    body = (
        f"<!DOCTYPE html><html><head><title>{escape(title)}</title></head><body><article>"
        f"<h1>{escape(title)}</h1>" + f"<p>{ARTICLE_WORDS}</p>" * 4 + "</article></body></html>"
    )
    return Response(body=body.encode(), content_type=HTML)


def xml_response(body: bytes, etag: str | None = None) -> Response:
    """A sitemap (``tests.sites.sitemaps`` builds the bodies), with validators given an ETag."""
    modified = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    return Response(
        body=body, content_type=XML, etag=etag, last_modified=modified if etag else None
    )


def html_page(title: str, status: int = 200) -> Response:
    body = f"<!DOCTYPE html><html><head><title>{escape(title)}</title></head><body>x</body></html>"
    return Response(status=status, body=body.encode(), content_type=HTML)


__all__ = [
    "ScriptedServer",
    "article_page",
    "feed_response",
    "html_page",
    "redirect",
    "rss_feed",
    "xml_response",
]
