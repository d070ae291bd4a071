"""The dedup rules, decided from hand-built candidates and stored rows: no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.fingerprints import NEAR_DUPLICATE_DISTANCE
from aggregator.ingest import Candidate, Outcome
from aggregator.ingest.dedup import (
    Decision,
    Intent,
    Known,
    MatchKind,
    StoredArticle,
    decide,
)
from aggregator.storage.articles import BatchIndex
from tests.candidates import make_candidate

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(days=30)
SIMHASH = 0x5A5A_0F0F_3C3C_9999
TITLE = "Mutual Aid: A Factor of Evolution"
AUTHOR = "Peter Kropotkin"


def flipped(value: int, bits: int) -> int:
    """``value`` with its lowest ``bits`` bits flipped: that many bits of Hamming distance."""
    return value ^ ((1 << bits) - 1)


def candidate(**changes: object) -> Candidate:
    return make_candidate(
        content_hash=str(changes.pop("content_hash", "hash-new")),
        simhash=int(changes.pop("simhash", SIMHASH)),  # type: ignore[call-overload]
        when=NOW,
        **{"title": TITLE, "author": AUTHOR, **changes},
    )


def stored(article_id: int = 1, **changes: object) -> StoredArticle:
    article = StoredArticle(
        id=article_id,
        content_hash="hash-stored",
        simhash=SIMHASH,
        title=TITLE,
        author=AUTHOR,
        published_at=NOW,
        date_estimated=False,
    )
    return replace(article, **changes)  # type: ignore[arg-type]


# -- the same item again ------------------------------------------------------------------------


def test_the_same_url_with_other_text_is_an_update() -> None:
    decision = decide(candidate(), Known(same_item=stored(7)))
    assert decision == Decision(Intent.UPDATE, 7, MatchKind.SAME)
    assert decision.intent.outcome is Outcome.UPDATED


def test_the_same_url_with_the_same_text_is_unchanged() -> None:
    decision = decide(candidate(content_hash="hash-stored"), Known(same_item=stored(7)))
    assert decision == Decision(Intent.UNCHANGED, 7, MatchKind.SAME)


def test_an_update_with_a_known_date_replaces_an_estimated_one() -> None:
    estimated = stored(7, date_estimated=True)
    assert decide(candidate(), Known(same_item=estimated)).takes_date
    assert not decide(candidate(date_estimated=True), Known(same_item=estimated)).takes_date
    assert not decide(candidate(), Known(same_item=stored(7))).takes_date


def test_the_same_item_wins_over_a_copy_of_its_text_elsewhere() -> None:
    known = Known(same_item=stored(7), same_text=stored(3, content_hash="hash-new"))
    assert decide(candidate(), known).article_id == 7


# -- copies ---------------------------------------------------------------------------------------


def test_an_exact_copy_at_another_source_is_a_sighting() -> None:
    decision = decide(candidate(), Known(same_text=stored(3, content_hash="hash-new")))
    assert decision == Decision(Intent.SIGHTING, 3, MatchKind.CONTENT)
    assert decision.intent.outcome is Outcome.DUPLICATE


@pytest.mark.parametrize("distance", [0, 1, NEAR_DUPLICATE_DISTANCE])
def test_a_near_duplicate_within_the_threshold_is_a_sighting(distance: int) -> None:
    near = stored(4, simhash=flipped(SIMHASH, distance))
    assert decide(candidate(), Known(near=(near,))) == Decision(Intent.SIGHTING, 4, MatchKind.NEAR)


def test_a_near_duplicate_beyond_the_threshold_is_new() -> None:
    far = stored(4, simhash=flipped(SIMHASH, NEAR_DUPLICATE_DISTANCE + 1))
    assert decide(candidate(), Known(near=(far,))) == Decision(Intent.INSERT)


@pytest.mark.parametrize(
    "other",
    [
        {"title": "Fields, Factories and Workshops"},
        {"author": "Emma Goldman"},
        {"simhash": None},
    ],
)
def test_a_close_simhash_is_not_enough_without_title_author_and_hash(
    other: dict[str, object],
) -> None:
    assert decide(candidate(), Known(near=(stored(4, **other),))).intent is Intent.INSERT


def test_the_oldest_of_several_near_duplicates_is_chosen() -> None:
    suspects = (stored(9, simhash=flipped(SIMHASH, 2)), stored(5, simhash=flipped(SIMHASH, 4)))
    assert decide(candidate(), Known(near=suspects)).article_id == 5


def test_an_exact_copy_is_preferred_over_a_near_one() -> None:
    known = Known(same_text=stored(8, content_hash="hash-new"), near=(stored(2),))
    assert decide(candidate(), known) == Decision(Intent.SIGHTING, 8, MatchKind.CONTENT)


def test_nothing_like_it_is_inserted() -> None:
    decision = decide(candidate(), Known())
    assert decision == Decision(Intent.INSERT)
    assert decision.intent.outcome is Outcome.NEW


# -- the earliest copy is the original ----------------------------------------------------------


def test_an_earlier_copy_becomes_the_primary() -> None:
    known = Known(same_text=stored(3, content_hash="hash-new", published_at=NOW))
    assert decide(candidate(published_at=EARLIER), known).becomes_primary


def test_a_later_copy_does_not() -> None:
    known = Known(same_text=stored(3, content_hash="hash-new", published_at=EARLIER))
    assert not decide(candidate(published_at=NOW), known).becomes_primary


def test_a_copy_with_an_estimated_date_never_becomes_the_primary() -> None:
    known = Known(same_text=stored(3, content_hash="hash-new", date_estimated=True))
    copy = candidate(published_at=EARLIER, date_estimated=True)
    assert not decide(copy, known).becomes_primary


def test_a_known_date_wins_over_a_stored_estimate_even_when_later() -> None:
    known = Known(same_text=stored(3, content_hash="hash-new", date_estimated=True))
    assert decide(candidate(published_at=NOW + timedelta(days=1)), known).becomes_primary


def test_a_stored_article_without_a_date_stays_primary() -> None:
    known = Known(same_text=stored(3, content_hash="hash-new", published_at=None))
    assert not decide(candidate(published_at=EARLIER), known).becomes_primary


# -- purged ---------------------------------------------------------------------------------------


def test_a_purged_item_stays_purged_whatever_else_matches() -> None:
    known = Known(same_item=stored(7), same_text=stored(3), purged=True)
    decision = decide(candidate(), known)
    assert decision == Decision(Intent.PURGED)
    assert decision.intent.outcome is Outcome.PURGED


# -- within a batch (the lookup's bookkeeping, still no database) -------------------------------


def test_a_batch_finds_what_it_stored_earlier() -> None:
    index = BatchIndex()
    first = candidate()
    index.learn(Decision(Intent.INSERT, 11), first, source_id=1)
    # The same text from another source: an exact copy of the article just inserted.
    copy = candidate(
        source="other", url="https://other.example/e", canonical_url="https://other.example/e"
    )
    assert decide(copy, index.known(copy, source_id=2)) == Decision(
        Intent.SIGHTING, 11, MatchKind.CONTENT
    )
    # The first URL again, rewritten: an update of it.
    again = candidate(content_hash="hash-edited", simhash=flipped(SIMHASH, 30))
    assert decide(again, index.known(again, source_id=1)).intent is Intent.UPDATE


def test_a_batch_sees_an_earlier_copy_take_the_primary() -> None:
    index = BatchIndex()
    index.learn(Decision(Intent.INSERT, 11), candidate(published_at=NOW), source_id=1)
    older = candidate(url="https://b.example/e", canonical_url="https://b.example/e")
    older = replace(older, published_at=EARLIER)
    decision = decide(older, index.known(older, source_id=2))
    assert decision.becomes_primary
    index.learn(decision, older, source_id=2)
    oldest = replace(older, url="https://c.example/e", canonical_url="https://c.example/e")
    # Not earlier than the copy that became the primary: stays a plain sighting.
    assert not decide(oldest, index.known(oldest, source_id=3)).becomes_primary
