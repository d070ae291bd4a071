"""Is this page one article, or a listing of several (archive, category, search, home, catalogue)?

Listing pages carry teasers of many articles; extracting one would store a patchwork of excerpts
as if it were an essay. But an article page has teasers too (related posts, a sidebar of
"continue reading" links), and losing an article is worse than storing a listing, so the question
is asked in this order:

1. Does the page declare itself one article? JSON-LD ``Article`` (or a kind of it; not at a
   site's root, where it marks the teasers), ``article:published_time``, or a WordPress
   single-post body class: then it is one, unless its running text is all the excerpts of
   teasers (some CMSs stamp topic pages with a publication time too). Does it
   declare itself an archive (WordPress's archive, category, tag, search body classes), or cut
   posts short with WordPress's own ``more-link``? Then it is a listing.
2. Is it a shop's grid: cards showing a price, short as product tiles are, holding half as many
   words as the running text or more (a buying guide's priced boxes hold far less)?
3. Does the page hold a dominant article: running prose (paragraphs of sentences) in the
   extracted body? Measured against the teaser grid: a listing is a page whose largest group of
   alike, linked blocks ("cards") holds several times more text than the prose, whose listing
   hints (body class, "continue reading" links, title links to other pages) come with little
   prose, whose running text is mostly the excerpts of teasers (``teasers.py``: a
   related-posts block leaves an article's own prose outside them), whose running text lies all
   in teaser cards, or whose extracted text has
   no paragraph of running text at all (product grids, tables, link lists).
4. A page at a site's root, at an archive address (``/category/x``, ``/tag/x``, ``/author/x``,
   ``/page/2``) or declared a ``CollectionPage`` in JSON-LD is a listing once it holds a few
   teaser cards.

A card is a sibling of others of its kind that links to a page: by a title link of two words or
more or, when the card has a heading, by any link to a page (its picture, a "Show" button; not a
picture's own file, as in a gallery); the link's fragment aside (``/story/12#`` names the story),
so that comments' permalinks, all naming the page they are on, are one target and no cards.

The thresholds were set on the 891 pages of the development corpus (790 articles, 101 listings)
with refusing articles weighed far heavier than keeping listings; see the README.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from lxml import etree
from lxml.html import HtmlElement

from aggregator.extract.body import Body
from aggregator.extract.teasers import (
    MORE_LINK_TEXT,
    leads_elsewhere,
    teaser_blocks,
    teaser_prose,
)
from aggregator.normalize import canonical_url

Groups = list[list[HtmlElement]]  # sibling elements of one kind, each list a group

# --- what a page says of itself
ARTICLE_BODY_CLASSES = frozenset({"single", "single-post", "postid"})
# WordPress marks archives so (other CMSs borrow the names; the last three are Ghost's):
# listings, whatever their text.
LISTING_BODY_CLASSES = frozenset(
    {"archive", "category", "tag", "search", "search-results", "paged", "author", "date",
     "post-type-archive", "home-template", "tag-template", "author-template"}
)  # fmt: skip
FRONT_PAGE_OF_POSTS = frozenset({"home", "blog"})  # both: WordPress's front page of latest posts
# Alone, these also mark some article pages: hints only.
HINT_BODY_CLASSES = FRONT_PAGE_OF_POSTS
ARTICLE_TYPES = frozenset(
    {"article", "newsarticle", "blogposting", "report", "scholarlyarticle", "techarticle",
     "analysisnewsarticle", "opinionnewsarticle", "reportagenewsarticle", "reviewnewsarticle",
     "backgroundnewsarticle", "liveblogposting", "socialmediaposting", "discussionforumposting"}
)  # fmt: skip
# schema.org's page types for a list of other pages (``ItemList`` alone also marks listicles).
COLLECTION_TYPES = frozenset({"collectionpage", "searchresultspage"})
# Archive addresses of WordPress and the CMSs that borrow its permalinks: the segment, then a name
# (or a page number) closing the path.
ARCHIVE_SEGMENTS = frozenset({"category", "tag", "author", "page"})
_JSONLD_TYPE = re.compile(r'"@type"\s*:\s*(\[[^\]]*\]|"[^"]*")')

# --- teasers
MIN_MORE_LINKS = 2
_WORDPRESS_MORE_LINKS = "//a[contains(concat(' ', normalize-space(@class), ' '), ' more-link ')]"
MIN_TITLE_LINKS = 8
MIN_TITLE_WORDS = 3
# Links that title another article: inside a heading or marked as a title, and not part of the
# page's navigation, sidebars or footer (where "recent posts" lists live on article pages too).
_TITLE_LINKS = (
    "//a[@href and (ancestor::h1 or ancestor::h2 or ancestor::h3 or ancestor::h4 or "
    "contains(@class, 'title'))][not(ancestor::nav or ancestor::aside or ancestor::footer "
    "or ancestor::header)]"
)

# --- cards: sibling blocks of one kind, each linking elsewhere
MIN_CARDS = 15
CARD_TEXT_OVER_PROSE = 3.0
# Fewer cards make a listing when they hold the running text and "continue reading" links.
MIN_TEASER_CARDS = 3
MIN_CARD_LINK_WORDS = 2
MAX_TEASER_WORDS = 120  # on average per card: a title, a line or two of excerpt, a date
MOSTLY = 0.75  # the share of a group's members that must be alike (linked, to distinct pages...)
# A shop's grid: so many cards showing a price, short as product tiles are (a name, a price, a
# rating), holding this share of the running text or more (a buying guide's items, priced too,
# hold at most a third of its prose in the development corpus; product grids from all to 5 times).
MIN_PRICED_CARDS = 8
MAX_PRICED_CARD_WORDS = 50
PRICED_CARDS_OVER_PROSE = 0.5
PRICE = re.compile(
    r"[$€£¥₹]\s?\d|\d(?:[.,]\d\d)?\s?(?:[$€£]|(?:USD|EUR|GBP)\b)|\b(?:USD|EUR|GBP)\s?\d"
)
_NOT_CONTENT = frozenset({"nav", "header", "footer", "aside", "script", "style", "form", "select"})
_DIGITS = re.compile(r"\d")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_NOT_A_PAGE = re.compile(r"(?:mailto|tel|javascript|data|sms):", re.IGNORECASE)
_IMAGE_FILE = re.compile(r"\.(?:jpe?g|png|gif|webp|avif|svg)(?:\?.*)?$", re.IGNORECASE)

# --- prose: paragraphs of running text in the extracted body
MIN_PROSE_PARAGRAPH_WORDS = 20
_SENTENCE_END = re.compile(r"[.!?…:;\"”’)\]]$")
HINTED_LISTING_MAX_PROSE = 100

# --- headed teasers (teasers.py): so many, holding this many times the prose outside them
MIN_HEADED_TEASERS = 5
TEASER_OVER_OWN_PROSE = 3.0
# A page declaring one article is a listing only when its teasers hold next to all the running
# text (articles declaring themselves reach 1.3 in the development corpus, listings 287 to none).
DECLARED_TEASER_OVER_OWN_PROSE = 10.0
# ... or teaser cards holding every paragraph of running text, at least this much of it (less is
# a short page that the rules above judge)
MIN_CARD_PROSE = 100


def listing_reason(
    tree: HtmlElement, body: Body | None, min_words: int = 0, url: str | None = None
) -> str | None:
    """Why the page ``tree`` is a listing, or ``None`` when it is (or may be) one article.

    ``body`` is the extracted article body (``None`` when nothing was extracted); a body under
    ``min_words`` is too short to be judged by its prose. ``url`` is where the page was found.
    """
    if declares_article(tree, url):
        return _declared_yet_teasers(tree, body, url)
    classes = _body_classes(tree)
    if named := sorted(classes & LISTING_BODY_CLASSES):
        return f"listing page (body class {named[0]!r})"
    if classes >= FRONT_PAGE_OF_POSTS:
        return "listing page (a front page of latest posts)"
    # WordPress writes its "more" link only where a post is shown cut short: in a loop of posts.
    if (cut_short := len(tree.xpath(_WORDPRESS_MORE_LINKS))) >= MIN_MORE_LINKS:
        return f"listing page ({cut_short} posts cut short by WordPress 'more' links)"
    prose = prose_words(body.tree) if body is not None else 0
    groups = list(_sibling_groups(tree, MIN_TEASER_CARDS))  # read once, weighed three ways
    cards, card_words = largest_card_group(tree, groups)
    if priced := _product_grid(tree, prose, groups):
        return priced
    if cards >= MIN_TEASER_CARDS and (where := _collection_page(tree, url)):
        return f"listing page ({where}, {cards} teaser cards)"
    if cards >= MIN_CARDS and card_words > CARD_TEXT_OVER_PROSE * prose:
        return f"listing page ({cards} teaser cards, {prose} words of running text)"
    if cards >= MIN_TEASER_CARDS and card_words >= prose:
        more_links = count_more_links(tree, url)
        if more_links >= MIN_MORE_LINKS:
            return f"listing page ({cards} teasers, {more_links} 'continue reading' links)"
    if body is not None and prose and (teasers := _teaser_share(tree, body, url, prose)):
        return teasers
    if (
        body is not None
        and cards >= MIN_HEADED_TEASERS
        and (held := _cards_hold_prose(tree, body, groups))
    ):
        return held
    if prose < HINTED_LISTING_MAX_PROSE:
        hint = listing_hint(tree, url)
        if hint:
            return f"listing page ({hint}, {prose} words of running text)"
    if prose == 0 and body is not None and body.words >= min_words:
        return f"listing page (not one paragraph of running text in {body.words} words)"
    return None


def _declared_yet_teasers(tree: HtmlElement, body: Body | None, url: str | None) -> str | None:
    """Why a page declaring one article is a listing all the same: its running text is the
    excerpts of teasers, with next to none of its own (some CMSs stamp every page, topic pages
    too, ``article:published_time``)."""
    prose = prose_words(body.tree) if body is not None else 0
    if body is None or prose < MIN_CARD_PROSE:
        return None
    return _teaser_share(tree, body, url, prose, DECLARED_TEASER_OVER_OWN_PROSE)


def _teaser_share(
    tree: HtmlElement,
    body: Body,
    url: str | None,
    prose: int,
    over_own: float = TEASER_OVER_OWN_PROSE,
) -> str | None:
    """Why the body's ``prose`` words of running text are mostly teaser excerpts (``over_own``
    times the running text outside them), if they are."""
    blocks, words = teaser_blocks(tree, url)
    share = over_own / (1 + over_own)
    # A paragraph counts as a teaser's when half its words are: the teasers hold at least half
    # the words they are credited with.
    if len(blocks) < MIN_HEADED_TEASERS or 2 * words < share * prose:
        return None  # too few teasers, or too little text in them to make that share
    inside, outside = teaser_prose(body.tree, blocks, _SENTENCE_END, MIN_PROSE_PARAGRAPH_WORDS)
    if inside and inside >= over_own * outside:
        return (
            f"listing page ({len(blocks)} teasers hold {inside} of "
            f"{inside + outside} words of running text)"
        )
    return None


def _cards_hold_prose(tree: HtmlElement, body: Body, groups: Groups) -> str | None:
    """Why every paragraph of the body's running text comes from teaser cards, if it does."""
    cards = teaser_cards(tree, MIN_HEADED_TEASERS, groups)
    inside, outside = teaser_prose(body.tree, cards, _SENTENCE_END, MIN_PROSE_PARAGRAPH_WORDS)
    if inside >= MIN_CARD_PROSE and not outside:
        return f"listing page (all {inside} words of running text are in {len(cards)} teaser cards)"
    return None


def _product_grid(tree: HtmlElement, prose: int, groups: Groups) -> str | None:
    """Why the page is a shop's grid of products, if it is one."""
    cards, words = priced_card_group(tree, groups)
    if cards < MIN_PRICED_CARDS or words > MAX_PRICED_CARD_WORDS * cards:
        return None
    if words < PRICED_CARDS_OVER_PROSE * prose:
        return None
    return f"listing page ({cards} products with prices, {prose} words of running text)"


def _collection_page(tree: HtmlElement, url: str | None) -> str | None:
    """The page is a site's front page or an archive address, or declares itself a collection of
    pages (schema.org): with teaser cards on it (the caller counts them), a listing, though
    excerpts read as prose."""
    if url is not None and _is_front_page(url):
        return "the site's front page"
    if url is not None and (segment := archive_segment(url)):
        return f"an archive address (/{segment}/)"
    if named := sorted(COLLECTION_TYPES & set(_jsonld_types(tree))):
        return f"declared a {named[0]}"
    return None


def _is_front_page(url: str) -> bool:
    """The root of a site, tracking parameters aside (``/?p=12`` is a WordPress post)."""
    try:
        parts = urlsplit(canonical_url(url))
    except ValueError:
        return False
    return parts.path in ("", "/") and not parts.query


def archive_segment(url: str) -> str | None:
    """``category``, ``tag``, ``author`` or ``page`` when ``url``'s path ends in that segment and
    one more (``/category/science/``, ``/blog/page/3``), the address of an archive."""
    try:
        segments = [part for part in urlsplit(url).path.lower().split("/") if part]
    except ValueError:
        return None
    if len(segments) < 2 or segments[-2] not in ARCHIVE_SEGMENTS:
        return None
    if segments[-2] == "page" and not segments[-1].isdigit():
        return None  # ``/page/about-us``: some CMSs put every page under /page/
    return segments[-2]


def declares_article(tree: HtmlElement, url: str | None = None) -> bool:
    """The page's own metadata says it is one article (og:type alone is too loosely used).

    At a site's root (``url``), JSON-LD naming articles describes the teasers of a front page,
    not the page: only the other declarations count there.
    """
    classes = _body_classes(tree)
    if classes & ARTICLE_BODY_CLASSES or any(name.startswith("postid-") for name in classes):
        return True
    if tree.xpath("boolean(//meta[@property='article:published_time'][@content != ''])"):
        return True
    if url is not None and _is_front_page(url):
        return False
    return bool(ARTICLE_TYPES & set(_jsonld_types(tree)))


def listing_hint(tree: HtmlElement, url: str | None = None) -> str | None:
    """A sign of a listing that an article page may also show: only taken with little prose."""
    if named := sorted(_body_classes(tree) & HINT_BODY_CLASSES):
        return f"body class {named[0]!r}"
    more_links = count_more_links(tree, url)
    if more_links >= MIN_MORE_LINKS:
        return f"{more_links} 'continue reading' links"
    title_links = {
        anchor.get("href")
        for anchor in tree.xpath(_TITLE_LINKS)
        if len(anchor.text_content().split()) >= MIN_TITLE_WORDS
    }
    if len(title_links) >= MIN_TITLE_LINKS:
        return f"{len(title_links)} links titling other pages"
    return None


def prose_words(body: etree._Element) -> int:
    """Words in paragraphs of running text: long enough, ending like a sentence."""
    total = 0
    for paragraph in body.iter("p"):
        text = " ".join(paragraph.itertext()).strip()
        words = len(text.split())
        if words >= MIN_PROSE_PARAGRAPH_WORDS and _SENTENCE_END.search(text):
            total += words
    return total


def largest_card_group(tree: HtmlElement, groups: Groups | None = None) -> tuple[int, int]:
    """The largest group of sibling elements of one kind (tag and first class) that each link to
    a different page: how many, and how many words they hold. ``groups``: the page's sibling
    groups, when already read."""
    best = (0, 0)
    for members in _sibling_groups(tree, MIN_TEASER_CARDS) if groups is None else groups:
        if len(members) > best[0]:
            best = max(best, _cards(members))
    return best


def teaser_cards(
    tree: HtmlElement, min_cards: int, groups: Groups | None = None
) -> list[HtmlElement]:
    """The members of every group of at least ``min_cards`` teaser cards (as in
    ``largest_card_group``)."""
    found: list[HtmlElement] = []
    for members in _sibling_groups(tree, min_cards) if groups is None else groups:
        if len(members) >= min_cards and _cards(members)[0] >= min_cards:
            found.extend(members)
    return found


def priced_card_group(tree: HtmlElement, groups: Groups | None = None) -> tuple[int, int]:
    """The largest group of teaser cards that mostly show a price and a picture (a shop's grid of
    products; a list of prices in a post has no pictures): how many, and how many words they
    hold."""
    best = (0, 0)
    for members in _sibling_groups(tree, MIN_PRICED_CARDS) if groups is None else groups:
        if len(members) < MIN_PRICED_CARDS or len(members) <= best[0]:
            continue
        if _mostly(members, _pictured) and _mostly(members, _priced):
            best = max(best, _cards(members))
    return best


def _mostly(members: list[HtmlElement], test: Callable[[HtmlElement], bool]) -> bool:
    """At least ``MOSTLY`` of ``members`` pass ``test``; stops at the first member too many
    that fails."""
    allowed = len(members) - MOSTLY * len(members)
    failed = 0
    for member in members:
        if not test(member):
            failed += 1
            if failed > allowed:
                return False
    return True


def _pictured(member: HtmlElement) -> bool:
    return next(member.iter("img", "picture"), None) is not None


def _priced(member: HtmlElement) -> bool:
    return PRICE.search(member.text_content()) is not None


def _sibling_groups(tree: HtmlElement, min_members: int) -> Iterator[list[HtmlElement]]:
    """Children of one element in the page's content sharing a tag and first class, at least
    ``min_members`` of them."""
    for parent in _content_elements(tree):
        if len(parent) < min_members:
            continue  # too few children to hold a group that counts
        groups: dict[tuple[str, str], list[HtmlElement]] = defaultdict(list)
        for child in parent:
            if isinstance(child.tag, str):
                groups[(child.tag, _kind(child))].append(child)
        yield from (members for members in groups.values() if len(members) >= min_members)


def _kind(element: HtmlElement) -> str:
    """The first class name, numbers dropped: cards share it (``post-card``, ``post-``) where
    the rest differ (``tag-commons``, ``post-1234``, ``has-image``)."""
    classes = (element.get("class") or "").split()
    return _DIGITS.sub("", classes[0]) if classes else ""


def _cards(members: list[HtmlElement]) -> tuple[int, int]:
    targets: set[str] = set()
    linked = words = 0
    for member in members:
        href = _card_target(member)
        if href is None:
            continue
        linked += 1
        targets.add(href)
        words += len(member.text_content().split())
    # Most members link, mostly to different pages (not one "next" button repeated), and are
    # short, as teasers are (a comment thread's entries are not).
    if linked < MOSTLY * len(members) or len(targets) < MOSTLY * linked:
        return (0, 0)
    if words > MAX_TEASER_WORDS * linked:
        return (0, 0)
    return (linked, words)


def _card_target(member: HtmlElement) -> str | None:
    """Where a card leads: its first link titling a page; in a card with a heading, whose title
    may be no link (an image or a "Show" button is), its first link to a page."""
    anchors = [anchor for anchor in member.iter("a") if _target(anchor)]
    titled = next((anchor for anchor in anchors if _titles_a_page(anchor)), None)
    if titled is None and next(member.iter(*_HEADINGS), None) is not None:
        # A picture linking to its own file (a gallery's) leads to no page.
        pages = (anchor for anchor in anchors if not _IMAGE_FILE.search(_target(anchor)))
        titled = next(pages, None)
    return _target(titled) if titled is not None else None


def _titles_a_page(anchor: HtmlElement) -> bool:
    """A link naming a page (a title), not a jump within this one nor a bare name or "Reply".
    (Comments' permalinks all name the page they are on: ``_cards`` counts them one target.)"""
    return bool(_target(anchor)) and len(anchor.text_content().split()) >= MIN_CARD_LINK_WORDS


def _target(anchor: HtmlElement) -> str:
    """The page a link leads to: its address without the fragment; none for a mail, phone or
    script link, or a comment's "reply" link."""
    href = (anchor.get("href") or "").split("#", 1)[0].strip()
    if _NOT_A_PAGE.match(href) or "replytocom=" in href:
        return ""
    return href


def _content_elements(tree: HtmlElement) -> Iterator[HtmlElement]:
    """Every element of the body outside navigation, headers, footers and sidebars."""
    body = tree.find(".//body")
    if body is None:
        return
    stack = [body]
    while stack:
        element = stack.pop()
        yield element
        stack.extend(
            child
            for child in element
            if isinstance(child.tag, str) and child.tag not in _NOT_CONTENT
        )


def count_more_links(tree: HtmlElement, url: str | None = None) -> int:
    """Links that say "continue reading" (or are WordPress's ``more-link``) to the site's own
    pages: a roundup's "Read more" links to other sites are the article's sources."""
    return sum(
        1
        for anchor in tree.iter("a")
        if (
            "more-link" in (anchor.get("class") or "")
            or MORE_LINK_TEXT.match(anchor.text_content())
        )
        and not leads_elsewhere(anchor, url)
    )


def _body_classes(tree: HtmlElement) -> set[str]:
    body = tree.find(".//body")
    if body is None:
        return set()
    return set((body.get("class") or "").lower().split())


def _jsonld_types(tree: HtmlElement) -> Iterator[str]:
    """Every ``@type`` named in the page's JSON-LD, lowercased (read by pattern: embedded JSON is
    often invalid, and a type is all this needs)."""
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        for match in _JSONLD_TYPE.finditer(script.text or ""):
            value = match.group(1)
            try:
                names = json.loads(value)
            except ValueError:
                continue
            for name in names if isinstance(names, list) else [names]:
                if isinstance(name, str):
                    yield name.rsplit("/", 1)[-1].lower()
