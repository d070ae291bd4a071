"""Extraction quality on real pages: the development corpus in ``../shared/corpus/``.

891 real pages (790 articles, 101 listings) with reviewed ground truth; the archive's README says
how they are scored, and that metric is implemented here as it says: tokens are ``\\w+`` runs,
each text a bag of 4-token shingles; precision is averaged over the pages whose extraction is not
empty, recall over every article (an empty extraction scores recall 0); F1 is that of the two
means. The archive is unpacked once into a cache folder outside the repository, keyed by its
hash. Extractors run in a process pool: a run over every page costs about a CPU-minute.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import statistics
import tarfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ARCHIVE = (
    Path(__file__).resolve().parents[2] / "shared" / "corpus" / "wcxb-dev-articles-listings.tar.xz"
)
SHINGLE = 4
_TOKEN = re.compile(r"\w+")

# (html, url) -> (text, None) for an article, (None, reason) for a refusal.
Extractor = Callable[[str, str], tuple[str | None, str | None]]


@dataclass(frozen=True)
class Page:
    id: str
    kind: str  # "article" or "listing"
    url: str
    html_path: Path
    body: str
    with_snippets: tuple[str, ...]
    without_snippets: tuple[str, ...]


@dataclass
class Result:
    """One extractor over the corpus."""

    precision: float
    recall: float
    f1: float
    empty_articles: list[tuple[str, str]]  # (page id, reason)
    listings_refused: int
    listings: int
    leaked: int  # ``without`` snippets (boilerplate) found in the extracted articles
    missing: int  # ``with`` snippets (content) not found
    cpu_seconds: float
    per_page: dict[str, tuple[float | None, float]] = field(default_factory=dict)


def corpus_available() -> bool:
    return ARCHIVE.is_file()


def unpacked(archive: Path = ARCHIVE) -> Path:
    """The corpus folder in the cache, unpacked on first use (keyed by the archive's hash)."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mutualaid"
    folder = cache / f"wcxb-{digest}"
    if folder.is_dir():
        return folder
    # Unpacked beside it and renamed into place: a reader never sees half a corpus.
    partial = cache / f"wcxb-{digest}.{os.getpid()}.partial"
    partial.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(partial, filter="data")
    try:
        partial.rename(folder)
    except OSError:  # another process got there first
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def load_pages(folder: Path | None = None) -> list[Page]:
    folder = folder or unpacked()
    pages = []
    for meta_path in sorted(folder.rglob("wcxb-*.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        pages.append(
            Page(
                id=meta["id"],
                kind=meta["page_type"],
                url=meta["url"],
                html_path=meta_path.with_suffix(".html"),
                body=meta.get("body") or "",
                with_snippets=tuple(meta.get("with") or ()),
                without_snippets=tuple(meta.get("without") or ()),
            )
        )
    return pages


def shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text)
    if len(tokens) < SHINGLE:
        return Counter([tuple(tokens)]) if tokens else Counter()
    return Counter(tuple(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1))


def page_scores(extracted: str, truth: str) -> tuple[float | None, float]:
    """(precision or None when nothing was extracted, recall) of one page."""
    got, want = shingles(extracted), shingles(truth)
    shared = sum((got & want).values())
    precision = shared / sum(got.values()) if got else None
    recall = shared / sum(want.values()) if want else 0.0
    return precision, recall


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def score(outcomes: dict[str, tuple[str | None, str | None, float]], pages: list[Page]) -> Result:
    precisions: list[float] = []
    recalls: list[float] = []
    per_page: dict[str, tuple[float | None, float]] = {}
    empty: list[tuple[str, str]] = []
    refused = leaked = missing = 0
    for page in pages:
        text, reason, _ = outcomes[page.id]
        text = text if text and text.strip() else None
        if page.kind == "listing":
            refused += text is None
            continue
        precision, recall = page_scores(text or "", page.body)
        per_page[page.id] = (precision, recall)
        if precision is not None:
            precisions.append(precision)
        recalls.append(recall)
        if text is None:
            empty.append((page.id, reason or "empty"))
            continue
        folded = _folded(text)
        leaked += sum(_folded(snippet) in folded for snippet in page.without_snippets)
        missing += sum(_folded(snippet) not in folded for snippet in page.with_snippets)
    p, r = statistics.mean(precisions), statistics.mean(recalls)
    return Result(
        precision=p,
        recall=r,
        f1=2 * p * r / (p + r) if p + r else 0.0,
        empty_articles=empty,
        listings_refused=refused,
        listings=sum(page.kind == "listing" for page in pages),
        leaked=leaked,
        missing=missing,
        cpu_seconds=sum(cpu for _, _, cpu in outcomes.values()),
        per_page=per_page,
    )


def _run_one(job: tuple[str, Page]) -> tuple[str, tuple[str | None, str | None, float]]:
    import logging
    import time

    logging.disable(logging.WARNING)  # trafilatura's own warnings, one per odd page
    name, page = job
    html = page.html_path.read_text(encoding="utf-8", errors="replace")
    started = time.process_time()
    try:
        text, reason = EXTRACTORS[name](html, page.url)
    except Exception as exc:  # a crash is a refusal with its reason, and shows in the report
        text, reason = None, f"crash: {exc!r}"
    return page.id, (text, reason, time.process_time() - started)


def run(name: str, pages: list[Page], processes: int | None = None) -> Result:
    """Run the extractor ``name`` (a key of ``EXTRACTORS``) over ``pages`` and score it."""
    with ProcessPoolExecutor(max_workers=processes or min(2, os.cpu_count() or 1)) as pool:
        outcomes = dict(pool.map(_run_one, [(name, page) for page in pages], chunksize=8))
    return score(outcomes, pages)


def plain_trafilatura(html: str, url: str) -> tuple[str | None, str | None]:
    """The floor: ``trafilatura.extract(html)`` with every default, as the corpus README says."""
    import trafilatura

    text = trafilatura.extract(html)
    return (text, None) if text else (None, "empty")


def mutualaid(html: str, url: str) -> tuple[str | None, str | None]:
    """Our extractor with its defaults, no site rules and nothing learned."""
    from aggregator.errors import NotAnArticleError
    from aggregator.extract import extract_article

    try:
        return extract_article(html, url).text, None
    except NotAnArticleError as exc:
        return None, exc.reason


EXTRACTORS: dict[str, Extractor] = {
    "plain trafilatura (extract, defaults)": plain_trafilatura,
    "mutualaid": mutualaid,
}
