"""Hostile XML in feeds, OPML and sitemaps: entity bombs and external entities are never
expanded, read or fetched."""

from __future__ import annotations

import gzip
import tracemalloc

import pytest

from aggregator.poll.opml import OpmlError, read_opml
from spiders.sitemaps import read_sitemap
from tests.feedserver import feed_response
from tests.hostile.shared import MB, NOW, articles, everything_stored
from tests.hostilefeeds import (
    SECRET,
    billion_laughs,
    external_entities,
    item,
    quadratic_blowup,
    rss,
)

# --- 1. XML safety -------------------------------------------------------------------------------


@pytest.mark.parametrize("bomb", [billion_laughs, quadratic_blowup], ids=["laughs", "quadratic"])
def test_entity_bombs_are_never_expanded(server, env, bomb) -> None:
    server.route("/feed/", feed_response(bomb(server.base_url)))
    tracemalloc.start()
    try:
        result = env.one("site")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * MB  # expanded, either bomb needs gigabytes (or 200 MB)
    assert result.status == "ok", result.error
    stored = everything_stored(env)
    assert "lollollol" not in stored and "x" * 1000 not in stored
    assert [article.title for article in articles(env)] == ["A calm post"]
    assert any(flag.startswith("xml_entities:") for flag in env.state("site").flags)


BIG = '<!ENTITY big "' + "x" * 100_000 + '">'


@pytest.mark.parametrize(
    ("prolog", "outcome"),
    [
        (f"<!DOCTYPE rss [<!-- ] > --> {BIG}]>", "ok"),
        (f"<!DOCTYPE rss [<!ENTITY a ']>'> {BIG} <?pi ]> ?>]>", "ok"),
        (f'<!DOCTYPE rss SYSTEM "a[b" [{BIG}]>', "ok"),
        (f"<!-- a comment first --><?pi?>\n<!DOCTYPE rss [\n{BIG}\n]>", "ok"),
        (f"PHP Warning: headers already sent\n<!DOCTYPE rss [{BIG}]>", "failed"),
    ],
    ids=["comment-with-bracket", "literal-with-bracket", "system-id", "after-comments", "junk"],
)
def test_entity_declarations_are_removed_however_they_hide(server, env, prolog, outcome) -> None:
    uses = "&big;" * 2_000  # 200 MB, were it expanded
    calm = item(server.base_url, "calm", "A calm post")
    blowup = item(server.base_url, "b", "Blowup", description=uses)
    body = rss([calm, blowup], declaration='<?xml version="1.0"?>', doctype=prolog).encode()
    server.route("/feed/", feed_response(body))
    tracemalloc.start()
    try:
        result = env.one("site")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * MB
    assert "x" * 1000 not in everything_stored(env)
    assert result.status == outcome, result.error
    if outcome == "failed":
        assert result.error == "declares XML entities where they cannot be removed"
    else:
        assert "A calm post" in [article.title for article in articles(env)]


@pytest.mark.parametrize("style", ["general", "oneline", "parameter", "doctype"])
def test_external_entities_are_never_read_or_fetched(
    server, env, canary, secret_file, style
) -> None:
    feed = external_entities(server.base_url, secret_file, canary.base_url, style)
    server.route("/feed/", feed_response(feed))
    result = env.one("site")
    assert canary.requests == []
    assert SECRET not in repr(result)
    assert SECRET not in everything_stored(env)
    assert result.status == "ok", result.error
    assert "A calm post" in [article.title for article in articles(env)]


def test_opml_import_reads_no_entities_and_fetches_nothing(
    run_cli, write_config, tmp_path, canary, secret_file
) -> None:
    opml = tmp_path / "subscriptions.opml"
    opml.write_text(
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY file SYSTEM "file://{secret_file}">'
        f'<!ENTITY net SYSTEM "{canary.base_url}/entity">'
        f'<!ENTITY % remote SYSTEM "{canary.base_url}/dtd"> %remote;]>'
        '<opml version="2.0"><body><outline text="Good" xmlUrl="https://good.example/feed/"/>'
        "<outline text='Leak'>&file;&net;</outline></body></opml>",
        encoding="utf-8",
    )
    config = write_config({"sources": {}})
    result = run_cli("-c", str(config), "sources", "import", str(opml))
    assert canary.requests == []
    assert SECRET not in result.out + result.err + config.read_text(encoding="utf-8")
    assert result.code == 0, result.err
    assert "https://good.example/feed/" in config.read_text(encoding="utf-8")


def test_an_opml_entity_bomb_is_refused() -> None:
    levels = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY l0 "lol">{levels}]><opml><body>'
        '<outline text="&l9;" xmlUrl="https://x.example/&l9;"/></body></opml>'
    ).encode()
    tracemalloc.start()
    try:
        with pytest.raises(OpmlError, match="not well-formed"):
            read_opml(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MB


def test_sitemaps_read_no_entities_and_fetch_nothing(canary, secret_file) -> None:
    sitemap = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY file SYSTEM "file://{secret_file}">'
        f'<!ENTITY net SYSTEM "{canary.base_url}/entity">]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>https://news.example/&file;&net;</loc></url>"
        "<url><loc>https://news.example/ok</loc></url></urlset>"
    ).encode()
    for body in (sitemap, gzip.compress(sitemap)):
        page = read_sitemap(body, "https://news.example/sitemap.xml", NOW, max_size=MB)
        assert SECRET not in repr(page)
        assert "https://news.example/ok" in [entry.url for entry in page.entries]
    assert canary.requests == []
