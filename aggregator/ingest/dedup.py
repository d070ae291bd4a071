"""The dedup rules: from a candidate and what is stored like it, what to do with it.

Storage looks up what it holds that could be the same article (``Known``) and applies what
``decide`` answers; the rules themselves need no database. In order:

1. a candidate whose URL or text was purged by retention stays purged;
2. the same item again (its GUID or URL): unchanged if its text is, else updated in place;
3. another copy of a stored article (the same text exactly, or a near-duplicate: SimHash within
   ``NEAR_DUPLICATE_DISTANCE`` bits with agreeing titles and authors): a sighting, and the
   copy becomes the primary one when it was published earlier;
4. anything else is inserted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aggregator.fingerprints import NEAR_DUPLICATE_DISTANCE, authors_agree, hamming, titles_agree
from aggregator.ingest.prepare import Candidate
from aggregator.ingest.report import Outcome


class Intent(StrEnum):
    """What storage is to do with a candidate."""

    INSERT = "insert"
    UPDATE = "update"
    SIGHTING = "sighting"
    UNCHANGED = "unchanged"
    PURGED = "purged"

    @property
    def outcome(self) -> Outcome:
        return _OUTCOMES[self]


_OUTCOMES = {
    Intent.INSERT: Outcome.NEW,
    Intent.UPDATE: Outcome.UPDATED,
    Intent.SIGHTING: Outcome.DUPLICATE,
    Intent.UNCHANGED: Outcome.UNCHANGED,
    Intent.PURGED: Outcome.PURGED,
}


class MatchKind(StrEnum):
    """How a candidate was matched to a stored article (``sightings.matched_by``)."""

    SAME = "same"  # the GUID or URL of an item already stored
    CONTENT = "content"
    NEAR = "near"


@dataclass(frozen=True)
class StoredArticle:
    """What dedup needs to know of a stored article."""

    id: int
    content_hash: str
    simhash: int | None
    title: str | None
    author: str | None
    published_at: datetime | None
    date_estimated: bool


@dataclass(frozen=True)
class Known:
    """What storage holds that could be the candidate, found by its lookups."""

    same_item: StoredArticle | None = None  # stored under the candidate's GUID or a URL of it
    same_text: StoredArticle | None = None  # the first stored with the candidate's text
    near: tuple[StoredArticle, ...] = ()  # sharing a SimHash band with the candidate
    purged: bool = False  # its URL or content hash has a tombstone


@dataclass(frozen=True)
class Decision:
    """An intent and the stored article it concerns (none for an insert or a purge)."""

    intent: Intent
    article_id: int | None = None
    match: MatchKind | None = None
    becomes_primary: bool = False  # a sighting published before the stored copy
    takes_date: bool = False  # an update whose date replaces the stored estimate


def decide(candidate: Candidate, known: Known) -> Decision:
    """Apply the rules above, in order."""
    if known.purged:
        return Decision(Intent.PURGED)
    same = known.same_item
    if same is not None:
        if same.content_hash == candidate.content_hash:
            return Decision(Intent.UNCHANGED, same.id, MatchKind.SAME)
        takes_date = same.date_estimated and not candidate.date_estimated
        return Decision(Intent.UPDATE, same.id, MatchKind.SAME, takes_date=takes_date)
    copy, match = known.same_text, MatchKind.CONTENT
    if copy is None:
        copy, match = near_duplicate(candidate, known.near), MatchKind.NEAR
    if copy is None:
        return Decision(Intent.INSERT)
    earlier = published_earlier(candidate, copy)
    return Decision(Intent.SIGHTING, copy.id, match, becomes_primary=earlier)


def near_duplicate(candidate: Candidate, suspects: Iterable[StoredArticle]) -> StoredArticle | None:
    """The oldest stored article close enough in SimHash, with agreeing title and author."""
    for stored in sorted(suspects, key=lambda article: article.id):
        if stored.simhash is None:
            continue
        if hamming(stored.simhash, candidate.simhash) > NEAR_DUPLICATE_DISTANCE:
            continue
        if titles_agree(stored.title, candidate.title) and authors_agree(
            stored.author, candidate.author
        ):
            return stored
    return None


def published_earlier(candidate: Candidate, stored: StoredArticle) -> bool:
    """Whether a copy is the original: its date is known and before the stored one's.

    A stored article with only an estimated date gives way to any copy with a known date.
    """
    if candidate.date_estimated or stored.published_at is None:
        return False
    return stored.date_estimated or candidate.published_at < stored.published_at
