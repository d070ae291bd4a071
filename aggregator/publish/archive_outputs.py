"""The archive's files as outputs: how each page renders and the signature of what its bytes
depend on (its articles' change marks, the settings that shape it, the rendering code), so a
build renders only pages whose signature is new. ``render_archive_file`` is what ``serve`` answers.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC

from aggregator import __version__
from aggregator.publish.archive_index import (
    ArchiveIndex,
    Listing,
    ListingPage,
    all_listings,
    article_path,
    paginate,
)
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
    ArchiveState,
    Listed,
    month_of,
)
from aggregator.publish.build import Output, Site, renderer_digest, signature
from aggregator.publish.entries import Entry, safe_url
from aggregator.publish.feed import INDEX, Selection
from aggregator.publish.names import is_source_name, slugify_tag
from aggregator.publish.page import ArchiveLinks
from aggregator.publish.select import load_entries
from aggregator.sanitize import SANITIZER_VERSION
from aggregator.storage import Session, published

NAV = (("Sources", SOURCES_INDEX), ("Tags", TAGS_INDEX), ("Months", MONTHS_INDEX))


def archive_links() -> ArchiveLinks:
    """What the river links to when the archive is built."""
    return ArchiveLinks(lambda entry: article_path(entry.article_id), NAV)


def archive_signature(site: Site, sources: Sequence[published.SourceDetails]) -> str:
    """What every archive page depends on besides its own articles: the rendering code, the
    settings that shape a page, and the names and titles of the sources (every stored one:
    which of them have listings follows from the articles)."""
    return signature(
        renderer_digest(),
        __version__,
        SANITIZER_VERSION,
        site.title,
        site.archive,
        _policy_parts(site.policy),
        [(details.id, details.name, details.title) for details in sources],
    )


def entry_loader(
    session: Session, site: Site, made: dict[int, Entry]
) -> Callable[[Sequence[int]], list[Entry]]:
    """Entries by id, from the feeds' (``made``) where they made them, kept by no one."""

    def entries(ids: Sequence[int]) -> list[Entry]:
        found = {article_id: made[article_id] for article_id in ids if article_id in made}
        return load_entries(session, site.policy, ids, found)

    return entries


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
        signature(shared, article_id, listed.mark, month_of(listed.dated), tags),
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
        signature(shared, page_parts(page), listing.heading, listing.feed, marks),
    )


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
    for listing in all_listings(every):
        if listing.folder == folder:
            for page in paginate(listing.folder, listing.ids, site.archive):
                if page.path == path:
                    return _listing_renderer(site, every.source_paths, listing, page, entries)()
            return None
    for output in lists(site, every, ""):
        if output.path == path:
            return output.render()
    return None


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
            signature(shared, SOURCES_INDEX, sources),
        ),
        Output(
            OPML,
            lambda: render_opml(title, sources, site.base_url),
            signature(
                shared,
                OPML,
                site.base_url,
                [dataclasses.replace(line, count=0) for line in sources],
            ),
        ),
        Output(
            TAGS_INDEX,
            lambda: render_counts(title, TAGS_INDEX, "Tags", tags),
            signature(shared, TAGS_INDEX, tags),
        ),
        Output(
            MONTHS_INDEX,
            lambda: render_counts(title, MONTHS_INDEX, "Months", months),
            signature(shared, MONTHS_INDEX, months),
        ),
    ]


def _by_label(pair: tuple[str, Listing]) -> tuple[str, str]:
    return pair[1].heading.casefold(), pair[0]


def _count_lines(listings: Iterable[Listing]) -> list[CountLine]:
    return [
        CountLine(listing.heading, f"{listing.folder}/{INDEX}", len(listing.ids))
        for listing in listings
    ]


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
