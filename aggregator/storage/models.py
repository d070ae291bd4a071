"""The database schema: sources, their fetch state, articles, sightings and runs.

An article is stored once; every place it was seen (a feed entry, a crawled page, a syndicated
copy on another site) is a sighting of it. Migrations in ``migrations/`` must match these models;
a test checks that autogenerate finds no difference.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from aggregator.storage.types import CompressedText, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

URL_LENGTH = 2048
LICENCE_LENGTH = 64


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 (SQLAlchemy reads it)


class Source(Base):
    """A site we collect from; mirrors an entry of the config's ``sources``."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    homepage: Mapped[str] = mapped_column(String(URL_LENGTH))
    feed_url: Mapped[str | None] = mapped_column(String(URL_LENGTH))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    fetch_states: Mapped[list[FetchState]] = relationship(
        back_populates="source", cascade="all, delete-orphan"
    )


class FetchState(Base):
    """What we know about one URL of a source between fetches (conditional GET, backoff)."""

    __tablename__ = "fetch_states"
    __table_args__ = (UniqueConstraint("source_id", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(URL_LENGTH))
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    next_check_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    # Where the URL is fetched from since a permanent redirect repeated (None: ``url`` itself),
    # and a permanent redirect seen but not yet confirmed, with how many fetches in a row saw it.
    moved_to: Mapped[str | None] = mapped_column(String(URL_LENGTH))
    redirect_to: Mapped[str | None] = mapped_column(String(URL_LENGTH))
    redirect_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # SHA-256 of the last body stored, so a server without validators still costs no parse.
    body_hash: Mapped[str | None] = mapped_column(String(64))
    # The feed's own <ttl>, remembered so a 304 still honours it.
    ttl_seconds: Mapped[int | None] = mapped_column(Integer)
    # Warnings from the last reading of the feed, one line each ("code: detail"): an item cap
    # reached, unusable dates, unreliable GUIDs, a wrong encoding (``aggregator.poll.flags``).
    flags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # What the source's kind keeps between runs (``aggregator.kinds``), one JSON document under
    # each kind's name (the WordPress API's address, a sitemap's progress), so a new kind needs
    # no migration.
    kind_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")

    source: Mapped[Source] = relationship(back_populates="fetch_states")


ARTICLE_SIMHASH_INDEX = "ix_articles_id_simhash"
FEED_WALK_INDEX = "ix_article_feeds_walk"


class Article(Base):
    """One piece of writing, however many times and places it was seen."""

    __tablename__ = "articles"
    __table_args__ = (
        # Newest first with the score beside the key: the combined feed walks this backwards
        # and never reads the row of an article it does not publish.
        Index(None, "published_at", "id", "relevance"),
        Index(None, "content_hash"),
        # Covers the near-duplicate check: a suspect's SimHash is read here, not from its row
        # (on SQLite, behind the text's overflow pages).
        Index(ARTICLE_SIMHASH_INDEX, "id", "simhash"),
        # A source's articles counted, and its published ones (``status``), and a crawl's known
        # URLs, read from this index rather than from every article's row.
        Index(None, "primary_source_id", "relevance"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    canonical_url: Mapped[str] = mapped_column(String(URL_LENGTH), unique=True)
    guid: Mapped[str | None] = mapped_column(String(URL_LENGTH))
    primary_source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    title: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    # True when published_at is our first-seen time because the page's own date was missing,
    # invalid or in the future.
    date_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen_at: Mapped[datetime]
    last_changed_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)
    # Sanitised; zlib-compressed on SQLite (``types.CompressedText``): read it through the model.
    html: Mapped[str] = mapped_column(CompressedText)
    # The ``aggregator.sanitize.SANITIZER_VERSION`` that produced ``html``; None when unknown
    # (stored before it was recorded, or not by the sanitiser). Publishing cleans ``html`` again
    # unless this is the current version.
    sanitized_with: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64))
    # 64-bit SimHash of the text, stored signed so it fits BIGINT everywhere.
    simhash: Mapped[int | None] = mapped_column(BigInteger)
    relevance: Mapped[float | None] = mapped_column(Float)
    matched_terms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What extraction did to the page, for ``articles show``: the site rules that removed
    # something, and the fingerprints of learned boilerplate blocks dropped from it.
    extraction: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    # The licence the page declares (``aggregator.licences``: ``CC-BY-SA-4.0``, ``CC0-1.0``,
    # ``all-rights-reserved``, ``other``) and the URL or text that declared it; None: none found.
    licence: Mapped[str | None] = mapped_column(String(LICENCE_LENGTH))
    licence_declared: Mapped[str | None] = mapped_column(Text)

    sightings: Mapped[list[Sighting]] = relationship(
        back_populates="article", cascade="all, delete-orphan"
    )


class ArticleFeed(Base):
    """One per-source or per-tag feed an article can appear in (``storage.article_feeds``).

    ``kind`` is ``source`` (``key``: the id of a source it was seen at, its primary included) or
    ``tag`` (``key``: a tag's slug, ``label``: the article's spelling of it). The article's
    ``published_at``, ``relevance`` and curator's ``decision`` are copied here, so a feed's
    newest published articles are one backward walk of an index; the config's threshold is
    applied when reading.
    """

    __tablename__ = "article_feeds"
    __table_args__ = (
        # Named: the convention's name would pass PostgreSQL's 63 characters.
        Index(
            FEED_WALK_INDEX, "kind", "key", "published_at", "article_id", "relevance", "decision"
        ),
        Index(None, "article_id"),
    )

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    published_at: Mapped[datetime | None]
    relevance: Mapped[float | None] = mapped_column(Float)
    label: Mapped[str | None] = mapped_column(Text)
    # The article's ``decisions`` row's decision (publish, hold, pin), None when undecided.
    decision: Mapped[str | None] = mapped_column(String(8))


class ArticleChange(Base):
    """When an article last changed in a way its published pages can show (``storage.changes``).

    One row per article, its ``seq`` raised past every other on each change: triggers on
    ``articles``, ``sightings`` and ``decisions`` (migration 0020) write it in the same
    transaction as the change, a deletion included, so the row outlives a purged article. A
    build remembers the highest ``seq`` it saw and next reads only the rows above it.
    """

    __tablename__ = "article_changes"
    __table_args__ = (Index(None, "seq"),)

    article_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)


class Decision(Base):
    """A curator's decision about one article, overriding its score (``storage.decisions``).

    ``url`` copies the article's canonical URL, so an exported decision finds its article again
    in a rebuilt instance.
    """

    __tablename__ = "decisions"
    __table_args__ = (CheckConstraint("decision IN ('publish', 'hold', 'pin')", name="decision"),)

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    decision: Mapped[str] = mapped_column(String(8))  # publish, hold or pin
    decided_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(URL_LENGTH))
    decided_by: Mapped[str | None] = mapped_column(Text)  # who, as the curator named themself


class SimhashBand(Base):
    """One band of an article's SimHash; near-duplicates share at least one band exactly.

    Kept for the articles of the near-duplicate window only (``storage.bands``). On SQLite the
    rows live in the primary key alone (``WITHOUT ROWID``, migration 0022), and the ``(band,
    value)`` index holds the article id.
    """

    __tablename__ = "simhash_bands"
    __table_args__ = (Index(None, "band", "value"), {"sqlite_with_rowid": False})

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class BlockSighting(Base):
    """A short block of text (by fingerprint) seen in an article of a source.

    Blocks that recur across many articles by several authors are learned as boilerplate. On
    SQLite the rows live in the primary key alone (``WITHOUT ROWID``, migration 0022).
    """

    __tablename__ = "block_sightings"
    __table_args__ = (Index(None, "article_id"), {"sqlite_with_rowid": False})

    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(16), primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    author: Mapped[str | None] = mapped_column(Text)


class Boilerplate(Base):
    """A block of text learned to be boilerplate for one source; dropped on extraction."""

    __tablename__ = "boilerplate"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(16), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    articles: Mapped[int] = mapped_column(Integer)
    authors: Mapped[int] = mapped_column(Integer)
    learned_at: Mapped[datetime]


class Sighting(Base):
    """One place an article was seen: a URL at a source, with the GUID it had there."""

    __tablename__ = "sightings"
    __table_args__ = (
        UniqueConstraint("source_id", "url"),
        Index(None, "source_id", "guid"),
        Index(None, "article_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(URL_LENGTH))
    guid: Mapped[str | None] = mapped_column(String(URL_LENGTH))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    # How this sighting was found to be its article: ``same`` (its GUID or URL), ``content``
    # (the same text), ``near`` (a near-duplicate); None for the sighting that created it.
    matched_by: Mapped[str | None] = mapped_column(String(16))

    article: Mapped[Article] = relationship(back_populates="sightings")


class Run(Base):
    """One poll or crawl of one source, and what it did."""

    __tablename__ = "runs"
    # What ``status`` and retention read are index searches, never a scan of runs: the newest
    # run of a source (source_id, started_at) and the newest or first of one kind and status
    # (the last success, the last failure, the first failure since the last success).
    __table_args__ = (
        Index(None, "source_id", "started_at"),
        Index(None, "source_id", "kind", "status", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))  # poll, crawl, backfill
    status: Mapped[str] = mapped_column(String(16))  # running, ok, failed
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # While ``running``: the name of the lock its process holds (``storage.running``), so a
    # run whose process was killed is told from one still going. None for runs written whole.
    owner: Mapped[str | None] = mapped_column(String(128))
    # For a crawl: whether it went through the source's whole backlog (True) or stopped early at
    # listing pages it already knew (False). NULL for polls and for crawls recorded before 0009.
    complete: Mapped[bool | None] = mapped_column(Boolean)


class Tombstone(Base):
    """A purged article's URL or content hash: what retention removed never comes back."""

    __tablename__ = "tombstones"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # url or hash
    value: Mapped[str] = mapped_column(String(URL_LENGTH), primary_key=True)
    purged_at: Mapped[datetime]


class PendingEntry(Base):
    """A feed entry whose page is still to be fetched: left for later by the page limit, or its
    fetch failed. Kept apart from the feed's state, so the feed's validators are always kept and
    an unchanged feed costs one conditional request; retried on its own schedule, and kept after
    it is given up (``given_up_at``), so a feed still listing it does not bring it back."""

    __tablename__ = "pending_entries"
    __table_args__ = (
        UniqueConstraint("source_id", "link"),
        Index(None, "source_id", "next_try_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    feed_url: Mapped[str] = mapped_column(String(URL_LENGTH))  # the feed that listed it
    link: Mapped[str] = mapped_column(String(URL_LENGTH))
    guid: Mapped[str | None] = mapped_column(String(URL_LENGTH))
    # What the feed said of it (title, dates, summary, content, tags), to ingest it later.
    entry: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # page fetches that failed
    first_seen_at: Mapped[datetime]
    next_try_at: Mapped[datetime]
    last_tried_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    given_up_at: Mapped[datetime | None]


class RunTotal(Base):
    """Runs of one kind of one source that retention deleted, added up (``storage.runs``).

    A source's totals are these plus its runs still stored; only finished runs are folded.
    """

    __tablename__ = "run_totals"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    ok_runs: Mapped[int] = mapped_column(Integer, default=0)
    failed_runs: Mapped[int] = mapped_column(Integer, default=0)
    # The sums of the runs' own counts (``failed``: items that failed, as in ``runs.failed``).
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    first_started_at: Mapped[datetime | None]
    last_started_at: Mapped[datetime | None]
