"""Does any start tag of an HTML page carry more than N attributes? Answered before parsing.

lxml's HTML parser (libxml2 2.14) checks each attribute of an element against all the ones
before it, so one element with 100,000 attributes takes it 17 s. The question has to be
answered the way that parser tokenises, or a page could hide a tag from the scan: a quote may
open a value that runs past ``>``, and what is inside a comment or a ``<script>`` is no tag.
So the scan follows the HTML5 tokenizer, which libxml2 2.14 implements, as far as it decides
where tags are: comments (``<!-->`` and ``--!>`` too), bogus comments and declarations up to the
first ``>`` (a ``<![CDATA[`` among them, as libxml2 reads it outside foreign content), end tags
with attributes of their own, start tags with their attributes (a name may start with ``=`` or
a quote; a quote opens a value only after ``=``; HTML5 blanks only), raw text and RCDATA
elements up to their end tag, ``<script>`` with its escaped and double-escaped states, and
``<plaintext>`` to the end. Where libxml2 departs from HTML5, the scan follows libxml2: a raw
text element's start tag closed by ``/>`` has no raw text after it, and ``<noscript>`` holds
markup (as HTML5 has it without scripting).

Most of the page is read by one regular expression in C; Python steps in only at raw text
elements. Each character is read once: the cost is linear in the page.
"""

from __future__ import annotations

import functools
import re

_BLANK = r"\t\n\f\r "  # HTML5's: not vertical tab, nor other white space
# One attribute: separators (blanks, stray slashes), a name, an optional value. Atomic, so that
# each attribute is read one way only.
_ATTRIBUTE = (
    rf"(?>[{_BLANK}/]*[^{_BLANK}/>][^{_BLANK}/>=]*"
    rf"""(?:[{_BLANK}]*=[{_BLANK}]*(?:"[^"]*"|'[^']*'|[^{_BLANK}>]*))?)"""
)
_TAG_NAME = rf"[A-Za-z][^{_BLANK}/>]*+"
RAW_TEXT = ("script", "style", "xmp", "iframe", "noembed", "noframes", "textarea", "title")
_RAW_NAME = rf"(?i:{'|'.join(RAW_TEXT)}|plaintext)(?=[{_BLANK}/>]|\Z)"
_SCRIPT_TOKEN = re.compile(rf"<!--|-->|</?(?i:script)(?=[{_BLANK}/>])")


@functools.cache
def _markup(limit: int) -> re.Pattern[str]:
    """Text, comments, declarations, end tags and start tags with at most ``limit`` attributes,
    as far as they go: it stops at a raw text element's start tag or a crowded start tag."""
    return re.compile(
        rf"""(?:
            [^<]++
          | <!--(?:-?>|.*?(?:--!?>|\Z))
          | <[!?][^>]*+>?
          | </(?![A-Za-z])[^>]*+>?
          | </{_TAG_NAME}{_ATTRIBUTE}*+
          | <(?!{_RAW_NAME}){_TAG_NAME}{_ATTRIBUTE}{{0,{limit}}}+(?!{_ATTRIBUTE})
          | <(?![A-Za-z!?/])
        )*+""",
        re.DOTALL | re.VERBOSE,
    )


@functools.cache
def _raw_start(limit: int) -> re.Pattern[str]:
    """A raw text element's start tag with at most ``limit`` attributes."""
    attributes = rf"{_ATTRIBUTE}{{0,{limit}}}+(?!{_ATTRIBUTE})"
    return re.compile(rf"<({_TAG_NAME}){attributes}([{_BLANK}/]*+)(>?)")


@functools.cache
def _raw_end(name: str) -> re.Pattern[str]:
    return re.compile(rf"</(?i:{re.escape(name)})(?=[{_BLANK}/>])")


def has_crowded_tag(html: str, limit: int) -> bool:
    """Does a start tag of ``html`` have more than ``limit`` attributes, as libxml2 reads it?"""
    position = 0
    markup = _markup(limit)
    while True:
        read = markup.match(html, position)
        position = read.end() if read else position
        if position >= len(html):
            return False
        tag = _raw_start(limit).match(html, position)
        if tag is None:
            return True  # the markup stopped at a crowded start tag
        name = tag[1].lower()
        if name != "plaintext" and tag[2].endswith("/") and tag[3]:
            position = tag.end()  # libxml2 reads ``<script/>`` as an empty element
        else:
            position = _raw_text_end(html, name, tag.end())


def _raw_text_end(html: str, name: str, start: int) -> int:
    """Where the raw text of element ``name``, from ``start``, ends: at its end tag."""
    if name == "plaintext":
        return len(html)
    if name == "script":
        return _script_end(html, start)
    end = _raw_end(name).search(html, start)
    return end.start() if end else len(html)


def _script_end(html: str, position: int) -> int:
    """Where a script ends, through HTML5's script data states: ``<!--`` escapes it, and in
    there ``<script`` escapes it twice, so that one ``</script>`` only undoes that."""
    state = "data"
    while (token := _SCRIPT_TOKEN.search(html, position)) is not None:
        text = token[0].lower()
        # The dashes of ``<!--`` may be those of the ``-->`` that follows (``<!-->``).
        position = token.end() - 2 if text == "<!--" else token.end()
        if text == "-->":
            state = "data"
        elif text == "<!--":
            state = "escaped" if state == "data" else state
        elif text == "<script":
            state = "double" if state == "escaped" else state
        elif state == "double":  # </script
            state = "escaped"
        else:
            return token.start()
    return len(html)
