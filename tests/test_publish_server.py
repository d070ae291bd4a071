"""``mutualaid serve``: real HTTP over loopback, and the HTTP decisions on their own."""

from __future__ import annotations

import gzip
import json
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from aggregator.publish.caching import Representation, accepts_gzip, conditional_response
from aggregator.publish.routes import BadRequestError, match_route, parse_query
from aggregator.publish.server import MAX_LIMIT, PublishApp
from aggregator.storage import Database, open_database
from tests.publish_data import (
    NOW,
    Row,
    Served,
    add_sources,
    insert_rows,
    parse_feed,
    publish_config,
    serving,
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    config = publish_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        {
            "blog": {"homepage": "https://blog.example/", "relevance": "keep_all"},
            "news": {"homepage": "https://news.example/"},
        },
    )
    database = open_database(config.database.url)
    add_sources(database, "blog", "news")
    rows = [Row(id=n, source_id=1, title=f"Essay {n}", tags=("Mutual aid",)) for n in range(1, 8)]
    rows += [
        Row(id=20, source_id=2, title="Cooperative bakery", tags=("Co-ops",), relevance=7.0),
        Row(id=21, source_id=2, title="Off-topic football", tags=("Sport",), relevance=0.5),
        Row(id=22, source_id=2, title="A long " + "word " * 200, relevance=8.0),
        Row(id=23, source_id=1, title="Взаимопомощь", tags=("Взаимопомощь",)),
    ]
    insert_rows(database, rows)
    with serving(PublishApp(database, config)) as site:
        yield site
    database.close()


def test_feeds_and_page_have_their_content_types(served: Served) -> None:
    expected = {
        "/feed.atom": "application/atom+xml; charset=utf-8",
        "/feed.rss": "application/rss+xml; charset=utf-8",
        "/feed.json": "application/feed+json; charset=utf-8",
        "/feeds/source/news.atom": "application/atom+xml; charset=utf-8",
        "/feeds/tag/co-ops.rss": "application/rss+xml; charset=utf-8",
        "/": "text/html; charset=utf-8",
        "/index.html": "text/html; charset=utf-8",
        "/style.css": "text/css; charset=utf-8",
    }
    for path, content_type in expected.items():
        response = served.get(path)
        assert response.status == 200, path
        assert response.getheader("Content-Type") == content_type
        assert response.getheader("Cache-Control") == "public, max-age=300"
        assert response.getheader("ETag")
        assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert parse_feed(served.get("/feed.atom").body).entries
    titles = [e.title for e in parse_feed(served.get("/feeds/source/news.atom").body).entries]
    assert "Cooperative bakery" in titles and "Off-topic football" not in titles


def test_html_carries_a_content_security_policy(served: Served) -> None:
    policy = served.get("/").getheader("Content-Security-Policy")
    assert "default-src 'none'" in policy and "style-src 'self'" in policy
    assert "script-src" not in policy and "unsafe-inline" not in policy
    assert "sandbox" in served.get("/feed.atom").getheader("Content-Security-Policy")


def test_a_repeated_request_with_the_etag_gets_304(served: Served) -> None:
    first = served.get("/feed.atom")
    etag = first.getheader("ETag")
    again = served.get("/feed.atom", **{"If-None-Match": etag})
    assert again.status == 304
    assert again.body == b""
    assert again.getheader("ETag") == etag
    other = served.get("/feed.atom", **{"If-None-Match": '"something-else"'})
    assert other.status == 200 and other.body == first.body


def test_if_modified_since_gets_304_until_something_changes(served: Served) -> None:
    first = served.get("/feed.atom")
    modified = first.getheader("Last-Modified")
    assert modified.endswith(" GMT")
    assert served.get("/feed.atom", **{"If-Modified-Since": modified}).status == 304
    older = "Mon, 01 Jan 2024 00:00:00 GMT"
    assert served.get("/feed.atom", **{"If-Modified-Since": older}).status == 200
    assert served.get("/feed.atom", **{"If-Modified-Since": "not a date"}).status == 200


def test_gzip_when_the_client_accepts_it(served: Served) -> None:
    plain = served.get("/feed.atom")
    zipped = served.get("/feed.atom", **{"Accept-Encoding": "br;q=1, gzip;q=0.8"})
    assert zipped.getheader("Content-Encoding") == "gzip"
    assert gzip.decompress(zipped.body) == plain.body
    assert len(zipped.body) < len(plain.body)
    assert zipped.getheader("Vary") == "Accept-Encoding"
    assert zipped.getheader("ETag") != plain.getheader("ETag")
    # Either variant's ETag means "you have it".
    repeat = served.get(
        "/feed.atom", **{"Accept-Encoding": "gzip", "If-None-Match": plain.getheader("ETag")}
    )
    assert repeat.status == 304
    refused = served.get("/feed.atom", **{"Accept-Encoding": "gzip;q=0"})
    assert refused.getheader("Content-Encoding") is None


@pytest.mark.parametrize(
    "query",
    [
        "limit=abc",
        "limit=0",
        "limit=-3",
        "limit=1.5",
        "limit=",
        "limit=1&limit=2",
        "source=../../etc",
        "source=Blog",
        "source=%00",
        "tag=",
        "tag=%2F%2E%2E",
        "tag=" + "x" * 300,
        "&".join(f"p{n}=1" for n in range(40)),
        "limit=-1",
        "limit=99999999999999999999",
        "limit=" + "9" * 5000,  # past int()'s 4300-digit limit: never reaches int()
        "limit=%ff",
        "limit=%00",
        "limit=1%00",
        "limit=%2B5",  # +5
        "limit=%EF%BC%95",  # a fullwidth digit
        "source=../x",
        "source=%ff",
        "source=blog%0A",  # a name with a newline after it
        "source=blog&source=news",
        "tag=a&tag=b",
        "tag=%00",
        "tag=%ff%fe",
        "tag=<script>",
        "tag=%3Cscript%3Ealert(1)%3C/script%3E",
        "limit=2;tag=x",  # ";" does not separate: the limit is "2;tag=x"
    ],
)
def test_bad_query_parameters_get_400_without_a_traceback(served: Served, query: str) -> None:
    for path in ("/feed.atom", "/"):
        response = served.get(f"{path}?{query}")
        assert response.status == 400, (path, query)
        assert response.getheader("Content-Type") == "text/plain; charset=utf-8"
        assert b"Traceback" not in response.body and len(response.body) < 200


@pytest.mark.parametrize(
    "query",
    [
        "x=%ff&y=%00",
        "%ff=%ff",
        "%00",
        "&&&&=&",
        "x=1;limit=abc",  # ";" separates nothing: one unknown parameter
        "cachebuster=" + "a" * 60_000,  # a long query the server still reads
        "tag=a%0d%0aSet-Cookie:%20x=1",
    ],
)
def test_unknown_or_odd_query_parameters_are_ignored(served: Served, query: str) -> None:
    for path in ("/feed.atom", "/", "/feeds/source/blog.json"):
        response = served.get(f"{path}?{query}")
        assert response.status == 200, (path, query)
        assert response.getheader("Set-Cookie") is None
        assert b"Set-Cookie" not in response.body


def test_junk_paths_and_headers_are_never_a_server_error(served: Served) -> None:
    for path in (
        "/feeds/source/%00.atom",
        "/feeds/source/blog%0A.atom",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/feed.atom%00",
        "/feeds//tag/x.atom",
        "/feeds/tag/%E2%80%AE.atom",
    ):
        assert served.get(path).status == 404, path
    assert served.get("/feeds/tag/%ff.atom").status == 200  # a tag slug no article has
    too_long = served.get("/feed.atom?q=" + "a" * 70_000)  # past the server's 64 KiB header cap
    assert too_long.status == 431
    for header in (
        {"If-Modified-Since": "garbage"},
        {"If-Modified-Since": "Mon, 01 Jan 0001 00:00:00 +2359"},
        {"If-None-Match": "x" * 8000},
        {"Accept-Encoding": "gzip;q=" + "9" * 5000},
    ):
        assert served.get("/feed.atom", **header).status == 200, header


def test_query_parameters_narrow_the_feed(served: Served) -> None:
    def titles(query: str) -> list[str]:
        return [e.title for e in parse_feed(served.get(f"/feed.atom?{query}").body).entries]

    assert titles("limit=2") == ["Essay 1", "Essay 2"]
    assert len(titles("limit=999999")) == 10  # all 10 published ones
    assert f"?limit={MAX_LIMIT}" in served.get("/feed.atom?limit=999999").body.decode()  # clamped
    assert titles("tag=co-ops") == ["Cooperative bakery"]
    assert titles("tag=Co-ops") == ["Cooperative bakery"]
    assert titles("source=blog&tag=mutual%20aid") == [f"Essay {n}" for n in range(1, 8)]
    assert titles("source=news&tag=mutual-aid") == ["A long " + "word " * 199 + "word"]
    assert titles("tag=nothing-has-this") == []
    assert "tag=co-ops" in served.get("/feed.atom?tag=co-ops").body.decode()  # the self link
    assert served.get("/feed.atom?source=nobody").status == 404
    assert served.get("/feeds/source/news.atom?source=blog").status == 400
    page = served.get("/?tag=co-ops&cachebuster=1").body.decode()
    assert "Cooperative bakery" in page and "Essay 1" not in page


def test_healthz(served: Served) -> None:
    response = served.get("/healthz")
    assert response.status == 200
    assert json.loads(response.body) == {"status": "ok", "database": "ok"}
    assert response.getheader("Cache-Control") == "no-store"


def test_healthz_reports_a_database_it_cannot_reach(tmp_path: Path) -> None:
    config = publish_config(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", {})
    unreachable = Database(create_engine(f"sqlite:///{tmp_path}/missing/folder/db.sqlite"))
    with serving(PublishApp(unreachable, config)) as site:
        response = site.get("/healthz")
        page = site.get("/")
    assert response.status == 503
    assert json.loads(response.body)["status"] == "error"
    assert page.status == 500
    assert page.body == b"internal error\n"


def test_other_methods_unknown_paths_and_head(served: Served) -> None:
    assert served.get("/feed.atom", method="POST").status == 405
    assert served.get("/feed.atom", method="POST").getheader("Allow") == "GET, HEAD"
    for path in (
        "/nope",
        "/feed.xml",
        "/feeds/tag/..%2F..%2Fetc.atom",
        "/feeds/source/A.atom",
        "/feeds/tag/a.b.atom",
        "/../etc/passwd",
        "/feeds/tag/x.exe",
    ):
        assert served.get(path).status == 404, path
    head = served.get("/feed.atom", method="HEAD")
    assert head.status == 200 and head.body == b""
    assert int(head.getheader("Content-Length")) == len(served.get("/feed.atom").body)


def test_routes_and_queries_are_decided_without_a_server() -> None:
    assert match_route("/feeds/tag/mutual-aid.json").selection.tag == "mutual-aid"
    assert match_route("/feeds/source/blog.rss").format_name == "rss"
    assert match_route("/feeds/tag/Mutual-Aid.atom") is None  # not a slug
    query = parse_query("limit=5000&tag=Mutual%20Aid&x=1", 50, MAX_LIMIT)
    assert (query.limit, query.tag) == (MAX_LIMIT, "mutual-aid")
    assert query.canonical == f"limit={MAX_LIMIT}&tag=mutual-aid"
    with pytest.raises(BadRequestError):
        parse_query("limit=1e3", 50, MAX_LIMIT)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip", True),
        ("GZIP;q=0.5", True),
        ("deflate, gzip", True),
        ("*", True),
        ("gzip;q=0", False),
        ("identity", False),
        ("", False),
        (None, False),
        ("x-gzip", True),
        ("gzip;q=abc", False),
        ("*;q=0", False),
        ("gzip;q=0, *", False),
    ],
)
def test_accepts_gzip(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected


def test_conditional_response_decisions() -> None:
    representation = Representation(b"x" * 1000, "text/plain", "no-cache", NOW)
    fresh = conditional_response(representation)
    etag = dict(fresh.headers)["ETag"]
    assert conditional_response(representation, if_none_match=etag).status == 304
    assert conditional_response(representation, if_none_match=f"W/{etag}").status == 304
    assert conditional_response(representation, if_none_match=f'"a", {etag}').status == 304
    assert conditional_response(representation, if_none_match="*").status == 304
    # If-None-Match decides alone, even with a matching date.
    stale = conditional_response(
        representation, if_none_match='"other"', if_modified_since="Tue, 01 Dec 2026 00:00:00 GMT"
    )
    assert stale.status == 200
    later = (NOW + timedelta(seconds=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    earlier = (NOW - timedelta(seconds=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert conditional_response(representation, if_modified_since=later).status == 304
    assert conditional_response(representation, if_modified_since=earlier).status == 200
    small = conditional_response(Representation(b"tiny", "text/plain", "x"), accept_encoding="gzip")
    assert "Content-Encoding" not in dict(small.headers)


def test_the_serve_command_serves_until_stopped(tmp_path: Path) -> None:
    publish_config(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", {})
    program = "import sys; from aggregator.cli import main; sys.exit(main())"
    command = [sys.executable, "-c", program, "-c", str(tmp_path / "publish-config.yaml")]
    process = subprocess.Popen(
        [*command, "serve", "--host", "127.0.0.1", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        address = re.search(r"on http://127\.0\.0\.1:(\d+)/", line)
        assert address, line
        site = Served("127.0.0.1", int(address[1]))
        assert site.get("/healthz").status == 200
        assert "No articles yet." in site.get("/").body.decode()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_serve_reports_a_taken_port_in_one_line(tmp_path: Path, run_cli) -> None:
    publish_config(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", {})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("-c", str(tmp_path / "publish-config.yaml"), "serve", "--port", str(port))
    assert result.code == 1
    assert result.err.strip().startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert len(result.err.strip().splitlines()) == 1


def test_tag_feeds_in_any_script(served: Served) -> None:
    path = (
        "/feeds/tag/%D0%B2%D0%B7%D0%B0%D0%B8%D0%BC%D0%BE%D0%BF%D0%BE%D0%BC%D0%BE%D1%89%D1%8C.atom"
    )
    response = served.get(path)
    assert response.status == 200
    assert [e.title for e in parse_feed(response.body).entries] == ["Взаимопомощь"]
    assert (
        served.get(
            "/feed.json?tag=%D0%92%D0%B7%D0%B0%D0%B8%D0%BC%D0%BE%D0%BF%D0%BE%D0%BC%D0%BE%D1%89%D1%8C"
        ).status
        == 200
    )
