"""Turn one HTML page into one clean article with trafilatura.

The page is parsed once. The body is extracted (``body.py``) from the page without the boxes it
names as furniture (``furniture.py``; a copy, when it names any), or from what the site's rules
leave of that when they leave enough; then the page is judged one article
or a listing (``listing.py``), short calls to action (``calls.py``) and blocks the source has
learned to be boilerplate are dropped, and
only then, for pages that are articles, is the metadata (title, author, date, language, canonical
URL, licence) read from the whole page. Text and HTML are rendered from the same extracted tree.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin, urlsplit

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from aggregator.errors import NotAnArticleError
from aggregator.extract.body import Body, Favor, PassSettings, extract_body
from aggregator.extract.calls import is_call_to_action
from aggregator.extract.furniture import without_furniture
from aggregator.extract.licence import detect_licence
from aggregator.extract.limits import DEFAULT_LIMITS, HtmlLimits, markup_problem, tree_problem
from aggregator.extract.listing import listing_reason
from aggregator.extract.metadata import read_metadata
from aggregator.extract.rules import NO_RULES, SiteRules, apply_rules, keep_bios_in_body
from aggregator.fingerprints import text_for_hashing
from aggregator.licences import Licence
from aggregator.normalize import clean_inline, clean_text, resolve_links
from aggregator.sanitize import sanitize_html

# Blocks that look like footnotes or are very short are never learned as boilerplate: the same
# citation can honestly close two essays, and a lone "Notes" heading says little.
FOOTNOTE_START = re.compile(r"^\s*(\[\d+\]|\d+[.)]\s|\^)")
MIN_LEARNABLE_WORDS = 2
# How a block without text is shown (in ``rules suggest``, in the boilerplate table).
NO_TEXT_LABEL = "(no text) links to "


@dataclass(frozen=True)
class ExtractOptions:
    favor: Favor = "recall"
    fast: bool = True
    min_words: int = 40
    second_pass: bool = True  # a fuller pass when the quick one kept too little (see body.py)
    limits: HtmlLimits = DEFAULT_LIMITS  # what a page may hold to be extracted (limits.py)


@dataclass(frozen=True, slots=True)
class Block:
    """One top-level block of the article (paragraph, heading, list, quote, table).

    A block without text (a row of sharing icons) is known by ``targets``: where its links and
    images point, so that it can be learned as boilerplate like a recurring banner.
    """

    text: str
    targets: str = ""

    @property
    def label(self) -> str:
        """The text a person reads for this block: its own, or a description of its targets."""
        return self.text or f"{NO_TEXT_LABEL}{self.targets}"

    @property
    def fingerprint(self) -> str:
        return block_fingerprint(self.label)

    @property
    def learnable(self) -> bool:
        if not self.text:
            return bool(self.targets)
        return len(self.text.split()) >= MIN_LEARNABLE_WORDS and not FOOTNOTE_START.match(self.text)


@dataclass(frozen=True, slots=True)
class Extracted:
    title: str | None
    author: str | None
    date: str | None
    language: str | None
    canonical_url: str | None
    description: str | None
    tags: tuple[str, ...]
    text: str
    html: str
    blocks: tuple[Block, ...] = field(default=())
    # What was taken out before the text was kept: site rules that removed something (one line
    # each), and the fingerprints of learned boilerplate blocks dropped.
    rules_applied: tuple[str, ...] = ()
    learned_removed: tuple[str, ...] = ()
    licence: Licence | None = None  # what the page declares (``extract.licence``)

    @property
    def word_count(self) -> int:
        return len(self.text.split())


def block_fingerprint(text: str) -> str:
    """A short, stable id for a block's text, insensitive to case, punctuation and spacing."""
    return hashlib.blake2b(text_for_hashing(text).encode(), digest_size=8).hexdigest()


# trafilatura is imported where it is used: it costs ~100 ms, and a poll that finds nothing new
# imports this module (through ingest) but extracts nothing.


def parse_html(html: str | bytes) -> HtmlElement:
    import trafilatura

    tree = trafilatura.load_html(html)
    if tree is None:
        raise ValueError("not parseable as HTML")
    return tree


def extract_article(
    html: str | bytes | HtmlElement,
    url: str,
    *,
    rules: SiteRules = NO_RULES,
    boilerplate: Collection[str] = frozenset(),
    options: ExtractOptions = ExtractOptions(),
    fragment: bool = False,
) -> Extracted:
    """Extract the article at ``url``; raise ``NotAnArticleError`` for listings and empty pages.

    ``boilerplate`` holds block fingerprints the source has learned to drop. ``fragment`` says
    that ``html`` is an article body a feed delivered, wrapped in a page: never a listing, and
    its own text is the article when the extractor finds none in it. HTML past
    ``options.limits`` is refused before it is parsed (``limits.py``).
    """
    tree = _parsed(html, url, options.limits)
    keep_bios_in_body(tree)
    licence = detect_licence(tree)  # before a feed's fragment gives its elements to the body
    rules_applied: list[str] = []
    body = _extract_body(tree, url, rules, options, rules_applied)
    if fragment:
        body = _fragment_body(tree, body)
    elif reason := listing_reason(tree, body, options.min_words, url):
        raise NotAnArticleError(url, reason)
    if body is None:
        raise NotAnArticleError(url, "no article text found")
    learned_removed: list[str] = []
    blocks = _drop_boilerplate(body.tree, boilerplate, url, learned_removed, calls_to_action=True)
    text = "\n".join(block.text for block in blocks if block.text)  # each line clean already
    if len(text.split()) < options.min_words:
        raise NotAnArticleError(url, f"too short ({len(text.split())} words)")
    declared_time = _declared_publication_time(tree)
    metadata = read_metadata(tree, url, date_wanted=declared_time is None)
    return Extracted(
        title=clean_inline(metadata.title),
        author=clean_inline(metadata.author),
        date=declared_time or metadata.date,
        language=_language(tree),
        canonical_url=metadata.url if metadata.url != url else None,
        description=clean_inline(metadata.description),
        tags=_tags(tree, metadata.categories, metadata.tags),
        text=text,
        html=render_html(body.tree, url),
        blocks=blocks,
        rules_applied=tuple(rules_applied),
        learned_removed=tuple(learned_removed),
        licence=licence,
    )


def _parsed(html: str | bytes | HtmlElement, url: str, limits: HtmlLimits) -> HtmlElement:
    """``html`` parsed, if it is within ``limits``; else ``NotAnArticleError`` saying why."""
    from trafilatura.utils import decode_file

    if isinstance(html, bytes):  # decoded as trafilatura would, a compressed body no larger
        html = decode_file(html, limits.max_size)
    if isinstance(html, str) and (problem := markup_problem(html, limits)):
        raise NotAnArticleError(url, problem)
    try:
        tree = html if isinstance(html, HtmlElement) else parse_html(html)
    except ValueError as exc:
        raise NotAnArticleError(url, str(exc)) from None
    if problem := tree_problem(tree, limits):
        raise NotAnArticleError(url, problem)
    return tree


def _extract_body(
    tree: HtmlElement, url: str, rules: SiteRules, options: ExtractOptions, notes: list[str]
) -> Body | None:
    """The body, from what the site's rules leave of the page; from the whole page when the rules
    leave too little, so that a rule never loses an article the generic extractor finds."""
    settings = PassSettings(options.favor, options.fast, options.second_pass)
    scope = without_furniture(tree)
    if rules:
        applied: list[str] = []
        ruled = apply_rules(copy.deepcopy(scope), rules, applied)
        body = extract_body(ruled, url, settings, options.min_words)
        if body is not None and body.words >= options.min_words:
            notes.extend(applied)
            return body
        words = body.words if body is not None else 0
        notes.append(f"site rules left {words} words: the whole page was extracted instead")
    return extract_body(scope, url, settings, options.min_words)


def _fragment_body(tree: HtmlElement, extracted: Body | None) -> Body | None:
    """A feed's content fragment is the article itself: when the extractor kept less than half
    of it (short entries look like too little text to trafilatura), the whole fragment is taken."""
    wrapper = tree.find(".//article")
    if wrapper is None:
        return extracted
    words = len(wrapper.text_content().split())
    if extracted is not None and extracted.words >= words / 2:
        return extracted
    body = etree.Element("body")
    if (wrapper.text or "").strip():
        etree.SubElement(body, "p").text = wrapper.text
    for child in wrapper:
        if isinstance(child.tag, str):
            body.append(child)
    return Body(body, words) if words else extracted


def render_html(body: etree._Element, page_url: str) -> str:
    """The extracted ``<body>`` as sanitised HTML with absolute links."""
    _unlink_in_page_anchors(body, page_url)
    inner = "".join(etree.tostring(child, encoding="unicode", method="html") for child in body)
    return sanitize_html(resolve_links(inner, page_url))


def _unlink_in_page_anchors(body: etree._Element, page_url: str) -> None:
    """Footnote jumps (``#_ftn1``) point nowhere once the article leaves its page: unlink them.

    Trafilatura may already have turned ``#x`` into ``https://host#x``.
    """
    page = urldefrag(page_url).url.rstrip("/")
    parts = urlsplit(page_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    for anchor in body.iter("a"):
        target, fragment = urldefrag(anchor.get("href", ""))
        if fragment and target.rstrip("/") in ("", page, origin):
            anchor.attrib.pop("href", None)
            anchor.tag = "span"  # unwrapped by the sanitiser, text kept


def _drop_boilerplate(
    body: etree._Element,
    boilerplate: Collection[str],
    base_url: str | None = None,
    removed: list[str] | None = None,
    *,
    calls_to_action: bool = False,
) -> tuple[Block, ...]:
    """Remove learned boilerplate blocks from ``body``; return the blocks that stay.

    ``base_url`` resolves relative link targets (stored HTML has absolute ones already);
    ``removed`` receives the fingerprints of the blocks dropped. With ``calls_to_action``, short
    calls to action ("Sign up for our newsletter", ``calls.py``) go too, unlearned and unlisted.
    """
    kept: list[Block] = []
    for element in list(body):
        text = _block_text(element)
        if calls_to_action and is_call_to_action(text):
            body.remove(element)
            continue
        block = Block(text) if text else Block("", _block_targets(element, base_url))
        if not block.text and not block.targets:
            continue
        if boilerplate and block.fingerprint in boilerplate:
            body.remove(element)
            if removed is not None:
                removed.append(block.fingerprint)
        else:
            kept.append(block)
    return tuple(kept)


def _block_targets(element: etree._Element, base_url: str | None) -> str:
    """Where a block's links and images point, as ``host/path`` without query, sorted.

    Sharing links carry the article's own address in their query (``wa.me/?text=…``), so only
    the host and path say what the block is; they recur across articles, the query does not.
    """
    found = set()
    for value in element.xpath("descendant-or-self::a/@href | descendant-or-self::img/@src"):
        parts = urlsplit(urljoin(base_url or "", str(value).strip()))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            continue
        host = parts.hostname.removeprefix("www.")
        found.add(f"{host}{parts.path.rstrip('/')}")
    return " ".join(sorted(found))


def _block_text(element: etree._Element) -> str:
    """Plain text of one block: list items, table rows and ``<br>`` lines on lines of their own."""
    if element.tag in ("ul", "ol", "dl"):
        lines = [_inline_text(item) for item in element if item.tag in ("li", "dt", "dd")]
    elif element.tag == "table":
        lines = [
            " | ".join(_inline_text(cell).strip() for cell in row) for row in element.iter("tr")
        ]
    elif element.tag == "blockquote" and len(element) and element[0].tag == "p":
        lines = [_inline_text(paragraph) for paragraph in element]
    else:
        lines = [_inline_text(element)]
    cleaned = (clean_inline(part) for line in lines for part in line.split("\n"))
    return "\n".join(filter(None, cleaned))


def _inline_text(element: etree._Element) -> str:
    """Text as a reader sees it: inline tags add no spaces, ``<br>`` breaks the line."""
    parts = [element.text or ""]
    for child in element:
        parts.append("\n" if child.tag == "br" else _inline_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


# Tag links of the post itself: rel="tag" (WordPress core themes), or /tag/ links in a tag box
# (tagDiv, JNews); never the tag clouds of sidebars and menus.
_TAG_LINKS = (
    "//a[(contains(concat(' ', @rel, ' '), ' tag ') or (contains(@href, '/tag/') and "
    "ancestor::*[contains(@class, 'tags')])) and not(ancestor::aside or ancestor::nav)]"
)


def _tags(tree: HtmlElement, *found: list[str] | None) -> tuple[str, ...]:
    """Categories and tags: trafilatura's, plus the post's own tag links."""
    names: list[str] = []
    for group in found:
        names.extend(group or ())
    names.extend(anchor.text_content() for anchor in tree.xpath(_TAG_LINKS))
    seen: dict[str, str] = {}
    for name in names:
        cleaned = clean_inline(name)
        if cleaned and len(cleaned) <= 64:
            seen.setdefault(cleaned.casefold(), cleaned)
    return tuple(seen.values())


# htmldate finds the day (``metadata.py``); a page's own metadata usually has the minute as well.
_PUBLISHED_TIME = (
    "//meta[@property='article:published_time' or @itemprop='datePublished' or "
    "@name='article:published_time']/@content"
    " | //time[@itemprop='datePublished' or contains(@class, 'published') or "
    "contains(@class, 'entry-date')]/@datetime"
)


def _declared_publication_time(tree: HtmlElement) -> str | None:
    """The first full timestamp the page declares for its publication, if any."""
    for value in tree.xpath(_PUBLISHED_TIME):
        text = str(value).strip()
        if len(text) > 10 and "T" in text:
            return text
    return None


def _language(tree: HtmlElement) -> str | None:
    declared = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    if not declared:
        return None
    primary = declared.strip().split("-")[0].split("_")[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def stored_blocks(html: str) -> tuple[Block, ...]:
    """The blocks of stored (sanitised) HTML, as extraction saw them."""
    wrapper = lxml.html.fragment_fromstring(html or "<p></p>", create_parent="div")
    return _drop_boilerplate(wrapper, ())


def strip_blocks(html: str, fingerprints: Collection[str]) -> tuple[str, str]:
    """Remove top-level blocks whose fingerprint is listed from stored (sanitised) HTML.

    Returns the new HTML (``sanitize_html``'s output) and its text; used when a block is learned
    as boilerplate after articles containing it were already stored.
    """
    wrapper = lxml.html.fragment_fromstring(html or "<p></p>", create_parent="div")
    _drop_boilerplate(wrapper, fingerprints)
    remaining = [_block_text(child) for child in wrapper]
    new_html = "".join(
        lxml.html.tostring(child, encoding="unicode", method="html") for child in wrapper
    )
    return sanitize_html(new_html), clean_text("\n".join(filter(None, remaining)))
