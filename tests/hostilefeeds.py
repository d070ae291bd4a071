"""Hostile and broken feeds for the poller tests: entity bombs, external entities, lying
encodings, bad dates and GUIDs, and a server that streams a feed without end.

Builders return bytes; ``StreamingFeedServer`` serves an endless RSS body on 127.0.0.1 and
counts what it managed to send before the client hung up.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from xml.sax.saxutils import escape

from tests.feedserver import ARTICLE_WORDS

SECRET = "SECRET-MARKER-7f3a9c"  # written into a local file an external entity points at
KROPOTKIN = "Kropotkin’s Malatesta — café"
RSS_OPEN = (
    '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Hostile</title>'
)
RSS_CLOSE = "</channel></rss>"


def body_paragraphs(title: str, words: str = ARTICLE_WORDS) -> str:
    """An article body long enough to be stored, made unique by ``title``."""
    return f"<p>{escape(title)}.</p>" + "".join(
        f"<p>{number}. {escape(title)}: {words}</p>" for number in range(1, 4)
    )


def item(
    base: str,
    slug: str,
    title: str,
    *,
    guid: str | None = "auto",
    date: str | None = "Mon, 02 Nov 2026 10:00:00 +0000",
    body: str | None = None,
    author: str | None = None,
    raw_title: bool = False,
    description: str | None = None,
) -> str:
    """One RSS item linking to ``{base}/posts/{slug}/``; ``body`` is raw markup for CDATA.

    ``guid="auto"`` gives a stable GUID from the slug, None leaves it out. ``raw_title`` puts
    ``title`` in unescaped, and ``description`` is raw XML (both for entity references).
    """
    parts = [f"<title>{title if raw_title else escape(title)}</title>"]
    parts.append(f"<link>{base}/posts/{slug}/</link>")
    if guid is not None:
        value = f"{base}/?p={slug}" if guid == "auto" else guid
        parts.append(f"<guid isPermaLink='false'>{escape(value)}</guid>")
    if date is not None:
        parts.append(f"<pubDate>{escape(date)}</pubDate>")
    if author is not None:
        parts.append(f"<dc:creator>{escape(author)}</dc:creator>")
    if description is not None:
        parts.append(f"<description>{description}</description>")
    content = body if body is not None else body_paragraphs(title)
    parts.append(f"<content:encoded><![CDATA[{content}]]></content:encoded>")
    return f"<item>{''.join(parts)}</item>"


def rss(
    items: Iterable[str], *, declaration: str = '<?xml version="1.0"?>', doctype: str = ""
) -> str:
    return f"{declaration}\n{doctype}\n{RSS_OPEN}{''.join(items)}{RSS_CLOSE}"


def billion_laughs(base: str) -> bytes:
    """Ten levels of ten references each: a few hundred bytes that expand to 10**9 "lol"s."""
    levels = "".join(
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">\n' for level in range(1, 10)
    )
    doctype = f'<!DOCTYPE rss [\n<!ENTITY lol0 "lol">\n{levels}]>'
    items = [
        item(base, "calm", "A calm post"),
        item(base, "bomb", "Laughing &lol9;", raw_title=True, body="<p>&lol9;</p>"),
    ]
    return rss(items, doctype=doctype).encode()


def quadratic_blowup(base: str, size: int = 100_000, references: int = 2_000) -> bytes:
    """One plain entity of ``size`` bytes used ``references`` times (no nesting): 200 MB."""
    doctype = f'<!DOCTYPE rss [\n<!ENTITY big "{"x" * size}">\n]>'
    refs = "&big;" * references
    items = [
        item(base, "calm", "A calm post"),
        f"<item><title>Blowup</title><link>{base}/posts/blowup/</link>"
        f"<description>{refs}</description></item>",
    ]
    return rss(items, doctype=doctype).encode()


def external_entities(base: str, secret_file: str, canary: str, style: str) -> bytes:
    """A feed whose entities point at a local file and at ``canary`` (a URL that logs hits).

    ``style``: ``general`` (entities used in a title and a body), ``parameter`` (a parameter
    entity pulling in a remote DTD), ``doctype`` (an external DTD subset), ``oneline`` (the
    declarations on the DOCTYPE's line, where feedparser's own clean-up does not see them).
    """
    used = "&file; &net;"
    if style == "general":
        doctype = (
            f'<!DOCTYPE rss [\n<!ENTITY file SYSTEM "file://{secret_file}">\n'
            f'<!ENTITY net SYSTEM "{canary}/entity">\n]>'
        )
    elif style == "oneline":
        doctype = (
            f'<!DOCTYPE rss [<!ENTITY file SYSTEM "file://{secret_file}">'
            f'<!ENTITY net SYSTEM "{canary}/entity"><!ENTITY x "<b>x</b>">]>'
        )
    elif style == "parameter":
        doctype = f'<!DOCTYPE rss [\n<!ENTITY % remote SYSTEM "{canary}/dtd">\n%remote;\n]>'
        used = "&file;"
    elif style == "doctype":
        doctype = f'<!DOCTYPE rss SYSTEM "{canary}/doctype.dtd">'
        used = "&file;"
    else:
        raise ValueError(style)
    items = [
        item(base, "calm", "A calm post"),
        item(base, "xxe", f"Leaked {used}", raw_title=True, description=used),
    ]
    return rss(items, doctype=doctype).encode()


def many_items(base: str, count: int, full: int) -> bytes:
    """``count`` items, newest first; the first ``full`` carry their article, the rest only a
    title and link (their pages are not served, so reading them would show as failures)."""
    items = [item(base, f"p{n}", f"Post {n}") for n in range(full)]
    items += [
        f"<item><title>Post {n}</title><link>{base}/posts/p{n}/</link>"
        f"<guid isPermaLink='false'>{base}/?p=p{n}</guid></item>"
        for n in range(full, count)
    ]
    return rss(items).encode()


class StreamingFeedServer:
    """Serves an RSS feed that never ends (close-delimited, no Content-Length) on 127.0.0.1.

    ``sent`` is how many bytes went out before the client closed the connection, at most
    ``limit``.
    """

    def __init__(self, limit: int = 64 * 1024 * 1024, chunk: int = 64 * 1024) -> None:
        self.limit = limit
        self.sent = 0
        self.done = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=UTF-8")
                self.end_headers()
                try:
                    for piece in owner._pieces(chunk):
                        self.wfile.write(piece)
                        owner.sent += len(piece)
                except OSError:
                    pass  # the client hung up, as it should
                finally:
                    owner.done.set()

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/feed/"

    def _pieces(self, chunk: int) -> Iterator[bytes]:
        head = ('<?xml version="1.0" encoding="UTF-8"?>' + RSS_OPEN).encode()
        yield head
        total = len(head)
        entry = item("http://127.0.0.1", "endless", "Endless").encode()
        block = entry * max(1, chunk // len(entry))
        while total + len(block) <= self.limit:
            yield block
            total += len(block)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --- work bounded by what is read (tests/hostile/test_bounds.py) --------------------------------


def long_feed(base: str, count: int, full: int) -> bytes:
    """Like ``many_items``, with items as short as they come (a title and a link): 100,000 of
    them make a 7.5 MB feed, within the fetch size cap."""
    items = [item(base, f"p{n}", f"Post {n}") for n in range(full)]
    items += [
        f"<item><title>P{n}</title><link>{base}/p/{n}/</link></item>" for n in range(full, count)
    ]
    return rss(items).encode()


def crowded_paragraph(attributes: int, title: str) -> str:
    """A ``<p>`` with ``attributes`` attributes, then an article body long enough to store."""
    names = " ".join(f'data-a{n}="{n}"' for n in range(attributes))
    return f"<p {names}>{escape(title)}</p>{body_paragraphs(title)}"


def crowded_entry_feed(base: str, attributes: int) -> bytes:
    """Three full-content entries, the middle one with a crowded paragraph, and a summary-only
    entry whose page (``/posts/wide-page/``, served by the test) is crowded the same way."""
    items = [
        item(base, "before", "Before the wide one"),
        item(base, "wide", "The wide one", body=crowded_paragraph(attributes, "The wide one")),
        item(base, "after", "After the wide one"),
        f"<item><title>Wide page</title><link>{base}/posts/wide-page/</link>"
        f"<description>A teaser…</description></item>",
    ]
    return rss(items).encode()


def json_feed(items: list[dict[str, object]]) -> bytes:
    """A JSON Feed 1.1 document of ``items``, with the other members as they should be."""
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "Hostile", "items": items}
    return json.dumps(document).encode()


# Malformed JSON Feeds and the one-line reason each fails with.
BROKEN_JSON_FEEDS = {
    "nested-200000-deep": (b"[" * 200_000 + b"]" * 200_000, "malformed JSON: nested too deeply"),
    "nested-in-items": (
        b'{"items": [' + b"[" * 200_000 + b"]" * 200_000 + b"]}",
        "malformed JSON: nested too deeply",
    ),
    "huge-number": (
        b'{"items": [{"id": ' + b"9" * 5000 + b"}]}",
        "malformed JSON: a number of 5,000 digits",
    ),
    "invalid-utf8": (
        b'{"items": [{"title": "\xff\xfe"}]}',
        "malformed JSON: 'utf-8' codec can't decode byte 0xff in position 22: invalid start byte",
    ),
    "top-level-list": (b"[1, 2, 3]", "a JSON document, not a feed (it has no items)"),
    "items-not-a-list": (b'{"items": {"0": {}}}', "a JSON document, not a feed (it has no items)"),
    "truncated": (b'{"items": [{"id": "1"', "malformed JSON: Expecting"),
}
