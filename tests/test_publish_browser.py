"""The page in a real browser: headless Chromium loads it from ``mutualaid serve`` on loopback.

Skipped when Chromium is not installed (``.ci/run`` installs Debian's package). The browser
gets a fresh profile and every background service switched off, so it only talks to our server.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path

import lxml.html
import pytest

from aggregator.publish import PublishApp
from aggregator.storage import open_database
from tests.publish_data import Row, Served, add_sources, insert_rows, publish_config, serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE = (390, 844)
PAPER = (0xFB, 0xFA, 0xF7)  # the page background in style.css

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed"),
    pytest.mark.slow,
]

TITLES = [
    "Community fridges, one year on",
    "Kropotkin & the commons: when 5 < 6",
    "Un titre en français : coopératives d’habitants",
    "A very long title" + " that keeps going" * 12,
]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    config = publish_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        {"blog": {"homepage": "https://blog.example/", "relevance": "keep_all"}},
    )
    database = open_database(config.database.url)
    add_sources(database, "blog", "news")
    insert_rows(
        database,
        [
            Row(id=n, title=title, also_seen=((2, f"https://news.example/{n}"),))
            for n, title in enumerate(TITLES, start=1)
        ],
    )
    with serving(PublishApp(database, config)) as site:
        yield site
    database.close()


def chromium(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        f"--window-size={PHONE[0]},{PHONE[1]}",
        *arguments,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def first_pixel(png: bytes) -> tuple[tuple[int, int], tuple[int, int, int]]:
    """(width, height) and the top-left pixel's RGB of an 8-bit RGB or RGBA PNG."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height, depth, colour = struct.unpack(">IIBB", png[16:26])
    assert depth == 8 and colour in (2, 6)
    data, position = b"", 8
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        if kind == b"IDAT":
            data += png[position + 8 : position + 8 + length]
        position += 12 + length
    # The first pixel of the first row reads the same under every PNG filter (no neighbours).
    raw = zlib.decompressobj().decompress(data, 8)
    return (width, height), (raw[1], raw[2], raw[3])


def test_the_page_renders_with_every_article_visible(served: Served, tmp_path: Path) -> None:
    result = chromium(tmp_path, "--dump-dom", served.url)
    page = lxml.html.fromstring(result.stdout)
    titles = [heading.text_content() for heading in page.cssselect("main article h2")]
    assert titles == TITLES
    dates = [time.get("datetime") for time in page.cssselect("main article .meta time")]
    assert len(dates) == len(TITLES) and all(dates)
    assert page.cssselect("main article .seen a")[0].get("href") == "https://news.example/1"
    # The stylesheet loaded under the page's Content-Security-Policy, and nothing was refused.
    assert "Content Security Policy" not in result.stderr
    assert "Refused to" not in result.stderr


def test_the_page_fits_a_phone_screen_with_its_own_stylesheet(
    served: Served, tmp_path: Path
) -> None:
    shot = tmp_path / "phone.png"
    chromium(tmp_path, f"--screenshot={shot}", served.url)
    size, corner = first_pixel(shot.read_bytes())
    assert size == PHONE
    assert corner == PAPER  # style.css applied: the page is not the browser's default white


def test_the_search_page_renders_under_its_policy_and_fits_a_phone(
    served: Served, tmp_path: Path
) -> None:
    result = chromium(tmp_path, "--dump-dom", f"{served.url}search?q=kropotkin+commons")
    page = lxml.html.fromstring(result.stdout)
    titles = [heading.text_content() for heading in page.cssselect("main article h2")]
    assert titles == [TITLES[1]]
    assert page.cssselect("form.search input")[0].get("value") == "kropotkin commons"
    assert "Content Security Policy" not in result.stderr
    assert "Refused to" not in result.stderr
    shot = tmp_path / "search.png"
    chromium(tmp_path, f"--screenshot={shot}", f"{served.url}search?q=fridges")
    size, corner = first_pixel(shot.read_bytes())
    assert size == PHONE and corner == PAPER
