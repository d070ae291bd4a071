"""``mutualaid search``: articles stored by the real ingest path, found by the CLI; a changed
article found by its new words; bad queries a one-line error with exit code 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.config import load_config
from aggregator.ingest import Ingestor
from aggregator.items import FetchedItem, Origin
from aggregator.storage import open_database

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
WORDS = "The assembly met in the hall and agreed the rota for the coming weeks. " * 8


def letter(source: str, slug: str, title: str, body: str, days: int = 0) -> FetchedItem:
    paragraphs = "".join(f"<p>{body} {WORDS}</p>" for _ in range(3))
    return FetchedItem(
        source=source,
        url=f"https://{source}.example/{slug}",
        origin=Origin.FEED,
        fetched_at=NOW,
        content=paragraphs,
        feed_title=title,
        feed_author="Ana Ruiz",
        feed_published=NOW - timedelta(days=days),
        feed_tags=("Housing",) if "union" in slug else (),
    )


def ingest(path: Path, items: list[FetchedItem]) -> None:
    config = load_config(path, environ={})
    database = open_database(config.database.url)
    try:
        Ingestor(database, config, clock=lambda: NOW).ingest(items)
    finally:
        database.close()


@pytest.fixture
def config_path(write_config: Callable[..., Path]) -> Path:
    path = write_config(
        {
            "sources": {
                "kept": {"homepage": "https://kept.example/", "relevance": "keep_all"},
                "scored": {"homepage": "https://scored.example/"},
            }
        }
    )
    ingest(
        path,
        [
            letter("kept", "tenant-union", "A tenant union in Leeds", "Rent strikes worked."),
            letter("kept", "kitchen", "The kitchen", "Soup for the tenant meeting.", days=40),
            letter("scored", "held", "Held back tenant notes", "Unrelated tenant notes."),
        ],
    )
    return path


def test_search_prints_a_table_with_titles_and_snippets(run_cli, config_path: Path) -> None:
    result = run_cli("--config", str(config_path), "search", "tenant")
    assert result.code == 0, result.err
    assert "A tenant union in Leeds" in result.out
    assert "The kitchen" in result.out
    assert "Held back" not in result.out  # not published
    assert result.out.index("A tenant union") < result.out.index("The kitchen")  # title first


def test_search_json_filters_and_all(run_cli, config_path: Path) -> None:
    def found(*args: str) -> list[str]:
        result = run_cli("--config", str(config_path), "search", "--json", *args)
        assert result.code == 0, result.err
        return [item["title"] for item in json.loads(result.out)]

    every = found("tenant", "--all")
    assert set(every) == {"A tenant union in Leeds", "Held back tenant notes", "The kitchen"}
    assert every[-1] == "The kitchen"  # the only one without the word in its title
    assert found("tenant", "--since", "2026-11-01") == ["A tenant union in Leeds"]
    assert found("tenant", "--source", "scored", "--all") == ["Held back tenant notes"]
    assert found("tenant", "source:scored") == []
    assert found("tenant", "tag:housing") == ["A tenant union in Leeds"]
    assert found("--", "tenant", "-strikes") == ["The kitchen"]
    assert found('"rent strikes"') == ["A tenant union in Leeds"]
    [first] = json.loads(run_cli("--config", str(config_path), "search", "--json", "strikes").out)
    assert "strikes" in first["snippet"].lower()
    assert first["source"] == "kept" and first["url"] == "https://kept.example/tenant-union"


def test_a_changed_article_is_found_by_its_new_words(run_cli, config_path: Path) -> None:
    changed = letter("kept", "kitchen", "The kitchen", "Bread for the cooperative bakery.", 40)
    ingest(config_path, [changed])
    result = run_cli("--config", str(config_path), "search", "--json", "bakery")
    assert [item["title"] for item in json.loads(result.out)] == ["The kitchen"]
    result = run_cli("--config", str(config_path), "search", "--json", "soup")
    assert json.loads(result.out) == []


@pytest.mark.parametrize(
    ("args", "reason", "code"),
    [
        (['"unclosed'], "not closed", 2),
        (["--", "-only"], "not only words to exclude", 2),
        (["author:x"], "unknown filter", 2),
        (["tenant", "source:nosuch"], "unknown source 'nosuch'", 1),
        (["tenant", "--source", "nosuch"], "unknown source 'nosuch'", 1),
    ],
)
def test_bad_queries_are_one_line_errors(
    run_cli, config_path: Path, args: list[str], reason: str, code: int
) -> None:
    result = run_cli("--config", str(config_path), "search", *args)
    assert result.code == code
    assert reason in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err
