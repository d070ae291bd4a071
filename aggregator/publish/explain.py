"""What was collected, and why each article is published or held back: ``mutualaid articles``.

Reads only (``storage.inspect``). An article is published by the same rule as the feeds
(``storage.published.published_filter``); the reason given is the one that decided it: a
source that opted out, else a curator's decision (publish, hold, pin: ``storage.decisions``),
else its score against the threshold, or a source that keeps everything.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aggregator.publish.republish import shape_for
from aggregator.relevance import TopicProfile
from aggregator.storage import Session, decisions, inspect
from aggregator.storage.decisions import DecisionRow
from aggregator.storage.inspect import ArticleQuery, LineRow, State, article_html, find_article
from aggregator.storage.published import PublishPolicy

__all__ = [
    "ArticleLine",
    "ArticleQuery",
    "ArticleReport",
    "State",
    "article_html",
    "article_state",
    "explain_article",
    "find_article",
    "list_articles",
]


@dataclass(frozen=True)
class ArticleLine(LineRow):
    """One stored article as ``articles`` lists it, with why it is published or not."""

    reason: str


@dataclass(frozen=True)
class TermMatch:
    term: str
    count: int
    weight: float | None  # None: no longer in the topic profile


@dataclass(frozen=True)
class SightingLine:
    source: str
    url: str
    first_seen_at: datetime
    last_seen_at: datetime
    matched_by: str  # "original", or how dedup found this copy to be the article


@dataclass(frozen=True)
class ArticleReport:
    """Everything ``articles show`` explains about one article."""

    line: ArticleLine
    author: str | None
    language: str | None
    tags: list[str]
    date_estimated: bool
    first_seen_at: datetime
    last_changed_at: datetime
    extracted_from: str | None  # "page" or "feed content"; None when stored before it was noted
    rules_applied: list[str]
    learned_removed: list[str]  # the texts of learned boilerplate blocks dropped
    threshold: float
    keep_all: bool
    terms: list[TermMatch]
    sightings: list[SightingLine] = field(default_factory=list)
    decision: DecisionRow | None = None  # a curator's, over the score
    # What the page declares (``aggregator.licences``), and how its source's terms publish it:
    # ``full``, ``excerpt`` or ``link`` (``publish.republish``).
    licence: str | None = None
    licence_declared: str | None = None
    republished: str = "full"


def list_articles(
    session: Session, policy: PublishPolicy, query: ArticleQuery
) -> list[ArticleLine]:
    """Stored articles, newest first, filtered as ``query`` asks."""
    return [_line(row, policy) for row in inspect.article_lines(session, policy, query)]


def article_state(session: Session, policy: PublishPolicy, article_id: int) -> ArticleLine | None:
    """One stored article's line: whether it is published, and why."""
    row = inspect.article_line(session, policy, article_id)
    return None if row is None else _line(row, policy)


def explain_article(
    session: Session, policy: PublishPolicy, profile: TopicProfile, article_id: int
) -> ArticleReport | None:
    """The whole story of one stored article, or None when there is no such article."""
    row = inspect.article_line(session, policy, article_id)
    article = inspect.article(session, article_id)
    if row is None or article is None:
        return None
    line = _line(row, policy)
    notes: dict[str, Any] = dict(article.extraction or {})
    return ArticleReport(
        line=line,
        author=article.author,
        language=article.language,
        tags=list(article.tags or []),
        date_estimated=article.date_estimated,
        first_seen_at=article.first_seen_at,
        last_changed_at=article.last_changed_at,
        extracted_from=notes.get("from"),
        rules_applied=list(notes.get("rules") or []),
        learned_removed=_learned_texts(
            session, article.primary_source_id, notes.get("learned_removed") or []
        ),
        threshold=policy.threshold,
        keep_all=line.published and not line.decision and not _scored_in(line.score, policy),
        terms=_terms(article.matched_terms or {}, profile),
        sightings=_sightings(session, article_id),
        decision=decisions.decision_of(session, article_id),
        licence=article.licence,
        licence_declared=article.licence_declared,
        republished=shape_for(policy.republish_mode(line.source), article.licence),
    )


def _line(row: LineRow, policy: PublishPolicy) -> ArticleLine:
    if row.source in policy.opted_out:
        return ArticleLine(**dataclasses.asdict(row), reason=OPTED_OUT)
    if not row.decision:
        return ArticleLine(
            **dataclasses.asdict(row), reason=_reason(row.score, row.published, policy)
        )
    # What the score would say (a keep_all source known by the primary one only).
    by_score = _scored_in(row.score, policy) or row.source in policy.keep_all
    reason = f"a curator's {row.decision}, over {_reason(row.score, by_score, policy)}"
    return ArticleLine(**dataclasses.asdict(row), reason=reason)


OPTED_OUT = "its source opted out (opt_out: true)"


def _scored_in(score: float | None, policy: PublishPolicy) -> bool:
    return score is not None and score >= policy.threshold


def _reason(score: float | None, published: bool, policy: PublishPolicy) -> str:
    """Why the article is published or not, in a few words."""
    if _scored_in(score, policy):
        return f"score {score:.1f} ≥ {policy.threshold:g}"
    if published:
        return "seen at a source that keeps all"
    if score is None:
        return "not scored"
    return f"score {score:.1f} < {policy.threshold:g}"


def _terms(matched: dict[str, Any], profile: TopicProfile) -> list[TermMatch]:
    found = [
        TermMatch(term, int(count), profile.terms.get(term))
        for term, count in matched.items()
        if isinstance(count, int | float)
    ]
    return sorted(found, key=lambda match: (-(match.weight or 0) * match.count, match.term))


def _learned_texts(session: Session, source_id: int, fingerprints: list[str]) -> list[str]:
    texts = inspect.boilerplate_texts(session, source_id, fingerprints)
    return [texts.get(fingerprint, f"(block {fingerprint})") for fingerprint in fingerprints]


def _sightings(session: Session, article_id: int) -> list[SightingLine]:
    return [
        SightingLine(
            seen.source,
            seen.url,
            seen.first_seen_at,
            seen.last_seen_at,
            _match_label(seen.matched_by, first_row=index == 0),
        )
        for index, seen in enumerate(inspect.sightings(session, article_id))
    ]


_MATCHES = {
    "same": "same GUID or URL",
    "content": "same text (an exact copy)",
    "near": "near-duplicate text with the same title and author",
}


def _match_label(matched_by: str | None, *, first_row: bool) -> str:
    """How a sighting joined its article; the first one without a match created it (sightings
    stored before matches were recorded have none either)."""
    if matched_by:
        return _MATCHES.get(matched_by, matched_by)
    return "first seen here" if first_row else "not recorded"
