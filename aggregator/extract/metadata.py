"""An article page's metadata, read as trafilatura's ``extract_metadata`` reads it, for less CPU.

trafilatura reads the meta tags and JSON-LD first; when they name no author, categories or tags,
it searches the page for bylines and for category and tag links, and for a byline it copies the
whole page first. On real pages that came to a fifth of our extraction's CPU, most of it in XPaths
that test each element's class and id a dozen times, some with EXSLT regular expressions
(``re:test``, answered through Python). Every one of those patterns is an alternation of literals
(``author-?name`` is ``authorname`` or ``author-name``, ``^meta`` a prefix), so here they are
written with ``contains`` and ``starts-with`` on each attribute where it is (``//@class[...]/..``,
read once), and select the same elements in about half the time (``tests/test_extract_metadata.py``
holds them to trafilatura's own); the byline is read without copying the page.

Only what an article needs is read: not the site name, nor trafilatura's licence (``licence.py``
reads ours), nor htmldate's day when the page declares a full publication timestamp.
"""

from __future__ import annotations

import logging
import re
from copy import deepcopy
from typing import TYPE_CHECKING, Any

from lxml.etree import XPath
from lxml.html import HtmlElement

if TYPE_CHECKING:
    from trafilatura.settings import Document

# htmldate finds the day; a page's own metadata usually has the minute as well.
DATE_CONFIG: dict[str, Any] = {"original_date": True, "extensive_search": False}

# trafilatura.xpaths.AUTHOR_XPATHS, in order, the regular expressions spelt out. Each attribute
# is read once where it is (``//@class[...]/..``), not once per test on every element.
BYLINE_XPATHS = [
    XPath(
        """
        (//@class[. = 'author' or contains(., 'authorname') or contains(., 'author-name') or
        contains(., 'AuthorName') or contains(., 'authorName')]/..
        | //@rel[. = 'author']/.. | //@id[. = 'author']/.. | //@itemprop[. = 'author name']/..
        | //@data-testid[. = 'AuthorCard' or . = 'AuthorURL']/.. | //rel[. = 'me']/..)
        [self::a or self::address or self::div or self::link or self::p or self::span or
        self::strong]
        | //author
        """
    ),
    XPath(
        """
        (//@class[. = 'byline' or . = 'username' or . = 'byl' or . = 'BBL' or
        contains(., 'author') or contains(., 'channel-name') or contains(., 'zuozhe') or
        contains(., 'bianji') or contains(., 'xiaobian') or contains(., 'submitted-by') or
        contains(., 'posted-by') or contains(., 'journalist-name')]/..
        | //@itemprop[contains(., 'author')]/..
        | //@id[contains(., 'author') or contains(., 'zuozhe') or contains(., 'bianji') or
        contains(., 'xiaobian')]/..)
        [self::a or self::div or self::h3 or self::h4 or self::p or self::span]
        """
    ),
    XPath(
        """
        //@data-component[contains(., 'Byline')]/..
        | //@itemprop[contains(., 'author')]/..
        | //@id[contains(., 'Author') or contains(., 'author')]/..
        | //@class[contains(., 'Author') or contains(., 'author') or contains(., 'screenname') or
        contains(., 'writer') or contains(., 'Byline') or contains(., 'byline')]/..
        """
    ),
]
# trafilatura.xpaths.AUTHOR_DISCARD_XPATHS: what is no byline (comments, dates, figures...).
NOT_BYLINE_XPATHS = [
    XPath(
        """
        (.//@id[. = 'comments' or starts-with(., 'comments') or contains(., 'commentlist') or
        contains(., 'comment-list') or contains(., 'ProductReviews')]/..
        | .//@class[. = 'comments' or . = 'title' or . = 'date' or
        starts-with(., 'Comments') or starts-with(., 'comments') or contains(., 'commentlist') or
        contains(., 'comments-list') or contains(., 'sidebar') or contains(., 'is-hidden') or
        contains(., 'quote') or contains(., 'embedly-instagram') or
        contains(., 'article-share') or contains(., 'article-support') or contains(., 'print') or
        contains(., 'category') or contains(., 'meta-date') or contains(., 'meta-reviewer')]/..
        | .//@data-component[contains(., 'Figure')]/..)
        [self::a or self::div or self::section or self::span]
        """
    ),
    XPath("//time|//figure"),
]
# trafilatura.xpaths.CATEGORIES_XPATHS
CATEGORY_XPATHS = [
    XPath(
        """
        (//div/@class[starts-with(., 'postinfo') or starts-with(., 'post-info') or
        starts-with(., 'postmeta') or starts-with(., 'post-meta') or starts-with(., 'meta') or
        starts-with(., 'entry-meta') or starts-with(., 'entry-info') or
        starts-with(., 'entry-utility')]/.. | //div/@id[starts-with(., 'postpath')]/..)//a[@href]
        """
    ),
    XPath(
        """//p[starts-with(@class, 'postmeta') or starts-with(@class, 'entry-categories') or
        @class='postinfo' or @id='filedunder']//a[@href]"""
    ),
    XPath(
        """//footer[starts-with(@class, 'entry-meta') or
        starts-with(@class, 'entry-footer')]//a[@href]"""
    ),
    XPath(
        """//*[self::li or self::span][@class='post-category' or @class='postcategory' or
        @class='entry-category' or contains(@class, 'cat-links')]//a[@href]"""
    ),
    XPath("""//header[@class='entry-header']//a[@href]"""),
    XPath("""//div[@class='row' or @class='tags']//a[@href]"""),
]
# trafilatura.xpaths.TAGS_XPATHS
TAG_XPATHS = [
    XPath("""//div[@class='tags']//a[@href]"""),
    XPath("""//p[starts-with(@class, 'entry-tags')]//a[@href]"""),
    XPath(
        """//div[@class='row' or @class='jp-relatedposts' or @class='entry-utility' or
        starts-with(@class, 'tag') or starts-with(@class, 'postmeta') or
        starts-with(@class, 'meta')]//a[@href]"""
    ),
    XPath(
        """//@class[. = 'entry-meta' or contains(., 'topics') or
        contains(., 'tags-links')]/..//a[@href]"""
    ),
]
_SECTION_META = XPath(
    './/head//meta[@property="article:section" or contains(@name, "subject")][@content]'
)
MAX_BYLINE_CHARS = 120
# Category and tag links lead to ``/categor(y|ies|s)/`` and ``/tag(s)/``, as trafilatura has it.
# Where no link of the page leads to ``/categor`` (``/tag``), none of the XPaths can find one:
# one look at the links instead of several searches of the page.
_CATEGORY_HREF = re.compile(r"/categor(?:y|ies|s)?/")
_TAG_HREF = re.compile(r"/tag(?:y|ies|s)?/")
_LINKS_TO = XPath("boolean(//a[contains(@href, $start)])")

LOGGER = logging.getLogger(__name__)


def read_metadata(tree: HtmlElement, url: str, *, date_wanted: bool = True) -> Document:
    """Title, author, canonical URL, description, date, categories and tags of ``tree`` (left
    unchanged), in the order and with the fallbacks of trafilatura's ``extract_metadata``.

    ``date_wanted=False`` leaves the date unread (None): the caller has a better one.
    """
    from htmldate import find_date
    from trafilatura.metadata import examine_meta, extract_meta_json, extract_title, extract_url

    metadata = examine_meta(tree)
    if metadata.author and " " not in metadata.author:
        metadata.author = None  # a single word is a user name, as trafilatura has it
    try:
        metadata = extract_meta_json(tree, metadata)
    except Exception as exc:  # trafilatura's JSON-LD reader fails on some shapes of JSON
        LOGGER.debug("JSON-LD metadata not read: %s", exc)
    metadata.title = metadata.title or extract_title(tree)
    metadata.author = metadata.author or byline(tree)
    metadata.url = metadata.url or extract_url(tree, url)
    if date_wanted:
        metadata.date = find_date(tree, **DATE_CONFIG, url=metadata.url)
    if not metadata.categories:
        found = _linked(tree, CATEGORY_XPATHS, "/categor", _CATEGORY_HREF)
        found = found or [element.attrib["content"] for element in _SECTION_META(tree)]
        metadata.categories = _names(found)
    metadata.tags = metadata.tags or _names(_linked(tree, TAG_XPATHS, "/tag", _TAG_HREF))
    metadata.clean_and_trim()
    return metadata


def byline(tree: HtmlElement) -> str | None:
    """The author named in the page's byline, as trafilatura's ``extract_author`` finds it.

    trafilatura searches a copy of the page from which comments, dates, figures and the like
    (``NOT_BYLINE_XPATHS``) are removed. The same elements are found in the page itself, less
    those inside what would be removed; only a byline holding such a part is copied, to be read
    without it.
    """
    from trafilatura.json_metadata import normalize_authors

    removed: set[HtmlElement] | None = None
    for expression in BYLINE_XPATHS:
        for element in expression(tree):
            if removed is None:
                removed = {found for discard in NOT_BYLINE_XPATHS for found in discard(tree)}
            if element in removed or any(up in removed for up in element.iterancestors()):
                continue
            text = _text_without(element, removed)
            if text and 2 < len(text) < MAX_BYLINE_CHARS:
                return normalize_authors(None, text)
    return None


def _text_without(element: HtmlElement, removed: set[HtmlElement]) -> str:
    """The text of ``element`` once the ``removed`` elements are taken out of the page (their
    tails stay), spaced as trafilatura's ``extract_metainfo`` spaces it."""
    from trafilatura.htmlprocessing import prune_unwanted_nodes
    from trafilatura.utils import trim

    if any(inner in removed for inner in element.iterdescendants()):
        element = prune_unwanted_nodes(deepcopy(element), NOT_BYLINE_XPATHS)
    return trim(" ".join(element.itertext()))


def _linked(
    tree: HtmlElement, expressions: list[XPath], start: str, href: re.Pattern[str]
) -> list[str]:
    """The text of the links found by the first of ``expressions`` to find any whose target
    matches ``href`` (categories or tags, as trafilatura's ``extract_catstags`` finds them);
    ``href`` matches only targets holding ``start``."""
    from trafilatura.baseline import block_text

    if not _LINKS_TO(tree, start=start):
        return []
    for expression in expressions:
        found = [block_text(a) for a in expression(tree) if href.search(a.attrib["href"])]
        if found:
            return found
    return []


def _names(found: list[str]) -> list[str]:
    """Each name once, cleaned as trafilatura cleans it, in the order found."""
    from trafilatura.utils import line_processing

    return [name for name in dict.fromkeys(line_processing(x) for x in found if x) if name]
