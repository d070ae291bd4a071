"""Extraction and ingest throughput.

``extract``: our extractor over the labelled corpus, against a bare lxml parse of the same pages
(CPU time). ``extract-real`` and ``extract-real-lxml``: our extractor over real pages (every
fourth page of ``../shared/corpus``, or the labelled corpus where that is absent), against plain
``trafilatura.extract(html)`` with its defaults and against a bare lxml parse (CPU time);
``extract-real-metadata`` against ``trafilatura.extract`` asked for metadata too, as we are.
``ingest``: extraction + dedup + batched storage of a news site's pages into a fresh
SQLite file, against extraction alone of the same pages (wall time, since storage waits on disk).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import trafilatura
import yaml

from aggregator.config import Config, load_config
from aggregator.errors import NotAnArticleError
from aggregator.extract import extract_article
from aggregator.ingest import Ingestor, SourceContext, prepare_item
from aggregator.items import FetchedItem, Origin
from aggregator.storage import open_database
from bench.harness import Workload
from tests.quality import load_corpus
from tests.sites.news_site import build_news_site

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def corpus_pages(size: int) -> list[tuple[str, str]]:
    pages = [(page.html, page.url) for page in load_corpus()]
    return (pages * (size // len(pages) + 1))[:size]


def parse_only(pages: list[tuple[str, str]]) -> None:
    for html, _url in pages:
        lxml.html.document_fromstring(html)


def extract_all(pages: list[tuple[str, str]]) -> None:
    for html, url in pages:
        with contextlib.suppress(NotAnArticleError):
            extract_article(html, url)


def real_pages(size: int) -> list[tuple[str, str]]:
    from tests import shared_corpus

    if not shared_corpus.corpus_available():
        return corpus_pages(size)
    sample = shared_corpus.load_pages()[::4]
    pages = [(page.html_path.read_text(encoding="utf-8", errors="replace"), page.url)
             for page in sample[:size]]  # fmt: skip
    return (pages * (size // len(pages) + 1))[:size]


def plain_trafilatura(pages: list[tuple[str, str]]) -> None:
    for html, _url in pages:
        trafilatura.extract(html)


def trafilatura_with_metadata(pages: list[tuple[str, str]]) -> None:
    for html, url in pages:
        trafilatura.extract(html, url=url, with_metadata=True)


def _real(name: str, floor_name: str, floor: Callable[[list[tuple[str, str]]], None]) -> Workload:
    return Workload(
        name=name,
        description="extract_article over real pages (listings included)",
        floor_name=floor_name,
        prepare=real_pages,
        floor=floor,
        subject=extract_all,
        size=223,
        quick_size=8,
        clock="cpu",
        target=1.3 if floor is plain_trafilatura else None,
    )


EXTRACT_REAL = _real("extract-real", "plain trafilatura.extract(html), defaults", plain_trafilatura)
EXTRACT_REAL_LXML = _real("extract-real-lxml", "bare lxml.html parse of the same pages", parse_only)
EXTRACT_REAL_METADATA = _real(
    "extract-real-metadata", "trafilatura.extract(html, with_metadata=True)",
    trafilatura_with_metadata,
)  # fmt: skip

EXTRACT = Workload(
    name="extract",
    description="extract_article over the labelled corpus pages (listings included)",
    floor_name="bare lxml.html parse of the same pages",
    prepare=corpus_pages,
    floor=parse_only,
    subject=extract_all,
    size=184,
    quick_size=12,
    clock="cpu",
)


@dataclass
class IngestInputs:
    folder: Path
    template: Path
    config: Config
    items: list[FetchedItem]
    copies: int = 0


@dataclass(frozen=True)
class IngestRound:
    database_url: str
    config: Config
    items: list[FetchedItem]


def prepare_ingest(size: int) -> IngestInputs:
    folder = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    with build_news_site(extra_articles=max(0, size - 40)) as site:
        urls = [article.url for article in site.articles][:size]
        pages = [_get(url) for url in urls]
        homepage = f"{site.base_url}/"
    template = folder / "template.db"
    config_path = folder / "config.yaml"
    config_path.write_text(
        yaml.safe_dump(
            {
                "database": {"url": f"sqlite:///{template}"},
                "sources": {"news": {"homepage": homepage}},
            }
        )
    )
    config = load_config(config_path, environ={})
    database = open_database(config.database.url)
    Ingestor(database, config)  # registers the source
    database.close()
    items = [
        FetchedItem(source="news", url=url, origin=Origin.CRAWL, fetched_at=NOW, html=html)
        for url, html in zip(urls, pages, strict=True)
    ]
    return IngestInputs(folder, template, config, items)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return str(response.read().decode("utf-8"))


def fresh_round(inputs: IngestInputs) -> IngestRound:
    inputs.copies += 1
    path = inputs.folder / f"copy-{inputs.copies}.db"
    shutil.copyfile(inputs.template, path)
    url = f"sqlite:///{path}"
    config = inputs.config.model_copy(
        update={"database": inputs.config.database.model_copy(update={"url": url})}
    )
    return IngestRound(url, config, inputs.items)


def ingest_all(round_: IngestRound) -> None:
    database = open_database(round_.database_url)
    report = Ingestor(database, round_.config, clock=lambda: NOW).ingest(round_.items)
    database.close()
    assert not report.failed


def extract_only(round_: IngestRound) -> None:
    config = round_.config
    context = SourceContext(
        name="news", profile=config.topic.profile(), rules=config.sources["news"].rules.compile()
    )
    for item in round_.items:
        with contextlib.suppress(NotAnArticleError):
            prepare_item(item, context)


INGEST = Workload(
    name="ingest",
    description="ingest N news-site pages (extract, dedup, learn, store in batches) into SQLite",
    floor_name="extraction alone (prepare_item) of the same pages",
    prepare=prepare_ingest,
    before_each=fresh_round,
    floor=extract_only,
    subject=ingest_all,
    size=300,
    quick_size=20,
    target=1.10,
    teardown=lambda inputs: shutil.rmtree(inputs.folder, ignore_errors=True),
)
