"""``mutualaid articles`` and ``articles show``: what was collected, and why it is published."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from aggregator.cli.context import stdout
from aggregator.config import load_config
from aggregator.ingest import Ingestor, Outcome
from aggregator.items import FetchedItem, Origin
from aggregator.storage import open_database

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
COPY = [
    f"Paragraph {n} of a letter on the tenants' union, the repair fund and meeting {n * 3}."
    for n in range(12)
]


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8")


@pytest.fixture
def collected(write_config, news_site, blog_site):
    """A database holding 12 news articles (site rules on), the blog's essays, and one letter
    delivered by both sources' feeds: the config's path and what the ingest reported."""
    rules = load_config(REPO / "config.yaml", environ={}).sources["countercurrents"].rules
    path = write_config(
        {
            "sources": {
                "news": {
                    "homepage": f"{news_site.base_url}/",
                    "rules": rules.model_dump(mode="json"),
                },
                "blog": {"homepage": f"{blog_site.base_url}/"},
            }
        }
    )
    config = load_config(path, environ={})
    pages = [*news_site.articles[:12], *blog_site.articles]
    items = [_crawled("news" if page in news_site.articles else "blog", page.url) for page in pages]
    letter = "".join(f"<p>{text}</p>" for text in COPY)
    for source, base in (("blog", blog_site.base_url), ("news", news_site.base_url)):
        items.append(
            FetchedItem(
                source=source, url=f"{base}/letters/tenants", origin=Origin.FEED,
                fetched_at=NOW, content=letter, feed_title="A letter on the tenants' union",
                feed_author="Ana Ruiz",
            )
        )  # fmt: skip
    database = open_database(config.database.url)
    try:
        report = Ingestor(database, config, clock=lambda: NOW).ingest(items)
    finally:
        database.close()
    assert report.counts[Outcome.DUPLICATE] == 1
    return path, config


def _crawled(source: str, url: str) -> FetchedItem:
    return FetchedItem(source=source, url=url, origin=Origin.CRAWL, fetched_at=NOW, html=fetch(url))


@pytest.fixture
def eighty_columns():
    saved = stdout._width
    stdout.width = 80
    yield
    stdout._width = saved


def test_articles_lists_everything_newest_first_with_the_publish_decision(run_cli, collected):
    path, config = collected
    result = run_cli("-c", str(path), "articles", "--json", "--limit", "500")
    assert result.code == 0, result.err
    found = json.loads(result.out)
    assert len(found) == 12 + 12 + 1  # the letter once, however many feeds carried it
    dates = [line["published_at"] for line in found]
    assert dates == sorted(dates, reverse=True)
    threshold = config.topic.threshold
    for line in found:
        assert line["published"] == (line["score"] >= threshold)
        sign = "≥" if line["published"] else "<"
        assert line["reason"] == f"score {line['score']:.1f} {sign} {threshold:g}"
    assert {True, False} <= {line["published"] for line in found}


@pytest.mark.parametrize(("flag", "expected"), [("--published", True), ("--held-back", False)])
def test_published_and_held_back_split_the_list(run_cli, collected, flag, expected):
    path, _ = collected
    every = json.loads(run_cli("-c", str(path), "articles", "--json", "--limit", "500").out)
    some = json.loads(run_cli("-c", str(path), "articles", flag, "--json", "--limit", "500").out)
    assert some and [line["id"] for line in some] == [
        line["id"] for line in every if line["published"] is expected
    ]


def test_source_since_and_limit_narrow_the_list(run_cli, collected, blog_site):
    path, _ = collected
    blog = json.loads(run_cli("-c", str(path), "articles", "--source", "blog", "--json").out)
    # The blog's essays, and the letter its feed carried (first stored from the blog).
    assert len(blog) == len(blog_site.articles) + 1
    news = json.loads(run_cli("-c", str(path), "articles", "--source", "news", "--json").out)
    assert "A letter on the tenants' union" in {line["title"] for line in news}
    since = blog[len(blog) // 2]["published_at"]
    recent = json.loads(
        run_cli("-c", str(path), "articles", "--since", since, "--json", "--limit", "500").out
    )
    assert recent and all(line["published_at"] >= since for line in recent)
    two = json.loads(run_cli("-c", str(path), "articles", "--limit", "2", "--json").out)
    assert len(two) == 2


def test_the_table_reads_at_80_columns(run_cli, collected, eighty_columns):
    path, _ = collected
    result = run_cli("-c", str(path), "articles", "--limit", "500")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines if line.strip()[:1].isdigit()]
    assert len(rows) == 25
    assert all(line.split("│")[2].strip() in ("news", "blog") for line in rows)


def test_show_explains_rules_relevance_and_sightings(run_cli, collected, news_site):
    path, config = collected
    article = news_site.articles[0]
    result = run_cli("-c", str(path), "articles", "show", article.url, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["line"]["title"] == article.title
    assert report["extracted_from"] == "page"
    configured = config.sources["news"].rules.drop
    assert any(note.startswith("drop ") and note.split(":")[0][5:] in configured
               for note in report["rules_applied"])  # fmt: skip
    assert report["threshold"] == config.topic.threshold
    (seen,) = report["sightings"]
    assert seen["source"] == "news" and seen["matched_by"] == "first seen here"
    text = run_cli("-c", str(path), "articles", "show", str(report["line"]["id"]))
    assert text.code == 0
    assert f"#{report['line']['id']} {article.title}" in text.out
    assert "rule: drop " in text.out and "seen at (1):" in text.out


def test_show_names_the_terms_that_made_the_score(run_cli, collected):
    path, config = collected
    found = json.loads(run_cli("-c", str(path), "articles", "--published", "--json").out)
    report = json.loads(
        run_cli("-c", str(path), "articles", "show", str(found[0]["id"]), "--json").out
    )
    weights = config.topic.profile().terms
    assert report["terms"]
    for term in report["terms"]:
        assert term["count"] >= 1 and term["weight"] == weights[term["term"]]


def test_show_says_how_a_copy_at_another_source_was_matched(run_cli, collected, blog_site):
    path, _ = collected
    result = run_cli("-c", str(path), "articles", "show", f"{blog_site.base_url}/letters/tenants")
    assert result.code == 0, result.err
    assert "seen at (2):" in result.out
    assert "blog: first seen here" in result.out
    assert "news: same text (an exact copy)" in result.out


def test_show_html_prints_the_stored_body(run_cli, collected, blog_site):
    """The HTML as stored (compressed on SQLite), decompressed: the letter's paragraphs."""
    path, config = collected
    url = f"{blog_site.base_url}/letters/tenants"
    result = run_cli("-c", str(path), "articles", "show", url, "--html")
    assert result.code == 0, result.err
    assert result.out == "".join(f"<p>{text}</p>" for text in COPY) + "\n"
    with sqlite3.connect(config.database.url.removeprefix("sqlite:///")) as connection:
        (stored,) = connection.execute("SELECT html FROM articles WHERE canonical_url = ?", (url,))
    assert isinstance(stored[0], bytes)
    both = run_cli("-c", str(path), "articles", "show", url, "--html", "--json")
    assert both.code == 2 and "--html and --json" in both.err


def test_show_of_an_unknown_article_is_one_line(run_cli, collected):
    path, _ = collected
    for key in ("99999", "https://nowhere.example/x", "not a url"):
        result = run_cli("-c", str(path), "articles", "show", key)
        assert result.code == 1
        assert result.err.strip().startswith("error: no stored article is")
        assert len(result.err.strip().splitlines()) == 1


def test_status_shows_published_of_stored(run_cli, collected):
    path, _ = collected
    listed = json.loads(run_cli("-c", str(path), "articles", "--json", "--limit", "500").out)
    result = run_cli("-c", str(path), "status", "--json")
    health = {source["name"]: source for source in json.loads(result.out)["sources"]}
    for name in ("news", "blog"):
        mine = [line for line in listed if line["source"] == name]
        assert health[name]["articles"] == len(mine)
        assert health[name]["published"] == sum(line["published"] for line in mine)
    table = run_cli("-c", str(path), "status")
    news = health["news"]
    assert f"{news['published']} of {news['articles']}" in table.out


def test_show_lists_learned_boilerplate_removed_before_and_after_it_was_learned(
    run_cli, write_config, news_site
):
    """Articles stored before a banner was learned are cleaned of it, later ones never hold it:
    either way ``show`` says which learned block was removed."""
    path = write_config({"sources": {"news": {"homepage": f"{news_site.base_url}/"}}})
    config = load_config(path, environ={})
    database = open_database(config.database.url)
    try:
        ingestor = Ingestor(database, config, clock=lambda: NOW)
        for batch in (news_site.articles[:8], news_site.articles[8:12]):
            ingestor.ingest([_crawled("news", page.url) for page in batch])
    finally:
        database.close()
    for page in (news_site.articles[0], news_site.articles[11]):
        report = json.loads(run_cli("-c", str(path), "articles", "show", page.url, "--json").out)
        assert report["rules_applied"] == []
        assert any("Support Countercurrents" in text for text in report["learned_removed"])


def test_a_copy_seen_at_a_source_that_keeps_all_is_published_as_the_feeds_say(
    run_cli, collected, blog_site
):
    """The letter was first stored from the blog, under the threshold; its copy at a source
    that keeps everything publishes it, in the list as in the feeds."""
    path, _ = collected
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["sources"]["news"]["relevance"] = "keep_all"
    data["topic"] = {"threshold": 1000}  # nothing is on topic enough now
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    letter_url = f"{blog_site.base_url}/letters/tenants"
    report = json.loads(run_cli("-c", str(path), "articles", "show", letter_url, "--json").out)
    line = report["line"]
    assert line["source"] == "blog" and line["score"] < 1000
    assert line["published"] and line["reason"] == "seen at a source that keeps all"
    shown = {
        flag: {item["id"] for item in json.loads(
            run_cli("-c", str(path), "articles", flag, "--json", "--limit", "500").out
        )}
        for flag in ("--published", "--held-back", "--all")
    }  # fmt: skip
    assert line["id"] in shown["--published"] and line["id"] not in shown["--held-back"]
    assert shown["--published"] | shown["--held-back"] == shown["--all"]
    assert not shown["--published"] & shown["--held-back"]
