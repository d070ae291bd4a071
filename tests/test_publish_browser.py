"""The page in a real browser: headless Chromium loads it from ``mutualaid serve`` on loopback.

The archive's pages are loaded the same way (links followed), and measured from a copy of the
built folder: a wrapper page frames each at a phone's and a desktop's width and reads, from
outside the frame, how wide it laid out and its background in light and dark mode (the pages
themselves run no script, and their Content-Security-Policy would refuse one).

Skipped when Chromium is not installed (``.ci/run`` installs Debian's package). The browser
gets a fresh profile and every background service switched off, so it only talks to our server.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest

from aggregator.publish import PublishApp, write_site
from aggregator.storage import open_database
from tests.publish_data import Row, Served, add_sources, insert_rows, publish_config, serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE = (390, 844)
DESKTOP = (1280, 900)
PAPER = (0xFB, 0xFA, 0xF7)  # the page background in style.css
DARK_PAPER = (0x18, 0x17, 0x15)  # and in dark mode
ARCHIVE_PAGES = (
    "articles/1.html",
    "articles/4.html",
    "sources/blog/index.html",
    "sources/index.html",
)
LONG_BODY = (
    "<p>A link to https://example.org/" + "a-very-long-path-segment-" * 12 + " in the text.</p>"
    "<pre>" + "code_that_does_not_wrap() " * 20 + "</pre>"
    "<table><tr>" + "<td>wide_table_cell_content</td>" * 20 + "</tr></table>"
)

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
            Row(
                id=n,
                title=title,
                html=LONG_BODY if n == 4 else Row(0).html,
                tags=("mutual aid", "Tenant unions and the " + "long-tag-" * 10),
                also_seen=((2, f"https://news.example/{n}"),),
            )
            for n, title in enumerate(TITLES, start=1)
        ],
    )
    write_site(database, config)
    with serving(PublishApp(database, config)) as site:
        site.built = config.output.dir  # type: ignore[attr-defined]
        yield site
    database.close()


def chromium(
    tmp_path: Path, *arguments: str, size: tuple[int, int] = PHONE
) -> subprocess.CompletedProcess[str]:
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
        f"--window-size={size[0]},{size[1]}",
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


def test_archive_pages_load_and_their_links_work(served: Served, tmp_path: Path) -> None:
    for path in ARCHIVE_PAGES:
        url = served.url + path
        result = chromium(tmp_path, "--dump-dom", url, size=DESKTOP)
        page = lxml.html.fromstring(result.stdout)
        assert page.cssselect("main h1"), path
        assert "Refused to" not in result.stderr, path  # the stylesheet loads under the CSP
        inside = [
            urljoin(url, a.get("href"))
            for a in page.iter("a")
            if a.get("href") and not urlsplit(a.get("href")).scheme
        ]
        assert inside, path
        for link in inside:
            assert served.get(urlsplit(link).path).status == 200, f"{path} -> {link}"


def test_archive_pages_fit_phone_and_desktop_in_light_and_dark(
    served: Served, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    shutil.copytree(served.built, site)  # type: ignore[attr-defined]
    frames = [(path, width) for path in ARCHIVE_PAGES for width in (PHONE[0], DESKTOP[0])]
    (site / "probe.html").write_text(_probe_page(frames), encoding="utf-8")
    url = (site / "probe.html").as_uri()
    for flags, paper in (((), PAPER), (("--force-dark-mode",), DARK_PAPER)):
        result = chromium(
            tmp_path, "--allow-file-access-from-files", *flags, "--dump-dom", url, size=DESKTOP
        )
        probe = lxml.html.fromstring(result.stdout).get_element_by_id("probe")
        measured = json.loads(probe.text_content())
        assert len(measured) == len(frames)
        for (path, width), seen in zip(frames, measured, strict=True):
            # the frame's width, less a vertical scrollbar's
            assert width - 20 <= seen["client"] <= width, (path, seen)
            assert seen["scroll"] <= seen["client"], f"{path} scrolls sideways at {width}px"
            assert seen["background"] == "rgb({}, {}, {})".format(*paper), (path, flags)
            assert seen["text"] != seen["background"]


def _probe_page(frames: list[tuple[str, int]]) -> str:
    """A page framing each (path, width) and reporting, once all have loaded, each frame's
    laid-out width, its scroll width, and its body's background and text colours."""
    iframes = "".join(
        f'<iframe src="{path}" style="width:{width}px;height:700px;border:0"></iframe>'
        for path, width in frames
    )
    script = """
    addEventListener("load", () => {
      const seen = [...document.querySelectorAll("iframe")].map((frame) => {
        const root = frame.contentDocument.documentElement;
        const style = getComputedStyle(frame.contentDocument.body);
        return {client: root.clientWidth, scroll: root.scrollWidth,
                background: style.backgroundColor, text: style.color};
      });
      const out = document.createElement("pre");
      out.id = "probe";
      out.textContent = JSON.stringify(seen);
      document.body.appendChild(out);
    });
    """
    return f"<!DOCTYPE html><html><body>{iframes}<script>{script}</script></body></html>"


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
