"""The archive's files: which pages a build has, what each shows, and what its bytes depend on.

``plan_archive`` plans the whole archive, when there is no usable record of the last build or
something every page shows changed: it reads ids only, every published article of every source
and tag feed (one ordered index walk per feed, ``storage.published.every_published``), each
article's change mark and date (read by id). From those it lists every page with a signature of
what its bytes depend on (its articles' change marks, the settings that shape it, the renderer's
code), and renders nothing: a page whose signature the last build wrote is left alone
(``write.py``). It also returns what the manifest keeps for the next build
(``archive_state``), which then plans only what changed (``archive_delta``).

Pages:

- ``articles/ID.html``, one per published article, named by its database id (never by its URL,
  which can change);
- ``sources/NAME/``, ``tags/SLUG/`` and ``archive/YYYY/MM/``: the articles of a source, a tag and
  a month, newest first, ``page_size`` a page. Pages are numbered from the oldest: page 1 holds
  the oldest articles and keeps them, so a new article changes only the newest page, which is
  ``index.html`` (the numbered files are the full, older pages: ``1.html`` .. ``N-1.html``). When
  the newest page fills, it becomes ``N.html`` and a new ``index.html`` starts. An article
  dated earlier than others (found late) or one that leaves shifts the pages after its place;
- ``sources/index.html`` (every source with published articles), ``tags/index.html``,
  ``archive/index.html`` (the months) and ``sources.opml``.

So a new article writes its own page, the newest page of its sources, tags and month, and the
lists (their counts change); a build with nothing new writes nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import posixpath
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from aggregator import __version__
from aggregator.publish.archive_pages import (
    MONTHS_INDEX,
    OPML,
    SOURCES_INDEX,
    TAGS_INDEX,
    ArticleLinks,
    CountLine,
    ListedEntry,
    ListingView,
    SourceLine,
    TagLink,
    render_article,
    render_counts,
    render_listing,
    render_opml,
    render_sources,
)
from aggregator.publish.archive_state import (
    ArchiveHead,
    ArchiveState,
    Articles,
    Listed,
    Listings,
    Shelf,
    mark_digest,
    microseconds,
    month_of,
)
from aggregator.publish.build import Output, Site, renderer_digest
from aggregator.publish.entries import Entry, plain_text, safe_url
from aggregator.publish.feed import INDEX, Selection
from aggregator.publish.names import is_source_name, slugify_tag
from aggregator.publish.page import ArchiveLinks
from aggregator.publish.select import change_marks, load_entries
from aggregator.sanitize import SANITIZER_VERSION
from aggregator.storage import Session, published
from aggregator.storage.article_feeds import SOURCE, TAG

NAV = (("Sources", SOURCES_INDEX), ("Tags", TAGS_INDEX), ("Months", MONTHS_INDEX))
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def article_path(article_id: int) -> str:
    return f"articles/{article_id}.html"


def archive_links() -> ArchiveLinks:
    """What the river links to when the archive is built."""
    return ArchiveLinks(lambda entry: article_path(entry.article_id), NAV)


@dataclass(frozen=True)
class Listing:
    """A source's, a tag's or a month's published articles, newest first."""

    folder: str
    heading: str
    description: str
    ids: Sequence[int]
    feed: str | None = None


@dataclass(frozen=True)
class ListingPage:
    """Page ``number`` of ``pages`` of a listing: where it goes and its ids (newest first)."""

    path: str
    number: int
    pages: int
    ids: tuple[int, ...]
    older: str | None
    newer: str | None


def paginate(folder: str, ids: Sequence[int], size: int) -> list[ListingPage]:
    """The pages of ``ids`` (newest first), numbered from the oldest; the newest is the index."""
    oldest_first = list(reversed(ids))
    pages = max(1, -(-len(oldest_first) // size))

    def path(number: int) -> str:
        return f"{folder}/{INDEX}" if number == pages else f"{folder}/{number}.html"

    return [
        ListingPage(
            path(number),
            number,
            pages,
            tuple(reversed(oldest_first[(number - 1) * size : number * size])),
            path(number - 1) if number > 1 else None,
            path(number + 1) if number < pages else None,
        )
        for number in range(1, pages + 1)
    ]


@dataclass
class ArchiveIndex:
    """What planning read: every listing, and per article its mark and the pages it links to."""

    sources: list[tuple[published.SourceDetails, Listing]] = field(default_factory=list)
    tags: list[tuple[str, Listing]] = field(default_factory=list)
    months: list[tuple[str, Listing]] = field(default_factory=list)
    marks: dict[int, str] = field(default_factory=dict)
    month_of: dict[int, str] = field(default_factory=dict)
    dated: dict[int, datetime] = field(default_factory=dict)  # what files it under its month
    published: dict[int, datetime | None] = field(default_factory=dict)  # its feeds' order
    tags_of: dict[int, list[str]] = field(default_factory=dict)

    source_paths: dict[str, str] = field(default_factory=dict)  # by name: its listing
    tag_paths: dict[str, str] = field(default_factory=dict)  # by slug: its listing

    ids: list[int] = field(default_factory=list)  # every published article, by id


def read_archive(
    session: Session,
    site: Site,
    with_marks: bool = True,
    known_marks: dict[int, str] | None = None,
) -> ArchiveIndex:
    """Every published article's listings, dates and (``with_marks``) change marks: ids,
    dates and marks only, never an article's text."""
    index = ArchiveIndex()
    details = {str(row.id): row for row in published.source_details(session)}
    for kind, key, marks in published.every_published(session, site.policy):
        ids = tuple(mark[1] for mark in marks)
        if kind == SOURCE:
            source = details.get(key)
            if source is None or not is_source_name(source.name):
                continue
            listing = listing_of(f"sources/{source.name}", source_heading(source), ids)
            index.sources.append((source, listing))
            index.published.update((mark[1], mark[0]) for mark in marks)
        elif kind == TAG:
            listing = listing_of(f"tags/{key}", marks[0][2] or key, ids)
            index.tags.append((key, listing))
            for article_id in ids:
                index.tags_of.setdefault(article_id, []).append(key)
    index.sources.sort(key=lambda pair: pair[0].name)
    listed = sorted({article_id for _, listing in index.sources for article_id in listing.ids})
    dates = published.listing_dates(session, listed)
    # An article has its pages when it is in a source's listing and dated. The walks above and
    # the dates are separate statements: what a writer published or purged between them waits
    # for the next build (its change mark is above this one's), and is in no listing now.
    every = [article_id for article_id in listed if article_id in dates]
    _keep_only(index, set(every))
    index.ids = every
    if with_marks:
        known = known_marks or {}
        index.marks = {article_id: known[article_id] for article_id in every if article_id in known}
        missing = [article_id for article_id in every if article_id not in index.marks]
        index.marks.update(change_marks(session, missing))
    by_month: dict[str, list[tuple[datetime, int]]] = {}
    index.dated = dates
    for article_id, moment in dates.items():
        month = moment.astimezone(UTC).strftime("%Y/%m")
        index.month_of[article_id] = month
        by_month.setdefault(month, []).append((moment, article_id))
    for month in sorted(by_month, reverse=True):
        ids = tuple(article_id for _, article_id in sorted(by_month[month], reverse=True))
        index.months.append((month, listing_of(f"archive/{month}", _month_name(month), ids)))
    index.source_paths = {row.name: f"{listing.folder}/{INDEX}" for row, listing in index.sources}
    index.tag_paths = {slug: f"{listing.folder}/{INDEX}" for slug, listing in index.tags}
    return index


def _keep_only(index: ArchiveIndex, ids: set[int]) -> None:
    """Leave out of the source and tag listings every article not in ``ids``."""

    def kept(listing: Listing) -> Listing:
        return replace(listing, ids=tuple(i for i in listing.ids if i in ids))

    sources = [(source, kept(listing)) for source, listing in index.sources]
    tags = [(key, kept(listing)) for key, listing in index.tags]
    index.sources = [(source, listing) for source, listing in sources if listing.ids]
    index.tags = [(key, listing) for key, listing in tags if listing.ids]


@dataclass
class ArchivePlan:
    """The archive's part of a build: the files to sign (and render when their signature is
    new), what the manifests keep for the next build, and the pages no longer built. A whole
    plan (``dropped`` None) lists every file; a plan of changes (``archive_delta``) lists the
    files that may have changed, and every other page of the last build stays as it was.
    ``state`` is None when no page can have changed (the last one was not even read)."""

    outputs: list[Output]
    head: ArchiveHead
    state: ArchiveState | None
    dropped: set[str] | None = None
    touched: bool = True  # the head or state differs from the last build's


def plan_archive(
    session: Session,
    site: Site,
    mark: int,
    made: dict[int, Entry] | None = None,
    known_marks: dict[int, str] | None = None,
    details: list[published.SourceDetails] | None = None,
) -> ArchivePlan:
    """Every file of the archive, unrendered, each with its signature. ``made`` and
    ``known_marks`` are what the feeds' planning already read (entries, change marks); the
    archive reads from ``made`` but keeps nothing in it, so a build of the whole archive never
    holds more than a window of its entries. ``mark`` is the highest ``article_changes.seq``
    read before (``storage.changes``)."""
    index = read_archive(session, site, known_marks=known_marks or {})
    made = {} if made is None else made
    shared = archive_signature(site, details or published.source_details(session))
    state = _state_of(index, mark, shared)
    entries = entry_loader(session, site, made)
    window = EntryWindow(entries, index.ids)
    outputs = [
        article_output(site, shared, article_id, state.articles[article_id], window.entries)
        for article_id in index.ids
    ]
    for listing in _listings(index):
        for page in paginate(listing.folder, listing.ids, site.archive):
            outputs.append(
                page_output(site, shared, state, listing, page, index.source_paths, entries)
            )
    outputs += lists(site, index, shared)
    return ArchivePlan(outputs, state.head(), state)


def _state_of(index: ArchiveIndex, mark: int, shared: str) -> ArchiveState:
    """What the manifest keeps of ``index`` for the next build's plan of changes."""
    folders: dict[int, list[str]] = {}
    for _, listing in [*index.sources, *index.tags]:
        for article_id in listing.ids:
            folders.setdefault(article_id, []).append(listing.folder)
    articles = {
        article_id: Listed(
            mark_digest(index.marks.get(article_id)),
            _microseconds(index.published.get(article_id)),
            microseconds(index.dated[article_id]),
            tuple(folders.get(article_id, ())),
        )
        for article_id in index.ids
    }
    listings = {
        listing.folder: Shelf(listing.heading, list(listing.ids)) for listing in _listings(index)
    }
    return ArchiveState(mark, shared, Articles(articles), Listings(held=listings))


def _microseconds(moment: datetime | None) -> int | None:
    return None if moment is None else microseconds(moment)


def entry_loader(
    session: Session, site: Site, made: dict[int, Entry]
) -> Callable[[Sequence[int]], list[Entry]]:
    """Entries by id, from the feeds' (``made``) where they made them, kept by no one."""

    def entries(ids: Sequence[int]) -> list[Entry]:
        found = {article_id: made[article_id] for article_id in ids if article_id in made}
        return load_entries(session, site.policy, ids, found)

    return entries


def article_output(
    site: Site,
    shared: str,
    article_id: int,
    listed: Listed,
    entries: Callable[[Sequence[int]], list[Entry]],
) -> Output:
    """An article's page: its entry, its month's and its tags' listings (the links)."""
    tags = sorted(
        folder.removeprefix("tags/") for folder in listed.folders if folder.startswith("tags/")
    )
    return Output(
        article_path(article_id),
        _article_renderer(site, article_id, entries),
        _digest(shared, article_id, listed.mark, month_of(listed.dated), tags),
    )


def page_output(
    site: Site,
    shared: str,
    state: ArchiveState,
    listing: Listing,
    page: ListingPage,
    source_paths: dict[str, str],
    entries: Callable[[Sequence[int]], list[Entry]],
) -> Output:
    """A page of a listing: its place, its heading, its articles' change marks."""
    marks = [(article_id, state.articles[article_id].mark) for article_id in page.ids]
    return Output(
        page.path,
        _listing_renderer(site, source_paths, listing, page, entries),
        _digest(shared, page_parts(page), listing.heading, listing.feed, marks),
    )


def listing_of(folder: str, heading: str, ids: Sequence[int]) -> Listing:
    """The listing in ``folder`` (``sources/NAME``, ``tags/SLUG``, ``archive/YYYY/MM``)."""
    kind, _, key = folder.partition("/")
    if kind == "sources":
        feed = Selection(source=key).path()
        return Listing(folder, heading, f"Articles seen at {heading}.", ids, feed)
    if kind == "tags":
        feed = Selection(tag=key).path()
        return Listing(folder, heading, f"Articles tagged “{heading}”.", ids, feed)
    return Listing(folder, heading, f"Articles from {heading}.", ids)


def source_heading(source: published.SourceDetails) -> str:
    return plain_text(source.title or "") or source.name


def month_heading(folder: str) -> str:
    return _month_name(folder.removeprefix("archive/"))


class EntryWindow:
    """Entries of consecutive article pages, read ``size`` at a time: a first build renders a
    page per article, in ``order``, and should neither read them one by one nor hold them all.
    """

    def __init__(
        self, load: Callable[[Sequence[int]], list[Entry]], order: Sequence[int], size: int = 200
    ) -> None:
        self.load = load
        self.order = order
        self.size = size
        self.position = {article_id: place for place, article_id in enumerate(order)}
        self.held: dict[int, Entry] = {}

    def entries(self, ids: Sequence[int]) -> list[Entry]:
        if any(article_id not in self.held for article_id in ids):
            start = min(self.position.get(article_id, 0) for article_id in ids)
            ahead = self.order[start : start + self.size]
            wanted = list(dict.fromkeys([*ids, *ahead]))
            self.held = {entry.article_id: entry for entry in self.load(wanted)}
        return [self.held[article_id] for article_id in ids if article_id in self.held]


def page_parts(page: ListingPage) -> tuple[object, ...]:
    """What a page shows of its place: not how many pages follow it, so that a listing growing
    by a page rewrites only the page before the new one (its "newer" link)."""
    return page.path, page.number, page.number == page.pages, page.older, page.newer


def render_archive_file(
    session: Session, site: Site, path: str, index: Callable[[], ArchiveIndex]
) -> bytes | None:
    """The bytes a build writes to ``path`` (an archive file), or None when it writes none:
    what ``serve`` answers. An article's page reads only that article (is it published, its
    entry); a listing or a list reads ``index()``, every published id (``serve`` keeps it for
    a while: see ``ArchiveIndexCache``)."""

    def entries(ids: Sequence[int]) -> list[Entry]:
        """The entries of ``ids`` still published (the index may be older than a decision)."""
        now = published.published_among(session, site.policy, ids)
        return load_entries(
            session, site.policy, [article_id for article_id in ids if article_id in now]
        )

    root, _, rest = path.partition("/")
    if root == "articles":
        stem = rest.removesuffix(".html")
        found = entries([int(stem)]) if stem.isascii() and stem.isdigit() else []
        return render_article_page(site, found[0]) if found else None
    every = index()
    folder = posixpath.dirname(path)
    for listing in _listings(every):
        if listing.folder == folder:
            for page in paginate(listing.folder, listing.ids, site.archive):
                if page.path == path:
                    return _listing_renderer(site, every.source_paths, listing, page, entries)()
            return None
    for output in lists(site, every, ""):
        if output.path == path:
            return output.render()
    return None


def _listings(index: ArchiveIndex) -> list[Listing]:
    return [
        *(listing for _, listing in index.sources),
        *(listing for _, listing in index.tags),
        *(listing for _, listing in index.months),
    ]


def archive_signature(site: Site, sources: Sequence[published.SourceDetails]) -> str:
    """What every archive page depends on besides its own articles: the rendering code, the
    settings that shape a page, and the names and titles of the sources (every stored one:
    which of them have listings follows from the articles)."""
    return _digest(
        renderer_digest(),
        __version__,
        SANITIZER_VERSION,
        site.title,
        site.archive,
        _policy_parts(site.policy),
        [(details.id, details.name, details.title) for details in sources],
    )


def _article_renderer(
    site: Site, article_id: int, entries: Callable[[Sequence[int]], list[Entry]]
) -> Callable[[], bytes]:
    def render() -> bytes:
        (entry,) = entries([article_id])
        return render_article_page(site, entry)

    return render


def render_article_page(site: Site, entry: Entry) -> bytes:
    return render_article(site.title, article_path(entry.article_id), entry, article_links(entry))


def article_links(entry: Entry) -> ArticleLinks:
    """The listings an article's page links to, from the entry alone: a published article is
    in the listing of its month, of each source it was seen at (those the entry names: none
    opted out) and of each of its tags, so each exists whenever the article's page does."""
    month = entry.published.astimezone(UTC).strftime("%Y/%m")
    return ArticleLinks(
        source=_source_listing(entry.original.source.name),
        month=f"archive/{month}/{INDEX}",
        tags=tuple(TagLink(label, _tag_listing(label)) for label in entry.tags),
        also_seen=tuple(_source_listing(sighted.source.name) for sighted in entry.also_seen),
    )


def _source_listing(name: str) -> str | None:
    return f"sources/{name}/{INDEX}" if is_source_name(name) else None


def _tag_listing(label: str) -> str | None:
    slug = slugify_tag(label)
    return f"tags/{slug}/{INDEX}" if slug else None


def _listing_renderer(
    site: Site,
    sources: dict[str, str],
    listing: Listing,
    page: ListingPage,
    entries: Callable[[Sequence[int]], list[Entry]],
) -> Callable[[], bytes]:
    """A listing page; ``sources`` are the paths of the sources' listings, by name."""

    def render() -> bytes:
        listed = tuple(
            ListedEntry(
                entry, article_path(entry.article_id), sources.get(entry.original.source.name)
            )
            for entry in entries(page.ids)
        )
        view = ListingView(
            listing.heading,
            listing.description,
            listed,
            page.number,
            page.number == page.pages,
            page.older,
            page.newer,
            listing.feed,
        )
        return render_listing(site.title, page.path, view)

    return render


def source_lines(index: ArchiveIndex) -> list[SourceLine]:
    return [
        SourceLine(
            details.name,
            listing.heading,
            safe_url(details.homepage),
            safe_url(details.feed_url),
            Selection(source=details.name).path(),
            f"{listing.folder}/{INDEX}",
            len(listing.ids),
        )
        for details, listing in index.sources
    ]


def lists(site: Site, index: ArchiveIndex, shared: str) -> list[Output]:
    sources = source_lines(index)
    tags = _count_lines(listing for _, listing in sorted(index.tags, key=_by_label))
    months = _count_lines(listing for _, listing in index.months)
    title = site.title
    return [
        Output(
            SOURCES_INDEX,
            lambda: render_sources(title, SOURCES_INDEX, sources),
            _digest(shared, SOURCES_INDEX, sources),
        ),
        Output(
            OPML,
            lambda: render_opml(title, sources, site.base_url),
            _digest(
                shared,
                OPML,
                site.base_url,
                [dataclasses.replace(line, count=0) for line in sources],
            ),
        ),
        Output(
            TAGS_INDEX,
            lambda: render_counts(title, TAGS_INDEX, "Tags", tags),
            _digest(shared, TAGS_INDEX, tags),
        ),
        Output(
            MONTHS_INDEX,
            lambda: render_counts(title, MONTHS_INDEX, "Months", months),
            _digest(shared, MONTHS_INDEX, months),
        ),
    ]


def _by_label(pair: tuple[str, Listing]) -> tuple[str, str]:
    return pair[1].heading.casefold(), pair[0]


def _count_lines(listings: Iterable[Listing]) -> list[CountLine]:
    return [
        CountLine(listing.heading, f"{listing.folder}/{INDEX}", len(listing.ids))
        for listing in listings
    ]


def _month_name(month: str) -> str:
    year, number = month.split("/")
    return f"{_MONTH_NAMES[int(number) - 1]} {year}"


def _policy_parts(policy: object) -> list[object]:
    """The publishing policy's fields in a stable order (sets sorted: their order is not)."""
    parts: list[object] = []
    for item in dataclasses.fields(policy):  # type: ignore[arg-type]
        value = getattr(policy, item.name)
        if isinstance(value, (set, frozenset)):
            value = sorted(map(str, value))
        elif isinstance(value, dict):
            value = sorted((str(key), str(item)) for key, item in value.items())
        parts.append((item.name, value))
    return parts


def _digest(*parts: object) -> str:
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
