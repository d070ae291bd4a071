"""Is this page one article, or a listing of several (archive, category, search, home)?

Listing pages carry excerpts of many articles, each with a "Continue reading" or "Read more" link;
extracting them would store a patchwork of teasers as if it were an essay. The signals, strongest
first: WordPress body classes, the page's own ``og:type``, how many teaser links and teaser blocks
it has.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

ARTICLE_BODY_CLASSES = frozenset({"single", "single-post", "postid", "page-template", "attachment"})
LISTING_BODY_CLASSES = frozenset(
    {"archive", "category", "tag", "search", "search-results", "blog", "home", "paged", "author",
     "date", "post-type-archive"}
)  # fmt: skip
MORE_LINK_TEXT = re.compile(
    r"^\s*(continue reading|read more|read the rest|keep reading|more\s*»|lire la suite|"
    r"leer m[aá]s|seguir leyendo|weiterlesen|mehr lesen|leggi tutto|\[(?:…|\.\.\.)\])",
    re.IGNORECASE,
)
MIN_MORE_LINKS = 2
MIN_TEASERS = 4


def listing_reason(tree: HtmlElement) -> str | None:
    """Why ``tree`` looks like a listing page, or ``None`` when it looks like one article."""
    body_classes = _body_classes(tree)
    if body_classes & ARTICLE_BODY_CLASSES or any(c.startswith("postid-") for c in body_classes):
        return None
    if _og_type(tree) == "article":
        return None
    listing_classes = body_classes & LISTING_BODY_CLASSES
    if listing_classes:
        return f"listing page (body class {sorted(listing_classes)[0]!r})"
    more_links = _count_more_links(tree)
    if more_links >= MIN_MORE_LINKS:
        return f"listing page ({more_links} 'continue reading' links)"
    teasers = _count_teasers(tree)
    if teasers >= MIN_TEASERS:
        return f"listing page ({teasers} teaser blocks)"
    return None


def _body_classes(tree: HtmlElement) -> set[str]:
    body = tree.find(".//body")
    if body is None:
        return set()
    return set((body.get("class") or "").lower().split())


def _og_type(tree: HtmlElement) -> str | None:
    for meta in tree.iterfind(".//meta[@property='og:type']"):
        return (meta.get("content") or "").strip().lower()
    return None


def _count_more_links(tree: HtmlElement) -> int:
    count = 0
    for anchor in tree.iter("a"):
        classes = anchor.get("class") or ""
        if "more-link" in classes or MORE_LINK_TEXT.match(anchor.text_content()):
            count += 1
    return count


# Links that title another article: inside a heading or marked as a title, and not part of the
# page's navigation, sidebars or footer (where "recent posts" lists live on article pages too).
_TITLE_LINKS = (
    "//a[@href and (ancestor::h1 or ancestor::h2 or ancestor::h3 or ancestor::h4 or "
    "contains(@class, 'title'))][not(ancestor::nav or ancestor::aside or ancestor::footer "
    "or ancestor::header)]"
)
MIN_TITLE_WORDS = 3


def _count_teasers(tree: HtmlElement) -> int:
    """Links titling other articles, each to a different page: the shape of an archive."""
    targets = {
        anchor.get("href")
        for anchor in tree.xpath(_TITLE_LINKS)
        if len(anchor.text_content().split()) >= MIN_TITLE_WORDS
    }
    return len(targets)
