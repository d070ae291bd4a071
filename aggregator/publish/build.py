"""What gets published: feeds per selection and format, the page and its stylesheet.

``plan_outputs`` lists every file of a build, each with a function that renders it and a
signature of everything its bytes depend on, so a caller can skip a file whose signature did
not change and show progress on the rest. The plan itself reads only ids and change times: one
indexed query per feed for its newest ``output.items`` ids, and one read by id of when those
articles last changed. The server renders the same things per request through ``render_feed``
and ``render_index``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator import __version__
from aggregator.config import UNSET_ID_DOMAIN, Config
from aggregator.publish.atom import render_atom
from aggregator.publish.entries import Entry, SourceRef, plain_text
from aggregator.publish.feed import FORMATS, INDEX, STYLESHEET, Feed, Selection
from aggregator.publish.jsonfeed import render_jsonfeed
from aggregator.publish.page import FeedLink, render_page, stylesheet
from aggregator.publish.rss import render_rss
from aggregator.publish.select import (
    PublishPolicy,
    change_marks,
    group_by_tag,
    load_entries,
    published_ids,
    source_feeds,
    source_titles,
)
from aggregator.sanitize import SANITIZER_VERSION
from aggregator.storage import Session

if TYPE_CHECKING:
    from aggregator.publish.archive import ArchivePlan
    from aggregator.publish.manifest import ArchiveRecord

RENDERERS: dict[str, Callable[[Feed], bytes]] = {
    "atom": render_atom,
    "rss": render_rss,
    "json": render_jsonfeed,
}
_LABELS = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}
# Besides the publishing package itself, the modules whose code shapes the bytes of an output.
_RENDERING_MODULES = ("sanitize.py", "xmlsafe.py", "textclean.py")


@dataclass(frozen=True)
class Site:
    """The settings every output shares."""

    title: str
    items: int
    base_url: str | None
    policy: PublishPolicy
    # The archive's page size (``publish.archive``); 0: no archive.
    archive: int = 0

    @classmethod
    def from_config(cls, config: Config) -> Site:
        title = plain_text(config.output.title) or "mutualaid"
        archive = config.output.archive
        return cls(
            title,
            config.output.items,
            config.output.base_url,
            PublishPolicy.from_config(config),
            archive.page_size if archive.enabled else 0,
        )


@dataclass(frozen=True)
class Output:
    """One file of a build: where it goes, how to make its bytes, and a signature of what they
    depend on (the same signature, the same bytes)."""

    path: str
    render: Callable[[], bytes]
    signature: str = ""


@dataclass(frozen=True)
class _Planned:
    """A feed's selection, names and newest ids, before anything is rendered."""

    selection: Selection
    ids: tuple[int, ...]
    source: SourceRef | None = None
    tag_label: str | None = None


@dataclass
class Plan:
    """A build's files: every feed and the page, and the archive's (``archive.ArchivePlan``;
    None without an archive)."""

    outputs: list[Output]
    archive: ArchivePlan | None = None


def plan_outputs(
    session: Session, site: Site, last: ArchiveRecord | None = None, mark: int | None = None
) -> Plan:
    """Every file of a build: combined feeds, page, stylesheet, source feeds, tag feeds, and
    the archive's: of its changes since ``last`` (the last build's, from its manifest) up to
    ``mark`` (``storage.changes.settled_mark``), or all of it without a usable ``last``."""
    combined = _Planned(Selection(), tuple(published_ids(session, site.policy, site.items)))
    sources = [
        _Planned(Selection(source=source.name), tuple(ids), source)
        for source, ids in source_feeds(session, site.policy, site.items)
    ]
    tags = [
        _Planned(Selection(tag=group.slug), tuple(group.ids), tag_label=group.label)
        for group in group_by_tag(session, site.policy, site.items)
    ]
    every = [combined, *sources, *tags]
    changed = change_marks(session, [article_id for planned in every for article_id in planned.ids])
    shared = _site_signature(site, source_titles(session))
    made: dict[int, Entry] = {}  # each article is read and sanitised once per build

    def entries(planned: _Planned) -> Callable[[], tuple[Entry, ...]]:
        return cache(lambda: tuple(load_entries(session, site.policy, planned.ids, made)))

    def sign(*parts: object) -> str:
        return signature(shared, *parts)

    combined_entries = entries(combined)
    combined_marks = _marks(combined, changed)
    outputs = [
        Output(
            path,
            _feed_renderer(site, Selection(), name, combined_entries),
            sign(path, combined_marks),
        )
        for name in FORMATS
        for path in [Selection().path(name)]
    ]
    source_refs = [planned.source for planned in sources if planned.source]
    outputs.append(
        Output(
            INDEX,
            lambda: render_index(site, combined_entries(), source_refs),
            sign(
                INDEX,
                combined_marks,
                [(ref.name, ref.title) for ref in source_refs],
                bool(site.archive),
            ),
        )
    )
    outputs.append(Output(STYLESHEET, stylesheet, sign(STYLESHEET)))
    for planned in [*sources, *tags]:
        path = planned.selection.path()
        render = _feed_renderer(
            site, planned.selection, "atom", entries(planned), planned.source, planned.tag_label
        )
        label = planned.source.title if planned.source else planned.tag_label
        outputs.append(Output(path, render, sign(path, label, _marks(planned, changed))))
    if not site.archive:
        return Plan(outputs)
    from aggregator.publish import archive_delta  # it builds on this module

    archive = archive_delta.plan(session, site, last, mark, made, changed)
    return Plan(outputs + archive.outputs, archive)


def _marks(planned: _Planned, changed: dict[int, str]) -> list[tuple[int, str]]:
    """A feed's articles and what each entry is made of: what its bytes depend on."""
    return [(article_id, changed.get(article_id, "")) for article_id in planned.ids]


def _site_signature(site: Site, sources: Sequence[tuple[int, str, str | None]]) -> str:
    """What every output depends on besides its own articles: the code that renders it, the
    settings that shape it, and the sources' names and titles (attributions name any)."""
    policy = site.policy
    return signature(
        renderer_digest(),
        __version__,
        SANITIZER_VERSION,
        site.title,
        site.items,
        site.base_url,
        policy.threshold,
        sorted(policy.keep_all),
        policy.id_domain,
        policy.republish,  # each source's terms shape its entries, and so every output
        policy.default_republish,
        sorted(policy.opted_out),
        sorted(sources),
    )


@cache
def renderer_digest() -> str:
    """A hash of the code that turns articles into files: any change to it, released or not,
    renders every output once more, with no version number to remember to raise."""
    return code_digest(rendering_files())


def rendering_files() -> list[Path]:
    """This package's modules and stylesheet, and the sanitiser's and XML text's modules."""
    package = Path(__file__).parent
    files = sorted([*package.glob("*.py"), *package.glob("*.css")])
    return files + [package.parent / name for name in _RENDERING_MODULES]


def code_digest(files: Sequence[Path]) -> str:
    """SHA-256 over each file's name and bytes, in the order given."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode("utf-8"))
        digest.update(path.read_bytes())
    return digest.hexdigest()


def signature(*parts: object) -> str:
    """A SHA-256 of ``parts`` as JSON: what an output's bytes depend on, in a manifest."""
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_feed(
    site: Site,
    selection: Selection,
    format_name: str,
    entries: Sequence[Entry],
    source: SourceRef | None = None,
    tag_label: str | None = None,
    query: str = "",
) -> Feed:
    """The feed of ``entries`` for ``selection``, titled and named."""
    about = [name for name in (source.title if source else None, tag_label) if name]
    title = f"{site.title}: {', '.join(about)}" if about else site.title
    if source and tag_label:
        description = f"Articles seen at {source.title} and tagged “{tag_label}”"
    elif source:
        description = f"Articles seen at {source.title}"
    elif tag_label:
        description = f"Articles tagged “{tag_label}”"
    else:
        description = f"The latest articles collected by {site.title}"
    return Feed(
        id=selection.feed_id(site.policy.id_domain),
        title=title,
        description=description,
        path=selection.path(format_name),
        entries=tuple(entries),
        base_url=site.base_url,
        query=query,
    )


def render_feed(feed: Feed, format_name: str) -> bytes:
    return RENDERERS[format_name](feed)


def render_index(
    site: Site,
    entries: Sequence[Entry],
    sources: Sequence[SourceRef],
    query: str = "",
    heading: str | None = None,
    search_box: bool = False,
) -> bytes:
    """The page; ``query`` (served with ?source=...) is passed on to its feed links;
    ``search_box`` only where it is served (a written page has no ``/search`` beside it)."""
    suffix = f"?{query}" if query else ""
    feeds = [
        FeedLink(_LABELS[name], media_type, f"{Selection().path(name)}{suffix}")
        for name, media_type in FORMATS.items()
    ]
    source_feeds = [
        FeedLink(source.title, FORMATS["atom"], Selection(source=source.name).path())
        for source in sources
    ]
    archive = None
    if site.archive:
        from aggregator.publish.archive_outputs import archive_links

        archive = archive_links()
    return render_page(site.title, entries, feeds, source_feeds, heading, archive, search_box)


def _feed_renderer(
    site: Site,
    selection: Selection,
    format_name: str,
    entries: Callable[[], Sequence[Entry]],
    source: SourceRef | None = None,
    tag_label: str | None = None,
) -> Callable[[], bytes]:
    def render() -> bytes:
        feed = make_feed(site, selection, format_name, entries(), source, tag_label)
        return render_feed(feed, format_name)

    return render


def unset_publishing_settings(config: Config) -> list[str]:
    """One line per publishing setting still at its placeholder; they shape what readers keep."""
    problems = []
    if config.output.base_url is None:
        problems.append(
            "output.base_url is not set: feed links stay relative and JSON Feed has no "
            "feed_url or home_page_url; set it to the public address of output.dir"
        )
    if config.output.id_domain == UNSET_ID_DOMAIN:
        problems.append(
            f"output.id_domain is {UNSET_ID_DOMAIN}: entry ids must never change once "
            "published; set it to a domain you control before anyone subscribes"
        )
    return problems
