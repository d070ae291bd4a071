"""Extraction quality on the labelled corpus (tests/corpus): bag-of-shingles precision/recall/F1.

Used by the quality gate test and by ``python -m tests.quality`` for the README's figures.
Tokens are lowercased words; a page's text becomes the multiset of its 4-token shingles, and
precision/recall compare the extracted multiset with the expected one. Listing pages expect no
article: refusing one scores 1, extracting anything from it scores 0.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
SHINGLE = 4
_WORD = re.compile(r"\w+")

Extractor = Callable[[str, str], str | None]  # (html, url) -> text, or None for "not an article"


@dataclass(frozen=True)
class Page:
    id: str
    kind: str
    platform: str
    url: str
    html: str
    expected: str


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass(frozen=True)
class Summary:
    precision: float
    recall: float
    f1: float
    listings_refused: int
    listings: int
    per_page: dict[str, float]


def load_corpus() -> list[Page]:
    index = json.loads((CORPUS / "index.json").read_text(encoding="utf-8"))
    return [
        Page(
            id=entry["id"],
            kind=entry["kind"],
            platform=entry["platform"],
            url=entry["url"],
            html=(CORPUS / "pages" / f"{entry['id']}.html").read_text(encoding="utf-8"),
            expected=(CORPUS / "expected" / f"{entry['id']}.txt").read_text(encoding="utf-8"),
        )
        for entry in index
    ]


def shingles(text: str) -> Counter[tuple[str, ...]]:
    words = _WORD.findall(text.casefold())
    if len(words) < SHINGLE:
        return Counter([tuple(words)]) if words else Counter()
    return Counter(tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1))


def score_text(extracted: str, expected: str) -> Score:
    got, want = shingles(extracted), shingles(expected)
    overlap = sum((got & want).values())
    precision = overlap / sum(got.values()) if got else 0.0
    recall = overlap / sum(want.values()) if want else 0.0
    return Score(precision, recall)


def evaluate(results: dict[str, str | None], pages: list[Page]) -> Summary:
    """Summarise extracted texts (``None`` = refused as not an article) against the corpus."""
    scores: list[Score] = []
    per_page: dict[str, float] = {}
    refused = 0
    listings = [page for page in pages if page.kind == "listing"]
    for page in pages:
        text = results.get(page.id)
        if page.kind == "listing":
            ok = not text or not text.strip()
            refused += ok
            per_page[page.id] = float(ok)
            continue
        score = score_text(text or "", page.expected)
        scores.append(score)
        per_page[page.id] = score.f1
    return Summary(
        precision=statistics.mean(score.precision for score in scores),
        recall=statistics.mean(score.recall for score in scores),
        f1=statistics.mean(score.f1 for score in scores),
        listings_refused=refused,
        listings=len(listings),
        per_page=per_page,
    )


def run_extractor(extractor: Extractor, pages: list[Page]) -> Summary:
    return evaluate({page.id: extractor(page.html, page.url) for page in pages}, pages)


def plain_trafilatura(html: str, url: str) -> str | None:
    """The baseline: trafilatura's defaults, comments off (they are never part of an article)."""
    import trafilatura

    return trafilatura.extract(html, url=url, include_comments=False)


def ours(html: str, url: str) -> str | None:
    """Our extractor on a single page, with no site rules and nothing learned."""
    from aggregator.errors import NotAnArticleError
    from aggregator.extract import extract_article

    try:
        return extract_article(html, url).text
    except NotAnArticleError:
        return None


def ingested(pages: list[Page], folder: Path) -> Summary:
    """The whole ingest path, one source per site, pages in corpus order, learning on.

    What a user gets: pages of the same site teach each other their boilerplate, and what is
    learned is cleaned from the pages stored before it.
    """
    from datetime import UTC, datetime
    from urllib.parse import urlsplit

    import yaml
    from sqlalchemy import select

    from aggregator.config import load_config
    from aggregator.ingest import Ingestor
    from aggregator.items import FetchedItem, Origin
    from aggregator.normalize import canonical_url
    from aggregator.storage import open_database
    from aggregator.storage.models import Article, Sighting

    def source_of(page: Page) -> str:
        host = urlsplit(page.url).hostname or "unknown"
        return re.sub(r"[^a-z0-9]+", "-", host.removeprefix("www."))[:60]

    sources = {source_of(page): {"homepage": f"https://{urlsplit(page.url).hostname}/"}
               for page in pages}  # fmt: skip
    config_path = folder / "config.yaml"
    database_url = f"sqlite:///{folder / 'quality.db'}"
    config_path.write_text(yaml.safe_dump({"database": {"url": database_url}, "sources": sources}))
    config = load_config(config_path, environ={})
    database = open_database(config.database.url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    items = [
        FetchedItem(source=source_of(page), url=page.url, origin=Origin.CRAWL, fetched_at=now,
                    html=page.html)
        for page in pages
    ]  # fmt: skip
    Ingestor(database, config, clock=lambda: now).ingest(items)
    with database.session() as session:
        stored = dict(
            session.execute(
                select(Sighting.url, Article.text).join(Article, Sighting.article_id == Article.id)
            ).all()
        )
    database.close()
    return evaluate({page.id: stored.get(canonical_url(page.url)) for page in pages}, pages)


def _report_local() -> None:
    import tempfile

    pages = load_corpus()
    with tempfile.TemporaryDirectory() as folder:
        full = ingested(pages, Path(folder))
    for name, summary in (
        ("plain trafilatura", run_extractor(plain_trafilatura, pages)),
        ("mutualaid, one page at a time", run_extractor(ours, pages)),
        ("mutualaid, ingested per site (learning)", full),
    ):
        print(
            f"{name}: P={summary.precision:.3f} R={summary.recall:.3f} F1={summary.f1:.3f} "
            f"listings refused {summary.listings_refused}/{summary.listings}"
        )
        worst = sorted(summary.per_page.items(), key=lambda item: item[1])[:6]
        print("  lowest:", ", ".join(f"{page}={f1:.2f}" for page, f1 in worst))


def _report_shared() -> None:
    from tests import shared_corpus

    if not shared_corpus.corpus_available():
        raise SystemExit(f"no corpus at {shared_corpus.ARCHIVE}")
    pages = shared_corpus.load_pages()
    articles = sum(page.kind == "article" for page in pages)
    print(f"{len(pages)} pages: {articles} articles, {len(pages) - articles} listings")
    for name in shared_corpus.EXTRACTORS:
        result = shared_corpus.run(name, pages)
        print(
            f"{name}: P={result.precision:.3f} R={result.recall:.3f} F1={result.f1:.3f} | "
            f"empty articles {len(result.empty_articles)} | listings refused "
            f"{result.listings_refused}/{result.listings} | boilerplate snippets leaked "
            f"{result.leaked}, content snippets missing {result.missing} | "
            f"CPU {1000 * result.cpu_seconds / len(pages):.0f} ms/page"
        )
        for page_id, reason in result.empty_articles:
            print(f"  {page_id}: {reason}")


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.quality", description=__doc__)
    parser.add_argument(
        "--corpus",
        choices=("local", "shared"),
        default="local",
        help="local: the 46 labelled pages in tests/corpus; shared: the 891 real pages of "
        "../shared/corpus (plain trafilatura beside ours)",
    )
    args = parser.parse_args(argv)
    _report_shared() if args.corpus == "shared" else _report_local()


if __name__ == "__main__":
    main()
