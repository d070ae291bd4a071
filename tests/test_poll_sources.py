"""Adding sources: feed discovery, OPML import and export, and editing the config file safely."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from aggregator.config import SourceConfig, load_config
from aggregator.errors import ConfigError, FetchError
from aggregator.fetch import FetchLimits, make_client
from aggregator.net import NetworkPolicy
from aggregator.poll.configfile import add_sources, write_sources, yaml_scalar
from aggregator.poll.discover import candidate_urls, discover_feed, feed_links
from aggregator.poll.http import Fetcher
from aggregator.poll.limiter import HostLimiter
from aggregator.poll.opml import OpmlError, read_opml, write_opml
from tests.feedserver import ScriptedServer, feed_response, html_page, rss_feed
from tests.sites.blog_site import BlogSite
from tests.sites.news_site import NewsSite
from tests.sites.server import Response

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"
LOCAL = NetworkPolicy(allow_private=True)  # the test sites are on 127.0.0.1


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with make_client(policy=LOCAL) as client:
        yield Fetcher(client, FetchLimits(), HostLimiter(0.0))


# --- discovery -----------------------------------------------------------------------------------


def test_feed_links_put_main_feeds_before_comment_feeds() -> None:
    page = b"""<html><head>
    <link rel="alternate" type="application/rss+xml" title="Site &raquo; Comments Feed"
      href="/comments/feed/">
    <link rel="alternate" type="application/rss+xml" title="Site &raquo; Feed" href="/feed/">
    <link rel="alternate" type="application/atom+xml" href="atom.xml">
    <link rel="stylesheet" type="text/css" href="/style.css">
    <link rel="alternate" hreflang="fr" href="/fr/">
    </head></html>"""
    assert feed_links(page, "https://e.org/blog/") == [
        "https://e.org/feed/",
        "https://e.org/blog/atom.xml",
        "https://e.org/comments/feed/",
    ]
    assert feed_links(b"", "https://e.org/") == []


def test_candidates_are_announced_feeds_then_common_paths() -> None:
    found = candidate_urls("https://e.org/blog/post", ["https://e.org/feed/"])
    assert found[0] == "https://e.org/feed/"
    assert "https://e.org/blog/feed/" in found and "https://e.org/?feed=rss2" in found
    assert len(found) == len(set(found))


def test_discovery_from_a_home_page_link(fetcher, news_site: NewsSite) -> None:
    found = discover_feed(fetcher, f"{news_site.base_url}/")
    assert found.feed_url == news_site.feed_url
    assert (found.homepage, found.format) == (f"{news_site.base_url}/", "rss20")
    assert found.title == "Countercurrents"


def test_discovery_from_an_article_page(fetcher, blog_site: BlogSite) -> None:
    found = discover_feed(fetcher, blog_site.articles[0].url)
    assert found.feed_url == blog_site.feed_url


def test_a_feed_url_discovers_itself(fetcher, blog_site: BlogSite) -> None:
    found = discover_feed(fetcher, blog_site.feed_url)
    assert (found.feed_url, found.homepage) == (blog_site.feed_url, blog_site.base_url)


def test_discovery_falls_back_to_wordpress_paths() -> None:
    with ScriptedServer() as server, make_client(policy=LOCAL) as client:
        server.route("/", html_page("No links here"))
        server.route("/?feed=rss2", feed_response(rss_feed([("a", "A")], base=server.base_url)))
        found = discover_feed(Fetcher(client, FetchLimits(), HostLimiter(0.0)), server.url("/"))
        assert found.feed_url == server.url("/?feed=rss2")
        assert server.paths()[:3] == ["/", "/feed/", "/?feed=rss2"]


def test_no_feed_anywhere_is_a_clear_error() -> None:
    with ScriptedServer() as server, make_client(policy=LOCAL) as client:
        server.route("/", html_page("Plain site"))
        with pytest.raises(FetchError, match="no feed found"):
            discover_feed(Fetcher(client, FetchLimits(), HostLimiter(0.0)), server.url("/"))
        server.route("/", Response(500, b"down"))
        with pytest.raises(FetchError, match="HTTP 500"):
            discover_feed(Fetcher(client, FetchLimits(), HostLimiter(0.0)), server.url("/"))


# --- OPML ----------------------------------------------------------------------------------------


def test_opml_import_reads_nested_outlines_once_each() -> None:
    data = b"""<?xml version="1.0"?><opml version="1.0"><head><title>Mine</title></head><body>
    <outline text="Anarchism"><outline text="A blog" type="rss" xmlURL="https://a.org/feed/" htmlUrl="https://a.org/"/>
      <outline title="Twice" xmlUrl="https://a.org/feed/"/></outline>
    <outline text="No feed" htmlUrl="https://b.org/"/>
    <outline text="B" xmlUrl="https://b.org/rss"/></body></opml>"""
    feeds = read_opml(data)
    assert [(f.feed_url, f.title, f.homepage) for f in feeds] == [
        ("https://a.org/feed/", "A blog", "https://a.org/"),
        ("https://b.org/rss", "B", None),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<opml><body><outline", "not well-formed"),
        (b"<rss version='2.0'/>", "not an OPML file"),
        (
            b'<!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]><opml><body>'
            b'<outline text="&x;" xmlUrl="https://x.org/f"/></body></opml>',
            "external entity",
        ),
    ],
)
def test_bad_opml_is_refused_and_entities_are_never_loaded(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        read_opml(data)


def test_opml_export_round_trips() -> None:
    sources = {
        "a": SourceConfig(title="A & co", homepage="https://a.org/", feed="https://a.org/feed/"),
        "b": SourceConfig(homepage="https://b.org/"),  # no feed: left out
    }
    data = write_opml(sources, "Reader", datetime(2026, 11, 30, tzinfo=UTC))
    assert b"<dateCreated>Mon, 30 Nov 2026 00:00:00 GMT</dateCreated>" in data
    [feed] = read_opml(data)
    assert (feed.feed_url, feed.title, feed.homepage) == (
        "https://a.org/feed/",
        "A & co",
        "https://a.org/",
    )


# --- the config file -----------------------------------------------------------------------------

NEW = {
    "coop": {
        "title": "Co-op: news",
        "homepage": "https://coop.example/",
        "feed": "https://coop.example/feed/",
    }
}


def test_new_sources_go_at_the_end_of_the_sources_mapping_comments_kept() -> None:
    text = REPO_CONFIG.read_text(encoding="utf-8")
    updated = add_sources(text, NEW)
    assert updated.startswith(text.rstrip("\n").rsplit("\n", 1)[0])  # nothing before it moved
    assert all(line in updated for line in text.splitlines())  # every comment and line kept
    assert '\n  coop:\n    title: "Co-op: news"\n    homepage: https://coop.example/\n' in updated
    data = yaml.safe_load(updated)
    assert list(data["sources"])[-1] == "coop"
    assert data["sources"]["coop"]["title"] == "Co-op: news"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("database:\n  url: x\n", "database:\n  url: x\n\nsources:\n  coop:\n"),
        ("sources: {}  # none yet\nschedule:\n  jitter: 1m\n", "sources:\n  coop:\n"),
        (
            "sources:\n    old:\n        homepage: https://old/\n\n# schedules\nschedule: {}\n",
            "        homepage: https://old/\n    coop:\n        title:",
        ),
        ("", "sources:\n  coop:\n"),
    ],
)
def test_sources_are_added_whatever_the_file_looks_like(text: str, expected: str) -> None:
    updated = add_sources(text, NEW)
    assert expected in updated
    data = yaml.safe_load(updated)
    assert data["sources"]["coop"]["feed"] == "https://coop.example/feed/"
    assert {k: v for k, v in data.items() if k != "sources"} == {
        k: v for k, v in (yaml.safe_load(text) or {}).items() if k != "sources"
    }


def test_an_inline_sources_mapping_is_left_to_the_user(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("sources: {old: {homepage: 'https://old/'}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="inline"):
        write_sources(path, NEW)
    assert path.read_text(encoding="utf-8") == "sources: {old: {homepage: 'https://old/'}}\n"


def test_write_sources_refuses_a_name_clash_and_creates_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.yaml"
    write_sources(path, NEW)
    assert load_config(path, environ={}).sources["coop"].feed == "https://coop.example/feed/"
    before = path.read_text(encoding="utf-8")
    with pytest.raises(ConfigError, match="exists"):
        write_sources(path, NEW)
    assert path.read_text(encoding="utf-8") == before


@pytest.mark.parametrize(
    "value", ["plain", "a: b", "#hash", "yes", "123", "", "it's", 'say "hi"', "x\ny", "[x]"]
)
def test_scalars_read_back_as_written(value: str) -> None:
    assert yaml.safe_load(f"key: {yaml_scalar(value)}") == {"key": value}


# --- the commands --------------------------------------------------------------------------------


def test_sources_add_discovers_and_writes_the_config(write_config, run_cli, news_site) -> None:
    path = write_config({"sources": {}})
    result = run_cli("-c", str(path), "sources", "add", f"{news_site.base_url}/", "--json")
    assert result.code == 0, result.err
    record = json.loads(result.out)
    assert record["feed"] == news_site.feed_url and record["name"] == "countercurrents"
    source = load_config(path, environ={}).sources["countercurrents"]
    assert (source.feed, source.title) == (news_site.feed_url, "Countercurrents")
    again = run_cli("-c", str(path), "sources", "add", f"{news_site.base_url}/")
    assert again.code == 1 and "already configured as source 'countercurrents'" in again.err
    listed = run_cli("-c", str(path), "sources", "list", "--json")
    assert [s["name"] for s in json.loads(listed.out)] == ["countercurrents"]


def test_sources_add_with_a_name_and_a_bad_name(write_config, run_cli, blog_site) -> None:
    path = write_config({"sources": {}})
    ok = run_cli("-c", str(path), "sources", "add", blog_site.feed_url, "--name", "kropotkin")
    assert ok.code == 0, ok.err
    assert "added source kropotkin" in ok.out
    bad = run_cli("-c", str(path), "sources", "add", blog_site.base_url, "--name", "Bad Name")
    assert bad.code != 0 and "bad source name" in bad.err


def test_sources_import_and_export(write_config, run_cli, tmp_path: Path) -> None:
    path = write_config(
        {"sources": {"old": {"homepage": "https://old.org/", "feed": "https://old.org/feed/"}}}
    )
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<opml version="2.0"><body>'
        '<outline text="Old" xmlUrl="https://old.org/feed/"/>'
        '<outline text="The Anarchist Library" xmlUrl="https://theanarchistlibrary.example/feed"/>'
        '<outline text="Bad" xmlUrl="ftp://bad.example/feed"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    result = run_cli("-c", str(path), "sources", "import", str(opml), "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert list(report["added"]) == ["theanarchistlibrary"]
    assert [skip["feed"] for skip in report["skipped"]] == [
        "https://old.org/feed/",
        "ftp://bad.example/feed",
    ]
    exported = tmp_path / "out.opml"
    assert run_cli("-c", str(path), "sources", "export", "-o", str(exported)).code == 0
    urls = [feed.feed_url for feed in read_opml(exported.read_bytes())]
    assert urls == ["https://old.org/feed/", "https://theanarchistlibrary.example/feed"]
    to_stdout = run_cli("-c", str(path), "sources", "export")
    assert to_stdout.out.startswith("<?xml") and "theanarchistlibrary" in to_stdout.out


def test_poll_command_table_json_and_exit_codes(write_config, run_cli, blog_site) -> None:
    with ScriptedServer() as server:
        server.route("/feed/", html_page("Just a moment..."))
        path = write_config(
            {
                "sources": {
                    "blog": {"homepage": f"{blog_site.base_url}/", "feed": blog_site.feed_url},
                    "broken": {"homepage": server.url("/"), "feed": server.url("/feed/")},
                    "nofeed": {"homepage": "https://nofeed.example/"},
                }
            }
        )
        table = run_cli("-c", str(path), "poll")
        assert table.code == 1  # a source failed
        assert "blog" in table.out and "Just a moment" in table.out and "no feed" in table.out
        as_json = run_cli("-c", str(path), "poll", "blog", "--json")
    assert as_json.code == 0, as_json.err
    [blog] = json.loads(as_json.out)["sources"]
    assert (blog["source"], blog["status"], blog["requests"]) == ("blog", "not_modified", 1)
    status = json.loads(run_cli("-c", str(path), "status", "--json").out)["sources"]
    broken = next(health for health in status if health["name"] == "broken")
    assert broken["consecutive_failures"] == 1
    assert broken["last_error"] == "an HTML page, not a feed (title: 'Just a moment...')"


def test_poll_command_usage_errors(write_config, run_cli) -> None:
    path = write_config({"sources": {"a": {"homepage": "https://a.example/"}}})
    unknown = run_cli("-c", str(path), "poll", "nope")
    assert unknown.code == 1 and "unknown source 'nope'" in unknown.err
    backfill = run_cli("-c", str(path), "poll", "--backfill", "5")
    assert backfill.code == 2 and "--backfill needs" in backfill.err
    assert run_cli("-c", str(path), "poll", "--help").code == 0
    assert run_cli("-c", str(path), "sources", "add", "--help").code == 0
