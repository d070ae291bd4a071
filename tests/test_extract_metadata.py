"""Metadata read our way (``extract/metadata.py``) is trafilatura's, XPath by XPath, field by field.

Our XPaths spell out trafilatura's regular expressions with ``contains`` and ``starts-with``; these
tests hold them to the XPaths of the trafilatura installed, on a page built to hit every
alternative and its near misses, and on the labelled corpus. A trafilatura release that changes
its XPaths fails here, and ours are brought in line.
"""

from __future__ import annotations

import itertools

import pytest
from lxml.etree import XPath
from lxml.html import HtmlElement
from trafilatura import extract_metadata
from trafilatura.xpaths import (
    AUTHOR_DISCARD_XPATHS,
    AUTHOR_XPATHS,
    CATEGORIES_XPATHS,
    TAGS_XPATHS,
)

from aggregator.extract import parse_html
from aggregator.extract.metadata import (
    BYLINE_XPATHS,
    CATEGORY_XPATHS,
    DATE_CONFIG,
    NOT_BYLINE_XPATHS,
    TAG_XPATHS,
    read_metadata,
)
from tests.quality import load_corpus

PAIRS = {
    "byline": (BYLINE_XPATHS, AUTHOR_XPATHS),
    "not byline": (NOT_BYLINE_XPATHS, AUTHOR_DISCARD_XPATHS),
    "categories": (CATEGORY_XPATHS, CATEGORIES_XPATHS),
    "tags": (TAG_XPATHS, TAGS_XPATHS),
}
TAGS = ("a", "address", "div", "footer", "h3", "h4", "header", "li", "link", "p", "section",
        "span", "strong")  # fmt: skip
ATTRIBUTES = ("class", "id", "itemprop", "data-component", "data-testid", "rel")
# Each literal of trafilatura's patterns, with something before and after it, and near misses.
WORDS = (
    "author", "Author", "authorname", "author-name", "AuthorName", "authorName", "author-?name",
    "author name", "AuthorCard", "AuthorURL", "byline", "Byline", "byl", "BBL", "username",
    "screenname", "writer", "zuozhe", "bianji", "xiaobian", "channel-name", "submitted-by",
    "posted-by", "journalist-name", "comments", "Comments", "commentlist", "comment-list",
    "comments-list", "ProductReviews", "sidebar", "is-hidden", "quote", "embedly-instagram",
    "article-share", "article-support", "article-", "print", "category", "meta-date",
    "meta-reviewer", "Figure", "title", "date", "postinfo", "post-info", "postmeta", "post-meta",
    "meta", "entry-meta", "entry-info", "entry-utility", "postpath", "entry-categories",
    "filedunder", "entry-footer", "post-category", "postcategory", "entry-category", "cat-links",
    "entry-header", "row", "tags", "tag", "entry-tags", "jp-relatedposts", "topics", "tags-links",
)  # fmt: skip


def _every_variant() -> HtmlElement:
    values = [v for word in WORDS for v in (word, f"x{word}", f"{word} y", f"x-{word}-y")]
    elements = [
        f'<{tag} {attribute}="{value}"><a href="/category/c{n}/">Cat {n}</a> '
        f'<a href="/tag/t{n}/">Tag {n}</a> By Jane Doe</{tag}>'
        for n, (tag, attribute, value) in enumerate(itertools.product(TAGS, ATTRIBUTES, values))
    ]
    extra = "<author>Jo Roe</author><time>today</time><figure>Photo</figure>"
    return parse_html(f"<html><body>{''.join(elements)}{extra}</body></html>")


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_our_xpaths_select_what_trafilaturas_do_on_every_variant(name: str) -> None:
    ours, theirs = PAIRS[name]
    tree = _every_variant()
    assert len(ours) == len(theirs)
    for our, their in zip(ours, theirs, strict=True):
        expected = their(tree)
        assert expected, "the page hits each expression"
        assert our(tree) == expected


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_our_xpaths_select_what_trafilaturas_do_on_the_corpus(name: str) -> None:
    ours, theirs = PAIRS[name]
    for page in load_corpus():
        tree = parse_html(page.html)
        for our, their in zip(ours, theirs, strict=True):
            assert _paths(our, tree) == _paths(their, tree), page.id


def _paths(expression: XPath, tree: HtmlElement) -> list[str]:
    return [tree.getroottree().getpath(element) for element in expression(tree)]


FIELDS = ("title", "author", "url", "description", "date", "categories", "tags")


def test_read_metadata_is_trafilaturas_on_the_corpus() -> None:
    for page in load_corpus():
        tree = parse_html(page.html)
        ours = read_metadata(tree, page.url)
        theirs = extract_metadata(tree, default_url=page.url, date_config=DATE_CONFIG)
        for name in FIELDS:
            assert getattr(ours, name) == getattr(theirs, name), (page.id, name)


def test_an_unwanted_date_is_not_read() -> None:
    page = next(page for page in load_corpus() if page.kind == "article")
    assert read_metadata(parse_html(page.html), page.url, date_wanted=False).date is None


def test_a_byline_inside_a_comment_is_no_byline() -> None:
    html = (
        "<html><body><div class='comments'><span class='author'>Al Commenter</span></div>"
        "<p class='byline'>By Bea Writer</p></body></html>"
    )
    assert read_metadata(parse_html(html), "https://example.org/a").author == "Bea Writer"


@pytest.mark.parametrize(
    "inner",
    [
        "By Bea Writer<time>3 May</time>",
        "<span>By</span><time>3 May</time>Bea Writer",
        "By <span class='sidebar'>Menu</span>Bea Writer <figure>Photo</figure>, Lisbon",
    ],
)
def test_a_byline_is_read_without_its_dates_and_figures_as_trafilatura_reads_it(inner: str) -> None:
    html = f"<html><body><h1>Title</h1><p class='byline'>{inner}</p><p>Text.</p></body></html>"
    ours = read_metadata(parse_html(html), "https://example.org/a").author
    assert ours is not None and not {"May", "Menu", "Photo"} & set(ours.split())
    assert ours == extract_metadata(parse_html(html), default_url="https://example.org/a").author
