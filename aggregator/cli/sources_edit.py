"""``mutualaid sources add|import|export``: add sources to the config file, or list them as OPML.

Attached to the ``sources`` group in ``aggregator.cli``. New sources are written into the config
file (``--config``, else ``$MUTUALAID_CONFIG``, else ``./config.yaml``, created if missing) as
plain text at the end of its ``sources:`` mapping; the rest of the file is left as it was. A site
whose WordPress REST API or sitemap answers gets ``crawl: {}`` too, so ``mutualaid crawl`` reads
its whole archive with no selectors (``--no-crawl`` leaves it out).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import click
from pydantic import ValidationError

from aggregator.cli.context import AppContext, json_option, pass_app, print_json, stderr, stdout
from aggregator.config import (
    CONFIG_ENV,
    DEFAULT_FILE,
    SOURCE_NAME,
    SOURCE_NAME_MAX,
    SourceConfig,
    check_source_name,
)
from aggregator.errors import ConfigError, MutualAidError
from aggregator.fetch import FetchLimits, client_for
from aggregator.normalize import canonical_url
from aggregator.poll.configfile import write_sources
from aggregator.poll.discover import WordPressSite, detect_wordpress, discover_feed
from aggregator.poll.http import Fetcher
from aggregator.poll.limiter import HostLimiter
from aggregator.poll.opml import read_opml, write_opml

DISCOVERY_DELAY = 0.25  # seconds between requests to the site while looking for its feed


@click.command("add")
@click.argument("url")
@click.option("--name", help="Source name (default: from the site's host name).")
@click.option(
    "--no-crawl", is_flag=True, help="Add no crawl: block, even for a site that could crawl."
)
@json_option
@pass_app
def add_source(app: AppContext, url: str, name: str | None, no_crawl: bool, as_json: bool) -> None:
    """Find the feed of the site at URL and add the site to the config file as a source.

    When the site is a WordPress whose REST API (or sitemap) answers, the source gets
    'crawl: {}' as well: 'mutualaid crawl' then reads its whole archive, no selectors needed.
    """
    config = app.config
    if name is not None:
        _check_name(name, config.sources)
    if not url.startswith(("http://", "https://")):
        url = "https://" + url
    limits = FetchLimits.from_config(config.network)
    with client_for(config, limits) as client:
        fetcher = Fetcher(client, limits, HostLimiter(DISCOVERY_DELAY))
        found = discover_feed(fetcher, url)
        _refuse_known(found.feed_url, config.sources)
        site = None if no_crawl else detect_wordpress(fetcher, found.homepage)
    chosen = name or suggest_name(found.homepage, found.title, set(config.sources))
    fields: dict[str, object] = {**_fields(found.title, found.homepage, found.feed_url)}
    if site is not None:
        fields["crawl"] = {}
    _validate(chosen, fields)
    path = config_file(app)
    write_sources(path, {chosen: fields})
    record = {"name": chosen, **fields, "format": found.format, "config": str(path)}
    if as_json:
        print_json({**record, "found": _found(site)})
        return
    stdout.print(f"added source [bold]{chosen}[/]: {found.feed_url} ({found.format}) to {path}")
    if site is not None:
        stdout.print(
            f"found the {site.describe()}: added crawl: {{}} (mutualaid crawl {chosen} reads "
            "the whole archive, no selectors needed)",
            markup=False,
            highlight=False,
        )


def _found(site: WordPressSite | None) -> dict[str, str | None] | None:
    return None if site is None else {"api": site.api_url, "sitemap": site.sitemap_url}


def _refuse_known(feed_url: str, sources: dict[str, SourceConfig]) -> None:
    existing = _configured_feeds(sources)
    if _key(feed_url) in existing:
        raise MutualAidError(
            f"{feed_url} is already configured as source {existing[_key(feed_url)]!r}"
        )


@click.command("import")
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@pass_app
def import_sources(app: AppContext, opml_file: Path, as_json: bool) -> None:
    """Add every feed of an OPML file to the config file (feeds already configured are skipped)."""
    config = app.config
    feeds = read_opml(opml_file.read_bytes(), str(opml_file))
    existing = _configured_feeds(config.sources)
    taken = set(config.sources)
    added: dict[str, dict[str, str]] = {}
    skipped: list[dict[str, str]] = []
    for feed in feeds:
        if _key(feed.feed_url) in existing:
            skipped.append({"feed": feed.feed_url, "reason": "already configured"})
            continue
        homepage = feed.homepage or _root(feed.feed_url)
        name = suggest_name(homepage, feed.title, taken)
        fields = _fields(feed.title, homepage, feed.feed_url)
        try:
            _validate(name, fields)
        except ConfigError as exc:
            skipped.append({"feed": feed.feed_url, "reason": exc.message})
            continue
        taken.add(name)
        existing[_key(feed.feed_url)] = name
        added[name] = fields
    path = config_file(app)
    if added:
        write_sources(path, added)
    if as_json:
        print_json({"config": str(path), "added": added, "skipped": skipped})
        return
    for name, fields in added.items():
        stdout.print(f"added {name}: {fields['feed']}", markup=False, highlight=False)
    for skip in skipped:
        stderr.print(f"skipped {skip['feed']}: {skip['reason']}", markup=False, highlight=False)
    stdout.print(f"{len(added)} added, {len(skipped)} skipped ({path})")


@click.command("export")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the OPML here instead of to standard output.",
)
@pass_app
def export_sources(app: AppContext, output: Path | None) -> None:
    """Write the configured sources that have a feed as an OPML subscription list."""
    config = app.config
    data = write_opml(config.sources, config.output.title, datetime.now(UTC))
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.write_bytes(data)
        stderr.print(
            f"wrote {sum(1 for s in config.sources.values() if s.feed)} sources to {output}"
        )


def config_file(app: AppContext) -> Path:
    """The file sources are written to: the one in use, else ``./config.yaml``."""
    if app.config_path is not None:
        return app.config_path
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return DEFAULT_FILE


def suggest_name(homepage: str, title: str | None, taken: set[str]) -> str:
    """A free source name from the site's host (``www.example.org`` → ``example``) or title."""
    host = (urlsplit(homepage).hostname or "").removeprefix("www.")
    labels = host.split(".")
    from_host = "-".join(labels[:-1]) if len(labels) > 1 and not host[:1].isdigit() else ""
    base = _slug(from_host) or _slug(title or "") or "source"
    name, number = base, 2
    while name in taken:
        suffix = f"-{number}"
        name, number = base[: SOURCE_NAME_MAX - len(suffix)].rstrip("-") + suffix, number + 1
    return name


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:SOURCE_NAME_MAX].strip("-")
    return slug if SOURCE_NAME.match(slug) else ""


def _fields(title: str | None, homepage: str, feed: str) -> dict[str, str]:
    fields = {"title": title} if title else {}
    return {**fields, "homepage": homepage, "feed": feed}


def _check_name(name: str, sources: dict[str, SourceConfig]) -> None:
    """A name given with ``--name``: checked before any request, a one-line error (exit 2)."""
    try:
        check_source_name(name)
    except ValueError as exc:
        raise ConfigError("--name", str(exc)) from None
    if name in sources:
        raise ConfigError("--name", f"a source named {name!r} already exists")


def _validate(name: str, fields: Mapping[str, object]) -> None:
    try:
        check_source_name(name)
    except ValueError as exc:
        raise ConfigError("source", str(exc)) from None
    try:
        SourceConfig.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError("source", message, key=f"sources.{name}.{key}") from None


def _configured_feeds(sources: dict[str, SourceConfig]) -> dict[str, str]:
    return {_key(source.feed): name for name, source in sources.items() if source.feed}


def _key(url: str) -> str:
    try:
        return canonical_url(url)
    except ValueError:
        return url


def _root(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"
