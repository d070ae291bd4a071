"""Size and structure limits on HTML, checked before lxml, trafilatura and nh3 read it.

Extraction costs more than the bytes suggest on some shapes of HTML: lxml's HTML parser checks
each attribute of an element against all the ones before it (one ``<p>`` with 100,000
attributes took 17 s to parse and 85 s to extract), and trafilatura's passes grow faster than
the number of elements (200,000 short paragraphs: 50 s). A page or feed entry past any limit is
refused with a one-line reason, as a page that is not an article is, and the batch goes on.

The checks cost little against extraction itself. Before parsing, on the markup: its size, the
number of start tags (``<`` and a letter, counted only when there are more ``<`` than elements
allowed) and whether a start tag has too many attributes, read as libxml2 reads them
(``tagscan``). After parsing, on the tree: its depth (libxml2 stops nesting at 256 on its own
and drops what lies deeper), by an XPath of that many steps, evaluated in C.

Refusing, not pruning: pruning excess attributes would need the costly parse first, and no
real article needs what the limits refuse. The defaults are several times what the 891 real
pages of the development corpus need (largest 1.8 MB, most elements 9,192, deepest 56, most
attributes on one element 136).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from aggregator.extract.tagscan import has_crowded_tag

MAX_HTML_SIZE = 5_000_000  # characters
MAX_ELEMENTS = 30_000
MAX_DEPTH = 200  # libxml2 nests no deeper than 256 without its huge-tree option
MAX_ATTRIBUTES = 1_000  # on one element


@dataclass(frozen=True)
class HtmlLimits:
    """What one page or feed entry may hold to be extracted (``extraction.max_*``)."""

    max_size: int = MAX_HTML_SIZE
    max_elements: int = MAX_ELEMENTS
    max_depth: int = MAX_DEPTH
    max_attributes: int = MAX_ATTRIBUTES


DEFAULT_LIMITS = HtmlLimits()
PREFIX = "beyond the extraction limits: "

_START_TAG = re.compile(r"<[A-Za-z]")


def markup_problem(html: str, limits: HtmlLimits = DEFAULT_LIMITS) -> str | None:
    """Why ``html`` is not to be parsed for extraction (one line), or None."""
    if len(html) > limits.max_size:
        return f"{PREFIX}{len(html):,} characters of HTML (extraction.max_html_size)"
    if _start_tags_over(html, limits.max_elements):
        return f"{PREFIX}more than {limits.max_elements:,} elements (extraction.max_elements)"
    if has_crowded_tag(html, limits.max_attributes):
        return (
            f"{PREFIX}an element with more than {limits.max_attributes:,} attributes "
            "(extraction.max_attributes)"
        )
    return None


def tree_problem(tree: Any, limits: HtmlLimits = DEFAULT_LIMITS) -> str | None:
    """Why a parsed page is not to be extracted (one line), or None."""
    if _deeper_than(limits.max_depth)(tree):
        return f"{PREFIX}elements nested more than {limits.max_depth} deep (extraction.max_depth)"
    return None


def _start_tags_over(html: str, limit: int) -> bool:
    """More start tags than ``limit``? Counted only past ``limit`` ``<``, and only that far."""
    if html.count("<") <= limit:
        return False
    return any(count > limit for count, _ in enumerate(_START_TAG.finditer(html), 1))


@functools.cache
def _deeper_than(depth: int) -> Any:
    """An XPath true on an element with descendants more than ``depth`` levels below it,
    counting the element as the first level."""
    return etree.XPath("boolean(" + "/".join(["*"] * depth) + ")")
