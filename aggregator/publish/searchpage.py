"""The search page and the search box, built as lxml trees like ``page``.

Everything shown goes in as text, so lxml escapes it; a snippet's matches become ``<mark>``
elements from its marks (``search.marks``), never from markup stored anywhere. Served only:
the box points at ``/search``, which a static build does not have.
"""

from __future__ import annotations

from collections.abc import Sequence

import lxml.html
from lxml.html import builder

from aggregator.publish.entries import LINK_REL
from aggregator.publish.feed import FORMATS, INDEX, STYLESHEET, rfc3339
from aggregator.publish.page import append_text, human_date, search_form
from aggregator.publish.searchroutes import SEARCH_FEED, SearchRequest
from aggregator.search.marks import marked_parts
from aggregator.search.results import Result


def render_search_page(
    site_title: str,
    typed: str,
    results: Sequence[Result] = (),
    request: SearchRequest | None = None,
    more: bool = False,
    error: str | None = None,
) -> bytes:
    """The page for a search: its results (page ``request.page``; ``more``: a next page
    exists), or the reason it could not be run."""
    heading = f"Search: {typed}" if typed.strip() else "Search"
    head = builder.HEAD(
        builder.META(charset="utf-8"),
        builder.META(name="viewport", content="width=device-width, initial-scale=1"),
        builder.META(name="referrer", content="strict-origin-when-cross-origin"),
        builder.META(name="robots", content="noindex"),
        builder.TITLE(f"{heading} · {site_title}"),
        builder.LINK(rel="stylesheet", href=STYLESHEET),
    )
    top = builder.HEADER(builder.P(builder.A(site_title, href=INDEX)), builder.H1(heading))
    top.append(search_form(typed))
    main = builder.MAIN()
    if error is not None:
        main.append(builder.P(builder.CLASS("error"), f"This search cannot be run: {error}."))
    elif request is not None:
        feed = request.link(path=SEARCH_FEED)
        head.append(builder.LINK(rel="alternate", type=FORMATS["atom"], title=heading, href=feed))
        top.append(
            builder.P(builder.CLASS("subscribe"), "Subscribe to this search: ", _link("Atom", feed))
        )
        main.extend([_result(result) for result in results] or [_none(request.page)])
        if request.page > 1 or more:
            main.append(_pages(request, more))
    body = builder.BODY(
        top, main, builder.FOOTER(builder.P(f"{site_title}, collected by mutualaid."))
    )
    document = builder.HTML(head, body, lang="en")
    return bytes(lxml.html.tostring(document, doctype="<!DOCTYPE html>", encoding="utf-8"))


def _result(result: Result) -> lxml.html.HtmlElement:
    entry = result.entry
    title: object = (
        builder.A(entry.title, href=entry.url, rel=LINK_REL) if entry.url else entry.title
    )
    meta = builder.P(builder.CLASS("meta"), builder.SPAN(entry.original.source.title), " · ")
    meta.append(builder.TIME(human_date(entry.published), datetime=rfc3339(entry.published)))
    parts = [builder.H2(title), meta]
    # Text from anywhere in the article only where its source's terms let it out in full; an
    # excerpt shows its own first words, an entry published as a link no text.
    if result.snippet and entry.republished == "full":
        parts.append(_snippet(result.snippet))
    elif entry.summary:
        parts.append(builder.P(builder.CLASS("excerpt"), entry.summary))
    article = builder.ARTICLE(*parts)
    if entry.language:
        article.set("lang", entry.language)
    return article


def _snippet(snippet: str) -> lxml.html.HtmlElement:
    """The snippet as text and ``<mark>`` elements: each part is set as text, so escaped."""
    paragraph = builder.P(builder.CLASS("excerpt"))
    for text, match in marked_parts(snippet):
        if match:
            paragraph.append(builder.MARK(text))
        else:
            append_text(paragraph, text)
    return paragraph


def _none(page: int) -> lxml.html.HtmlElement:
    text = "No published article matches." if page == 1 else "No more results."
    return builder.P(builder.CLASS("empty"), text)


def _pages(request: SearchRequest, more: bool) -> lxml.html.HtmlElement:
    nav = builder.NAV(builder.CLASS("pages"))
    nav.set("aria-label", "Result pages")
    if request.page > 1:
        nav.append(_link("← Previous", request.link(request.page - 1), rel="prev"))
    nav.append(builder.SPAN(f"Page {request.page}"))
    if more:
        nav.append(_link("Next →", request.link(request.page + 1), rel="next"))
    return nav


def _link(text: str, href: str, rel: str | None = None) -> lxml.html.HtmlElement:
    link = builder.A(text, href=href)
    if rel:
        link.set("rel", rel)
    return link
