"""A small threaded HTTP server on 127.0.0.1 that answers with whatever a site's app returns.

It does the HTTP chores the sites should not care about: Content-Length, conditional GET (304
from ``ETag``/``Last-Modified``), gzip when asked, HEAD, and a log of every request so tests can
check what a crawler fetched and what it never touched.
"""

from __future__ import annotations

import gzip
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HTML = "text/html; charset=UTF-8"
RSS = "application/rss+xml; charset=UTF-8"
XML = "application/xml; charset=UTF-8"
TEXT = "text/plain; charset=UTF-8"


@dataclass(frozen=True, slots=True)
class Request:
    """One request as received: ``path`` keeps its query string; header names are lower case."""

    method: str
    path: str
    headers: dict[str, str]
    at: datetime = field(default_factory=lambda: datetime.now(UTC), compare=False)


@dataclass(frozen=True, slots=True)
class Response:
    """What an app answers. ``etag``/``last_modified`` turn on conditional GET for the resource."""

    status: int = 200
    body: bytes = b""
    content_type: str = HTML
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: datetime | None = None


App = Callable[[Request], Response]


def redirect(location: str, status: int = 301) -> Response:
    """A redirect with the small HTML body WordPress sends along."""
    body = f'<html><body>Moved to <a href="{location}">{location}</a></body></html>'
    return Response(status=status, body=body.encode(), headers={"Location": location})


class SiteServer:
    """Serve ``app`` on 127.0.0.1 from a daemon thread; ``port=0`` picks a free port."""

    def __init__(self, app: App, port: int = 0) -> None:
        self._log: list[Request] = []
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"app": staticmethod(app), "server_log": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.port: int = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def record(self, request: Request) -> None:
        with self._lock:
            self._log.append(request)

    @property
    def requests(self) -> list[Request]:
        """A copy of the log, oldest first."""
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()


class _Handler(BaseHTTPRequestHandler):
    app: App
    server_log: SiteServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections end instead of holding a thread forever
    # Headers and body go out in two writes; with Nagle's algorithm a keep-alive client waits
    # for the delayed ACK (40 ms) on every response.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._serve()

    def version_string(self) -> str:
        return "nginx"

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: the request log replaces the access log."""

    def _serve(self) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request(self.command, self.path, headers)
        self.server_log.record(request)
        try:
            response = self.app(request)
        except Exception:  # a bug in a site must show in the test output, not hang a client
            traceback.print_exc()
            response = Response(500, b"site app crashed", TEXT)
        if _not_modified(request, response):
            self._send(304, b"", _validators(response), body=False)
            return
        body = response.body
        extra = {**response.headers, **_validators(response)}
        extra["Content-Type"] = response.content_type
        if _compressible(response) and _accepts_gzip(headers):
            body = gzip.compress(body, mtime=0)
            extra["Content-Encoding"] = "gzip"
        if _compressible(response):
            extra["Vary"] = "Accept-Encoding"
        self._send(response.status, body, extra, body=self.command != "HEAD")

    def _send(self, status: int, payload: bytes, headers: dict[str, str], body: bool) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if body and payload:
            self.wfile.write(payload)


def _validators(response: Response) -> dict[str, str]:
    headers: dict[str, str] = {}
    if response.etag:
        headers["ETag"] = response.etag
    if response.last_modified:
        headers["Last-Modified"] = format_datetime(response.last_modified, usegmt=True)
    return headers


def _not_modified(request: Request, response: Response) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since; only GET/HEAD of a 200."""
    if request.method not in ("GET", "HEAD") or response.status != 200:
        return False
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and response.etag:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or response.etag.removeprefix("W/") in tags
    since = request.headers.get("if-modified-since")
    if since and response.last_modified:
        try:
            client_time = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if client_time.tzinfo is None:
            return False
        return response.last_modified.replace(microsecond=0) <= client_time
    return False


def _compressible(response: Response) -> bool:
    return bool(response.body) and response.content_type.split(";")[0] in {
        "text/html",
        "text/plain",
        "application/rss+xml",
        "application/xml",
    }


def _accepts_gzip(headers: dict[str, str]) -> bool:
    for coding in headers.get("accept-encoding", "").split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False
