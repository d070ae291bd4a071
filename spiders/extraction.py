"""Extraction in worker processes, away from Scrapy's event loop.

trafilatura takes tens of milliseconds a page, long enough to stall every download in flight if
it ran in the reactor. The pipeline sends batches of fetched pages here (a process pool, or one
thread when ``workers`` is 0) and gets back candidates ready for ``Ingestor.store``. Each process
builds the per-source rules once from the config; the boilerplate learned so far travels with
each batch, since the storing side keeps learning.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import signal
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field

from aggregator.config import Config
from aggregator.errors import NotAnArticleError
from aggregator.extract import ExtractOptions, SiteRules
from aggregator.extract.article import strip_blocks
from aggregator.fingerprints import content_hash, simhash
from aggregator.ingest import Candidate, SourceContext, prepare_item
from aggregator.ingest.prepare import with_learned_removed
from aggregator.items import FetchedItem
from aggregator.relevance import TopicProfile, score_article
from aggregator.sanitize import SANITIZER_VERSION

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Setup:
    profile: TopicProfile
    options: ExtractOptions
    rules: dict[str, SiteRules]


_setup: _Setup | None = None


@dataclass
class Prepared:
    """One batch after extraction: candidates to store, and pages skipped or failed, with why."""

    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def make_executor(workers: int, config: Config) -> Executor:
    """``workers`` spawned processes, or a single thread when ``workers`` is 0."""
    if workers <= 0:
        return ThreadPoolExecutor(1, initializer=set_up, initargs=(config, False))
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=set_up,
        initargs=(config, True),
    )


def set_up(config: Config, in_worker_process: bool) -> None:
    """Build what extraction needs once per process (or thread)."""
    global _setup
    if in_worker_process:  # Ctrl-C is the crawl process' to handle, not each worker's
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    settings = config.extraction
    _setup = _Setup(
        profile=config.topic.profile(),
        options=settings.options(),
        rules={name: source.rules.compile() for name, source in config.sources.items()},
    )


def prepare_batch(
    items: Sequence[FetchedItem], boilerplate: Mapping[str, frozenset[str]]
) -> Prepared:
    """Extract each item as ``Ingestor.prepare`` would: a page that is not an article is skipped."""
    if _setup is None:
        raise RuntimeError("set_up() has not run in this process")
    prepared = Prepared()
    for item in items:
        rules = _setup.rules.get(item.source)
        if rules is None:
            prepared.skipped.append((item.url, f"unknown source {item.source!r}"))
            continue
        context = SourceContext(
            name=item.source,
            profile=_setup.profile,
            rules=rules,
            boilerplate=boilerplate.get(item.source, frozenset()),
            options=_setup.options,
        )
        try:
            prepared.candidates.append(prepare_item(item, context))
        except NotAnArticleError as exc:
            prepared.skipped.append((item.url, exc.reason))
        except ValueError as exc:
            prepared.skipped.append((item.url, str(exc)))
        except Exception as exc:  # one broken page must not stop the others
            log.exception("extraction failed for %s", item.url)
            prepared.failed.append((item.url, f"extraction failed: {exc!r}"))
    return prepared


def strip_candidate(
    candidate: Candidate, learned: frozenset[str], profile: TopicProfile
) -> Candidate:
    """``candidate`` without the blocks in ``learned``: text, fingerprints and score redone."""
    dropped = {block.fingerprint for block in candidate.blocks} & learned
    if not dropped:
        return candidate
    html, text = strip_blocks(candidate.html, dropped)
    relevance = score_article(profile, title=candidate.title, text=text, tags=candidate.tags)
    return dataclasses.replace(
        candidate,
        html=html,
        sanitized_with=SANITIZER_VERSION,  # strip_blocks returns sanitize_html's output
        text=text,
        content_hash=content_hash(text),
        simhash=simhash(text),
        relevance=relevance,
        blocks=tuple(block for block in candidate.blocks if block.fingerprint not in dropped),
        extraction=with_learned_removed(candidate.extraction, dropped),
    )
