"""``/search`` and ``/search.atom`` over real HTTP: results, marks, pages, the saved-search feed,
400s with reasons for bad queries, and never a 500 whatever the query."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import lxml.html
import pytest

from aggregator.publish.entries import plain_text
from aggregator.publish.searchroutes import MAX_PAGES
from aggregator.publish.searchserve import PAGE_SIZE
from aggregator.publish.server import PublishApp
from aggregator.storage import open_database
from tests.publish_data import (
    NOW,
    Row,
    Served,
    add_sources,
    atom_schema,
    insert_rows,
    parse_feed,
    publish_config,
    serving,
)

HOSTILE_TITLE = '<script>alert("x")</script> Tenant <b>union</b>'
SHOWN_TITLE = plain_text(HOSTILE_TITLE)  # as every output shows it


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("search")
    config = publish_config(
        folder,
        f"sqlite:///{folder / 'db.sqlite'}",
        {
            "blog": {"homepage": "https://blog.example/", "relevance": "keep_all"},
            "news": {"homepage": "https://news.example/"},
        },
    )
    database = open_database(config.database.url)
    add_sources(database, "blog", "news")
    hour = timedelta(hours=1)
    rows = [
        Row(
            id=n,
            title=f"Garden {n}",
            text=f"The community garden {n} shared seeds. " * 5,
            published_at=NOW - n * hour,
        )
        for n in range(1, PAGE_SIZE + 6)
    ]
    rows += [
        Row(id=100, source_id=2, title=HOSTILE_TITLE, text="<i>tenant</i> & union \x02 met.",
            relevance=8.0, published_at=NOW - 200 * hour),
        Row(id=101, source_id=2, title="Held back tenant piece", text="tenant", relevance=1.0),
        Row(id=102, title="Tenant union wins", text="The union of tenants won the repairs.",
            published_at=NOW - 300 * hour),
    ]  # fmt: skip
    insert_rows(database, rows)
    with serving(PublishApp(database, config)) as site:
        yield site
    database.close()


def page(served: Served, query: str, status: int = 200) -> lxml.html.HtmlElement:
    response = served.get(f"/search?{query}")
    assert response.status == status, response.body  # type: ignore[attr-defined]
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    return lxml.html.fromstring(response.body)  # type: ignore[attr-defined]


def titles(document: lxml.html.HtmlElement) -> list[str]:
    return [heading.text_content() for heading in document.cssselect("main article h2")]


def test_results_are_linked_marked_and_only_published(served: Served) -> None:
    document = page(served, "q=tenant+union")
    assert titles(document) == ["Tenant union wins", SHOWN_TITLE]  # title match first
    assert "Held back" not in lxml.html.tostring(document, encoding="unicode")
    assert document.cssselect("main article h2 a")[0].get("href") == "https://source1.example/102/"
    marks = [mark.text.lower() for mark in document.cssselect("main mark")]
    assert "tenants" in marks or "tenant" in marks
    assert document.cssselect("form.search input")[0].get("value") == "tenant union"
    [feed] = document.cssselect('link[rel="alternate"]')
    assert feed.get("href") == "search.atom?q=tenant+union"


def test_nothing_from_titles_or_text_becomes_markup(served: Served) -> None:
    response = served.get("/search?q=tenant")
    body = response.body.decode()  # type: ignore[attr-defined]
    assert "<script>" not in body and "<b>union</b>" not in body and "<i>" not in body
    marks = lxml.html.fromstring(body).cssselect("main mark")
    assert {mark.text.strip(" .").lower() for mark in marks} <= {"tenant", "tenants"}
    assert "\x02" not in body and "\x03" not in body
    assert "default-src 'none'" in response.getheader("Content-Security-Policy", "")


def test_pages_of_results(served: Served) -> None:
    first = page(served, "q=garden")
    assert len(titles(first)) == PAGE_SIZE
    [next_link] = first.cssselect('nav.pages a[rel="next"]')
    assert next_link.get("href") == "search?q=garden&page=2"
    second = page(served, "q=garden&page=2")
    assert len(titles(second)) == 5
    assert not set(titles(first)) & set(titles(second))
    assert not second.cssselect('nav.pages a[rel="next"]')
    assert second.cssselect('nav.pages a[rel="prev"]')[0].get("href") == "search?q=garden"
    assert titles(page(served, f"q=garden&page={MAX_PAGES}")) == []


def test_the_saved_search_feed_is_newest_first_and_valid_atom(served: Served) -> None:
    response = served.get("/search.atom?q=tenant")
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/atom+xml; charset=utf-8"
    body = response.body  # type: ignore[attr-defined]
    assert atom_schema().validate(lxml.etree.fromstring(body))
    feed = parse_feed(body)
    assert [entry.title for entry in feed.entries] == [SHOWN_TITLE, "Tenant union wins"]
    assert feed.feed.title.endswith("search “tenant”")
    self_link = next(link.href for link in feed.feed.links if link.rel == "self")
    assert self_link.endswith("search.atom?q=tenant")
    again = served.get("/search.atom?q=tenant", **{"If-None-Match": response.getheader("ETag")})
    assert again.status == 304


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("", "nothing to search for"),
        ("q=", "no word to look for"),
        ("q=-police", "not only words to exclude"),
        ("q=%22open", "not closed"),
        ("q=author%3Ax", "unknown filter"),
        ("q=" + "x" * 600, "longer than"),
        ("q=a&q=b", "more than once"),
        ("q=a&page=0", "page must be"),
        ("q=a&page=x", "page must be"),
        (f"q=a&page={MAX_PAGES + 1}", "page must be"),
        ("&".join(f"f{n}=1" for n in range(30)), "too many"),
    ],
)
def test_bad_searches_are_400_with_a_reason(served: Served, query: str, reason: str) -> None:
    document = page(served, query, status=400)
    assert reason in document.cssselect("p.error")[0].text_content()
    feed = served.get(f"/search.atom?{query}")
    assert feed.status == 400
    assert feed.getheader("Content-Type") == "text/plain; charset=utf-8"
    assert reason in feed.body.decode()  # type: ignore[attr-defined]


def test_a_bad_query_is_shown_back_escaped(served: Served) -> None:
    typed = '"<script>\x01'
    response = served.get(f"/search?q={quote(typed)}")
    assert response.status == 400
    body = response.body.decode()  # type: ignore[attr-defined]
    assert "<script>" not in body
    document = lxml.html.fromstring(body)
    assert document.cssselect("form.search input")[0].get("value") == '"<script>'


def test_random_queries_never_fail_the_server(served: Served) -> None:
    pieces = ['"', "-", "tenant", "union", ":", "source:", "tag:", "NEAR", "*", "^", "(", ")",
              "%00", "%02", "%ff", "%e2%80%9c", "+", "&", "=", "page=", "q=", "\\", "%C3%A9",
              "%E4%BA%92", "%EF%B7%90"]  # fmt: skip
    chance = random.Random(17)
    statuses = set()
    for number in range(300):
        query = "".join(chance.choice(pieces) for _ in range(chance.randrange(0, 12)))
        path = "/search.atom" if number % 3 == 0 else "/search"
        response = served.get(f"{path}?q={query}")
        assert response.status in (200, 400), (query, response.status)
        statuses.add(response.status)
    assert statuses == {200, 400}


def test_the_served_page_has_a_search_box_and_the_written_one_not(
    served: Served, tmp_path: Path
) -> None:
    document = lxml.html.fromstring(served.get("/").body)  # type: ignore[attr-defined]
    [form] = document.cssselect("header form.search")
    assert form.get("action") == "search" and form.get("method") == "get"
    from aggregator.publish.build import Site, render_index

    site = Site.from_config(publish_config(tmp_path, "sqlite://", {}))
    written = lxml.html.fromstring(render_index(site, [], []))
    assert not written.cssselect("form")
    assert re.search(r"form-action 'self'", served.get("/").getheader("Content-Security-Policy"))


@pytest.mark.parametrize(
    ("mode", "shown"), [("full", "deep"), ("excerpt", "Opening"), ("link", "")]
)
def test_a_result_shows_no_more_text_than_its_source_republishes(
    tmp_path: Path, mode: str, shown: str
) -> None:
    config = publish_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        {"blog": {"homepage": "https://blog.example/", "republish": mode}},
    )
    database = open_database(config.database.url)
    try:
        add_sources(database, "blog")
        words = " ".join(f"filler{n}" for n in range(200))
        text = f"Opening words of the essay. {words} The deep cooperative passage ends it."
        insert_rows(database, [Row(id=1, title="An essay", text=text, html=f"<p>{text}</p>")])
        with serving(PublishApp(database, config)) as site:
            response = site.get("/search?q=cooperative")
            assert response.status == 200
            document = lxml.html.fromstring(response.body)  # type: ignore[attr-defined]
        assert titles(document) == ["An essay"]
        text_shown = " ".join(p.text_content() for p in document.cssselect("main article p"))
        assert ("cooperative" in text_shown) == (mode == "full")
        assert shown in text_shown
    finally:
        database.close()
