"""Which feed entries a source already has stored, so their pages are not fetched again.

Also tells whether a stored link came with another GUID, for spotting feeds whose GUIDs change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aggregator.normalize import canonical_url, clean_inline
from aggregator.storage import Session

# Server and local clocks differ; a post modified this close to our last change counts as changed.
CLOCK_SKEW = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Stored:
    article_id: int
    last_changed_at: datetime
    guid: str | None = None  # the GUID the source gave it when last seen

    def outdated_by(self, modified: datetime | None) -> bool:
        """Was the post modified after we last stored it? An unknown date says no."""
        return modified is not None and modified > self.last_changed_at - CLOCK_SKEW


@dataclass(frozen=True)
class KnownEntries:
    """Stored sightings of one source, by GUID and by normalised URL."""

    by_guid: dict[str, Stored]
    by_url: dict[str, Stored]

    def find(self, guid: str | None, link: str) -> Stored | None:
        key = clean_inline(guid)
        if key and key in self.by_guid:
            return self.by_guid[key]
        key = url_key(link)
        return self.by_url.get(key) if key else None

    def guid_changed(self, guid: str | None, link: str) -> bool:
        """Is ``link`` stored under another GUID, while ``guid`` itself is stored nowhere?"""
        key = clean_inline(guid)
        if not key or key in self.by_guid:
            return False
        url = url_key(link)
        stored = self.by_url.get(url) if url else None
        return stored is not None and stored.guid is not None and stored.guid != key


def url_key(link: str) -> str | None:
    try:
        return canonical_url(link)
    except ValueError:
        return None


def known_entries(
    session: Session, source_id: int, guids: Iterable[str], links: Iterable[str]
) -> KnownEntries:
    """Look up the given GUIDs and links among the source's sightings."""
    # Imported here: ``articles`` brings the ingest and extraction modules, which a poll of
    # unchanged feeds never reaches.
    from aggregator.storage import articles

    guid_list = sorted({key for key in map(clean_inline, guids) if key})
    url_list = sorted({key for key in map(url_key, links) if key})
    if not guid_list and not url_list:
        return KnownEntries({}, {})
    by_guid: dict[str, Stored] = {}
    by_url: dict[str, Stored] = {}
    for guid, url, article_id, changed in articles.sightings_matching(
        session, source_id, guid_list, url_list
    ):
        stored = Stored(article_id, changed, guid)
        if guid:
            by_guid[guid] = stored
        by_url[url] = stored
    return KnownEntries(by_guid, by_url)
