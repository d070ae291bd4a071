"""Per-site extraction rules from ``config.yaml``, compiled once, applied to a parsed page.

A source may name CSS or XPath selectors to drop, phrases whose enclosing block is dropped, and
the container that holds the article. Rules only remove; a rule that would remove most of the
page (a phrase that also occurs in the essay, a container that matches nothing) is skipped, so a
rule can make a page cleaner but never emptier than plain extraction would.
"""

from __future__ import annotations

from dataclasses import dataclass

import lxml.html
from cssselect import GenericTranslator, SelectorError
from lxml import etree
from lxml.html import HtmlElement

# Where a dropped phrase's "enclosing block" ends: the nearest of these around the phrase.
BLOCK_TAGS = frozenset(
    {"div", "section", "aside", "footer", "header", "nav", "form", "figure", "table", "ul", "ol"}
)
# A phrase's block is only dropped when it is small next to the page: banners are short.
MAX_PHRASE_BLOCK_SHARE = 0.2
MAX_PHRASE_BLOCK_CHARS = 1500


class RuleError(ValueError):
    """A selector that neither CSS nor XPath can read."""


def to_xpath(selector: str) -> str:
    """Read ``selector`` as XPath when it looks like one (``/``, ``(``, ``.//``), else as CSS."""
    text = selector.strip()
    if text.startswith(("/", "(", "./")):
        try:
            etree.XPath(text)
        except etree.XPathSyntaxError as exc:
            raise RuleError(f"invalid XPath {text!r}: {exc}") from None
        return text
    try:
        return str(GenericTranslator().css_to_xpath(text))
    except SelectorError as exc:
        raise RuleError(f"invalid CSS selector {text!r}: {exc}") from None


@dataclass(frozen=True)
class SiteRules:
    container: str | None = None
    drop: tuple[str, ...] = ()
    drop_phrases: tuple[str, ...] = ()

    @classmethod
    def compile(
        cls,
        container: str | None = None,
        drop: tuple[str, ...] = (),
        drop_phrases: tuple[str, ...] = (),
    ) -> SiteRules:
        return cls(
            container=to_xpath(container) if container else None,
            drop=tuple(to_xpath(selector) for selector in drop),
            drop_phrases=tuple(phrase.casefold() for phrase in drop_phrases if phrase.strip()),
        )

    def __bool__(self) -> bool:
        return bool(self.container or self.drop or self.drop_phrases)


NO_RULES = SiteRules()


def apply_rules(tree: HtmlElement, rules: SiteRules) -> HtmlElement:
    """Return the part of ``tree`` to extract from, with dropped parts removed (in place)."""
    if not rules:
        return tree
    scope = _container(tree, rules.container) if rules.container else tree
    for xpath in rules.drop:
        for element in scope.xpath(xpath):
            _remove(element)
    if rules.drop_phrases:
        _drop_phrase_blocks(scope, rules.drop_phrases)
    return scope


def _container(tree: HtmlElement, xpath: str) -> HtmlElement:
    """The container wrapped in a fresh document, or the whole page when it is not found."""
    found = [element for element in tree.xpath(xpath) if isinstance(element, HtmlElement)]
    if not found:
        return tree
    document: HtmlElement = lxml.html.document_fromstring("<html><body></body></html>")
    document.body.append(found[0])
    return document


def _drop_phrase_blocks(scope: HtmlElement, phrases: tuple[str, ...]) -> None:
    page_chars = len(scope.text_content())
    limit = min(MAX_PHRASE_BLOCK_CHARS, page_chars * MAX_PHRASE_BLOCK_SHARE)
    doomed: dict[int, HtmlElement] = {}
    for text in scope.xpath(".//text()"):
        folded = str(text).casefold()
        if not any(phrase in folded for phrase in phrases):
            continue
        owner = text.getparent()
        if text.is_tail:
            owner = owner.getparent()
        if owner is None or owner.tag in ("script", "style"):
            continue
        block = _enclosing_block(owner)
        if block is not None and len(block.text_content()) <= limit:
            doomed[id(block)] = block
    for block in doomed.values():
        _remove(block)


def _enclosing_block(element: HtmlElement) -> HtmlElement | None:
    for candidate in element.iterancestors():
        if candidate.tag in ("body", "html", "article", "main"):
            return element if element.tag not in ("body", "html") else None
        if candidate.tag in BLOCK_TAGS:
            return candidate
    return None


def _remove(element: HtmlElement) -> None:
    """Remove an element but keep its tail text in place."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


# Article bodies as CMS themes mark them, and boxes inside them that trafilatura would discard
# for their class names alone ("author-bio" reads like site furniture). Inside the body, an
# author's bio is part of the article: we strip the misleading names so it survives.
_BODY = (
    "contains(@class, 'entry-content') or contains(@class, 'post-content') or "
    "contains(@class, 'article-body') or contains(@class, 'td-post-content') or "
    "@itemprop = 'articleBody'"
)
_BODIES = f"//*[{_BODY}]"
_BIOS = (
    ".//*[self::div or self::section or self::aside or self::p]"
    "[contains(@class, 'author') or contains(@class, 'bio')]"
)


def keep_bios_in_body(tree: HtmlElement) -> None:
    """Protect author bios that sit inside the article body from boilerplate filters."""
    for element in (bio for body in tree.xpath(_BODIES) for bio in body.xpath(_BIOS)):
        if element.tag == "aside":
            element.tag = "div"
        element.attrib.pop("class", None)
        element.attrib.pop("id", None)
