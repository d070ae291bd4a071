"""The one HTML sanitiser: everything stored or published passes through ``sanitize_html``.

An allowlist (nh3, which wraps the ammonia crate): structure, emphasis, links, images, tables
and footnote markup survive; scripts, styles, event handlers, forms, frames, embedded SVG/MathML,
``<base>``/``<meta>`` and every non-http(s) link are removed. Links get ``rel="noopener
noreferrer"``. Relative URLs are dropped: callers resolve links against the page URL first.

Stored bodies record the ``SANITIZER_VERSION`` that cleaned them; publishing passes a body
through ``sanitize_html`` again unless it was stored with the current version.
"""

from __future__ import annotations

import nh3

from aggregator.textclean import without_controls

# Which rules stored HTML was cleaned with (``articles.sanitized_with``): publishing trusts a
# body stored with this version and cleans any other again. Bump it whenever the allowlist below
# or the cleaning rules in this module change, so that bodies cleaned by the old rules are
# cleaned by the new ones when they are next published.
SANITIZER_VERSION = 1

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "details",
        "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
        "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "strong", "sub",
        "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
# On every allowed tag (ammonia's default, written out so the allowlist is all in one place).
GENERIC_ATTRIBUTES = frozenset({"lang", "title"})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start", "reversed"},
    "abbr": {"title"},
}
# Not ``cite`` (on blockquote and q): ammonia checks schemes only on the attributes it knows as
# URLs (href, src, ...), so ``cite="javascript:..."`` would pass, and browsers never show it.
# Removed together with everything inside them, not just unwrapped.
DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "template", "noscript", "svg", "math",
     "form", "select", "textarea", "button", "frameset", "frame", "head", "title"}
)  # fmt: skip

_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={
        "*": set(GENERIC_ATTRIBUTES),
        **{tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    },
    url_schemes={"http", "https", "mailto"},
    url_relative="deny",
    link_rel="noopener noreferrer",
    strip_comments=True,
)


# Passes until the output is stable; two suffice for anything seen so far (see sanitize_html).
MAX_PASSES = 4


def sanitize_html(fragment: str) -> str:
    """Return ``fragment`` with control characters and everything outside the allowlist removed.

    Idempotent: ``sanitize_html(sanitize_html(x)) == sanitize_html(x)``. One pass is not always
    enough, because removing a disallowed wrapper can nest what the HTML parser would not nest:
    ``<h1><span><h1>`` parses with the second heading inside the span, and without the span it
    becomes ``<h1><h1>``, which parses differently the next time. So the cleaner runs again until
    its output stops changing. Already-clean HTML (what is stored, when it is published) comes
    back unchanged from the first pass and costs one pass only.
    """
    current = fragment
    for _ in range(MAX_PASSES):
        cleaned = _clean_once(current)
        if cleaned == current:
            break
        current = cleaned
    return current


def _clean_once(fragment: str) -> str:
    # Before, so the parser never sees them; after, because character references such as
    # ``&#x1b;`` only become control characters once parsed.
    return without_controls(_CLEANER.clean(without_controls(fragment)))
