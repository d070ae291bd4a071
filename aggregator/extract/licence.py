"""The licence an article page declares, read from its parsed tree.

Where a page says it, in this order (the first found wins):

1. JSON-LD ``license`` (a URL, a name, or an object with ``url`` or ``name``) of an article or
   page object (``Article``, ``BlogPosting``, ``NewsArticle``, ``WebPage``, ...), looked for in
   ``@graph`` and nested objects too (an ``ImageObject``'s licence is its picture's, not the
   article's); broken JSON is mended where it can be;
2. ``<link rel="license">`` in the head;
3. ``<a rel="license">`` (``rel`` may list other words), then links to a Creative Commons licence
   and CC badge images: those in the article before those in a footer, sidebar or widget (a
   site-wide badge), since only then is the declaration known to be about the article; none in a
   ``<figure>`` (a photo credit licenses the photo);
4. ``<meta name="copyright">``, ``dc.rights``, ``dcterms.rights`` text.

A page that declares nothing has no licence (None). ``aggregator.licences`` names what was found.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from lxml.html import HtmlElement

from aggregator.licences import Licence, declared_url, licence_from_text, licence_from_url

_ARTICLE_TYPES = re.compile(r"article|posting|creativework|report|essay|webpage", re.I)
_SITE_WIDE = re.compile(r"footer|sidebar|widget|colophon", re.I)
_CC_TARGETS = (
    "//a[contains(@href, 'creativecommons.org/')] | //img[contains(@src, 'creativecommons.org/') "
    "or contains(@src, 'licensebuttons.net/')]"
)
_RIGHTS_NAMES = ("copyright", "dc.rights", "dcterms.rights")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_MAX_JSON = 200_000  # characters of one JSON-LD script read
_MAX_DEPTH = 8


def detect_licence(tree: HtmlElement) -> Licence | None:
    """The licence ``tree`` declares for its article, by the order above; None if none."""
    return (
        _from_json_ld(tree)
        or _from_link_element(tree)
        or _from_anchors_and_badges(tree)
        or _from_rights_meta(tree)
    )


def _from_json_ld(tree: HtmlElement) -> Licence | None:
    for script in tree.xpath("//script[contains(translate(@type, 'JSONLD', 'jsonld'), 'ld+json')]"):
        document = _loads(script.text or "")
        for node in _objects(document, 0):
            licence = _json_licence(node.get("license")) if _is_article(node) else None
            if licence is not None:
                return licence
    return None


def _loads(text: str) -> Any:
    """The JSON of a script, mended when a CMS broke it (comment or CDATA marks around it,
    trailing commas, raw line breaks in strings); None when it cannot be read."""
    text = text[:_MAX_JSON].strip()
    for start, end in (("<!--", "-->"), ("<![CDATA[", "]]>")):
        text = text.removeprefix(start).removesuffix(end).strip()
    try:
        return json.loads(text, strict=False)
    except ValueError:
        pass
    try:
        return json.loads(_TRAILING_COMMA.sub(r"\1", text), strict=False)
    except ValueError:
        return None


def _objects(value: Any, depth: int) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``value`` (``@graph`` and lists included), outermost first."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _objects(child, depth + 1)
    elif isinstance(value, list):
        for child in value:
            yield from _objects(child, depth + 1)


def _is_article(node: dict[str, Any]) -> bool:
    kinds = node.get("@type")
    names = kinds if isinstance(kinds, list) else [kinds]
    return any(isinstance(name, str) and _ARTICLE_TYPES.search(name) for name in names)


def _json_licence(value: Any) -> Licence | None:
    if isinstance(value, list):
        return next(filter(None, (_json_licence(item) for item in value)), None)
    if isinstance(value, dict):
        url = value.get("url") or value.get("@id")
        name = value.get("name")
        if isinstance(url, str) and url.strip():
            return licence_from_url(url) or _named(name) or declared_url(url)
        return _named(name)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.startswith(("http://", "https://", "//")):
            return declared_url(text)
        return licence_from_text(text)
    return None


def _named(name: Any) -> Licence | None:
    return licence_from_text(name) if isinstance(name, str) else None


def _from_link_element(tree: HtmlElement) -> Licence | None:
    for element in _with_rel_license(tree, "link"):
        href = (element.get("href") or "").strip()
        if href:
            return declared_url(href)
    return None


def _with_rel_license(tree: HtmlElement, tag: str) -> Iterator[HtmlElement]:
    """The ``tag`` elements whose ``rel`` lists ``license`` (any case, among other words)."""
    candidates = tree.xpath(f"//{tag}[contains(translate(@rel, 'LICENS', 'licens'), 'license')]")
    for element in candidates:
        if "license" in (element.get("rel") or "").lower().split():
            yield element


def _from_anchors_and_badges(tree: HtmlElement) -> Licence | None:
    """``rel="license"`` links, then CC links and badges; in the article before site-wide."""
    found: list[tuple[int, int, Licence]] = []
    for element in _with_rel_license(tree, "a"):
        href = (element.get("href") or "").strip()
        if href and not _in_figure(element):
            found.append((_site_wide(element), 0, declared_url(href)))
    for element in tree.xpath(_CC_TARGETS):
        if _in_figure(element):
            continue
        target = element.get("href") if element.tag == "a" else element.get("src")
        licence = licence_from_url(target or "")
        if licence is not None:
            found.append((_site_wide(element), 1, licence))
    # Stable: within one rank, the order of the page.
    return min(found, key=lambda item: (item[0], item[1]))[2] if found else None


def _in_figure(element: HtmlElement) -> bool:
    """In a ``<figure>`` or its caption: a credit for the picture, not the article's terms."""
    return any(ancestor.tag in ("figure", "figcaption") for ancestor in element.iterancestors())


def _site_wide(element: HtmlElement) -> int:
    """1 when ``element`` sits in a footer, sidebar or widget (a badge for the whole site)."""
    for ancestor in element.iterancestors():
        if ancestor.tag in ("body", "html"):  # body classes ("has-sidebar") describe the page
            break
        if ancestor.tag in ("footer", "aside"):
            return 1
        marks = f"{ancestor.get('id', '')} {ancestor.get('class', '')}"
        if _SITE_WIDE.search(marks):
            return 1
    return 0


def _from_rights_meta(tree: HtmlElement) -> Licence | None:
    for meta in tree.xpath("//meta[@name and @content]"):
        name = (meta.get("name") or "").strip().lower()
        if name in _RIGHTS_NAMES:
            # A copyright notice may name only its holder ("Redfin"): still a notice.
            licence = licence_from_text(meta.get("content") or "", notice=name == "copyright")
            if licence is not None:
                return licence
    return None
