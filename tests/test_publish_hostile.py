"""Hostile content stored in the database never reaches any published output.

The rows are inserted directly, as if ingest had let everything through, so these tests check
the publish-time gates on their own: every payload carries an ``xss-`` marker inside the part
that must be removed, and no output may contain a marker, in its bytes or once parsed.
"""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest
from lxml import etree

from aggregator.publish import write_site
from aggregator.publish.entries import Entry, plain_text, sanitize_body
from aggregator.publish.select import PublishPolicy, load_entries, select_entries
from aggregator.sanitize import SANITIZER_VERSION, sanitize_html
from aggregator.storage import open_database
from tests.publish_data import Row, add_sources, insert_rows, parse_feed, publish_config, read_json

HOSTILE_HTML = """
<p>Intro about mutual aid.</p>
<script>alert("xss-script")</script>
<img src="https://img.example/a.png" onerror="alert('xss-onerror')" alt="fine">
<a href="javascript:alert('xss-js')">click</a>
<a href="JaVaScRiPt&colon;alert('xss-js2')">click2</a>
<a href=" &#106;avascript:alert('xss-js3')">click3</a>
<a href="data:text/html;base64,eHNzLWRhdGE=">data</a>
<a href="vbscript:msgbox('xss-vb')">vb</a>
<form action="https://evil.example/xss-form"><input name="xss-input">
<button>xss-button</button></form>
<svg><script>alert('xss-svg')</script><a xlink:href="javascript:alert('xss-svglink')">s</a></svg>
<math><mtext><table><mglyph><style><img src=x onerror=alert('xss-math')></style></mglyph>
</table></mtext></math>
<iframe src="https://evil.example/xss-iframe"></iframe>
<base href="https://evil.example/xss-base/">
<meta http-equiv="refresh" content="0;url=https://evil.example/xss-meta">
<style>body{background:url("https://evil.example/xss-style")}</style>
<p style="background:url(https://evil.example/xss-attrstyle)">styled</p>
<object data="https://evil.example/xss-object"></object><embed src="https://evil.example/xss-embed">
<p onclick="alert('xss-onclick')" onmouseover="alert('xss-over')">Click me</p>
<!-- xss-comment -->
<p>A CDATA end ]]> in the text, and &lt;script&gt;alert('escaped text is text')&lt;/script&gt;.</p>
<p>Controls\x01\x0b\x1f\x7f\x85 and non-characters \ufffe\uffff gone.</p>
"""
HOSTILE_TITLE = "&lt;script&gt;alert('xss-title')&lt;/script&gt;Hostile <b>title</b> ]]> \x07end"
FORBIDDEN_ELEMENTS = {
    "script",
    "style",
    "iframe",
    "form",
    "input",
    "button",
    "svg",
    "math",
    "base",
    "meta",
    "object",
    "embed",
    "link",
    "frame",
    "frameset",
    "template",
}


@pytest.fixture
def published(tmp_path: Path, database_url: str) -> Path:
    config = publish_config(
        tmp_path,
        database_url,
        {
            "evil": {"homepage": "https://evil.example/"},
            "good": {"homepage": "https://good.example/"},
        },
    )
    database = open_database(config.database.url)
    try:
        add_sources(
            database,
            "evil",
            "good",
            titles={"evil": "Evil <script>alert('xss-source')</script>Sou\x03rce"},
        )
        insert_rows(
            database,
            [
                Row(
                    id=1,
                    title=HOSTILE_TITLE,
                    author="<img src=x onerror=alert('xss-author')>Mal\x01lory",
                    html=HOSTILE_HTML,
                    text="Summary <script>alert('xss-summary')</script>text\x01 ]]> here",
                    tags=(
                        "<script>alert('xss-tag')</script>co-\x02ops",
                        "../../etc/passwd",
                        "&lt;b&gt;bold&lt;/b&gt;",
                    ),
                    also_seen=((2, "javascript:alert('xss-sighting')"),),
                ),
                Row(
                    id=2,
                    source_id=2,
                    title="A plain essay",
                    also_seen=((1, "https://evil.example/2"),),
                ),
            ],
        )
        write_site(database, config)
    finally:
        database.close()
    return config.output.dir


def outputs(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_no_marker_reaches_any_output(published: Path) -> None:
    files = outputs(published)
    assert {p.relative_to(published).as_posix() for p in files} >= {
        "feed.atom",
        "feed.rss",
        "feed.json",
        "index.html",
        "feeds/tag/etc-passwd.atom",
        "feeds/tag/co-ops.atom",
        "feeds/tag/bold.atom",
        "feeds/source/evil.atom",
    }
    for path in files:
        data = path.read_bytes()
        assert b"xss-" not in data, path
        for control in (b"\x00", b"\x01", b"\x07", b"\x0b", b"\x1f", b"\x7f", "\x85".encode()):
            assert control not in data, (path, control)
        assert "\ufffe".encode() not in data and "\uffff".encode() not in data


def bodies(published: Path) -> list[str]:
    """Every HTML body of every feed, as a reader would get it."""
    found = []
    for name in ("feed.atom", "feed.rss", "feeds/source/evil.atom", "feeds/tag/co-ops.atom"):
        for entry in parse_feed((published / name).read_bytes()).entries:
            found += [content.value for content in entry.get("content", [])]
            found.append(entry.get("summary", ""))
    found += [item["content_html"] for item in read_json(published / "feed.json")["items"]]
    return found


def test_bodies_hold_nothing_dangerous(published: Path) -> None:
    for body in bodies(published):
        fragment = lxml.html.fragment_fromstring(body, create_parent="div")
        for element in fragment.iter():
            if not isinstance(element.tag, str):
                continue  # comments would show up here; there must be none either
            assert element.tag not in FORBIDDEN_ELEMENTS, element.tag
            for name, value in element.attrib.items():
                assert not name.startswith("on") and name != "style", name
                if name in ("href", "src"):
                    assert value.startswith(("https://", "http://", "mailto:")), value
            if element.tag == "a" and element.get("href"):
                assert element.get("rel") == "noopener noreferrer"
        assert not [node for node in fragment.iter() if node.tag is etree.Comment]


def test_titles_authors_and_tags_are_plain_text(published: Path) -> None:
    for name in ("feed.atom", "feed.rss"):
        entry = next(
            e
            for e in parse_feed((published / name).read_bytes()).entries
            if e.title != "A plain essay"
        )
        assert entry.title == "Hostile title ]]> end"
        assert entry.author == "Mallory"
        assert {tag.term for tag in entry.tags} == {"co-ops", "../../etc/passwd", "bold"}
    item = read_json(published / "feed.json")["items"]
    hostile = next(i for i in item if i["title"] != "A plain essay")
    assert hostile["title"] == "Hostile title ]]> end"
    assert hostile["authors"] == [{"name": "Mallory"}]
    assert hostile["summary"] == "Summary text ]]> here"


def test_cdata_ends_and_escaped_text_survive_as_text(published: Path) -> None:
    entry = parse_feed((published / "feed.atom").read_bytes()).entries
    body = next(e for e in entry if e.title != "A plain essay").content[0].value
    text = lxml.html.fragment_fromstring(body, create_parent="div").text_content()
    assert "A CDATA end ]]> in the text" in text
    assert "<script>alert('escaped text is text')</script>" in text  # text, shown as written
    assert b"]]&gt;" in (published / "feed.atom").read_bytes()


def test_unsafe_sighting_urls_are_named_but_not_linked(published: Path) -> None:
    items = read_json(published / "feed.json")["items"]
    hostile = next(i for i in items if i["title"] != "A plain essay")
    assert hostile["_mutualaid"]["also_seen"] == [{"source": "good", "title": "Good", "url": ""}]
    plain = next(i for i in items if i["title"] == "A plain essay")
    assert plain["_mutualaid"]["also_seen"][0]["title"] == "Evil Source"
    assert "also seen at Good." in hostile["content_html"]


def test_the_page_shows_hostile_strings_as_text_only(published: Path) -> None:
    page = lxml.html.fromstring((published / "index.html").read_bytes())
    assert not [
        e
        for e in page.iter()
        if isinstance(e.tag, str)
        and e.tag in {"script", "iframe", "form", "svg", "math", "base", "object", "embed"}
    ]
    assert not page.cssselect("meta[http-equiv]")
    titles = [h2.text_content() for h2 in page.cssselect("article h2")]
    assert "Hostile title ]]> end" in titles
    for element in page.iter():
        if isinstance(element.tag, str):
            assert not any(name.startswith("on") or name == "style" for name in element.attrib)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("&lt;script&gt;alert(1)&lt;/script&gt;Title", "Title"),
        ("&amp;lt;img src=x onerror=alert(1)&amp;gt;Deep", "Deep"),
        ("Bread &amp; Roses", "Bread & Roses"),
        ("Bread & Roses", "Bread & Roses"),
        ("when 5 < 6", "when 5 < 6"),
        ("  spaced\n\tout  ", "spaced out"),
        ("lone \ud800 surrogate \x08", "lone surrogate"),
    ],
)
def test_plain_text(value: str, expected: str) -> None:
    assert plain_text(value) == expected


def test_sanitize_body_survives_what_the_sanitiser_cannot_take() -> None:
    assert sanitize_body("<p>a\ud800b\ufffe<script>x</script></p>") == "<p>ab</p>"


# --- bodies and the sanitiser version they were stored with -----------------------------------

CLEAN_AS_STORED = '<p>Stored by ingest, <span title="kept">span and all</span>.</p>'


def _entries_both_ways(database_url: str, row: Row) -> list[Entry]:
    """``row`` published, read by the selection query and again by id (the two read paths)."""
    database = open_database(database_url)
    try:
        add_sources(database, "evil")
        insert_rows(database, [row])
        policy = PublishPolicy(threshold=6.0)
        with database.session() as session:
            selected = select_entries(session, policy, 10)
            by_id = load_entries(session, policy, [row.id])
    finally:
        database.close()
    return [*selected, *by_id]


@pytest.mark.parametrize(
    "marker", [None, SANITIZER_VERSION - 1, SANITIZER_VERSION + 1], ids=["null", "older", "newer"]
)
def test_bodies_not_stored_by_this_sanitiser_are_cleaned_again(
    database_url: str, marker: int | None
) -> None:
    entries = _entries_both_ways(database_url, Row(id=1, html=HOSTILE_HTML, sanitized_with=marker))
    assert len(entries) == 2
    for entry in entries:
        body = entry.content_html
        assert "xss-" not in body and "<script" not in body and "onerror" not in body
        assert "javascript:" not in body.lower()
        assert body.startswith(sanitize_body(HOSTILE_HTML))
        assert "Intro about mutual aid." in body


def test_bodies_stored_by_this_sanitiser_are_published_as_stored(database_url: str) -> None:
    # A span the sanitiser would unwrap: the body comes out byte for byte as it went in, so it
    # was not cleaned again.
    assert sanitize_html(CLEAN_AS_STORED) != CLEAN_AS_STORED
    row = Row(id=1, html=CLEAN_AS_STORED, sanitized_with=SANITIZER_VERSION)
    entries = _entries_both_ways(database_url, row)
    assert len(entries) == 2
    for entry in entries:
        stored, attribution = entry.content_html.partition("<p><em>Originally published")[:2]
        assert stored == CLEAN_AS_STORED
        assert attribution


def test_a_marked_body_reaches_the_feed_file_unchanged(tmp_path: Path, sqlite_url: str) -> None:
    config = publish_config(tmp_path, sqlite_url, {"evil": {"homepage": "https://evil.example/"}})
    database = open_database(config.database.url)
    try:
        add_sources(database, "evil")
        insert_rows(
            database,
            [
                Row(id=1, html=CLEAN_AS_STORED, sanitized_with=SANITIZER_VERSION),
                Row(id=2, html=HOSTILE_HTML, sanitized_with=None),
            ],
        )
        write_site(database, config)
    finally:
        database.close()
    feed = parse_feed((config.output.dir / "feed.atom").read_bytes())
    contents = {entry.id.rsplit("/", 1)[1]: entry.content[0].value for entry in feed.entries}
    assert contents["1"].startswith(CLEAN_AS_STORED)
    assert "xss-" not in contents["2"] and "Intro about mutual aid." in contents["2"]
