"""``index.html``: the latest articles for people, built as an lxml tree.

Every title, author, source name and excerpt goes in as text, so lxml escapes it; links are
http(s) only. The page loads nothing but its own stylesheet (``style.css``, next to it), so it
works under ``Content-Security-Policy: default-src 'none'; style-src 'self'``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from urllib.parse import quote

import lxml.html
from lxml.html import builder

from aggregator.publish.entries import LINK_REL, Entry, Sighted
from aggregator.publish.feed import STYLESHEET, rfc3339
from aggregator.publish.searchroutes import SEARCH_PAGE


@dataclass(frozen=True)
class FeedLink:
    """A feed the page points to: its label, media type and (relative) address."""

    label: str
    media_type: str
    href: str


def stylesheet() -> bytes:
    """The page's stylesheet, shipped with the package."""
    return resources.files("aggregator.publish").joinpath(STYLESHEET).read_bytes()


@dataclass(frozen=True)
class ArchiveLinks:
    """The archive's pages the river links to, when the archive is built (``archive.py``)."""

    article: Callable[[Entry], str | None]  # an entry's own page, if it has one
    nav: Sequence[tuple[str, str]]  # (label, path) of the lists


def render_page(
    title: str,
    entries: Sequence[Entry],
    feeds: Sequence[FeedLink],
    source_feeds: Sequence[FeedLink] = (),
    heading: str | None = None,
    archive: ArchiveLinks | None = None,
    search_box: bool = False,
) -> bytes:
    """The page as UTF-8 HTML5; with ``archive``, titles lead to each article's own page (the
    original stays linked beside the date) and the header links to the lists; ``search_box``:
    with a form to the server's ``/search``."""
    head = builder.HEAD(
        builder.META(charset="utf-8"),
        builder.META(name="viewport", content="width=device-width, initial-scale=1"),
        builder.META(name="referrer", content="strict-origin-when-cross-origin"),
        builder.TITLE(heading or title),
        builder.LINK(rel="stylesheet", href=STYLESHEET),
        *(
            builder.LINK(rel="alternate", type=feed.media_type, title=feed.label, href=feed.href)
            for feed in feeds
        ),
    )
    body = builder.BODY(
        builder.HEADER(
            builder.H1(heading or title),
            _subscribe(feeds),
            *_archive_nav(archive),
            *([search_form()] if search_box else []),
        ),
        builder.MAIN(*([_article(entry, archive) for entry in entries] or [_empty()])),
        _footer(title, source_feeds),
    )
    document = builder.HTML(head, body, lang="en")
    return bytes(lxml.html.tostring(document, doctype="<!DOCTYPE html>", encoding="utf-8"))


def _subscribe(feeds: Sequence[FeedLink]) -> lxml.html.HtmlElement:
    paragraph = builder.P(builder.CLASS("subscribe"), "Subscribe: ")
    for position, feed in enumerate(feeds):
        if position:
            append_text(paragraph, " · ")
        paragraph.append(builder.A(feed.label, href=feed.href))
    return paragraph


def _archive_nav(archive: ArchiveLinks | None) -> list[lxml.html.HtmlElement]:
    if archive is None:
        return []
    paragraph = builder.P(builder.CLASS("subscribe"), "Archive: ")
    for position, (label, path) in enumerate(archive.nav):
        if position:
            append_text(paragraph, " · ")
        paragraph.append(builder.A(label, href=quote(path, safe="/")))
    return [paragraph]


def _article(entry: Entry, archive: ArchiveLinks | None = None) -> lxml.html.HtmlElement:
    title: object = entry.title
    own = archive.article(entry) if archive else None
    if own:
        title = builder.A(entry.title, href=quote(own, safe="/"))
    elif entry.url:
        title = builder.A(entry.title, href=entry.url, rel=LINK_REL)
    meta = builder.P(builder.CLASS("meta"), builder.SPAN(entry.original.source.title))
    append_text(meta, " · ")
    meta.append(builder.TIME(human_date(entry.published), datetime=rfc3339(entry.published)))
    if entry.author:
        append_text(meta, f" · by {entry.author}")
    if own and entry.url:
        append_text(meta, " · ")
        meta.append(builder.A("original", href=entry.url, rel=LINK_REL))
    parts = [builder.H2(title), meta]
    if entry.summary:
        parts.append(builder.P(builder.CLASS("excerpt"), entry.summary))
    linked = [sighted for sighted in entry.also_seen if sighted.url]
    if linked:
        parts.append(_also_seen(linked))
    article = builder.ARTICLE(*parts)
    if entry.language:
        article.set("lang", entry.language)
    return article


def _also_seen(sightings: Sequence[Sighted]) -> lxml.html.HtmlElement:
    paragraph = builder.P(builder.CLASS("seen"), "Also seen at ")
    for position, sighted in enumerate(sightings):
        if position:
            append_text(paragraph, ", ")
        paragraph.append(builder.A(sighted.source.title, href=sighted.url, rel=LINK_REL))
    return paragraph


def _footer(title: str, source_feeds: Sequence[FeedLink]) -> lxml.html.HtmlElement:
    footer = builder.FOOTER(builder.P(f"{title}, collected by mutualaid."))
    if source_feeds:
        footer.append(builder.P("Feeds by source:"))
        items = [builder.LI(builder.A(feed.label, href=feed.href)) for feed in source_feeds]
        footer.append(builder.UL(*items))
    return footer


def _empty() -> lxml.html.HtmlElement:
    return builder.P(builder.CLASS("empty"), "No articles yet.")


def append_text(parent: lxml.html.HtmlElement, text: str) -> None:
    """Add ``text`` after ``parent``'s last child (lxml keeps such text as that child's tail)."""
    if len(parent):
        parent[-1].tail = (parent[-1].tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def human_date(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def search_form(typed: str = "") -> lxml.html.HtmlElement:
    """A GET form to ``/search`` with ``typed`` in its box."""
    field = builder.INPUT(
        type="search", name="q", value=typed, maxlength="500", placeholder="Search articles"
    )
    field.set("aria-label", "Search articles")
    form = builder.FORM(field, builder.BUTTON("Search", type="submit"), action=SEARCH_PAGE)
    form.set("class", "search")
    form.set("role", "search")
    form.set("method", "get")
    return form
