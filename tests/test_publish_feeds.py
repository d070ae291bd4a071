"""The published feeds end to end: the local sites ingested through the real path, then built.

One module-wide build (both test sites crawled and ingested once) serves the format tests;
tests that change articles take fresh sites of their own.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from lxml import etree

from aggregator.config import Config
from aggregator.ingest import Ingestor, Outcome
from aggregator.items import FetchedItem, Origin
from aggregator.publish import write_site
from aggregator.publish.jsonfeed import VERSION
from aggregator.storage import Database, open_database
from tests.publish_data import NOW, atom_schema, parse_feed, publish_config, read_json

RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
ENTRY_ID = re.compile(r"tag:mutualaid\.test,\d{4}-\d\d-\d\d:article/\d+")


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8")


def crawl(source: str, url: str, when=NOW, html: str | None = None) -> FetchedItem:
    return FetchedItem(
        source=source, url=url, origin=Origin.CRAWL, fetched_at=when, html=html or fetch(url)
    )


@dataclass
class Built:
    config: Config
    database: Database
    folder: Path
    news: Any
    blog: Any

    def read(self, relative: str) -> bytes:
        return (self.folder / relative).read_bytes()


@pytest.fixture(scope="module")
def built(tmp_path_factory, news_site, blog_site) -> Iterator[Built]:
    """Both sites crawled and ingested; the blog is keep_all, the news site is scored."""
    folder = tmp_path_factory.mktemp("published")
    config = publish_config(
        folder,
        f"sqlite:///{folder / 'db.sqlite'}",
        {
            "news": {"homepage": f"{news_site.base_url}/", "title": "Countercurrents-ish"},
            "blog": {
                "homepage": f"{blog_site.base_url}/",
                "title": "Kropotkin blog",
                "relevance": "keep_all",
            },
        },
        items=200,
        id_domain="mutualaid.test",
    )
    database = open_database(config.database.url)
    ingestor = Ingestor(database, config, clock=lambda: NOW)
    items = [crawl("news", article.url) for article in news_site.articles]
    items += [crawl("blog", essay.url) for essay in blog_site.articles]
    report = ingestor.ingest(items)
    assert not report.failed and not report.skipped
    write_site(database, config)
    yield Built(config, database, config.output.dir, news_site, blog_site)
    database.close()


def test_atom_and_rss_parse_with_feedparser_without_bozo(built: Built) -> None:
    expected = {a.title for a in built.news.articles if a.is_relevant}
    expected |= {essay.title for essay in built.blog.articles}
    for name, version in (("feed.atom", "atom10"), ("feed.rss", "rss20")):
        parsed = parse_feed(built.read(name))
        assert parsed.version == version
        assert {entry.title for entry in parsed.entries} == expected
        for entry in parsed.entries:
            assert ENTRY_ID.fullmatch(entry.id)
            assert entry.link.startswith("http://127.0.0.1:")
            assert entry.get("author")
            assert entry.published_parsed
            assert "Originally published at" in entry.content[0].value
            assert entry.tags


def test_only_relevant_news_and_every_blog_essay_are_published(built: Built) -> None:
    parsed = parse_feed(built.read("feed.atom"))
    titles = {entry.title for entry in parsed.entries}
    for article in built.news.articles:
        assert (article.title in titles) == article.is_relevant, article.slug
    assert all(essay.title in titles for essay in built.blog.articles)


def test_newest_first(built: Built) -> None:
    parsed = parse_feed(built.read("feed.atom"))
    published = [entry.published_parsed for entry in parsed.entries]
    assert published == sorted(published, reverse=True)
    assert len(published) > 10


def test_atom_feeds_validate_against_the_rfc_4287_schema(built: Built) -> None:
    schema = atom_schema()
    feeds = [
        "feed.atom",
        *sorted(
            p.relative_to(built.folder).as_posix() for p in (built.folder / "feeds").rglob("*.atom")
        ),
    ]
    assert any(name.startswith("feeds/tag/") for name in feeds)
    assert any(name.startswith("feeds/source/") for name in feeds)
    for name in feeds:
        document = etree.fromstring(built.read(name))
        assert schema.validate(document), (name, schema.error_log.last_error)
    # The schema can fail: an entry without its id does not pass.
    document = etree.fromstring(built.read("feed.atom"))
    entry = document.find("{http://www.w3.org/2005/Atom}entry")
    entry.remove(entry.find("{http://www.w3.org/2005/Atom}id"))
    assert not schema.validate(document)


def test_xml_outputs_are_strict_xml(built: Built) -> None:
    strict = etree.XMLParser(recover=False, resolve_entities=False, no_network=True)
    for name in ("feed.atom", "feed.rss"):
        etree.fromstring(built.read(name), strict)


def check_jsonfeed(document: dict[str, Any]) -> list[str]:
    """Problems with ``document`` as JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""
    problems = []
    if document.get("version") != VERSION:
        problems.append("version")
    if not isinstance(document.get("title"), str) or not document["title"]:
        problems.append("title")
    items = document.get("items")
    if not isinstance(items, list):
        return [*problems, "items"]
    for key in ("home_page_url", "feed_url"):
        if key in document and not document[key].startswith(("http://", "https://")):
            problems.append(key)
    ids = [item.get("id") for item in items]
    if len(set(ids)) != len(ids):
        problems.append("duplicate ids")
    for item in items:
        where = f"item {item.get('id')!r}"
        if not isinstance(item.get("id"), str) or not item["id"]:
            problems.append(f"{where}: id")
        if not any(isinstance(item.get(key), str) for key in ("content_html", "content_text")):
            problems.append(f"{where}: content_html or content_text")
        for key in ("date_published", "date_modified"):
            if key in item and not RFC3339.fullmatch(item[key]):
                problems.append(f"{where}: {key}")
        for author in item.get("authors", []):
            if not isinstance(author, dict) or not author.get("name"):
                problems.append(f"{where}: authors")
        if not all(isinstance(tag, str) for tag in item.get("tags", [])):
            problems.append(f"{where}: tags")
        if "author" in item:
            problems.append(f"{where}: 'author' is JSON Feed 1.0, 1.1 uses 'authors'")
        extra = {key for key in item if key.startswith("_")} - {"_mutualaid"}
        if extra:
            problems.append(f"{where}: unexpected {extra}")
    return problems


def test_json_feed_has_the_fields_the_spec_requires(built: Built) -> None:
    document = read_json(built.folder / "feed.json")
    assert check_jsonfeed(document) == []
    atom_ids = [entry.id for entry in parse_feed(built.read("feed.atom")).entries]
    assert [item["id"] for item in document["items"]] == atom_ids
    # The checker can fail.
    broken = {**document, "items": [{**document["items"][0], "id": 7}]}
    assert check_jsonfeed(broken)


def test_per_source_and_per_tag_feeds_sit_next_to_the_combined_one(built: Built) -> None:
    blog = parse_feed(built.read("feeds/source/blog.atom"))
    assert {entry.title for entry in blog.entries} == {e.title for e in built.blog.articles}
    mutual_aid = parse_feed(built.read("feeds/tag/mutual-aid.atom"))
    assert mutual_aid.entries
    for entry in mutual_aid.entries:
        assert "mutual aid" in {tag.term.casefold() for tag in entry.tags}
    names = [path.name for path in (built.folder / "feeds" / "tag").iterdir()]
    assert all(re.fullmatch(r"[\w-]+\.atom", name) for name in names), names


def test_the_page_lists_the_articles_and_links_the_feeds(built: Built) -> None:
    page = lxml.html.fromstring(built.read("index.html"))
    titles = [a.text_content() for a in page.cssselect("article h2")]
    assert titles[: len(built.blog.articles)]  # not empty
    assert set(titles) == {e.title for e in parse_feed(built.read("feed.atom")).entries}
    alternates = {
        link.get("type"): link.get("href") for link in page.cssselect("link[rel=alternate]")
    }
    assert alternates == {
        "application/atom+xml": "feed.atom",
        "application/rss+xml": "feed.rss",
        "application/feed+json": "feed.json",
    }
    assert page.cssselect('meta[name="viewport"]')
    assert page.cssselect('link[rel="stylesheet"]')[0].get("href") == "style.css"
    assert (built.folder / "style.css").read_bytes()
    assert not page.cssselect("script")
    # Nothing is loaded from elsewhere: the only absolute links are the articles' own.
    for element in page.iter("link", "img", "script"):
        assert "//" not in (element.get("href") or element.get("src") or "")
    for link in page.iter("a"):
        assert "//" not in link.get("href") or link.get("href").startswith("http://127.0.0.1:")


def _site_config(tmp_path: Path, sites: dict[str, str], database_url: str) -> Config:
    return publish_config(
        tmp_path,
        database_url,
        {name: {"homepage": f"{base}/", "relevance": "keep_all"} for name, base in sites.items()},
        id_domain="mutualaid.test",
    )


def test_entry_ids_stay_the_same_when_an_article_is_updated(
    tmp_path: Path, make_blog_site, database_url: str
) -> None:
    site = make_blog_site()
    config = _site_config(tmp_path, {"blog": site.base_url}, database_url)
    database = open_database(config.database.url)
    try:
        essay = site.articles[0]
        Ingestor(database, config, clock=lambda: NOW).ingest([crawl("blog", essay.url)])
        write_site(database, config)
        before = {
            e.title: e
            for e in parse_feed(config.output.dir.joinpath("feed.atom").read_bytes()).entries
        }
        site.update_article(
            essay.slug, title="A new title", paragraphs=(*essay.paragraphs, "A correction.")
        )
        later = Ingestor(database, config, clock=lambda: NOW + timedelta(days=3))
        assert later.ingest([crawl("blog", essay.url, NOW + timedelta(days=3))]).counts == {
            Outcome.UPDATED: 1
        }
        write_site(database, config)
        after = parse_feed(config.output.dir.joinpath("feed.atom").read_bytes()).entries
    finally:
        database.close()
    assert [entry.title for entry in after] == ["A new title"]
    assert "A correction." in after[0].content[0].value
    assert after[0].id == before[essay.title].id
    assert after[0].id.startswith(f"tag:mutualaid.test,{NOW.date().isoformat()}:article/")


def test_entry_ids_stay_the_same_when_an_older_copy_becomes_the_original(
    tmp_path: Path, blog_site, news_site
) -> None:
    """The news site's copy is seen first; the blog's earlier original turns up later."""
    config = _site_config(
        tmp_path,
        {"blog": blog_site.base_url, "news": news_site.base_url},
        f"sqlite:///{tmp_path / 'db.sqlite'}",
    )
    essay = blog_site.articles[0]
    copy_url = f"{news_site.base_url}/2026/01/copy/"
    copy_html = (
        fetch(essay.url)
        .replace(essay.url, copy_url)
        .replace(
            essay.published.date().isoformat(),
            (essay.published + timedelta(days=365)).date().isoformat(),
        )
    )
    copy = crawl("news", copy_url, html=copy_html)
    database = open_database(config.database.url)
    try:
        ingestor = Ingestor(database, config, clock=lambda: NOW)
        ingestor.ingest([copy])
        write_site(database, config)
        first = parse_feed(config.output.dir.joinpath("feed.atom").read_bytes()).entries
        report = ingestor.ingest([crawl("blog", essay.url)])
        assert report.counts == {Outcome.DUPLICATE: 1}
        write_site(database, config)
        second = parse_feed(config.output.dir.joinpath("feed.atom").read_bytes()).entries
    finally:
        database.close()
    assert len(first) == len(second) == 1
    assert first[0].link != second[0].link  # the canonical URL moved to the original
    assert second[0].link == essay.url.rstrip("/")
    assert first[0].id == second[0].id
    attribution = second[0].content[0].value
    assert "Originally published at" in attribution and "also seen at" in attribution


def test_attribution_names_the_original_and_every_other_site(built: Built) -> None:
    """Every entry says where it was first published, with a link there."""
    parsed = parse_feed(built.read("feed.atom"))
    for entry in parsed.entries:
        fragment = lxml.html.fragment_fromstring(entry.content[0].value, create_parent="div")
        last = fragment.findall(".//p")[-1]
        assert last.text_content().startswith("Originally published at ")
        assert last.find(".//a").get("href") == entry.link
        source = (
            "Kropotkin blog"
            if entry.title in {e.title for e in built.blog.articles}
            else "Countercurrents-ish"
        )
        assert last.find(".//a").text == source
