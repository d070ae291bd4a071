"""``mutualaid review``, ``articles publish|hold|pin|undecide`` and ``articles decisions
export|import``, run in-process on a database filled directly (tests/publish_data.py)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from aggregator.config import load_config
from aggregator.ingest import Ingestor
from aggregator.items import FetchedItem, Origin
from aggregator.publish.select import PublishPolicy, published_ids
from aggregator.storage import open_database
from aggregator.storage.models import Article
from tests.conftest import CliResult
from tests.publish_data import NOW, Row, add_sources, insert_rows

SOURCES = {
    "scored": {"homepage": "https://scored.example/"},
    "other": {"homepage": "https://other.example/"},
}
# Scores around the default threshold (6): 1-3 published, 4-6 held back near it, 7 far below.
SCORES = {1: 9.0, 2: 6.5, 3: 6.1, 4: 5.5, 5: 4.8, 6: 5.9, 7: 1.0}
TERMS = {4: {"mutual aid": 1, "co-op": 2, "solidarity": 1, "union": 1}}
SEEN = {2: ((2, "https://other.example/copy-of-2"),)}  # article 2, also seen at the other source

Run = Callable[..., CliResult]


def _instance(tmp_path: Path, name: str) -> Path:
    """A config and its SQLite database holding the articles of ``SCORES`` (6 at the other
    source); returns the config's path."""
    url = f"sqlite:///{tmp_path / name / 'mutualaid.db'}"
    path = tmp_path / f"{name}.yaml"
    path.write_text(json.dumps({"database": {"url": url}, "sources": SOURCES}), encoding="utf-8")
    database = open_database(load_config(path, environ={}).database.url)
    try:
        add_sources(database, "scored", "other")
        rows = [
            Row(id=i, relevance=score, source_id=2 if i == 6 else 1, also_seen=SEEN.get(i, ()))
            for i, score in SCORES.items()
        ]
        insert_rows(database, rows)
        with database.write_session() as session:
            for article_id, terms in TERMS.items():
                change = update(Article).where(Article.id == article_id)
                session.execute(change.values(matched_terms=terms))
    finally:
        database.close()
    return path


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    return _instance(tmp_path, "first")


def _json(run_cli: Run, *args: str) -> Any:
    result = run_cli(*args, "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_a_decision_shows_its_state_and_articles_explains_it(run_cli: Run, instance: Path) -> None:
    config = ("-c", str(instance))
    result = run_cli(
        *config, "articles", "publish", "5", "--note", "the local group's own", "--by", "Ana"
    )
    assert result.code == 0, result.err
    assert "published: a curator's publish, over score 4.8 < 6" in result.out
    assert "decision: publish, by Ana, " in result.out
    assert "note: the local group's own" in result.out
    report = _json(run_cli, *config, "articles", "show", "5")
    assert report["line"]["published"] is True and report["line"]["decision"] == "publish"
    assert report["decision"]["note"] == "the local group's own"
    assert report["decision"]["by"] == "Ana"
    shown = run_cli(*config, "articles", "show", "5")
    assert "published: a curator's publish, over score 4.8 < 6" in shown.out
    held = _json(run_cli, *config, "articles", "hold", "https://source1.example/1/")
    assert held["line"]["published"] is False and held["decision"]["decision"] == "hold"
    listed = {line["id"]: line for line in _json(run_cli, *config, "articles")}
    assert listed[1]["reason"] == "a curator's hold, over score 9.0 ≥ 6"
    assert listed[5]["published"] and listed[2]["decision"] is None
    published = {line["id"] for line in _json(run_cli, *config, "articles", "--published")}
    assert published == {2, 3, 5}
    table = run_cli(*config, "articles")
    assert " pub " in table.out and " hold " in table.out
    cleared = run_cli(*config, "articles", "undecide", "5")
    assert "held back: score 4.8 < 6" in cleared.out and "the score decides" in cleared.out
    assert _json(run_cli, *config, "articles", "show", "5")["decision"] is None


def test_pin_and_an_unknown_article(run_cli: Run, instance: Path) -> None:
    config = ("-c", str(instance))
    pinned = run_cli(*config, "articles", "pin", "7")
    assert pinned.code == 0 and "pinned: retention never purges it" in pinned.out
    for key in ("999", "https://nowhere.example/x"):
        result = run_cli(*config, "articles", "publish", key)
        assert result.code == 1
        assert result.err.strip().startswith("error: no stored article is")
        assert len(result.err.strip().splitlines()) == 1


def test_review_lists_both_sides_of_the_threshold(run_cli: Run, instance: Path) -> None:
    config = ("-c", str(instance))
    run_cli(*config, "articles", "publish", "2")
    found = _json(run_cli, *config, "review")
    assert found["threshold"] == 6.0 and found["margin"] == 2.0  # review.margin's default
    assert [line["id"] for line in found["held_back"]] == [6, 4, 5]  # highest first
    assert [line["id"] for line in found["lowest_published"]] == [3, 2, 1]  # lowest first
    decided = {line["id"]: line["decision"] for line in found["lowest_published"]}
    assert decided == {3: None, 2: "publish", 1: None}
    # Each list holds what is published or not now: a hold takes 3 out of the published, a
    # publish takes 6 out of the held back (what decides is shown beside each line).
    run_cli(*config, "articles", "hold", "3")
    run_cli(*config, "articles", "publish", "6")
    decided_now = _json(run_cli, *config, "review")
    assert [line["id"] for line in decided_now["held_back"]] == [4, 5]
    assert [line["id"] for line in decided_now["lowest_published"]] == [2, 1]
    run_cli(*config, "articles", "undecide", "3")
    run_cli(*config, "articles", "undecide", "6")
    (four,) = [line for line in found["held_back"] if line["id"] == 4]
    assert four["terms"] == ["co-op ×2", "mutual aid ×1", "solidarity ×1"]
    narrow = _json(run_cli, *config, "review", "--margin", "0.5", "--limit", "1")
    assert [line["id"] for line in narrow["held_back"]] == [6]
    assert [line["id"] for line in narrow["lowest_published"]] == [3]
    scored = _json(run_cli, *config, "review", "--source", "scored")
    assert [line["id"] for line in scored["held_back"]] == [4, 5]
    table = run_cli(*config, "review")
    assert table.code == 0, table.err
    assert "held back near the threshold (score 4 to 6)" in table.out
    assert "published with the lowest scores (score 6+)" in table.out
    assert "co-op ×2" in table.out and "hold" in table.out
    unknown = run_cli(*config, "review", "--source", "nowhere")
    assert unknown.code != 0 and len(unknown.err.strip().splitlines()) == 1


def test_exported_decisions_rebuild_the_published_set_in_a_fresh_instance(
    run_cli: Run, instance: Path, tmp_path: Path
) -> None:
    first = ("-c", str(instance))
    for verdict, key in (("publish", "5"), ("hold", "2"), ("pin", "6")):
        decided = run_cli(*first, "articles", verdict, key, "--note", f"{verdict} it", "--by", "Jo")
        assert decided.code == 0
    exported = tmp_path / "decisions.json"
    assert run_cli(*first, "articles", "decisions", "export", str(exported)).code == 0
    document = json.loads(exported.read_text(encoding="utf-8"))
    assert document["version"] == 1
    assert {entry["decision"] for entry in document["decisions"]} == {"publish", "hold", "pin"}
    assert all(entry["title"] and entry["decided_at"] for entry in document["decisions"])
    assert {entry["by"] for entry in document["decisions"]} == {"Jo"}
    first_entry = document["decisions"][0]
    document["decisions"] += [
        {**first_entry, "url": "https://gone.example/1"},
        {**first_entry, "url": SEEN[2][0][1]},  # article 2 again, by a sighting's URL
    ]
    exported.write_text(json.dumps(document), encoding="utf-8")

    second = ("-c", str(_instance(tmp_path, "second")))
    for _ in range(2):  # importing again changes nothing
        report = _json(run_cli, *second, "articles", "decisions", "import", str(exported))
        assert report == {"matched": 4, "unknown": 1, "urls": ["https://gone.example/1"]}
    text = run_cli(*second, "articles", "decisions", "import", str(exported))
    assert "imported 4 decisions; 1 named no stored article" in text.out

    def published(config: tuple[str, ...]) -> list[str]:
        return [line["url"] for line in _json(run_cli, *config, "articles", "--published")]

    assert published(second) == published(first)
    again = json.loads(run_cli(*second, "articles", "decisions", "export").out)
    assert len(again["decisions"]) == 3
    restored = {(entry["url"], entry["decision"], entry["note"], entry["by"], entry["decided_at"])
                for entry in again["decisions"]}  # fmt: skip
    assert restored == {
        (entry["url"], entry["decision"], entry["note"], entry["by"], entry["decided_at"])
        for entry in document["decisions"][:3]
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ('{"format": "mutualaid-decisions", "version": 9, "decisions": []}', "version 9"),
        ("[]", "not a decisions file"),
    ],
)
def test_a_malformed_file_is_one_line_and_stores_nothing(
    run_cli: Run, instance: Path, tmp_path: Path, content: str, message: str
) -> None:
    config = ("-c", str(instance))
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    result = run_cli(*config, "articles", "decisions", "import", str(bad))
    assert result.code == 1 and message in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_one_bad_entry_stores_none_of_the_file(
    run_cli: Run, instance: Path, tmp_path: Path
) -> None:
    config = ("-c", str(instance))
    good = {"url": "https://source1.example/5/", "decision": "publish",
            "decided_at": "2026-12-01T10:00:00+00:00", "note": None, "title": "x"}  # fmt: skip
    document = {
        "format": "mutualaid-decisions",
        "version": 1,
        "decisions": [good, {**good, "url": "https://source1.example/4/"},
                      {**good, "decision": "maybe"}],
    }  # fmt: skip
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    result = run_cli(*config, "articles", "decisions", "import", str(bad))
    assert result.code == 1
    assert "decision 3: decision must be one of publish, hold, pin, not 'maybe'" in result.err
    assert (
        json.loads(run_cli(*config, "articles", "decisions", "export", "-").out)["decisions"] == []
    )
    missing = run_cli(*config, "articles", "decisions", "import", str(tmp_path / "none.json"))
    assert missing.code == 1 and "cannot read" in missing.err


def test_cleaning_learned_boilerplate_out_of_stored_articles_keeps_their_decisions(
    run_cli: Run, write_config: Callable[..., Path], news_site: Any
) -> None:
    """The later articles teach the source's banner, and the first one, decided meanwhile, is
    cleaned of it and scored again (``boilerplate.strip_learned``): its decision stays, and
    wins."""
    path = write_config({"sources": {"news": {"homepage": f"{news_site.base_url}/"}}})
    config = load_config(path, environ={})
    database = open_database(config.database.url)
    try:
        ingestor = Ingestor(database, config, clock=lambda: NOW)
        ingestor.ingest([_crawled(news_site.articles[0].url)])
        first = news_site.articles[0].url
        assert run_cli("-c", str(path), "articles", "publish", first).code == 0
        before = _json(run_cli, "-c", str(path), "articles", "show", first)
        assert before["learned_removed"] == []
        ingestor.ingest([_crawled(page.url) for page in news_site.articles[1:12]])
    finally:
        database.close()
    after = _json(run_cli, "-c", str(path), "articles", "show", first)
    assert after["learned_removed"] and after["last_changed_at"] == before["last_changed_at"]
    assert after["decision"]["decision"] == "publish" and after["line"]["published"] is True
    assert after["line"]["reason"].startswith("a curator's publish, over score")
    assert after["line"]["score"] < config.topic.threshold  # by its score, no walk would have it
    listed = _json(run_cli, "-c", str(path), "articles", "--published")
    assert after["line"]["id"] in {line["id"] for line in listed}
    database = open_database(config.database.url)
    try:  # the feed walks read the decision's copy in the feed rows, refiled by the cleaning
        with database.session() as session:
            policy = PublishPolicy.from_config(config)
            for source in (None, "news"):
                assert after["line"]["id"] in published_ids(session, policy, 50, source=source)
    finally:
        database.close()


def _crawled(url: str) -> FetchedItem:
    with urllib.request.urlopen(url, timeout=10) as response:
        page = response.read().decode("utf-8")
    return FetchedItem(source="news", url=url, origin=Origin.CRAWL, fetched_at=NOW, html=page)


def test_a_hold_on_a_keep_all_sources_article_says_what_it_overrides(
    run_cli: Run, tmp_path: Path
) -> None:
    path = _instance(tmp_path, "keeping")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["sources"]["other"]["relevance"] = "keep_all"
    path.write_text(json.dumps(data), encoding="utf-8")
    config = ("-c", str(path))
    assert _json(run_cli, *config, "articles", "show", "6")["line"]["published"] is True
    held = _json(run_cli, *config, "articles", "hold", "6")
    assert held["line"]["published"] is False
    assert held["line"]["reason"] == "a curator's hold, over seen at a source that keeps all"
