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
    # The selectors as the config writes them (``container`` first, then ``drop``), for notes.
    written: tuple[str, ...] = ()

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
            written=((container,) if container else ()) + tuple(drop),
        )

    def shown(self, index: int, xpath: str) -> str:
        """The selector at ``index`` of ``written`` as the config has it, else the XPath."""
        return self.written[index] if index < len(self.written) else xpath

    def __bool__(self) -> bool:
        return bool(self.container or self.drop or self.drop_phrases)


NO_RULES = SiteRules()


def apply_rules(tree: HtmlElement, rules: SiteRules, notes: list[str] | None = None) -> HtmlElement:
    """Return the part of ``tree`` to extract from, with dropped parts removed (in place).

    ``notes`` receives one line per rule that changed something ("drop .share: 2 removed").
    """
    said = notes if notes is not None else []
    if not rules:
        return tree
    scope = tree
    if rules.container:
        scope = _container(tree, rules.container)
        found = "whole page used" if scope is tree else "article taken from it"
        said.append(f"container {rules.shown(0, rules.container)}: {found}")
    offset = 1 if rules.container else 0
    for index, xpath in enumerate(rules.drop):
        matched = scope.xpath(xpath)
        for element in matched:
            remove_keeping_tail(element)
        if matched:
            said.append(f"drop {rules.shown(index + offset, xpath)}: {len(matched)} removed")
    if rules.drop_phrases:
        for phrase, count in _drop_phrase_blocks(scope, rules.drop_phrases).items():
            said.append(f"drop phrase {phrase!r}: {count} removed")
    return scope


def _container(tree: HtmlElement, xpath: str) -> HtmlElement:
    """The container wrapped in a fresh document, or the whole page when it is not found."""
    found = [element for element in tree.xpath(xpath) if isinstance(element, HtmlElement)]
    if not found:
        return tree
    document: HtmlElement = lxml.html.document_fromstring("<html><body></body></html>")
    document.body.append(found[0])
    return document


def _drop_phrase_blocks(scope: HtmlElement, phrases: tuple[str, ...]) -> dict[str, int]:
    """Remove each small block holding a phrase; return how many blocks each phrase removed."""
    page_chars = len(scope.text_content())
    limit = min(MAX_PHRASE_BLOCK_CHARS, page_chars * MAX_PHRASE_BLOCK_SHARE)
    doomed: dict[int, HtmlElement] = {}
    removed: dict[str, set[int]] = {}
    for text in scope.xpath(".//text()"):
        folded = str(text).casefold()
        found = [phrase for phrase in phrases if phrase in folded]
        if not found:
            continue
        owner = text.getparent()
        if text.is_tail:
            owner = owner.getparent()
        if owner is None or owner.tag in ("script", "style"):
            continue
        block = _enclosing_block(owner)
        if block is not None and len(block.text_content()) <= limit:
            doomed[id(block)] = block
            for phrase in found:
                removed.setdefault(phrase, set()).add(id(block))
    for block in doomed.values():
        remove_keeping_tail(block)
    return {phrase: len(blocks) for phrase, blocks in removed.items()}


def _enclosing_block(element: HtmlElement) -> HtmlElement | None:
    for candidate in element.iterancestors():
        if candidate.tag in ("body", "html", "article", "main"):
            return element if element.tag not in ("body", "html") else None
        if candidate.tag in BLOCK_TAGS:
            return candidate
    return None


def remove_keeping_tail(element: HtmlElement) -> None:
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
# (tagDiv's ``td-post-content`` is a ``post-content``.) Each class is read once where it is.
_BODIES = etree.XPath(
    "//@class[contains(., 'entry-content') or contains(., 'post-content') or "
    "contains(., 'article-body')]/.. | //*[@itemprop = 'articleBody']"
)
_BIOS = (
    ".//*[self::div or self::section or self::aside or self::p]"
    "[contains(@class, 'author') or contains(@class, 'bio')]"
)


def keep_bios_in_body(tree: HtmlElement) -> None:
    """Protect author bios that sit inside the article body from boilerplate filters."""
    for element in (bio for body in _BODIES(tree) for bio in body.xpath(_BIOS)):
        if element.tag == "aside":
            element.tag = "div"
        element.attrib.pop("class", None)
        element.attrib.pop("id", None)
