"""From a fetched item to a storable candidate: extract, normalise, fingerprint, score.

Pure CPU work with no database access, so front ends can run it in a worker pool (off Scrapy's
event loop) and hand the results to ``store``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aggregator.dates import normalize_date
from aggregator.errors import NotAnArticleError
from aggregator.extract import NO_RULES, Block, ExtractOptions, SiteRules, extract_article
from aggregator.extract.article import Extracted, strip_blocks
from aggregator.ingest.fields import TextFields, derive_text_fields
from aggregator.items import FetchedItem, Origin
from aggregator.licences import Licence
from aggregator.normalize import canonical_url, clean_inline
from aggregator.relevance import Relevance, TopicProfile

# Only short blocks at the edges of an article are remembered for boilerplate learning: banners
# and appeals are short and open or close the page. A passage quoted in the middle of several
# essays is not boilerplate, and long paragraphs would only fill the table.
MAX_LEARNED_BLOCK_WORDS = 60
EDGE_BLOCKS_START = 3
EDGE_BLOCKS_END = 8


@dataclass(frozen=True)
class SourceContext:
    """What preparing an item of one source needs to know about that source."""

    name: str
    profile: TopicProfile
    rules: SiteRules = NO_RULES
    boilerplate: Collection[str] = field(default=frozenset())
    options: ExtractOptions = field(default_factory=ExtractOptions)


@dataclass(frozen=True)
class Candidate:
    """An article ready for dedup and storage."""

    source: str
    url: str  # where this source has it, normalised
    canonical_url: str  # what the page says it is (rel=canonical), normalised
    guid: str | None
    title: str
    author: str | None
    published_at: datetime
    date_estimated: bool
    updated_at: datetime | None
    fetched_at: datetime
    body: TextFields  # the text and what follows from it
    language: str | None
    tags: tuple[str, ...]
    blocks: tuple[Block, ...]  # short, learnable blocks, for boilerplate learning
    # What extraction took out, as stored for ``articles show`` (see ``extraction_notes``).
    extraction: dict[str, Any] = field(default_factory=dict)
    # The licence the page (or a feed's content) declares, if any.
    licence: Licence | None = None

    @property
    def text(self) -> str:
        return self.body.text

    @property
    def html(self) -> str:
        return self.body.html

    @property
    def content_hash(self) -> str:
        return self.body.content_hash

    @property
    def simhash(self) -> int:
        return self.body.simhash

    @property
    def relevance(self) -> Relevance:
        return self.body.relevance

    @property
    def word_count(self) -> int:
        return self.body.word_count

    @property
    def sanitized_with(self) -> int:
        return self.body.sanitized_with


def prepare_item(item: FetchedItem, context: SourceContext) -> Candidate:
    """Extract and normalise ``item``; ``NotAnArticleError`` or ``ValueError`` means skip it."""
    if not item.html and not item.content:
        raise NotAnArticleError(item.url, "no content to extract (a summary-only feed entry)")
    extracted = _extract(item, context)
    page_url = canonical_url(item.url)
    declared = canonical_url(item.url, declared=extracted.canonical_url)
    published, estimated = _published(item, extracted)
    title = (
        _first(item.feed_title, extracted.title)
        if item.origin is not Origin.CRAWL
        else (_first(extracted.title, item.feed_title))
    )
    author = (
        _first(item.feed_author, extracted.author)
        if item.origin is not Origin.CRAWL
        else (_first(extracted.author, item.feed_author))
    )
    tags = _merge_tags(item.feed_tags, extracted.tags)
    return Candidate(
        source=context.name,
        url=page_url,
        canonical_url=declared,
        guid=clean_inline(item.guid),
        title=title or _untitled(extracted),
        author=author,
        published_at=published,
        date_estimated=estimated,
        updated_at=_updated(item),
        fetched_at=item.fetched_at,
        body=derive_text_fields(
            extracted.html, extracted.text, title=title, tags=tags, profile=context.profile
        ),
        language=extracted.language,
        tags=tags,
        blocks=_learnable(extracted.blocks),
        extraction=extraction_notes(item, extracted),
        licence=extracted.licence,
    )


def strip_stale_boilerplate(
    candidate: Candidate, learned: Collection[str], profile: TopicProfile
) -> Candidate:
    """``candidate`` without the blocks in ``learned`` it still holds, its fields derived again.

    The one stale-boilerplate rule: a candidate extracted before a block was learned (in a
    worker, while another batch was stored) is cleaned of it before it is stored, as extraction
    would have done. A candidate with none of those blocks is returned as it is.
    """
    dropped = {block.fingerprint for block in candidate.blocks} & set(learned)
    if not dropped:
        return candidate
    html, text = strip_blocks(candidate.html, dropped)
    body = derive_text_fields(
        html, text, title=candidate.title, tags=candidate.tags, profile=profile
    )
    return dataclasses.replace(
        candidate,
        body=body,
        blocks=tuple(block for block in candidate.blocks if block.fingerprint not in dropped),
        extraction=with_learned_removed(candidate.extraction, dropped),
    )


def extraction_notes(item: FetchedItem, extracted: Extracted) -> dict[str, Any]:
    """Where the text came from, which site rules removed something, which learned blocks went."""
    return {
        "from": "page" if item.html else "feed content",
        "rules": list(extracted.rules_applied),
        "learned_removed": list(extracted.learned_removed),
    }


def with_learned_removed(notes: Mapping[str, Any], removed: Collection[str]) -> dict[str, Any]:
    """Extraction notes with ``removed`` (learned block fingerprints) added."""
    known = list(notes.get("learned_removed") or [])
    return {**notes, "learned_removed": known + sorted(set(removed) - set(known))}


def _learnable(blocks: tuple[Block, ...]) -> tuple[Block, ...]:
    edges = blocks[:EDGE_BLOCKS_START] + blocks[EDGE_BLOCKS_START:][-EDGE_BLOCKS_END:]
    return tuple(
        block
        for block in edges
        if block.learnable and len(block.text.split()) <= MAX_LEARNED_BLOCK_WORDS
    )


def _extract(item: FetchedItem, context: SourceContext) -> Extracted:
    # Delivered content is the article body alone: give it a page around it.
    html = item.html or f"<html><body><article>{item.content}</article></body></html>"
    return extract_article(
        html,
        item.url,
        rules=context.rules,
        boilerplate=context.boilerplate,
        options=context.options,
        fragment=not item.html,
    )


def _published(item: FetchedItem, extracted: Extracted) -> tuple[datetime, bool]:
    """The first believable date (feed, then page); else the first-seen time, flagged."""
    for claimed in (item.feed_published, extracted.date):
        if claimed is None:
            continue
        moment, estimated = normalize_date(claimed, now=item.fetched_at, first_seen=item.fetched_at)
        if not estimated:
            return moment, False
    return item.fetched_at, True


def _first(*values: str | None) -> str | None:
    for value in values:
        cleaned = clean_inline(value)
        if cleaned:
            return cleaned
    return None


def _untitled(extracted: Extracted) -> str:
    words = extracted.text.split()
    return " ".join(words[:12]) + (" …" if len(words) > 12 else "")


def _merge_tags(*groups: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for group in groups:
        for tag in group:
            cleaned = clean_inline(tag)
            if cleaned:
                seen.setdefault(cleaned.casefold(), cleaned)
    return tuple(seen.values())


def _updated(item: FetchedItem) -> datetime | None:
    if item.feed_updated is None:
        return None
    updated, estimated = normalize_date(
        item.feed_updated, now=item.fetched_at, first_seen=item.fetched_at
    )
    return None if estimated else updated
