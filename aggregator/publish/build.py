"""What gets published: feeds per selection and format, the page and its stylesheet.

``plan_outputs`` lists every file of a build, each with a function that renders it, so a caller
can show progress and write each as it comes. The server renders the same things per request
through ``render_feed`` and ``render_index``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from aggregator.config import UNSET_ID_DOMAIN, Config
from aggregator.publish.atom import render_atom
from aggregator.publish.entries import Entry, SourceRef, plain_text
from aggregator.publish.feed import FORMATS, INDEX, STYLESHEET, Feed, Selection
from aggregator.publish.jsonfeed import render_jsonfeed
from aggregator.publish.page import FeedLink, render_page, stylesheet
from aggregator.publish.rss import render_rss
from aggregator.publish.select import (
    PublishPolicy,
    group_by_tag,
    load_entries,
    select_entries,
    sources_with_published,
)
from aggregator.storage import Session

RENDERERS: dict[str, Callable[[Feed], bytes]] = {
    "atom": render_atom,
    "rss": render_rss,
    "json": render_jsonfeed,
}
_LABELS = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}


@dataclass(frozen=True)
class Site:
    """The settings every output shares."""

    title: str
    items: int
    base_url: str | None
    policy: PublishPolicy

    @classmethod
    def from_config(cls, config: Config) -> Site:
        title = plain_text(config.output.title) or "mutualaid"
        return cls(
            title, config.output.items, config.output.base_url, PublishPolicy.from_config(config)
        )


@dataclass(frozen=True)
class Output:
    """One file of a build: where it goes, and how to make its bytes."""

    path: str
    render: Callable[[], bytes]


def plan_outputs(session: Session, site: Site) -> list[Output]:
    """Every file of a build: combined feeds, page, stylesheet, source feeds, tag feeds."""

    made: dict[int, Entry] = {}  # each article is read and sanitised once per build

    @cache
    def combined() -> tuple[Entry, ...]:
        return tuple(select_entries(session, site.policy, site.items, cache=made))

    sources = sources_with_published(session, site.policy)
    outputs = [
        Output(Selection().path(name), _feed_renderer(site, Selection(), name, combined))
        for name in FORMATS
    ]
    outputs.append(Output(INDEX, lambda: render_index(site, combined(), sources)))
    outputs.append(Output(STYLESHEET, stylesheet))
    for source in sources:
        selection = Selection(source=source.name)
        entries = _loader(session, site, selection, made)
        outputs.append(
            Output(selection.path(), _feed_renderer(site, selection, "atom", entries, source))
        )
    for group in group_by_tag(session, site.policy, site.items):
        selection = Selection(tag=group.slug)
        ids = tuple(group.ids)

        def tagged(ids: tuple[int, ...] = ids) -> tuple[Entry, ...]:
            return tuple(load_entries(session, site.policy, ids, made))

        renderer = _feed_renderer(site, selection, "atom", tagged, tag_label=group.label)
        outputs.append(Output(selection.path(), renderer))
    return outputs


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
) -> bytes:
    """The page; ``query`` (served with ?source=...) is passed on to its feed links."""
    suffix = f"?{query}" if query else ""
    feeds = [
        FeedLink(_LABELS[name], media_type, f"{Selection().path(name)}{suffix}")
        for name, media_type in FORMATS.items()
    ]
    source_feeds = [
        FeedLink(source.title, FORMATS["atom"], Selection(source=source.name).path())
        for source in sources
    ]
    return render_page(site.title, entries, feeds, source_feeds, heading)


def _loader(
    session: Session, site: Site, selection: Selection, made: dict[int, Entry]
) -> Callable[[], tuple[Entry, ...]]:
    def load() -> tuple[Entry, ...]:
        return tuple(
            select_entries(session, site.policy, site.items, selection.source, selection.tag, made)
        )

    return load


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
