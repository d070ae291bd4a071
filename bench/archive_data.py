"""Realistic synthetic articles for the archive benchmark, and the rows ingest would store for them.

Each article is a function of its number alone (a seeded ``random.Random``): 500 to 2,000 words
drawn from a Zipf-weighted vocabulary whose most frequent hundred are English's own function
words (``the``, ``of``, ``and``: in real prose they are about half the running words, and text
search leaves most of them out) and the rest invented words, with the topic's terms sprinkled in so
that about half score above the publishing threshold, paragraphs of 20 to 110 words with now
and then a link or an italic phrase, a heading in some, eight sources, authors and a tag or
four. Texts and SimHashes differ as real ones do; ``copy_of`` makes exact and near copies.

``archive_rows`` turns articles into the rows of ``articles``, ``sightings``, ``simhash_bands``
and ``block_sightings`` exactly as ingest computes them: the body's fields come from
``aggregator.ingest.fields.derive_text_fields``, the band and block rows from the storage
layer's own writer (``storage.articles``), so a change to either is followed here. The stored
HTML is what extraction makes of the delivered HTML (``feed_html``); a test checks both agree
with ``prepare_item`` for a sample.
"""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import accumulate
from typing import Any

from aggregator.extract.article import stored_blocks
from aggregator.ingest import Candidate, derive_text_fields
from aggregator.ingest.prepare import EDGE_BLOCKS_END, EDGE_BLOCKS_START, _learnable
from aggregator.relevance import TopicProfile
from aggregator.storage import articles as stored

NOW = datetime(2026, 12, 1, tzinfo=UTC)
# The archive grew at a constant rate up to NOW, in the order of its numbers (so ids follow the
# time articles were first seen, as they do in a real one): 400 a day, a shared instance's
# pace, so 1k articles span 2.5 days and 100k 250 days.
PER_DAY = 400
NEW_BATCH_FIRST = 50_000_000  # numbers of the articles of the batch, newer than NOW
SOURCES = tuple(f"source{n}" for n in range(8))
ANONYMOUS = "source7"  # a source that names no authors
_TAG_WORDS = (
    "housing food rent tenants unions cooperatives childcare health disability prisons "
    "climate disaster-relief migrants workers strikes libraries transport gardens energy "
    "debt education elders youth harm-reduction legal-aid translation repair tools kitchens "
    "neighbourhoods"
)
TAGS = tuple(_TAG_WORDS.split())
TOPIC_TERMS = (
    "mutual aid", "cooperative", "solidarity", "tenant union", "food bank", "the commons",
    "direct action", "mutual aid network", "worker cooperative",
)  # fmt: skip
_SYLLABLE_WORDS = (
    "ba be bi bo bu da de di do du ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu "
    "pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo vu an en in on un "
    "ar er ir or ur st tr pl gr"
)
_SYLLABLES = tuple(_SYLLABLE_WORDS.split())
# The vocabulary's first ranks, most frequent first: with Zipf weights over 20,000 words these
# 110 make about half the running words, as the commonest words of English prose do. Without
# them every word was a distinct content word, and a text index (a tsvector, FTS5's) measured
# about twice the size real prose gives it.
_COMMON_WORDS = (
    "the of and to a in is it you that he was for on are with as i his they be at one have "
    "this from or had by not but what some we can out other were all there when up use your how "
    "said an each she which do their time if will way about many then them would like so these "
    "her long make thing see him two has look more day could go come did number no most people "
    "my over know than call first who may down side been now find any new work part take get "
    "place made live where after back little only"
)
COMMON_WORDS = tuple(_COMMON_WORDS.split())
VOCABULARY_SIZE = 20_000
# An article comes back to its own subject's words: of the rarer words drawn (rank RARE_RANK and
# beyond), this share is one of OWN_WORDS of its own (picked once per article). Calibrated on the
# development corpus's articles of 500 to 2,500 words: distinct stems per running word 0.29
# there and here, PostgreSQL's tsvector 0.75 and 0.82 of the text's bytes, the text compressed
# to 0.54 and 0.58 (``python -m bench.text_calibration``).
RARE_RANK = 500
OWN_SHARE = 0.7
OWN_WORDS = 60


@dataclass(frozen=True)
class Synthetic:
    """One article as a source delivers it."""

    number: int
    source: str
    url: str
    guid: str
    title: str
    author: str | None
    tags: tuple[str, ...]
    published_at: datetime
    paragraphs: tuple[str, ...]  # plain text, one per block
    links: tuple[int, ...]  # which paragraphs end with a link

    def feed_html(self) -> str:
        """The entry's content as the feed delivers it."""
        return "".join(self._blocks(rel=""))

    def stored_html(self) -> str:
        """What extraction and the sanitiser make of ``feed_html``."""
        return "".join(self._blocks(rel=' rel="noopener noreferrer"'))

    def edge_html(self) -> str:
        """The stored HTML of the blocks at the edges, the only ones learning remembers (each
        block's fingerprint is its own: the same as when the whole body is read, only sooner)."""
        blocks = self._blocks(rel=' rel="noopener noreferrer"')
        return "".join(blocks[:EDGE_BLOCKS_START] + blocks[EDGE_BLOCKS_START:][-EDGE_BLOCKS_END:])

    def text(self) -> str:
        """The extracted text: one line per block, inline markup gone."""
        return "\n".join(
            f"{paragraph} further reading" if at in self.links else paragraph
            for at, paragraph in enumerate(self.paragraphs)
        )

    def _blocks(self, rel: str) -> list[str]:
        blocks = []
        for at, paragraph in enumerate(self.paragraphs):
            if at and at % 7 == 0:
                blocks.append(f"<h2>{paragraph}</h2>")
                continue
            if at in self.links:
                link = f"https://elsewhere{at % 13}.example/{self.number}/{at}"
                paragraph = f'{paragraph} <a href="{link}"{rel}>further reading</a>'
            blocks.append(f"<p>{paragraph}</p>")
        return blocks


def _ranks(chooser: random.Random, cumulative: list[float], size: int) -> list[int]:
    """``size`` ranks drawn with the vocabulary's Zipf weights."""
    total = cumulative[-1]
    return [bisect(cumulative, chooser.random() * total) for _ in range(size)]


@cache
def _vocabulary() -> tuple[tuple[str, ...], list[float]]:
    chooser = random.Random(16)
    words: dict[str, None] = dict.fromkeys(COMMON_WORDS)
    while len(words) < VOCABULARY_SIZE:
        words["".join(chooser.choices(_SYLLABLES, k=chooser.choice((1, 2, 2, 3, 3, 4))))] = None
    weights = [1 / rank for rank in range(1, VOCABULARY_SIZE + 1)]
    return tuple(words), list(accumulate(weights))


def synthetic(
    number: int, source: str | None = None, archive_size: int = 0, per_day: int = PER_DAY
) -> Synthetic:
    """Article ``number`` of an archive of ``archive_size`` grown by ``per_day``: the same number
    always gives the same article, only its date depends on those (the last one is NOW's)."""
    chooser = random.Random(number)
    source = source or SOURCES[number % len(SOURCES)]
    words, cumulative = _vocabulary()
    total = chooser.randint(500, 2000)
    own = chooser.choices(words[len(COMMON_WORDS) :], k=OWN_WORDS)
    topical = chooser.random() < 0.5
    paragraphs: list[str] = []
    written = 0
    while written < total:
        size = min(chooser.randint(20, 110), max(total - written, 8))
        if paragraphs and len(paragraphs) % 7 == 0:
            size = chooser.randint(3, 8)  # a heading
        drawn = [
            chooser.choice(own)
            if rank >= RARE_RANK and chooser.random() < OWN_SHARE
            else words[rank]
            for rank in _ranks(chooser, cumulative, size)
        ]
        if topical and chooser.random() < 0.5:
            drawn[chooser.randrange(size)] = chooser.choice(TOPIC_TERMS)
        drawn[0] = drawn[0].capitalize()
        paragraphs.append(
            " ".join(drawn) + ("" if len(paragraphs) % 7 == 0 and paragraphs else ".")
        )
        written += size
    links = tuple(at for at in range(len(paragraphs)) if at % 7 and chooser.random() < 0.15)
    authors = None if source == ANONYMOUS else f"Writer {chooser.randrange(12)} {source.title()}"
    title_words = chooser.choices(words[len(COMMON_WORDS) : 3000], k=chooser.randint(4, 10))
    return Synthetic(
        number=number,
        source=source,
        url=f"https://{source}.example/{number // 1000}/{number}/essay-{number}/",
        guid=f"tag:{source}.example,2026:{number}",
        title=" ".join(title_words).capitalize() + f" ({number})",
        author=authors,
        tags=tuple(sorted(set(chooser.sample(TAGS, chooser.randint(1, 4))))),
        published_at=_published(number, archive_size, timedelta(days=1) / per_day),
        paragraphs=tuple(paragraphs),
        links=links,
    )


def _published(number: int, archive_size: int, step: timedelta) -> datetime:
    if number >= NEW_BATCH_FIRST:
        return NOW + timedelta(days=1) / PER_DAY * (number - NEW_BATCH_FIRST + 1)
    return NOW - step * (archive_size - 1 - number)


def copy_of(original: Synthetic, source: str, number: int, near: bool) -> Synthetic:
    """``original`` republished by ``source`` under its own URL; ``near``: a sentence edited."""
    paragraphs = list(original.paragraphs)
    if near:
        middle = len(paragraphs) // 2
        paragraphs[middle] = f"{paragraphs[middle]} An editor added this sentence here."
    return Synthetic(
        number=number,
        source=source,
        url=f"https://{source}.example/copies/{number}/",
        guid=f"tag:{source}.example,2026:copy-{number}",
        title=original.title,
        author=original.author,
        tags=original.tags,
        published_at=original.published_at + timedelta(hours=5),
        paragraphs=tuple(paragraphs),
        links=original.links,
    )


def candidate(article: Synthetic, profile: TopicProfile) -> Candidate:
    """The candidate ingest would make of ``article`` delivered as full feed content."""
    html = article.stored_html()
    return Candidate(
        source=article.source,
        url=article.url,
        canonical_url=article.url,
        guid=article.guid,
        title=article.title,
        author=article.author,
        published_at=article.published_at,
        date_estimated=False,
        updated_at=None,
        fetched_at=article.published_at,
        body=derive_text_fields(
            html, article.text(), title=article.title, tags=article.tags, profile=profile
        ),
        language=None,
        tags=article.tags,
        blocks=_learnable(stored_blocks(article.edge_html())),
        extraction={"from": "feed content", "rules": [], "learned_removed": []},
    )


@dataclass
class Rows:
    """Rows for the tables ingest writes, ready for an ``executemany``."""

    articles: list[dict[str, Any]]
    sightings: list[dict[str, Any]]
    bands: list[dict[str, Any]]
    blocks: list[dict[str, Any]]


def archive_rows(
    numbers: range,
    size: int,
    source_ids: dict[str, int],
    profile: TopicProfile,
    per_day: int = PER_DAY,
) -> Rows:
    """The stored rows of articles ``numbers`` of an archive of ``size`` (ids ``number + 1``),
    as ingest writes them.

    One article in ten was also seen at another source as an exact copy, one in thirty as a
    near copy (a sentence added): ingest stores those as sightings of the first.
    """
    writes = stored._Writes()
    rows: list[dict[str, Any]] = []
    sightings: list[dict[str, Any]] = []
    for number in numbers:
        article = synthetic(number, archive_size=size, per_day=per_day)
        found = candidate(article, profile)
        article_id = number + 1
        source_id = source_ids[article.source]
        seen = article.published_at + timedelta(minutes=20)
        rows.append(
            {
                "id": article_id,
                "canonical_url": found.canonical_url,
                "guid": found.guid,
                "primary_source_id": source_id,
                "first_seen_at": seen,
                "last_changed_at": seen,
                "date_estimated": False,
                "published_at": found.published_at,
                "updated_at": None,
                **stored._content_fields(found),
            }
        )
        stored._add_fingerprints(writes, article_id, found, source_id)
        sightings.append(_sighting(article_id, source_id, article, seen, None))
        for every, match in ((10, "content"), (30, "near")):
            if number % every == 0:
                other = SOURCES[(number + every // 10 + 1) % len(SOURCES)]
                copy = copy_of(article, other, number, near=match == "near")
                sightings.append(_sighting(article_id, source_ids[other], copy, seen, match))
    return Rows(rows, sightings, writes.bands, writes.blocks)


def _sighting(
    article_id: int, source_id: int, article: Synthetic, seen: datetime, match: str | None
) -> dict[str, Any]:
    return {
        "article_id": article_id,
        "source_id": source_id,
        "url": article.url,
        "guid": article.guid,
        "first_seen_at": seen,
        "last_seen_at": seen,
        "matched_by": match,
    }


def new_batch(size: int) -> list[Synthetic]:
    """``size`` articles none of the archives hold; among them, copies of each other.

    One in twenty is an exact copy, one in twenty-five a near copy, of an earlier article of the
    batch at another source, so the batch exercises every verdict of dedup the same way
    whatever the archive's size.
    """
    first = NEW_BATCH_FIRST
    batch: list[Synthetic] = []
    for at in range(size):
        number = first + at
        if at >= 20 and at % 20 == 0:
            original = batch[at - 17]
            other = SOURCES[(SOURCES.index(original.source) + 3) % len(SOURCES)]
            batch.append(copy_of(original, other, number, near=False))
        elif at >= 25 and at % 25 == 1:
            original = batch[at - 11]
            other = SOURCES[(SOURCES.index(original.source) + 5) % len(SOURCES)]
            batch.append(copy_of(original, other, number, near=True))
        else:
            batch.append(synthetic(number))
    return batch
