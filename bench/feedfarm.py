"""A farm of small feeds on 127.0.0.1, for the polling benchmark.

``python -m bench.feedfarm N`` serves N feeds, spread over ``HOSTS`` servers (one port each,
standing in for separate sites: politeness allows one request at a time per host), at
``/feeds/0`` ... ``/feeds/N-1``, prints the ports and stops when its standard input closes.
``FarmProcess`` runs it that way, in a process of its own, so the servers' CPU is not counted
against the poller being measured.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

HOSTS = 10
RSS = "application/rss+xml; charset=UTF-8"
LAST_MODIFIED = "Sun, 01 Nov 2026 00:00:00 GMT"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
VOCABULARY = (
    "mutual aid cooperative solidarity commons neighbours kitchen library tenants union strike "
    "fund garden bakery workers federation assembly care childcare housing repair bicycle seeds "
    "bread school clinic radio press archive"
)
WORDS = VOCABULARY.split(" ")


def feed_body(number: int, items: int, base: str) -> bytes:
    """A small WordPress-like feed whose entries carry their whole (distinct) text."""
    entries = []
    for index in range(items):
        seed = number * items + index
        words = [WORDS[(seed * 7 + k * k) % len(WORDS)] for k in range(160)]
        paragraphs = "".join(
            f"<p>{' '.join(words[i : i + 40]).capitalize()}.</p>" for i in range(0, 160, 40)
        )
        entries.append(
            f"<item><title>Post {seed}: {words[0]} and {words[1]}</title>"
            f"<link>{base}/{number}/post-{index}/</link>"
            f'<guid isPermaLink="false">{base}/?p={seed}</guid>'
            f"<pubDate>Sun, 01 Nov 2026 10:{index:02d}:00 +0000</pubDate>"
            f"<dc:creator>Writer {seed % 13}</dc:creator><category>Co-ops</category>"
            f"<description>{words[2]} {words[3]} [&#8230;]</description>"
            f"<content:encoded><![CDATA[<p>Post {seed}.</p>{paragraphs}]]></content:encoded>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        f'xmlns:content="{CONTENT}" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>Feed {number}</title><link>{base}/{number}/</link>"
        f"<description>bench</description>{''.join(entries)}</channel></rss>"
    ).encode()


class FeedFarm:
    """Serves ``/feeds/N`` for N feeds on ``hosts`` ports, with ETag and Last-Modified.

    A small asyncio HTTP/1.1 server (keep-alive, 304 on a matching ``If-None-Match``): quick
    enough that the poller, not the stand-in for the sites, is what the benchmark measures.
    """

    def __init__(self, count: int, items: int = 2, hosts: int = HOSTS) -> None:
        self.count = count
        self.items = items
        self.hosts = hosts
        self.bodies: list[bytes] = []

    async def serve(self) -> list[asyncio.Server]:
        servers = [
            await asyncio.start_server(self._connection, "127.0.0.1", 0) for _ in range(self.hosts)
        ]
        bases = [f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}" for server in servers]
        self.bodies = [feed_body(n, self.items, bases[n % self.hosts]) for n in range(self.count)]
        return servers

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                writer.write(self.answer(head))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def answer(self, head: bytes) -> bytes:
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else ""
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        }
        number = path.removeprefix("/feeds/")
        if not number.isdigit() or int(number) >= len(self.bodies):
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        etag = f'"feed-{number}"'
        validators = f"ETag: {etag}\r\nLast-Modified: {LAST_MODIFIED}\r\n"
        if headers.get("if-none-match") == etag:
            return f"HTTP/1.1 304 Not Modified\r\n{validators}\r\n".encode()
        body = self.bodies[int(number)]
        return (
            f"HTTP/1.1 200 OK\r\nContent-Type: {RSS}\r\nContent-Length: {len(body)}\r\n"
            f"{validators}\r\n"
        ).encode() + body


class FarmProcess:
    """A ``FeedFarm`` in a process of its own; ``feed_url(n)`` is where feed n lives."""

    def __init__(self, count: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.feedfarm", str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[1],
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().split()
        if not line or not all(port.isdigit() for port in line):
            self.close()
            raise RuntimeError(f"the feed farm did not start: {line!r}")
        self.bases = [f"http://127.0.0.1:{port}" for port in line]

    def feed_url(self, number: int) -> str:
        return f"{self.bases[number % len(self.bases)]}/feeds/{number}"

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def _main(count: int) -> None:
    farm = FeedFarm(count)
    servers = await farm.serve()
    ports = [str(server.sockets[0].getsockname()[1]) for server in servers]
    print(" ".join(ports), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until closed
    for server in servers:
        server.close()


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1])))
