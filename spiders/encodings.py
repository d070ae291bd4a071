"""Decompression for crawls by the feed poller's rules: one encoding, a cap, no truncated stream.

Scrapy's ``HttpCompressionMiddleware`` stops at ``DOWNLOAD_MAXSIZE`` too, but it decodes any
stack of encodings, returns what it could read of a cut-off gzip stream as if it were the page,
and reports the cap as a plain ``IgnoreRequest`` (a page we chose to skip). This middleware
takes its place and decodes with ``aggregator.net.decoding.CappedDecoder``, the poller's: it
asks for gzip and deflate only, refuses stacked or unknown encodings before decoding anything,
stops inflating at the cap (so a compression bomb costs at most the cap in memory) and refuses a
compressed stream that ends early. Each refusal is a ``RefusedDownload``, counted as an error.
"""

from __future__ import annotations

from typing import Any, Self

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy.responsetypes import responsetypes

from aggregator.errors import FetchError
from aggregator.net.decoding import ACCEPT_ENCODING, CappedDecoder
from spiders.outbound import refused


class BoundedDecompressionMiddleware:
    """Decodes ``Content-Encoding`` under the size cap, or refuses the response."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.settings.getint("DOWNLOAD_MAXSIZE"))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        request.headers.setdefault("Accept-Encoding", ACCEPT_ENCODING)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        values = response.headers.getlist("Content-Encoding")
        if request.method == "HEAD" or not values:
            return response
        header = b", ".join(values).decode("latin-1")
        max_bytes = request.meta.get("download_maxsize") or self.max_bytes
        try:
            decoder = CappedDecoder(header, max_bytes, response.url)
            body = decoder.feed(response.body) + decoder.finish()
        except FetchError as exc:
            raise refused(request.url, exc.reason) from None
        if decoder.coding is None:  # "identity": nothing to decode
            return response
        return _decoded(response, body)


def _decoded(response: Response, body: bytes) -> Response:
    """``response`` with its decoded ``body``, of the class that body calls for."""
    headers = response.headers.copy()
    del headers["Content-Encoding"]
    cls = responsetypes.from_args(headers=headers, url=response.url, body=body)
    changes: dict[str, Any] = {"body": body, "headers": headers}
    if issubclass(cls, TextResponse):
        changes["encoding"] = None  # read it again from the headers and the decoded body
    return response.replace(cls=cls, **changes)
