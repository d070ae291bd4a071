"""The article body: trafilatura in one quick pass, and a fuller second pass when that one
kept too little of the page.

Measured on 790 real article pages (``python -m tests.quality --corpus shared``): trafilatura's
``favor_recall`` with ``fast`` keeps the whole article on most pages at about three quarters of
the CPU of its defaults; on the pages where it keeps little (a narrow container, an unusual layout),
trafilatura's defaults with its fallback extractors (readability, jusText) recover it. Images stay
out of the extraction: counted as content, they lead trafilatura to pick galleries and teaser
grids over the text on some pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from lxml import etree
from lxml.html import HtmlElement

Favor = Literal["precision", "balanced", "recall"]
# The quick pass is enough when it kept at least this share of the words the page holds in
# paragraphs; below it (or below ``min_words``) the fuller pass runs and the longer result wins.
ENOUGH_OF_THE_PAGE = 0.2


@dataclass(frozen=True)
class PassSettings:
    favor: Favor = "recall"
    fast: bool = True
    second_pass: bool = True


@dataclass(frozen=True, slots=True)
class Body:
    """The extracted body as HTML elements (``<body>`` with one child per block)."""

    tree: etree._Element
    words: int


def paragraph_words(tree: HtmlElement) -> int:
    """Words the page holds in ``<p>`` elements: what "too little of the page" is measured by."""
    return sum(len(paragraph.text_content().split()) for paragraph in tree.iter("p"))


def extract_body(
    tree: HtmlElement, url: str, settings: PassSettings, min_words: int
) -> Body | None:
    """The article body of ``tree`` (left unchanged), or ``None`` when there is no text."""
    first = _run(tree, url, favor=settings.favor, fast=settings.fast)
    if not settings.second_pass:
        return first
    enough = max(min_words, ENOUGH_OF_THE_PAGE * paragraph_words(tree))
    if first is not None and first.words >= enough:
        return first
    second = _run(tree, url, favor="balanced", fast=False)
    if second is None or (first is not None and first.words >= second.words):
        return first
    return second


def _run(tree: HtmlElement, url: str, *, favor: Favor, fast: bool) -> Body | None:
    import trafilatura  # here, not above: ~100 ms that a poll finding nothing new never needs
    from trafilatura.htmlprocessing import convert_to_html
    from trafilatura.settings import Document

    options: dict[str, Any] = {
        "url": url,
        "fast": fast,
        "favor_precision": favor == "precision",
        "favor_recall": favor == "recall",
        "include_comments": False,
        "include_tables": True,
        "include_images": False,
        "include_links": True,
        "include_formatting": True,
        "with_metadata": False,
    }
    document = trafilatura.bare_extraction(tree, **options)
    if not isinstance(document, Document) or document.body is None:
        return None
    words = len((document.text or "").split())
    if not words:
        return None
    return Body(convert_to_html(document.body)[0], words)
