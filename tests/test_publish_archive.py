"""The archive ``feed build`` writes (``publish/archive.py``) and ``serve`` answers.

A built site is checked whole: every page parses, every link inside it names a file the build
wrote. Rebuilds are judged by inode and modification time (a rewrite replaces the inode), as in
``test_publish_incremental.py``. The storage reads run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import lxml.html
import pytest
from lxml import etree
from sqlalchemy import delete, update

from aggregator.config import Config
from aggregator.publish.archive_index import article_path, paginate
from aggregator.publish.archive_pages import relative_href
from aggregator.publish.archive_routes import archive_path, page_number
from aggregator.publish.manifest import SHARDS
from aggregator.publish.names import slugify_tag
from aggregator.publish.routes import BadRequestError
from aggregator.publish.select import PublishPolicy
from aggregator.publish.server import Kept, PublishApp
from aggregator.publish.write import MANIFESTS, write_site
from aggregator.storage import Database, article_feeds, decisions, open_database, published
from aggregator.storage.models import Article, Source
from tests.publish_data import NOW, Row, add_sources, insert_rows, publish_config, serving

SOURCES = {
    "blog": {"homepage": "https://blog.example/", "feed": "https://blog.example/feed/"},
    "news": {"homepage": "https://news.example/"},
    "quiet": {"homepage": "https://quiet.example/"},
}
PAGE_SIZE = 3
BLOG_FEED = "https://blog.example/feed/"
HOSTILE_TITLE = "<script>alert('xss-title')</script>Rent & <b>strikes</b> ]]>"
HOSTILE_TAG = '"><img src=x onerror=alert(1)>xss-tag'


def _rows() -> list[Row]:
    """Seven articles over two months and three sources; one below the threshold."""
    day = timedelta(days=1)
    rows = [
        Row(
            id=number,
            source_id=1 + number % 2,
            title=f"Essay {number} on mutual aid",
            published_at=NOW - number * 7 * day,  # 30 Nov back to 12 Oct
            tags=("Mutual aid", "Tenant unions") if number % 2 else ("Mutual aid",),
            also_seen=((3, f"https://quiet.example/{number}"),) if number == 2 else (),
        )
        for number in range(1, 7)
    ]
    rows.append(Row(id=7, source_id=3, relevance=0.0, title="Not published"))
    rows.append(Row(id=8, title=HOSTILE_TITLE, author="<i>xss-author</i>", tags=(HOSTILE_TAG,)))
    return rows


def configured(folder: Path, url: str, **archive: Any) -> Config:
    settings = {"page_size": PAGE_SIZE, **archive}
    return publish_config(folder, url, SOURCES, archive=settings)


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[tuple[Database, Config]]:
    database = open_database(database_url)
    add_sources(database, "blog", "news", "quiet", titles={"news": "News & <b>views</b>"})
    with database.session() as session:  # what ingest stores from the config
        session.execute(update(Source).where(Source.id == 1).values(feed_url=BLOG_FEED))
    insert_rows(database, _rows())
    yield database, configured(tmp_path, database_url)
    database.close()


def built_files(folder: Path) -> set[str]:
    return {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and path.name not in MANIFESTS and SHARDS not in path.parts
    }


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        name: ((folder / name).stat().st_ino, (folder / name).stat().st_mtime_ns)
        for name in built_files(folder)
    }


def rewritten(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> set[str]:
    return {path for path, stamp in after.items() if before.get(path) != stamp}


def dangling_links(folder: Path) -> list[str]:
    """Every link (a, link) of every built page that names a file the build did not write."""
    files = built_files(folder)
    problems = []
    for name in sorted(files):
        if not name.endswith(".html"):
            continue
        page = lxml.html.fromstring((folder / name).read_bytes())
        for element in page.iter("a", "link"):
            href = element.get("href")
            assert href is not None, f"{name}: a link without href"
            parts = urlsplit(href)
            if parts.scheme:
                assert parts.scheme in ("http", "https"), f"{name}: {href}"
                continue
            target = posixpath.normpath(
                posixpath.join(posixpath.dirname(name), unquote(parts.path))
            )
            if target.endswith("/") or href.endswith("/"):
                target = posixpath.join(target, "index.html")
            if target not in files:
                problems.append(f"{name} -> {href}")
    return problems


def test_a_build_writes_every_page_and_no_link_dangles(site: tuple[Database, Config]) -> None:
    database, config = site
    write_site(database, config)
    folder = config.output.dir
    files = built_files(folder)
    published_ids = [1, 2, 3, 4, 5, 6, 8]
    assert {name for name in files if name.startswith("articles/")} == {
        article_path(n) for n in published_ids
    }
    # blog: 2, 4, 6, 8 -> pages 1.html (the three oldest) and index.html (the newest one)
    assert {name for name in files if name.startswith("sources/blog/")} == {
        "sources/blog/1.html",
        "sources/blog/index.html",
    }
    assert {"sources/index.html", "tags/index.html", "archive/index.html"} <= files
    assert {"archive/2026/11/index.html", "archive/2026/10/index.html"} <= files
    assert "sources/quiet/index.html" in files  # article 2 was seen there too
    assert dangling_links(folder) == []
    # The river's titles lead to the archive, and it links to the lists.
    river = lxml.html.fromstring((folder / "index.html").read_bytes())
    assert "articles/1.html" in [a.get("href") for a in river.cssselect("main h2 a")]
    assert "sources/index.html" in [a.get("href") for a in river.cssselect("header a")]


def test_an_article_page_shows_the_article_and_where_it_was_seen(
    site: tuple[Database, Config],
) -> None:
    database, config = site
    write_site(database, config)
    page = lxml.html.fromstring((config.output.dir / "articles/2.html").read_bytes())
    assert page.cssselect("main h1")[0].text_content() == "Essay 2 on mutual aid"
    assert "A. Writer" in page.cssselect("main .meta")[0].text_content()
    assert "community fridge" in page.cssselect("main .body")[0].text_content()
    # Attributed once: by the page (with the listings), not again by the feeds' line.
    assert page.cssselect("main")[0].text_content().count("Originally published at") == 1
    hrefs = [a.get("href") for a in page.cssselect("aside.attribution a")]
    assert "https://source1.example/2/" in hrefs  # the original
    assert "https://quiet.example/2" in hrefs  # also seen at
    assert "../sources/quiet/index.html" in hrefs
    assert [a.get("href") for a in page.cssselect(".tags a")] == ["../tags/mutual-aid/index.html"]
    # Listing pages: newest first, and page 1 keeps the oldest.
    oldest = lxml.html.fromstring((config.output.dir / "sources/blog/1.html").read_bytes())
    titles = [a.text_content() for a in oldest.cssselect("main h2 a")]
    assert titles == ["Essay 2 on mutual aid", "Essay 4 on mutual aid", "Essay 6 on mutual aid"]
    assert [a.get("rel") for a in oldest.cssselect(".pager a")] == ["prev"]  # only "newer"


def test_sources_list_and_opml(site: tuple[Database, Config]) -> None:
    database, config = site
    write_site(database, config)
    page = lxml.html.fromstring((config.output.dir / "sources/index.html").read_bytes())
    lines = [item.text_content() for item in page.cssselect("ul.lines > li")]
    assert len(lines) == 3  # quiet's article 7 is held back, but article 2 was seen there
    assert lines[0].startswith("Blog · 4 articles")
    assert lines[1].startswith("News & views · 3 articles")
    assert lines[2].startswith("Quiet · 1 article\xa0") or lines[2].startswith("Quiet · 1 article")
    opml = etree.fromstring((config.output.dir / "sources.opml").read_bytes())
    outlines = opml.findall("body/outline")
    assert [o.get("xmlUrl") for o in outlines] == [
        BLOG_FEED,
        "feeds/source/news.atom",
        "feeds/source/quiet.atom",
    ]
    assert outlines[1].get("title") == "News & views"


def test_hostile_titles_and_tags_are_text(site: tuple[Database, Config]) -> None:
    database, config = site
    write_site(database, config)
    folder = config.output.dir
    for name in built_files(folder):
        if name.endswith(".html"):
            page = lxml.html.fromstring((folder / name).read_bytes())
            assert not page.xpath("//script | //img[@onerror] | //*[@onerror]"), name
            assert b"xss-author</i>" not in (folder / name).read_bytes()
    page = lxml.html.fromstring((folder / article_path(8)).read_bytes())
    assert page.cssselect("main h1")[0].text_content() == "Rent & strikes ]]>"
    tag = page.cssselect(".tags a")[0]
    assert "xss-tag" in tag.text_content() and "<" not in tag.text_content()
    assert tag.get("href") == f"../tags/{slugify_tag(HOSTILE_TAG)}/index.html"
    assert dangling_links(folder) == []


def test_nothing_new_rewrites_nothing_and_a_new_article_rewrites_its_pages(
    site: tuple[Database, Config],
) -> None:
    database, config = site
    folder = config.output.dir
    write_site(database, config)
    before = snapshot(folder)
    report = write_site(database, config)
    assert report.removed == [] and not any(written.changed for written in report.written)
    assert rewritten(before, snapshot(folder)) == set()

    # Newest of news (1, 3, 5 -> 1, 3, 5, 9): its newest page, its tag's and month's, the lists.
    insert_rows(database, [Row(id=9, source_id=2, tags=("Mutual aid",), published_at=NOW)])
    write_site(database, config)
    changed = rewritten(before, snapshot(folder))
    archive = {name for name in changed if not name.startswith("feed")}
    assert archive == {
        "index.html",
        "articles/9.html",
        "sources/news/index.html",
        "sources/news/1.html",  # news had 3 (one full page); 9 starts page 2
        "sources/index.html",
        "tags/mutual-aid/index.html",
        # mutual-aid had two full pages (1.html, index): the index became 2.html, and 1.html's
        # "newer" link follows it
        "tags/mutual-aid/2.html",
        "tags/mutual-aid/1.html",
        "tags/index.html",
        "archive/2026/11/index.html",
        "archive/index.html",
    }
    assert dangling_links(folder) == []


def test_pages_of_gone_articles_are_removed(site: tuple[Database, Config]) -> None:
    database, config = site
    folder = config.output.dir
    write_site(database, config)
    with database.session() as session:
        session.execute(delete(Article).where(Article.id == 8))  # purged
        session.execute(update(Article).where(Article.id == 6).values(relevance=0.0))  # held
        article_feeds.refresh(session, [6, 8])
    report = write_site(database, config)
    assert {article_path(6), article_path(8), "sources/blog/1.html"} <= set(report.removed)
    files = built_files(folder)
    assert article_path(6) not in files and article_path(8) not in files
    assert not (folder / "tags" / slugify_tag(HOSTILE_TAG)).exists()
    assert dangling_links(folder) == []
    # Turned off: every archive file goes, the feeds stay.
    write_site(database, configured(folder.parent, database.url, enabled=False))
    files = built_files(folder)
    assert not any(name.startswith(("articles", "sources", "tags", "archive")) for name in files)
    assert {"feed.atom", "index.html", "style.css"} <= files
    river = lxml.html.fromstring((folder / "index.html").read_bytes())
    assert not [a for a in river.iter("a") if "articles/" in (a.get("href") or "")]


def test_served_pages_are_the_built_bytes(site: tuple[Database, Config]) -> None:
    database, config = site
    write_site(database, config)
    folder = config.output.dir
    with serving(PublishApp(database, config)) as served:
        for name in sorted(built_files(folder)):
            if name.startswith(("articles/", "sources", "tags/", "archive/")):
                response = served.get("/" + name)
                assert response.status == 200, name
                assert response.body == (folder / name).read_bytes(), name  # type: ignore[attr-defined]
        folder_page = served.get("/sources/blog/")
        assert folder_page.body == (folder / "sources/blog/index.html").read_bytes()  # type: ignore[attr-defined]
        first = served.get("/articles/1.html")
        assert first.getheader("Cache-Control", "").startswith("public, max-age=")
        assert first.getheader("Content-Type") == "text/html; charset=utf-8"
        etag = first.getheader("ETag")
        assert etag and served.get("/articles/1.html", **{"If-None-Match": etag}).status == 304
        assert served.get("/sources.opml").getheader("Content-Type", "").startswith("text/x-opml")
        for missing in ("/articles/7.html", "/articles/999.html", "/articles/x.html"):
            assert served.get(missing).status == 404, missing
        for missing in ("/sources/blog/2.html", "/sources/nobody/index.html", "/tags/x/9.html"):
            assert served.get(missing).status == 404, missing
        assert served.get("/archive/2026/13/index.html").status == 404
        for bad in ("/sources/blog/0.html", "/sources/blog/-1.html", "/tags/mutual-aid/x.html"):
            response = served.get(bad)
            assert response.status == 400, bad
            assert b"page number" in response.body  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Case:
    count: int
    pages: list[tuple[str, tuple[int, ...]]]


@pytest.mark.parametrize(
    "case",
    [
        Case(0, [("f/index.html", ())]),
        Case(1, [("f/index.html", (1,))]),
        Case(3, [("f/index.html", (3, 2, 1))]),
        Case(4, [("f/1.html", (3, 2, 1)), ("f/index.html", (4,))]),
        Case(6, [("f/1.html", (3, 2, 1)), ("f/index.html", (6, 5, 4))]),
        Case(7, [("f/1.html", (3, 2, 1)), ("f/2.html", (6, 5, 4)), ("f/index.html", (7,))]),
    ],
)
def test_pages_are_numbered_from_the_oldest(case: Case) -> None:
    newest_first = list(range(case.count, 0, -1))
    pages = paginate("f", newest_first, 3)
    assert [(page.path, page.ids) for page in pages] == case.pages
    assert pages[0].older is None and pages[-1].newer is None
    for older, newer in pairwise(pages):
        assert older.newer == newer.path and newer.older == older.path


def test_archive_paths_and_page_numbers() -> None:
    assert archive_path("/sources/blog/") == "sources/blog/index.html"
    assert archive_path("/tags/mutual-aid/12.html") == "tags/mutual-aid/12.html"
    assert archive_path("/archive/2026/11/") == "archive/2026/11/index.html"
    assert archive_path("/articles/5.html") == "articles/5.html"
    for unknown in ("/articles/05.html", "/sources/Blog/", "/tags/a..b/", "/archive/26/1/", "/x"):
        assert archive_path(unknown) is None, unknown
    for bad in ("/sources/blog/0.html", "/sources/blog/01.html", "/tags/t/9999999999.html"):
        with pytest.raises(BadRequestError):
            archive_path(bad)
    assert page_number("7.html") == 7
    assert page_number("07.html") is None and page_number("٣.html") is None


def test_every_published_walks_each_feed_whole(site: tuple[Database, Config]) -> None:
    database, _ = site
    policy = PublishPolicy(threshold=5.0, id_domain="example.org")
    with database.session() as session:
        feeds = {
            (kind, key): [mark[1] for mark in marks]
            for kind, key, marks in published.every_published(session, policy)
        }
        dates = published.listing_dates(session, [1, 6, 7])
    assert feeds[("source", "1")] == [8, 2, 4, 6]
    assert feeds[("source", "3")] == [2]  # article 7 is below the threshold
    assert feeds[("tag", "tenant-unions")] == [1, 3, 5]
    assert dates[1] == NOW - timedelta(days=7) and dates[6] == NOW - timedelta(days=42)


@pytest.mark.parametrize(
    ("target", "folder"),
    [
        ("style.css", "articles"),
        ("index.html", "archive/2026/11"),
        ("sources/blog/index.html", "sources/blog"),
        ("sources/news/1.html", "sources/blog"),
        ("articles/1.html", ""),
        ("sources/index.html", "sources/blog"),
        ("sources/blog/index.html", "sources"),
        ("archive/2026/10/index.html", "archive/2026/11"),
        ("tags/über/index.html", "tags/über"),
    ],
)
def test_links_are_relative_paths_as_relpath_makes_them(target: str, folder: str) -> None:
    expected = posixpath.relpath(target, folder or ".")
    assert unquote(relative_href(target, folder)) == expected


def test_a_source_that_opts_out_leaves_the_archive(site: tuple[Database, Config]) -> None:
    database, config = site
    folder = config.output.dir
    write_site(database, config)
    sources = {**SOURCES, "news": {**SOURCES["news"], "opt_out": True}}
    opted = publish_config(folder.parent, database.url, sources, archive={"page_size": PAGE_SIZE})
    report = write_site(database, opted)
    files = built_files(folder)
    assert {article_path(n) for n in (1, 3, 5)} <= set(report.removed)  # news's own articles
    assert not any(
        name.startswith(("sources/news/", "articles/1.", "articles/3.")) for name in files
    )
    listed = (folder / "sources/index.html").read_text(encoding="utf-8")
    assert "news" not in listed.casefold()
    assert dangling_links(folder) == []


def test_an_article_page_is_served_without_reading_every_published_id(
    site: tuple[Database, Config],
) -> None:
    database, config = site
    app = PublishApp(database, config)
    with serving(app) as served:
        assert served.get("/articles/1.html").status == 200
        assert served.get("/articles/7.html").status == 404  # below the threshold
        assert app.archive_index._kept is None  # no listing asked for: the index was not read
        assert served.get("/sources/blog/").status == 200
        kept = app.archive_index._kept
        assert kept is not None
        assert served.get("/tags/mutual-aid/").status == 200
        assert app.archive_index._kept is kept  # read once per serve.max_age, not per request
        assert b"Essay 2 on" in served.get("/sources/blog/1.html").body  # type: ignore[attr-defined]
        with database.write_session() as session:  # a curator holds essay 2
            decisions.decide(session, 2, "hold", NOW, None)
        listing = served.get("/sources/blog/1.html")
        assert app.archive_index._kept is kept  # the index is older than the decision ...
        assert b"Essay 2 on" not in listing.body  # type: ignore[attr-defined]  # ... its page is not
        assert b"Essay 4 on" in listing.body  # type: ignore[attr-defined]
        assert served.get("/articles/2.html").status == 404


def test_kept_values_are_read_again_once_older_than_their_time() -> None:
    now = [100.0]
    reads: list[int] = []

    def read() -> int:
        reads.append(len(reads))
        return len(reads)

    kept: Kept[int] = Kept(60, clock=lambda: now[0])
    assert [kept.get(read), kept.get(read)] == [1, 1]
    now[0] += 59.9
    assert kept.get(read) == 1
    now[0] += 0.1
    assert kept.get(read) == 2
    every_time: Kept[int] = Kept(0, clock=lambda: now[0])
    assert [every_time.get(read), every_time.get(read)] == [3, 4]
