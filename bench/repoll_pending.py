"""Requests, bytes and time per re-poll of a feed (20 full-content entries and one summary-only
entry whose page always answers 404), served over loopback, one poll an hour on a moved clock.

    python -m bench.repoll_pending [REPOLLS]

Bytes are the response bodies the server wrote (gzipped where the client asked). Not a
registered workload: it prints the figures behind the pending-entries change (issue 16).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from aggregator.config import load_config
from aggregator.poll import Poller, PollSettings
from aggregator.poll.collect import CollectSettings
from aggregator.storage import open_database
from tests.feedserver import ARTICLE_WORDS, ScriptedServer, feed_response
from tests.sites import server as site_server

SENT = [0]
_original = site_server._Handler._send


def _counting(self, status, payload, headers, body):  # type: ignore[no-untyped-def]
    if body and payload:
        SENT[0] += len(payload)
    return _original(self, status, payload, headers, body)


site_server._Handler._send = _counting  # type: ignore[method-assign]


def text(slug: str) -> str:
    words = ARTICLE_WORDS.lower().replace(".", "").replace(",", "").split()
    pick = random.Random(slug).sample
    sentences = [" ".join(pick(words, 12)).capitalize() + "." for _ in range(40)]
    return "".join(f"<p>{' '.join(sentences[at : at + 5])}</p>" for at in range(0, 40, 5))


def feed(base: str, full: int) -> bytes:
    items = []
    for number in range(full):
        slug = f"post-{number}"
        items.append(
            f"<item><title>Post {number}</title><link>{base}/posts/{slug}/</link>"
            f"<guid isPermaLink='false'>{base}/?p={number}</guid>"
            "<pubDate>Mon, 02 Nov 2026 10:00:00 +0000</pubDate>"
            f"<description>Summary {number}</description>"
            f"<content:encoded><![CDATA[{text(slug)}]]></content:encoded></item>"
        )
    items.append(
        f"<item><title>Gone</title><link>{base}/posts/gone/</link>"
        f"<guid isPermaLink='false'>{base}/?p=gone</guid>"
        "<description>Only a teaser [...]</description></item>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>T</title>'
        f"<link>{base}/</link><description>d</description>{''.join(items)}</channel></rss>"
    ).encode()


def main(repolls: int = 6) -> None:
    folder = Path(tempfile.mkdtemp())
    with ScriptedServer() as server:
        server.route("/feed/", feed_response(feed(server.base_url, 20), etag='"v1"'))
        config_path = folder / "config.yaml"
        source = {
            "homepage": server.url("/"),
            "feed": server.url("/feed/"),
            "kind": "feed",
            "relevance": "keep_all",
        }
        config_path.write_text(
            yaml.safe_dump(
                {
                    "database": {"url": f"sqlite:///{folder}/db.sqlite"},
                    "network": {"allow_private": True},
                    "sources": {"site": source},
                }
            )
        )
        config = load_config(config_path, environ={})
        database = open_database(config.database.url)
        start = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
        settings = PollSettings(host_delay=0.0, workers=1, collect=CollectSettings())
        rows = []
        for number in range(repolls + 1):
            now = start + timedelta(hours=number)
            SENT[0] = 0
            server.clear_log()
            began = time.perf_counter()
            with Poller(
                database,
                config,
                settings=settings,
                clock=lambda now=now: now,
                jitter=lambda: timedelta(0),
            ) as poller:
                [result] = poller.poll(["site"])
            took = time.perf_counter() - began
            rows.append(
                (number, result.status, len(server.requests), SENT[0], took, server.paths())
            )
        database.close()
    print(f"{'poll':>4} {'status':>13} {'requests':>8} {'bytes':>7} {'seconds':>7}  paths")
    for number, status, requests, sent, took, paths in rows:
        print(f"{number:>4} {status:>13} {requests:>8} {sent:>7} {took:>7.3f}  {' '.join(paths)}")
    again = rows[1:]
    print(
        f"re-polls: {sum(r[2] for r in again) / len(again):.2f} requests, "
        f"{sum(r[3] for r in again) / len(again):.0f} bytes, "
        f"{sorted(r[4] for r in again)[len(again) // 2]:.3f} s median each"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
