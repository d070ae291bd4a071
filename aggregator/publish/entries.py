"""Published articles as the feeds and the page see them, built from stored rows.

Pure functions of their inputs. Every string bound for an output passes through one of two
gates: ``plain_text`` for titles, authors, tags and summaries (entities decoded until none are
left, then all markup removed, so ``&lt;script&gt;`` in a title is dropped, not displayed), or
``published_body`` for bodies (as stored when the current sanitiser wrote them, which ingest
records in ``sanitized_with``; otherwise ``sanitize_body``, ``sanitize_html`` once more). Both
also drop the characters XML 1.0 cannot carry (the sanitiser's output has none).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import nh3

from aggregator.publish.republish import Shape, excerpt_words, shape_for
from aggregator.sanitize import DROPPED_WITH_CONTENT, SANITIZER_VERSION, sanitize_html
from aggregator.storage.published import ArticleRow, PublishPolicy, SightingRow
from aggregator.textclean import CONTROL_CHARACTERS, without_controls, without_surrogates

SUMMARY_CHARS = 280
_WORD_MARGIN = 80  # read this much past a summary's length, for the spaces it loses
LINK_REL = "noopener noreferrer"  # what the sanitiser puts on every link, too
# What an empty feed says it was last updated: fixed, so an empty feed's bytes never change.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Anything that could start a tag, a comment or an entity ("& " and "a < b" cannot).
_MARKUP = re.compile(r"<[^\s<]|&[#\w]")
# Scheme, optional user info, then a host of at least one character.
_HTTP_URL = re.compile(r"https?://(?:[^/?#@]*@)?[^/?#@:\[\]]+|https?://\[[0-9a-f:.]+\]", re.I)
_UNFIT_IN_URL = re.compile(f"[\\s{re.escape(CONTROL_CHARACTERS)}\ud800-\udfff]")
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")  # RFC 4287's atomLanguageTag
_TEXT_ONLY = nh3.Cleaner(
    tags=set(), clean_content_tags=set(DROPPED_WITH_CONTENT), strip_comments=True
)


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A source as outputs name it."""

    name: str
    title: str


@dataclass(frozen=True, slots=True)
class Sighted:
    """One place an article appeared: which source, at which URL ("" when not fit to link)."""

    source: SourceRef
    url: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One published article, cleaned and attributed, ready for any output format.

    ``id`` never changes: it is made of the database id and the day the article was first
    seen, neither of which an update touches (the canonical URL can change, when an older copy
    turns up elsewhere). ``changed`` is when this entry's output last changed (text or
    sightings); HTTP Last-Modified is made from it. ``republished`` is the shape its source's
    terms gave it (``publish.republish``): ``full``; ``excerpt``, where ``content_html`` is the
    first words and a link to the original; ``link``, where ``content_html`` and ``summary``
    are empty. ``licence`` is what the page declares (``aggregator.licences``), if known.
    ``content_html`` ends with the attribution (``attribution_html``): the feeds carry it, the
    archive's article page shows the body before it and an attribution of its own.
    """

    id: str
    article_id: int
    title: str
    author: str | None
    url: str | None
    published: datetime
    updated: datetime
    changed: datetime
    summary: str
    content_html: str
    tags: tuple[str, ...]
    language: str | None
    original: Sighted
    also_seen: tuple[Sighted, ...]
    licence: str | None = None
    republished: Shape = "full"
    attribution: str = ""  # the end of ``content_html``: "Originally published at ..."

    @property
    def body_html(self) -> str:
        """``content_html`` without its attribution."""
        return self.content_html.removesuffix(self.attribution)


def build_entry(
    row: ArticleRow,
    sightings: Iterable[SightingRow],
    sources: dict[int, SourceRef],
    id_domain: str,
    policy: PublishPolicy | None = None,
) -> Entry:
    """Turn one stored article and its sightings into an entry, shaped by ``policy``: the
    republish mode of its primary source, and no attribution to a source that opted out
    (``None``: in full, every source named)."""
    primary = sources.get(row.primary_source_id) or SourceRef("unknown", "unknown source")
    opted_out = policy.opted_out if policy else frozenset()
    url = safe_url(row.canonical_url)
    seen = sorted(sightings, key=_sighting_order)
    original = Sighted(primary, url or "")
    also_seen = tuple(
        Sighted(sources[sighting.source_id], safe_url(sighting.url) or "")
        for sighting in seen
        if sighting.source_id != row.primary_source_id
        and sighting.source_id in sources
        and sources[sighting.source_id].name not in opted_out
    )
    published = row.published_at or row.first_seen_at
    changed = max([row.last_changed_at, *(sighting.first_seen_at for sighting in seen)])
    shape = shape_for(policy.republish_mode(primary.name), row.licence) if policy else "full"
    summary, body, attribution = _shaped(shape, row, original, also_seen)
    return Entry(
        id=entry_id(id_domain, row.id, row.first_seen_at),
        article_id=row.id,
        title=plain_text(row.title) or "(untitled)",
        author=plain_text(row.author or "") or None,
        url=url,
        published=published,
        updated=max(published, row.updated_at or published),
        changed=changed,
        summary=summary,
        content_html=body + attribution,
        tags=clean_tags(row.tags),
        language=row.language if row.language and _LANGUAGE.fullmatch(row.language) else None,
        original=original,
        also_seen=also_seen,
        licence=row.licence,
        republished=shape,
        attribution=attribution,
    )


def _shaped(
    shape: Shape, row: ArticleRow, original: Sighted, also_seen: Sequence[Sighted]
) -> tuple[str, str, str]:
    """(summary, body, attribution) of an article in ``shape``."""
    if shape == "link":
        return "", "", ""
    if shape == "excerpt":
        excerpt = plain_text(excerpt_words(row.text))
        lead = f"<p>{html.escape(excerpt, quote=False)}</p>" if excerpt else ""
        return summarize(excerpt), lead, attribution_html(original, also_seen, "Read it at")
    body = published_body(row.html, row.sanitized_with)
    return summarize(row.text), body, attribution_html(original, also_seen)


def _sighting_order(sighting: SightingRow) -> tuple[datetime, str]:
    return sighting.first_seen_at, sighting.url


def entry_id(id_domain: str, article_id: int, first_seen_at: datetime) -> str:
    """A tag: URI (RFC 4151) that names the article for good."""
    day = first_seen_at.astimezone(UTC).date().isoformat()
    return f"tag:{id_domain},{day}:article/{article_id}"


def clean_xml_chars(text: str) -> str:
    """``text`` without the characters an XML document cannot contain (and the C1 controls it
    merely discourages)."""
    return without_controls(text, surrogates=True)


def published_body(html: str, sanitized_with: int | None) -> str:
    """A stored body as published: as stored when the current sanitiser produced it.

    Anything else (stored before the version was recorded, by an older allowlist, or not by the
    sanitiser at all) is cleaned again, so a database from an older version needs no backfill.
    """
    return html if sanitized_with == SANITIZER_VERSION else sanitize_body(html)


def sanitize_body(fragment: str) -> str:
    """``sanitize_html`` once more, and fit for XML.

    The sanitiser's HTML parser already drops C0 and C1 controls; the two non-characters it
    keeps are removed here, and lone surrogates (which it cannot take) before it.
    """
    try:
        clean = sanitize_html(fragment)
    except UnicodeEncodeError:
        clean = sanitize_html(without_surrogates(fragment))
    return clean.replace("\ufffe", "").replace("\uffff", "")


def plain_text(value: str) -> str:
    """Text for a title, author or tag: entities decoded, markup gone, whitespace collapsed."""
    # No tag, no entity: the common case, mostly settled by the two searches (in C).
    if ("<" not in value and "&" not in value) or not _MARKUP.search(value):
        return _collapse(value)
    text = value
    # Each pass that changes anything makes the string shorter, so this ends.
    while (decoded := html.unescape(text)) != text:
        text = decoded
    # Lone surrogates: never valid, and the markup parser cannot take them.
    text = html.unescape(_TEXT_ONLY.clean(without_surrogates(text)))
    return _collapse(text)


def _collapse(text: str) -> str:
    """Whitespace runs to one space, ends trimmed, characters XML cannot carry dropped."""
    joined = " ".join(text.split())
    cleaned = clean_xml_chars(joined)
    return joined if cleaned == joined else " ".join(cleaned.split())


def summarize(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The beginning of ``text`` as plain text, cut at a word boundary near ``limit``."""
    source = text[: limit * 3]
    plain = _plain_start(source, limit) or plain_text(source)
    if len(plain) <= limit:
        return plain
    cut = plain[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


def _plain_start(source: str, limit: int) -> str | None:
    """More than ``limit`` characters that ``plain_text(source)`` starts with, when a short read
    settles them (no markup, nothing to drop); None when it does not.

    For such text ``plain_text`` only joins the words with single spaces, and doing that to a
    slice of ``source`` gives the start of doing it to all of ``source`` (a word cut short at
    the end of the slice is still the start of that word). Half the work, for every summary.
    """
    if "<" in source or "&" in source:
        return None
    start = " ".join(source[: limit + _WORD_MARGIN].split())
    return start if len(start) > limit and start.isprintable() else None


def clean_tags(tags: Iterable[object]) -> tuple[str, ...]:
    """Tags as plain text, blanks and repeats (ignoring case) dropped, order kept."""
    seen: set[str] = set()
    kept: list[str] = []
    for tag in tags:
        text = plain_text(tag) if isinstance(tag, str) else ""
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            kept.append(text)
    return tuple(kept)


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL with a host, fit to link to; else None."""
    if not url or not _HTTP_URL.match(url) or _UNFIT_IN_URL.search(url):
        return None
    return url


def attribution_html(
    original: Sighted, also_seen: Sequence[Sighted], lead: str = "Originally published at"
) -> str:
    """ "Originally published at <a>Source</a>; also seen at <a>X</a>, <a>Y</a>." as HTML
    (an excerpt's reads "Read it at <a>Source</a>; ...").

    Every name and URL is escaped (the URLs are http(s) only), so this fragment needs no
    sanitising of its own.
    """
    text = f"{lead} {_source_link(original)}"
    if also_seen:
        text += "; also seen at " + ", ".join(_source_link(sighted) for sighted in also_seen)
    return f"<p><em>{text}.</em></p>"


def _source_link(sighted: Sighted) -> str:
    name = html.escape(sighted.source.title)
    if not sighted.url:
        return name
    return f'<a href="{html.escape(sighted.url)}" rel="{LINK_REL}">{name}</a>'


def newest(entries: Iterable[Entry], moment: str = "updated") -> datetime:
    """The latest ``updated`` (or ``changed``) of ``entries``; ``EPOCH`` when there are none."""
    return max((getattr(entry, moment) for entry in entries), default=EPOCH)
