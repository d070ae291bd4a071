"""The archive's pages for people: an article, a page of a listing, the lists, and the OPML file.

Built as lxml trees like ``page.py``: every title, name and tag goes in as text (lxml escapes
it), bodies only as ``Entry.content_html`` (sanitised), external links http(s) only. Every link
inside the site is relative to the page's own path, so the written folder works from any
address; paths are percent-encoded (tag slugs may be in any script).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

import lxml.html
from lxml import etree
from lxml.html import builder

from aggregator.publish.entries import LINK_REL, Entry
from aggregator.publish.feed import INDEX, STYLESHEET, rfc3339
from aggregator.publish.page import append_text, human_date

SOURCES_INDEX = "sources/index.html"
TAGS_INDEX = "tags/index.html"
MONTHS_INDEX = "archive/index.html"
OPML = "sources.opml"


@dataclass(frozen=True)
class Nav:
    """Where the page being rendered lives, to link to the rest of the site from there."""

    path: str

    def href(self, target: str) -> str:
        return relative_href(target, posixpath.dirname(self.path))


@lru_cache(maxsize=4096)
def relative_href(target: str, folder: str) -> str:
    """``target`` (a path under the site's root) as a link from a page in ``folder``,
    percent-encoded. Both are plain relative paths, so this is ``posixpath.relpath`` without
    its trips to the file system (it asks for the working folder each time)."""
    here = folder.split("/") if folder else []
    there = target.split("/")
    shared = 0
    while shared < min(len(here), len(there) - 1) and here[shared] == there[shared]:
        shared += 1
    relative = "/".join([".."] * (len(here) - shared) + there[shared:])
    return quote(relative, safe="/")


@dataclass(frozen=True)
class TagLink:
    label: str
    path: str | None  # its listing, when it has one


@dataclass(frozen=True)
class ArticleLinks:
    """The site's pages an article page links to (None: no such page)."""

    source: str | None
    month: str | None
    tags: tuple[TagLink, ...]
    also_seen: tuple[str | None, ...]  # per ``entry.also_seen``, the source's listing


@dataclass(frozen=True)
class ListedEntry:
    """An entry on a listing page, with the paths of its own page and its source's."""

    entry: Entry
    page: str
    source: str | None


@dataclass(frozen=True)
class ListingView:
    heading: str
    description: str
    entries: tuple[ListedEntry, ...]
    number: int
    newest: bool  # the listing's newest page (its index)
    older: str | None
    newer: str | None
    feed: str | None  # the listing's Atom feed, when it has one


@dataclass(frozen=True)
class SourceLine:
    name: str
    title: str
    homepage: str | None
    feed_url: str | None  # the source's own feed
    our_feed: str  # our Atom feed of it
    listing: str
    count: int


@dataclass(frozen=True)
class CountLine:
    label: str
    path: str
    count: int


def render_article(site_title: str, path: str, entry: Entry, links: ArticleLinks) -> bytes:
    """An article's own page: its title, byline, date, body as published, attribution, tags."""
    nav = Nav(path)
    meta = builder.P(builder.CLASS("meta"))
    _append_source(meta, nav, entry.original.source.title, links.source)
    append_text(meta, " · ")
    stamp = builder.TIME(human_date(entry.published), datetime=rfc3339(entry.published))
    meta.append(builder.A(stamp, href=nav.href(links.month)) if links.month else stamp)
    if entry.author:
        append_text(meta, f" · by {entry.author}")
    # The entry's own attribution gives way to the page's, which also links the listings.
    body = lxml.html.fragment_fromstring(entry.body_html or "<p></p>", create_parent="div")
    body.set("class", "body")
    parts = [builder.H1(entry.title), meta, body, _attribution(nav, entry, links)]
    if links.tags:
        parts.append(_tags(nav, links.tags))
    article = builder.ARTICLE(builder.CLASS("full"), *parts)
    if entry.language:
        article.set("lang", entry.language)
    return _document(site_title, entry.title, nav, builder.DIV(article))


def render_listing(site_title: str, path: str, view: ListingView) -> bytes:
    """One page of a source's, a tag's or a month's articles, newest first."""
    nav = Nav(path)
    intro = builder.P(builder.CLASS("meta"), view.description)
    if view.number > 1 or not view.newest:
        append_text(intro, " Newest page." if view.newest else f" Page {view.number}.")
    if view.feed:
        append_text(intro, " ")
        intro.append(builder.A("Atom feed", href=nav.href(view.feed)))
    items = [_listed(nav, listed) for listed in view.entries]
    main = builder.DIV(
        builder.H1(view.heading),
        intro,
        *(items or [builder.P(builder.CLASS("empty"), "No articles.")]),
        _pager(nav, view),
    )
    heading = view.heading if view.newest else f"{view.heading} (page {view.number})"
    return _document(site_title, heading, nav, main)


def render_sources(site_title: str, path: str, sources: Sequence[SourceLine]) -> bytes:
    """Every source with published articles: its homepage, its feeds, how many articles."""
    nav = Nav(path)
    rows = []
    for source in sources:
        item = builder.LI(builder.A(source.title, href=nav.href(source.listing)))
        append_text(item, f" · {source.count} article{'s' if source.count != 1 else ''}")
        links = builder.P(builder.CLASS("meta"))
        if source.homepage:
            links.append(builder.A("homepage", href=source.homepage, rel=LINK_REL))
            append_text(links, " · ")
        if source.feed_url:
            links.append(builder.A("its feed", href=source.feed_url, rel=LINK_REL))
            append_text(links, " · ")
        links.append(builder.A("our feed of it", href=nav.href(source.our_feed)))
        item.append(links)
        rows.append(item)
    intro = builder.P(builder.CLASS("meta"), "All sources as ")
    intro.append(builder.A("OPML", href=nav.href(OPML)))
    append_text(intro, ".")
    main = builder.DIV(
        builder.H1("Sources"),
        intro,
        builder.UL(builder.CLASS("lines"), *rows) if rows else _empty("No sources yet."),
    )
    return _document(site_title, "Sources", nav, main)


def render_counts(site_title: str, path: str, heading: str, lines: Sequence[CountLine]) -> bytes:
    """A list of listings (the tags, the months) with their article counts."""
    nav = Nav(path)
    rows = []
    for line in lines:
        item = builder.LI(builder.A(line.label, href=nav.href(line.path)))
        append_text(item, f" · {line.count}")
        rows.append(item)
    main = builder.DIV(
        builder.H1(heading),
        builder.UL(builder.CLASS("lines"), *rows) if rows else _empty("Nothing yet."),
    )
    return _document(site_title, heading, nav, main)


def render_opml(site_title: str, sources: Sequence[SourceLine], base_url: str | None) -> bytes:
    """OPML 2.0: one outline per source: its own feed, else ours of it (absolute under
    ``base_url`` when one is set, else relative to the OPML file)."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"{site_title}: sources"
    body = etree.SubElement(root, "body")
    for source in sources:
        outline = etree.SubElement(
            body, "outline", type="rss", text=source.title, title=source.title
        )
        outline.set("xmlUrl", source.feed_url or (base_url or "") + source.our_feed)
        if source.homepage:
            outline.set("htmlUrl", source.homepage)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _document(site_title: str, heading: str, nav: Nav, main: lxml.html.HtmlElement) -> bytes:
    head = builder.HEAD(
        builder.META(charset="utf-8"),
        builder.META(name="viewport", content="width=device-width, initial-scale=1"),
        builder.META(name="referrer", content="strict-origin-when-cross-origin"),
        builder.TITLE(f"{heading} · {site_title}"),
        builder.LINK(rel="stylesheet", href=nav.href(STYLESHEET)),
    )
    site_nav = builder.NAV(builder.CLASS("site"), builder.A(site_title, href=nav.href(INDEX)))
    for label, target in (
        ("Sources", SOURCES_INDEX),
        ("Tags", TAGS_INDEX),
        ("Months", MONTHS_INDEX),
    ):
        append_text(site_nav, " · ")
        site_nav.append(builder.A(label, href=nav.href(target)))
    main.tag = "main"
    body = builder.BODY(
        builder.HEADER(site_nav),
        main,
        builder.FOOTER(builder.P(f"{site_title}, collected by mutualaid.")),
    )
    document = builder.HTML(head, body, lang="en")
    return bytes(lxml.html.tostring(document, doctype="<!DOCTYPE html>", encoding="utf-8"))


def _append_source(parent: lxml.html.HtmlElement, nav: Nav, title: str, path: str | None) -> None:
    parent.append(builder.A(title, href=nav.href(path)) if path else builder.SPAN(title))


def _attribution(nav: Nav, entry: Entry, links: ArticleLinks) -> lxml.html.HtmlElement:
    section = builder.ASIDE(builder.CLASS("attribution"))
    original = builder.P("Originally published at ")
    _append_source(original, nav, entry.original.source.title, links.source)
    if entry.original.url:
        append_text(original, ": ")
        original.append(builder.A(entry.original.url, href=entry.original.url, rel=LINK_REL))
    append_text(original, ".")
    section.append(original)
    if entry.also_seen:
        items = []
        for sighted, listing in zip(entry.also_seen, links.also_seen, strict=True):
            item = builder.LI()
            _append_source(item, nav, sighted.source.title, listing)
            if sighted.url:
                append_text(item, ": ")
                item.append(builder.A(sighted.url, href=sighted.url, rel=LINK_REL))
            items.append(item)
        section.extend([builder.P("Also seen at:"), builder.UL(builder.CLASS("seen"), *items)])
    return section


def _tags(nav: Nav, tags: Sequence[TagLink]) -> lxml.html.HtmlElement:
    paragraph = builder.P(builder.CLASS("tags"), "Tags: ")
    for position, tag in enumerate(tags):
        if position:
            append_text(paragraph, ", ")
        if tag.path:
            paragraph.append(builder.A(tag.label, href=nav.href(tag.path), rel="tag"))
        else:
            append_text(paragraph, tag.label)
    return paragraph


def _listed(nav: Nav, listed: ListedEntry) -> lxml.html.HtmlElement:
    entry = listed.entry
    meta = builder.P(builder.CLASS("meta"))
    _append_source(meta, nav, entry.original.source.title, listed.source)
    append_text(meta, " · ")
    meta.append(builder.TIME(human_date(entry.published), datetime=rfc3339(entry.published)))
    if entry.author:
        append_text(meta, f" · by {entry.author}")
    if entry.url:
        append_text(meta, " · ")
        meta.append(builder.A("original", href=entry.url, rel=LINK_REL))
    parts = [builder.H2(builder.A(entry.title, href=nav.href(listed.page))), meta]
    if entry.summary:
        parts.append(builder.P(builder.CLASS("excerpt"), entry.summary))
    article = builder.ARTICLE(*parts)
    if entry.language:
        article.set("lang", entry.language)
    return article


def _pager(nav: Nav, view: ListingView) -> lxml.html.HtmlElement:
    pager = builder.NAV(builder.CLASS("pager"))
    if view.newer:
        pager.append(builder.A("← Newer", href=nav.href(view.newer), rel="prev"))
    if view.older:
        if view.newer:
            append_text(pager, " · ")
        pager.append(builder.A("Older →", href=nav.href(view.older), rel="next"))
    return pager


def _empty(text: str) -> lxml.html.HtmlElement:
    return builder.P(builder.CLASS("empty"), text)
