"""``mutualaid extract``: show what extraction keeps of pages, files or standard input."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx

from aggregator.cli.context import AppContext, pass_app, print_json, stderr
from aggregator.config import Config
from aggregator.errors import MutualAidError
from aggregator.extract import Extracted, ExtractOptions, SiteRules, extract_article
from aggregator.fetch import FetchLimits, client_for, fetch
from aggregator.storage.boilerplate import learned_fingerprints
from aggregator.storage.sources import source_ids


@dataclass(frozen=True)
class Page:
    label: str  # what the user typed
    url: str  # the URL links are resolved against
    html: bytes


@click.command("extract")
@click.argument("inputs", nargs=-1)
@click.option("--source", "source_name", help="Apply this source's rules and learned boilerplate.")
@click.option("--base-url", help="URL that links in files and standard input are relative to.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array with every input.")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="One JSON object per line, per input.")
@click.option("--fast", is_flag=True, help="One quick pass only (no fuller second pass).")
@pass_app
def extract(
    app: AppContext,
    inputs: tuple[str, ...],
    source_name: str | None,
    base_url: str | None,
    as_json: bool,
    as_jsonl: bool,
    fast: bool,
) -> None:
    """Print the article extracted from each INPUT: an HTML file, an http(s) URL, or - for
    standard input (the default). Pages that are not articles are reported and skipped."""
    if as_json and as_jsonl:
        raise click.UsageError("choose one of --json and --jsonl")
    rules, boilerplate = _source_rules(app, source_name)
    options = app.config.extraction.options()
    if fast:
        options = dataclasses.replace(options, second_pass=False)
    results: list[dict[str, Any]] = []
    failures = 0
    inputs = inputs or ("-",)
    for label, outcome in _extract_all(app.config, inputs, base_url, rules, boilerplate, options):
        if isinstance(outcome, str):
            failures += 1
            record: dict[str, Any] = {"input": label, "error": outcome}
            if not (as_json or as_jsonl):
                stderr.print(f"error: {label}: {outcome}", markup=False, highlight=False)
        else:
            record = {"input": label, **_as_record(outcome)}
            if not (as_json or as_jsonl):
                _print_text(outcome)
        if as_jsonl:
            print_json(record, indent=None)
        results.append(record)
    if as_json:
        print_json(results)
    if failures:
        raise click.exceptions.Exit(1)


def _extract_all(
    config: Config,
    inputs: tuple[str, ...],
    base_url: str | None,
    rules: SiteRules,
    boilerplate: frozenset[str],
    options: ExtractOptions,
) -> Iterator[tuple[str, Extracted | str]]:
    from rich.progress import Progress

    progress = Progress(console=stderr, transient=True, disable=len(inputs) < 2)
    limits = FetchLimits.from_config(config.network)
    with client_for(config, limits) as client, progress:
        task = progress.add_task("extracting", total=len(inputs))
        for label in inputs:
            try:
                page = _read(label, base_url, client, limits)
                yield (
                    label,
                    extract_article(
                        page.html, page.url, rules=rules, boilerplate=boilerplate, options=options
                    ),
                )
            except MutualAidError as exc:
                yield label, getattr(exc, "reason", None) or str(exc)
            except OSError as exc:
                yield label, exc.strerror or str(exc)
            finally:
                progress.advance(task)


def _read(label: str, base_url: str | None, client: httpx.Client, limits: FetchLimits) -> Page:
    if label.startswith(("http://", "https://")):
        fetched = fetch(label, limits, client)
        return Page(label, fetched.url, fetched.body)
    if label == "-":
        return Page(label, base_url or "https://stdin.invalid/", sys.stdin.buffer.read())
    path = Path(label)
    return Page(label, base_url or path.resolve().as_uri(), path.read_bytes())


def _source_rules(app: AppContext, name: str | None) -> tuple[SiteRules, frozenset[str]]:
    if name is None:
        return SiteRules(), frozenset()
    source = app.source(name)
    database = app.open_database()
    try:
        with database.session() as session:
            source_id = source_ids(session).get(name)
            learned = learned_fingerprints(session, source_id) if source_id else frozenset()
    finally:
        database.close()
    return source.rules.compile(), learned


def _as_record(article: Extracted) -> dict[str, Any]:
    return {
        "title": article.title,
        "author": article.author,
        "date": article.date,
        "language": article.language,
        "canonical_url": article.canonical_url,
        "tags": list(article.tags),
        "licence": article.licence.id if article.licence else None,
        "licence_declared": article.licence.declared if article.licence else None,
        "words": article.word_count,
        "text": article.text,
        "html": article.html,
    }


def _print_text(article: Extracted) -> None:
    """Plain text, unwrapped: what a person reads and what ``grep`` sees."""
    byline = " · ".join(filter(None, (article.author, article.date)))
    lines = [f"# {article.title or '(no title)'}", *([byline] if byline else []), "", article.text]
    sys.stdout.write("\n".join(lines) + "\n\n")
