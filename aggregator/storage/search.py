"""Full-text search over the stored articles, one API over SQLite FTS5 and PostgreSQL.

Two statements: the first finds the matching articles' ids and ranks, ordered and cut to one
page (by relevance: bm25 on SQLite, with the title weighted over the author and the text;
``ts_rank_cd`` on PostgreSQL, title A over text D; or newest first, for a subscribed search);
the second makes a snippet of each id on the page only (FTS5 ``snippet()``, ``ts_headline``
over the text's first ``SNIPPET_SOURCE_CHARS``), so snippets cost a page, not every match.

Snippets mark matches with ``MARK_START`` and ``MARK_END``: plain text, which the caller escapes
before turning the marks into markup. Only published articles (``published_filter``, the
same condition as every output) unless ``published_only`` is False.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    String,
    bindparam,
    cast,
    column,
    exists,
    false,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.orm import Session

from aggregator.search.marks import MARK_END, MARK_START
from aggregator.search.query import SearchQuery
from aggregator.storage.article_feeds import SOURCE, TAG
from aggregator.storage.fulltext import FTS_TABLE, TS_CONFIG, VECTOR_COLUMN
from aggregator.storage.models import Article, ArticleFeed, Source
from aggregator.storage.published import PublishPolicy, published_filter

ELLIPSIS = "…"
SNIPPET_WORDS = 24
# How much of an article's text PostgreSQL's ts_headline reads to cut a snippet.
SNIPPET_SOURCE_CHARS = 5_000
Order = Literal["rank", "newest"]

_FTS = table(FTS_TABLE, column("rowid"), column("text"))
_FTS_RANK: ColumnElement[float] = literal_column(f"{FTS_TABLE}.rank", type_=Float)
_VECTOR: ColumnElement[Any] = literal_column(f"articles.{VECTOR_COLUMN}")
_HEADLINE = (
    f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_WORDS}, "
    f'MinWords={SNIPPET_WORDS // 2}, MaxFragments=2, FragmentDelimiter=" {ELLIPSIS} "'
)


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One matching article: its id, its rank (higher is better) and a marked snippet."""

    article_id: int
    rank: float
    snippet: str


@dataclass(frozen=True)
class SearchScope:
    """Which articles a search looks at, and in which order."""

    source: str | None = None  # seen at this source (a name), besides any source: in the query
    since: datetime | None = None
    published_only: bool = True
    order: Order = "rank"


def search(
    session: Session,
    query: SearchQuery,
    policy: PublishPolicy,
    limit: int,
    offset: int = 0,
    scope: SearchScope | None = None,
) -> list[SearchHit]:
    """The ``limit`` matches after the first ``offset``, best (or newest) first."""
    scope = scope or SearchScope()
    postgres = session.get_bind().dialect.name == "postgresql"
    # Newest first needs no rank: computing one per match (bm25, ts_rank_cd) is most of the
    # cost of a common word, and a saved search's feed asks for that order.
    ranked = scope.order == "rank"
    matches = _postgres_matches if postgres else _sqlite_matches
    statement = matches(query, ranked)
    statement = _narrowed(statement, query, policy, scope)
    if scope.order == "newest":
        statement = statement.order_by(Article.published_at.desc().nulls_last(), Article.id.desc())
    elif postgres:
        statement = statement.order_by(literal_column("rank").desc(), Article.id.desc())
    else:  # FTS5 sorts by its own rank column itself, many times faster than by any expression
        statement = statement.order_by(_FTS_RANK)
    rows = session.execute(statement.limit(limit).offset(offset))
    ranks = {int(row[0]): float(row[1]) for row in rows}
    snippets = _snippets(session, query, list(ranks), postgres)
    return [
        SearchHit(article_id, rank, snippets.get(article_id, ""))
        for article_id, rank in ranks.items()
    ]


def _sqlite_matches(query: SearchQuery, ranked: bool) -> Select[int, float]:
    """FTS5's ``rank`` is bm25 with the weights the migration configured; lower is better."""
    rank = (-_FTS_RANK if ranked else literal(0.0, Float)).label("rank")
    return (
        select(Article.id, rank)
        .select_from(_FTS)
        .join(Article, Article.id == _FTS.c.rowid)
        .where(literal_column(FTS_TABLE).op("MATCH")(bindparam("match", query.fts5())))
    )


def _postgres_matches(query: SearchQuery, ranked: bool) -> Select[int, float]:
    tsquery = _tsquery(query)
    if ranked:
        rank = func.ts_rank_cd(_VECTOR, tsquery, type_=Float).label("rank")
    else:
        rank = literal(0.0, Float).label("rank")
    return select(Article.id, rank).where(_VECTOR.op("@@")(tsquery))


def _tsquery(query: SearchQuery) -> ColumnElement[object]:
    """``phraseto_tsquery`` of each phrase, joined with ``&&``, excluded ones negated (``!!``);
    every phrase a bound parameter."""
    combined: ColumnElement[object] | None = None
    for number, (phrase, excluded) in enumerate(query.tsquery_parts()):
        piece = func.phraseto_tsquery(
            literal_column(f"'{TS_CONFIG}'::regconfig"),
            bindparam(f"phrase_{number}", phrase, type_=String),
        )
        if excluded:
            piece = func.tsquery_not(piece)  # the !! operator
        combined = piece if combined is None else func.tsquery_and(combined, piece)  # &&
    assert combined is not None  # a parsed query has at least one phrase
    return combined


def _narrowed(
    statement: Select[int, float],
    query: SearchQuery,
    policy: PublishPolicy,
    scope: SearchScope,
) -> Select[int, float]:
    if scope.published_only:
        statement = statement.where(published_filter(policy))
    for name in {name for name in (scope.source, query.source) if name}:
        if scope.published_only and name in policy.opted_out:
            # A source that opted out has no feed, so no search lists what was seen there.
            statement = statement.where(false())
        statement = statement.where(_seen_at(name))
    if query.tag:
        statement = statement.where(_tagged(query.tag))
    if scope.since is not None:
        statement = statement.where(Article.published_at >= scope.since)
    return statement


def _seen_at(name: str) -> ColumnElement[bool]:
    """Seen at the source called ``name``: its feed rows list every source an article was
    seen at, the original's included (``storage.article_feeds``)."""
    source_id = select(cast(Source.id, String)).where(Source.name == name).scalar_subquery()
    rows = ArticleFeed
    return exists().where(rows.kind == SOURCE, rows.key == source_id, rows.article_id == Article.id)


def _tagged(slug: str) -> ColumnElement[bool]:
    rows = ArticleFeed
    return exists().where(rows.kind == TAG, rows.key == slug, rows.article_id == Article.id)


def _snippets(
    session: Session, query: SearchQuery, ids: Sequence[int], postgres: bool
) -> dict[int, str]:
    if not ids:
        return {}
    if postgres:
        text = func.left(Article.text, SNIPPET_SOURCE_CHARS)
        headline = func.ts_headline(
            literal_column(f"'{TS_CONFIG}'::regconfig"), text, _tsquery(query), _HEADLINE
        )
        statement = select(Article.id, headline).where(Article.id.in_(ids))
    else:
        snippet = func.snippet(
            literal_column(FTS_TABLE), 2, MARK_START, MARK_END, ELLIPSIS, SNIPPET_WORDS
        )
        statement = (
            select(_FTS.c.rowid, snippet)
            .where(literal_column(FTS_TABLE).op("MATCH")(bindparam("match", query.fts5())))
            .where(_FTS.c.rowid.in_(ids))
        )
    return {article_id: snippet or "" for article_id, snippet in session.execute(statement)}
