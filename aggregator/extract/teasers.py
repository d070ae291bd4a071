"""Teasers: blocks that each link to another page of the site, and how much of an extracted
body's running text they make.

A listing's text is its teasers: a heading linking to a post (or a card that is one link around
heading and excerpt), a line or two of excerpt, a date, often a "continue reading" link.
An article may carry teasers too (related posts, a "more from" rail), but its own prose lies
outside them. So the question "is this body mostly teasers?" is asked of the running text
trafilatura kept: which of its paragraphs come from a teaser block of the page, and which do not.
"""

from __future__ import annotations

import re
from collections import defaultdict
from urllib.parse import SplitResult, urljoin, urlsplit

from lxml import etree
from lxml.html import HtmlElement

MIN_HEADING_LINK_WORDS = 2
MORE_LINK_TEXT = re.compile(
    r"^\s*(continue reading|read more|read the rest|keep reading|more\s*»|lire la suite|"
    r"leer m[aá]s|seguir leyendo|weiterlesen|mehr lesen|leggi tutto|\[(?:…|\.\.\.)\])",
    re.IGNORECASE,
)
# A link that is nothing but "continue reading" (WordPress's names the post after it) ends a
# teaser; "Read more about bail funds" inside a paragraph is a link like any other.
_MORE_LINK_ALONE = re.compile(
    r"^\W*(?:continue reading\b.*|(?:read more|read the rest(?: of this (?:entry|post))?"
    r"|keep reading|lire la suite|leer m[aá]s|seguir leyendo|weiterlesen|mehr lesen|leggi tutto)"
    r"\W*|more\s*»\W*|\[(?:…|\.\.\.)\])$",
    re.IGNORECASE | re.DOTALL,
)
# A teaser block is the largest element around its heading link holding no other heading link to
# another page and at most this many words (a title, an excerpt, a byline); beyond it, the block
# would be an article with a linked title.
MAX_TEASER_BLOCK_WORDS = 250
# A paragraph of the body comes from a teaser when at least this share of its 4-word shingles is
# in the teasers' text (trafilatura may trim or join what it keeps).
FROM_TEASER = 0.5
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_NOT_CONTENT = frozenset({"nav", "aside", "footer", "header"})
_WORD = re.compile(r"\w+")
_SHINGLE = 4


def teaser_blocks(tree: HtmlElement, url: str | None) -> tuple[list[HtmlElement], int]:
    """One block per other page of the site that the page's content links to from a title or a
    "continue reading" link, and the words the blocks hold."""
    page = _resolved(url or "", "")
    host = _host(page) if page is not None else ""
    own_paths = _own_paths(tree, url or "")
    anchors: dict[str, HtmlElement] = {}
    for anchor in _teaser_links(tree):
        href = anchor.get("href") or ""
        if href.startswith("#"):
            continue  # a jump within this page (a fragment on another page's address is kept)
        target = _resolved(url or "", href)
        if target is None or _host(target) != host or _path(target) in own_paths:
            continue  # a broken link, another site's page, or this page's own title
        if any(ancestor.tag in _NOT_CONTENT for ancestor in anchor.iterancestors()):
            continue  # navigation, a sidebar, the footer: no part of the content
        anchors.setdefault(f"{_path(target)}?{target.query}", anchor)
    # Which targets each ancestor holds: a block stops below the first one holding two.
    held: dict[HtmlElement, set[str]] = defaultdict(set)
    for key, anchor in anchors.items():
        for ancestor in anchor.iterancestors():
            held[ancestor].add(key)
    blocks = []
    total = 0
    for anchor in anchors.values():
        block, words = anchor, len(anchor.text_content().split())
        for ancestor in anchor.iterancestors():
            if len(held[ancestor]) > 1:
                break
            ancestor_words = len(ancestor.text_content().split())
            if ancestor_words > MAX_TEASER_BLOCK_WORDS:
                break
            block, words = ancestor, ancestor_words
        blocks.append(block)
        total += words
    return blocks, total


def _own_paths(tree: HtmlElement, url: str) -> set[str]:
    """The paths this page goes by: the one fetched, its canonical link and ``og:url`` (an
    article's title often links to its permalink, not to the address it was fetched at)."""
    named = tree.xpath("//link[@rel='canonical']/@href|//meta[@property='og:url']/@content")
    found = (_resolved(url, str(value).strip()) for value in [url, *named])
    return {_path(parts) for parts in found if parts is not None}


def _resolved(base: str, href: str) -> SplitResult | None:
    """``href`` read against ``base``; None when either cannot be a URL."""
    try:
        parts = urlsplit(urljoin(base, href))
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError:  # "http://[bad/x", a port of letters: no page to count
        return None
    return parts


def _path(parts: SplitResult) -> str:
    return parts.path.rstrip("/")


def _teaser_links(tree: HtmlElement) -> list[HtmlElement]:
    """Links that open a teaser: a title (a link inside a heading of two words or more, or a
    link wrapping a heading, as in a card that is one link) or a "continue reading" link."""
    found: dict[HtmlElement, None] = {}
    for heading in tree.iter(*_HEADINGS):
        for anchor in heading.iter("a"):
            if len(anchor.text_content().split()) >= MIN_HEADING_LINK_WORDS:
                found[anchor] = None
        wrapper = next(heading.iterancestors("a"), None)
        if wrapper is not None:
            found[wrapper] = None
    for anchor in tree.iter("a"):
        if _MORE_LINK_ALONE.match(anchor.text_content()):
            found[anchor] = None
    return [anchor for anchor in found if anchor.get("href") is not None]


def teaser_prose(
    body: etree._Element, blocks: list[HtmlElement], is_prose: re.Pattern[str], min_words: int
) -> tuple[int, int]:
    """Words of running text in ``body`` (paragraphs of ``min_words`` or more ending as
    ``is_prose`` says) that come from ``blocks``, and words that do not."""
    seen: set[tuple[str, ...]] = set()
    for block in blocks:
        seen |= _shingles(block.text_content())
    inside = outside = 0
    for paragraph in body.iter("p"):
        text = " ".join(paragraph.itertext()).strip()
        words = len(text.split())
        if words < min_words or not is_prose.search(text):
            continue
        shingles = _shingles(text)
        if len(shingles & seen) >= FROM_TEASER * len(shingles):
            inside += words
        else:
            outside += words
    return inside, outside


def _shingles(text: str) -> set[tuple[str, ...]]:
    tokens = _WORD.findall(text.casefold())
    return {tuple(tokens[i : i + _SHINGLE]) for i in range(max(1, len(tokens) - _SHINGLE + 1))}


def _host(parts: SplitResult) -> str:
    return (parts.hostname or "").removeprefix("www.")


def leads_elsewhere(anchor: HtmlElement, url: str | None) -> bool:
    """The link goes to another site than the page at ``url`` (False when either is unknown)."""
    if not url:
        return False
    page, target = _resolved(url, ""), _resolved(url, anchor.get("href") or "")
    if page is None or target is None or not target.hostname:
        return False
    return _host(target) != _host(page)
