"""Extraction quality gate: fails when the corpus scores drop below pinned floors.

Figures and the baseline are in the README (``python -m tests.quality`` prints them). Raise the
floors when extraction improves; never lower them to make a change pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.quality import Summary, ingested, load_corpus, ours, run_extractor

FLOOR_PRECISION = 0.935
FLOOR_RECALL = 0.955
FLOOR_F1 = 0.945
FLOOR_PAGE_F1 = 0.65  # no single article may collapse


@pytest.fixture(scope="module")
def corpus():
    pages = load_corpus()
    assert len(pages) >= 40
    return pages


def check(summary: Summary) -> None:
    assert summary.precision >= FLOOR_PRECISION
    assert summary.recall >= FLOOR_RECALL
    assert summary.f1 >= FLOOR_F1
    assert summary.listings_refused == summary.listings
    worst = min(summary.per_page.items(), key=lambda item: item[1])
    assert worst[1] >= FLOOR_PAGE_F1, worst


def test_single_page_extraction_meets_the_floors(corpus) -> None:
    check(run_extractor(ours, corpus))


def test_the_full_ingest_path_meets_the_floors(corpus, tmp_path: Path) -> None:
    check(ingested(corpus, tmp_path))
