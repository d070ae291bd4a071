"""The benchmark harness runs, and its workloads do the work they claim (no timing asserted)."""

from __future__ import annotations

import json
import os
import re
import sqlite3

import pytest

from bench import archive_data, crawl_cpu
from bench.__main__ import main
from bench.workloads import WORKLOADS, crawl
from bench.workloads.storage import fresh_copy, insert_with_sqlite3, insert_with_storage, prepare


def test_quick_run_reports_a_ratio_per_workload(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--quick", "--rounds", "1", "--json"]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [result["name"] for result in results] == list(WORKLOADS)
    for result in results:
        assert result["floor_seconds"] > 0
        assert result["ratio"] == pytest.approx(result["subject_seconds"] / result["floor_seconds"])


def test_unknown_workload_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["no-such-workload"])
    assert caught.value.code == 2


@pytest.mark.parametrize("writer", [insert_with_storage, insert_with_sqlite3])
def test_both_sides_of_the_storage_workload_write_the_same_rows(writer) -> None:
    inputs = prepare(25)
    try:
        target = fresh_copy(inputs)
        writer(target)
        with sqlite3.connect(target.path) as connection:
            query = "SELECT count(*), min(canonical_url) FROM articles"
            count, first = connection.execute(query).fetchone()
    finally:
        WORKLOADS["storage-batch-insert"].teardown(inputs)
    assert (count, first) == (25, "https://example.org/000000/essay/")


def test_daemon_benchmark_runs_and_reports_both_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.daemon import main as daemon_main

    assert daemon_main(["--window", "1", "--rounds", "1", "--polls", "12"]) == 0
    out = capsys.readouterr().out
    assert "idle CPU over 1s" in out
    assert "after 12 polls vs after 10" in out


def test_the_crawl_cpu_breakdown_finds_every_process_of_a_crawl() -> None:
    inputs = crawl.prepare(40)  # the smallest news site
    try:
        wall, shares = crawl_cpu.measure(inputs, workers=1)
    finally:
        crawl.teardown(inputs)
    assert wall > 0
    # The crawl process and its extraction worker each did real work; the sampler found them.
    assert shares["crawl process"] > 0.2
    assert shares["extraction workers"] > 0.1
    assert shares["server and parent"] >= 0


def test_the_bounds_benchmark_reports_time_and_memory_of_both_cases(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bench.bounds import main as bounds_main

    assert bounds_main(["--rounds", "1", "--size", "1500", "--json"]) == 0
    results = {r["case"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert results["feed-100k-items"]["outcome"] == 500  # the default cap
    skipped = [line for line in results["entry-100k-attributes"]["outcome"] if "skipped" in line]
    assert len(skipped) == 1 and "more than 1,000 attributes" in skipped[0]
    for result in results.values():
        assert result["floor"]["wall"] > 0 and result["subject"]["peak"] >= 0


def test_the_archive_benchmark_measures_every_row_against_the_empty_archive(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["archive", "--sizes", "100", "--batch", "30", "--rounds", "1", "--workers", "1",
                 "--json"]) == 0  # fmt: skip
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [result["size"] for result in results] == [0, 100]
    for result in results:
        assert set(result["medians"]) == {
            "ingest", "build_first", "build_batch", "build_again", "get_feed", "status"
        }  # fmt: skip
        # The same batch of 30, copies of each other among them, met the same verdicts.
        assert result["outcomes"] == results[0]["outcomes"]
        assert result["outcomes"]["duplicate"] == 2
        assert result["outcomes"]["new"] + result["outcomes"]["duplicate"] == 30
    empty, archive = results
    assert archive["text_html"] > 100 * 2 * 2500  # 500 words or more, as text and as HTML
    assert archive["bytes"] > empty["bytes"] + archive["text_html"]


@pytest.mark.postgres
def test_the_archive_benchmark_drops_the_postgresql_databases_it_made(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = os.environ.get("MUTUALAID_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("MUTUALAID_TEST_POSTGRES_URL is not set")
    small = ["--sizes", "100", "--batch", "30", "--rounds", "1", "--workers", "1"]
    assert main(["archive", *small, "--database", "postgresql", "--postgres-url", url,
                 "--breakdown"]) == 0  # fmt: skip
    captured = capsys.readouterr()
    assert "| `GET /feed.atom` |" in captured.out and "articles.html (column)" in captured.out
    prefix = re.search(r"# databases (bench_archive_\w+?)_\*", captured.err)
    assert prefix is not None
    assert not [name for name in _bench_databases(url) if name.startswith(prefix[1])]


def _bench_databases(url: str) -> set[str]:
    from sqlalchemy import text

    from aggregator.storage.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            query = text("SELECT datname FROM pg_database WHERE datname LIKE 'bench_archive%'")
            return set(connection.scalars(query))
    finally:
        engine.dispose()


def test_archive_rows_are_what_ingest_makes_of_the_same_entries() -> None:
    from aggregator.config import load_config
    from aggregator.ingest import SourceContext, prepare_item
    from aggregator.items import FetchedItem, Origin
    from bench.archive_data import NOW, archive_rows, synthetic

    profile = load_config(None, environ={}).topic.profile()
    rows = archive_rows(range(3), 3, {f"source{n}": n + 1 for n in range(8)}, profile)
    for number, row in enumerate(rows.articles):
        article = synthetic(number, archive_size=3)
        item = FetchedItem(
            source=article.source, url=article.url, origin=Origin.FEED, fetched_at=NOW,
            content=article.feed_html(), guid=article.guid, feed_title=article.title,
            feed_author=article.author, feed_tags=article.tags,
            feed_published=article.published_at.isoformat(),
        )  # fmt: skip
        made = prepare_item(item, SourceContext(name=article.source, profile=profile))
        assert 500 <= made.word_count <= 2100
        stored = {key: row[key] for key in ("html", "text", "content_hash", "simhash", "tags")}
        assert stored == {
            "html": made.html, "text": made.text, "content_hash": made.content_hash,
            "simhash": made.simhash, "tags": list(made.tags),
        }  # fmt: skip
        blocks = {b["fingerprint"] for b in rows.blocks if b["article_id"] == number + 1}
        assert blocks == {block.fingerprint for block in made.blocks} and blocks
    # Different texts, different hashes: nothing near another by accident.
    assert len({row["simhash"] for row in rows.articles}) == 3


def test_the_search_benchmark_reports_each_query_against_a_key_lookup(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["search", "--sizes", "150", "--rounds", "1", "--workers", "1"]) == 0
    captured = capsys.readouterr()
    rows = [line for line in captured.out.splitlines() if line.startswith("| 150 |")]
    assert len(rows) == 1
    assert len(re.findall(r"[0-9.]+ ms \([0-9]+x\)", rows[0])) == 4  # every query, with a ratio
    found = re.search(r"first-page results (\{.*\})", captured.err)
    assert found is not None
    assert all(count > 0 for count in json.loads(found[1].replace("'", '"')).values())


@pytest.mark.postgres
def test_the_search_benchmark_runs_on_postgresql(capsys: pytest.CaptureFixture[str]) -> None:
    url = os.environ.get("MUTUALAID_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("MUTUALAID_TEST_POSTGRES_URL is not set")
    arguments = ["--sizes", "150", "--rounds", "1", "--workers", "1", "--postgres-url", url]
    assert main(["search", *arguments, "--database", "postgresql"]) == 0
    captured = capsys.readouterr()
    assert "# search on postgresql" in captured.out
    found = re.search(r"first-page results (\{.*\})", captured.err)
    assert found is not None
    assert all(count > 0 for count in json.loads(found[1].replace("'", '"')).values())


def test_the_synthetic_articles_repeat_words_as_real_prose_does() -> None:
    """The archive benchmark's text indexes are as large as real prose would make them: its
    articles' distinct stems per running word (and two other figures) are within 15% of the
    development corpus's."""
    from bench import text_calibration
    from tests import shared_corpus

    url = os.environ.get("MUTUALAID_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("MUTUALAID_TEST_POSTGRES_URL is not set")
    if not shared_corpus.corpus_available():
        pytest.skip("the shared corpus is not here")
    real = text_calibration.measure(url, text_calibration.real_texts(100))
    synthetic = text_calibration.measure(
        url, [archive_data.synthetic(number).text() for number in range(100)]
    )
    for figure in ("stems per word", "tsvector / bytes", "stored / bytes"):
        assert synthetic[figure] == pytest.approx(real[figure], rel=0.15), figure
