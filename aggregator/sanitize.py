"""The one HTML sanitiser: everything stored or published passes through ``sanitize_html``.

An allowlist (nh3, which wraps the ammonia crate): structure, emphasis, links, images, tables
and footnote markup survive; scripts, styles, event handlers, forms, frames, embedded SVG/MathML,
``<base>``/``<meta>`` and every non-http(s) link are removed. Links get ``rel="noopener
noreferrer"``. Relative URLs are dropped: callers resolve links against the page URL first.
"""

from __future__ import annotations

import re

import nh3

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "details",
        "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
        "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "strong", "sub",
        "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start", "reversed"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "abbr": {"title"},
}
# Removed together with everything inside them, not just unwrapped.
DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "template", "noscript", "svg", "math",
     "form", "select", "textarea", "button", "frameset", "frame", "head", "title"}
)  # fmt: skip

_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    url_schemes={"http", "https", "mailto"},
    url_relative="deny",
    link_rel="noopener noreferrer",
    strip_comments=True,
)


# C0 and C1 control characters other than tab and newlines: invalid in XML, refused by
# PostgreSQL (NUL), and never meaningful in an article.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def sanitize_html(fragment: str) -> str:
    """Return ``fragment`` with control characters and everything outside the allowlist removed."""
    # Before, so the parser never sees them; after, because character references such as
    # ``&#x1b;`` only become control characters once parsed.
    return _CONTROL.sub("", _CLEANER.clean(_CONTROL.sub("", fragment)))
