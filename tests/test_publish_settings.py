"""Publishing settings a new user must fill in: warned about while unset, absolute once set."""

from __future__ import annotations

import json

from lxml import etree


def build(run_cli, write_config, tmp_path, **output):
    path = write_config({"output": {"dir": str(tmp_path / "public"), **output}, "sources": {}})
    return run_cli("-c", str(path), "feed", "build")


def warnings_in(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


def test_feed_build_warns_once_per_unset_setting(run_cli, write_config, tmp_path) -> None:
    result = build(run_cli, write_config, tmp_path)
    assert result.code == 0, result.err
    found = warnings_in(result.err)
    assert len(found) == 2
    assert found[0].startswith("warning: output.base_url is not set")
    assert found[1].startswith("warning: output.id_domain is mutualaid.invalid")


def test_with_both_set_every_feed_link_is_absolute(run_cli, write_config, tmp_path) -> None:
    base = "https://feeds.example.org/reader/"
    result = build(run_cli, write_config, tmp_path, base_url=base, id_domain="example.org")
    assert result.code == 0, result.err
    assert warnings_in(result.err) == []
    public = tmp_path / "public"
    rss = etree.parse(str(public / "feed.rss"))
    assert rss.findtext("channel/link").startswith(base)
    atom = etree.parse(str(public / "feed.atom"))
    hrefs = atom.xpath("//*[local-name()='link']/@href")
    assert hrefs and all(href.startswith(base) for href in hrefs)
    document = json.loads((public / "feed.json").read_text(encoding="utf-8"))
    assert document["feed_url"].startswith(base) and document["home_page_url"].startswith(base)
