"""HTML pieces both themes share: escaping, article bodies, excerpts, dates and page links."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from email.utils import format_datetime

from tests.sites.model import Block

_FOOTNOTE_REF = re.compile(r"\[(\d+)\]")


def esc(value: object) -> str:
    """Escape any value for use in element text or a double-quoted attribute."""
    return html.escape(str(value), quote=True)


def render_blocks(
    blocks: Iterable[Block], uploads: str, insert: Callable[[int], str] | None = None
) -> str:
    """A body as WordPress saves it: ``<p>``, ``<h2>``, ``<blockquote>``, ``<ul>``, figures.

    Footnote markers become Word-style ``_ftn`` anchors. ``insert(i)`` may return extra markup
    (an ad, say) to place after the ``i``-th block.
    """
    out: list[str] = []
    items: list[str] = []
    for index, block in enumerate(blocks):
        if block.kind == "li":
            items.append(f"<li>{footnote_refs(block.text)}</li>")
            continue
        if items:
            out.append("<ul>\n" + "\n".join(items) + "\n</ul>")
            items = []
        out.append(_render_block(block, uploads))
        if insert is not None:
            out.append(insert(index))
    if items:
        out.append("<ul>\n" + "\n".join(items) + "\n</ul>")
    return "\n".join(part for part in out if part)


def _render_block(block: Block, uploads: str) -> str:
    text = footnote_refs(block.text)
    if block.kind == "h2":
        return f"<h2>{text}</h2>"
    if block.kind == "quote":
        return f"<blockquote><p>{text}</p></blockquote>"
    if block.kind == "figure":
        src = f"{uploads}/{esc(block.image)}"
        return (
            f'<figure class="wp-block-image size-large"><img decoding="async" loading="lazy" '
            f'width="1024" height="683" src="{src}" alt="{esc(block.text)}" '
            f'class="wp-image"><figcaption class="wp-element-caption">{text}</figcaption>'
            "</figure>"
        )
    return f"<p>{text}</p>"


def footnote_refs(text: str) -> str:
    """Escape ``text`` and link its ``[n]`` markers to the notes, as Word exports do."""
    return _FOOTNOTE_REF.sub(r'<a href="#_ftn\1" name="_ftnref\1">[\1]</a>', esc(text))


def render_footnotes(notes: Iterable[str]) -> str:
    """The notes list at the foot of a body, each note linked back to its marker."""
    rows = [
        f'<p><a href="#_ftnref{n}" name="_ftn{n}">[{n}]</a> {esc(note)}</p>'
        for n, note in enumerate(notes, start=1)
    ]
    return "\n".join(rows)


def teaser(text: str, chars: int = 160) -> str:
    """A "Related Posts" teaser: cut at ``chars`` characters and closed with "…"."""
    return text[:chars].rstrip() + "…"


def wp_date(value: datetime) -> str:
    """Dates as WordPress shows them by default: ``January 22, 2015``."""
    return f"{value:%B} {value.day}, {value.year}"


def comment_date(value: datetime) -> str:
    """``January 22, 2015 at 3:11 pm``."""
    hour = value.hour % 12 or 12
    return f"{wp_date(value)} at {hour}:{value:%M} {'am' if value.hour < 12 else 'pm'}"


def rfc822(value: datetime) -> str:
    """RSS dates: ``Thu, 22 Jan 2015 08:15:00 +0000``."""
    return format_datetime(value)


def iso(value: datetime) -> str:
    """``2015-01-22T08:15:00+00:00``, as WordPress writes it in meta tags and sitemaps."""
    return value.isoformat(timespec="seconds")


def page_numbers(current: int, total: int, link: Callable[[int], str]) -> str:
    """``paginate_links()``: Previous, 1 … 4 5 [6] 7 8 … 20, Next."""
    if total <= 1:
        return ""
    parts: list[str] = []
    if current > 1:
        parts.append(f'<a class="prev page-numbers" href="{esc(link(current - 1))}">Previous</a>')
    dots = False
    for number in range(1, total + 1):
        if number == current:
            parts.append(f'<span aria-current="page" class="page-numbers current">{number}</span>')
            dots = False
        elif number in (1, total) or abs(number - current) <= 2:
            parts.append(f'<a class="page-numbers" href="{esc(link(number))}">{number}</a>')
            dots = False
        elif not dots:
            parts.append('<span class="page-numbers dots">&hellip;</span>')
            dots = True
    if current < total:
        parts.append(f'<a class="next page-numbers" href="{esc(link(current + 1))}">Next</a>')
    return (
        '<nav class="navigation pagination" aria-label="Posts">\n'
        '<h2 class="screen-reader-text">Posts navigation</h2>\n'
        '<div class="nav-links">' + "\n".join(parts) + "</div>\n</nav>"
    )
