"""``mutualaid extract`` and ``mutualaid rules suggest`` as a user runs them."""

from __future__ import annotations

import io
import json
import sys
import urllib.request
from datetime import UTC, datetime

import pytest

from aggregator.config import load_config
from aggregator.ingest import Ingestor
from aggregator.items import FetchedItem, Origin
from aggregator.storage import open_database

SEED_SLUG = "reconciling-mutual-aid-with-revolutionary-violence-the-case-of-peter-kropotkin"


def save_page(url: str, path) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        html = response.read().decode("utf-8")
    path.write_text(html, encoding="utf-8")
    return html


def test_extract_a_file_prints_title_and_text(run_cli, news_site, tmp_path) -> None:
    article = news_site.article(SEED_SLUG)
    page = tmp_path / "essay.html"
    save_page(article.url, page)
    result = run_cli("extract", str(page))
    assert result.code == 0, result.err
    assert result.out.startswith(f"# {article.title}")
    assert article.paragraphs[2][:60] in result.out


def test_extract_urls_as_jsonl_with_a_listing_among_them(run_cli, news_site, write_config) -> None:
    article = news_site.article(SEED_SLUG)
    local = str(write_config())  # opts in to fetching from 127.0.0.1
    result = run_cli("-c", local, "extract", "--jsonl", article.url, news_site.listing_urls[1])
    assert result.code == 1  # one input was not an article
    first, second = (json.loads(line) for line in result.out.splitlines())
    assert first["title"] == article.title
    assert first["author"] == article.author
    assert set(first) >= {"input", "title", "author", "date", "text", "html", "tags"}
    assert second == {"input": news_site.listing_urls[1], "error": second["error"]}
    assert "listing" in second["error"]


def test_extract_json_reads_standard_input(run_cli, blog_site, monkeypatch) -> None:
    essay = blog_site.articles[0]
    with urllib.request.urlopen(essay.url, timeout=10) as response:
        html = response.read()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(html)))
    result = run_cli("extract", "--json", "--base-url", essay.url, "-")
    assert result.code == 0, result.err
    (record,) = json.loads(result.out)
    assert record["input"] == "-"
    assert record["title"] == essay.title
    assert essay.url.split("//")[1].split("/")[0] in record["html"] or "<p>" in record["html"]


def test_extract_with_a_source_applies_its_rules(run_cli, news_site, write_config, tmp_path):
    repo_rules = (
        load_config(
            __import__("pathlib").Path(__file__).resolve().parent.parent / "config.yaml", environ={}
        )
        .sources["countercurrents"]
        .rules.model_dump(mode="json")
    )
    path = write_config(
        {"sources": {"news": {"homepage": f"{news_site.base_url}/", "rules": repo_rules}}}
    )
    article = news_site.article(SEED_SLUG)
    plain = run_cli("-c", str(write_config(name="plain.yaml")), "extract", article.url)
    ruled = run_cli("-c", str(path), "extract", "--source", "news", article.url)
    assert "Support honest journalism" in plain.out
    assert ruled.code == 0 and "Support honest journalism" not in ruled.out


def test_extract_errors_are_one_line_each(run_cli, tmp_path) -> None:
    result = run_cli("extract", str(tmp_path / "missing.html"))
    assert result.code == 1
    assert result.err.strip() == f"error: {tmp_path / 'missing.html'}: No such file or directory"
    both = run_cli("extract", "--json", "--jsonl", "x")
    assert both.code == 2


def test_extract_unknown_source_is_an_error(run_cli, write_config) -> None:
    result = run_cli("-c", str(write_config()), "extract", "--source", "nope", "x.html")
    assert result.code == 1
    assert "unknown source 'nope'" in result.err


def test_rules_suggest_lists_learned_boilerplate(run_cli, write_config, news_site, sqlite_url):
    path = write_config({"sources": {"news": {"homepage": f"{news_site.base_url}/"}}})
    config = load_config(path, environ={})
    database = open_database(config.database.url)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    items = []
    for article in news_site.articles[:12]:
        with urllib.request.urlopen(article.url, timeout=10) as response:
            html = response.read().decode("utf-8")
        items.append(
            FetchedItem(source="news", url=article.url, origin=Origin.CRAWL, fetched_at=now,
                        html=html)
        )  # fmt: skip
    Ingestor(database, config, clock=lambda: now).ingest(items)
    database.close()
    result = run_cli("-c", str(path), "rules", "suggest", "news", "--json")
    assert result.code == 0, result.err
    found = json.loads(result.out)
    learned = [item["text"] for item in found if item["learned"]]
    assert any("Support honest journalism" in text for text in learned)
    # Each writer's bio recurs under that writer alone: never proposed for deletion.
    assert found and all(item["authors"] != 1 for item in found)
    bios = [article.author_bio for article in news_site.articles[:12] if article.author_bio]
    assert bios and not any(bio.split(".")[0] in item["text"] for bio in bios for item in found)
    table = run_cli("-c", str(path), "rules", "suggest", "news")
    assert "drop_phrases:" in table.out


@pytest.mark.parametrize("args", [("rules", "suggest", "nope")])
def test_rules_suggest_unknown_source(run_cli, write_config, args) -> None:
    result = run_cli("-c", str(write_config()), *args)
    assert result.code == 1 and "unknown source" in result.err


def test_library_warnings_show_only_with_verbose(run_cli, tmp_path) -> None:
    """trafilatura warns of every empty link it meets: noise, unless asked for with -v."""
    words = "Neighbours shared a kitchen and a tool library without asking anyone. " * 8
    page = tmp_path / "page.html"
    page.write_text(
        f"<html><body><article><h1>A title</h1><p>{words}<a href='https://e.org/x'> </a> "
        f"and more.</p><p>{words}</p></article></body></html>"
    )
    quiet = run_cli("extract", str(page))
    assert quiet.code == 0 and "Neighbours shared" in quiet.out
    assert quiet.err == ""
    verbose = run_cli("-v", "extract", str(page))
    assert "empty link" in verbose.err
