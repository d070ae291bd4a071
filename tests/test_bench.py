"""The benchmark harness runs, and its workloads do the work they claim (no timing asserted)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from bench import crawl_cpu
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
