"""Decoding a response body under a size cap, so a compression bomb costs no more than the cap.

We ask only for ``gzip`` and ``deflate`` and decode the raw bytes ourselves: zlib is told how
much output it may produce (``max_length``), so a few kilobytes that would inflate to gigabytes
stop at the cap without the rest ever being inflated. Stacked codings (``gzip, gzip``) and
codings we did not ask for are refused: nothing legitimate needs them.
"""

from __future__ import annotations

import zlib

from aggregator.errors import FetchError

ACCEPT_ENCODING = "gzip, deflate"
_GZIP_OR_ZLIB = 32 + zlib.MAX_WBITS  # zlib's "detect gzip or zlib header"
_ZLIB = zlib.MAX_WBITS
_RAW_DEFLATE = -zlib.MAX_WBITS
_KNOWN = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate"}


def content_coding(header: str | None, url: str) -> str | None:
    """The one coding a ``Content-Encoding`` header names (``gzip``/``deflate``), or ``None``."""
    codings = [c.strip().lower() for c in (header or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > 1:
        raise FetchError(url, f"stacked content encodings refused: {header}")
    if not codings:
        return None
    if codings[0] not in _KNOWN:
        raise FetchError(url, f"unsupported content encoding: {codings[0]}")
    return _KNOWN[codings[0]]


class CappedDecoder:
    """Feed raw body bytes in, get decoded bytes out; ``FetchError`` past ``max_bytes``.

    Both the raw and the decoded size count against the cap: a compressed body larger than
    the cap would decode larger still.
    """

    def __init__(self, header: str | None, max_bytes: int, url: str) -> None:
        self.coding = content_coding(header, url)
        self.max_bytes = max_bytes
        self.url = url
        self._raw = 0
        self._decoded = 0
        self._inflater: zlib._Decompress | None = None
        self._started = False  # raw bytes seen (an empty compressed body is fine)
        self._produced = False  # deflate: output seen, so the zlib/raw guess is settled

    def feed(self, raw: bytes) -> bytes:
        self._raw += len(raw)
        if self._raw > self.max_bytes:
            raise self._too_large()
        if self.coding is None:
            self._count(len(raw))
            return raw
        if not raw:
            return b""
        if self._inflater is None:
            self._inflater = self._new_inflater()
        self._started = True
        try:
            return self._inflate(raw)
        except zlib.error:
            raise FetchError(self.url, "body could not be decompressed") from None

    def finish(self) -> bytes:
        """Called once the body has ended: a compressed stream cut short is an error."""
        if self._inflater is None or not self._started:
            return b""
        if not self._inflater.eof:
            raise FetchError(self.url, "compressed body ends early (truncated)")
        return b""

    def _inflate(self, data: bytes) -> bytes:
        assert self._inflater is not None
        out: list[bytes] = []
        while data:
            room = self.max_bytes - self._decoded + 1  # one byte more than allowed: detects it
            try:
                piece = self._inflater.decompress(data, room)
            except zlib.error:
                if self.coding != "deflate" or self._produced:
                    raise
                # Many servers send raw deflate although the header means zlib-wrapped.
                self._inflater = zlib.decompressobj(_RAW_DEFLATE)
                piece = self._inflater.decompress(data, room)
            self._produced = self._produced or bool(piece)
            self._count(len(piece))
            out.append(piece)
            data = self._inflater.unconsumed_tail
            if self._inflater.eof:
                data = self._inflater.unused_data
                if data and self.coding == "gzip":  # gzip allows several members in a row
                    self._inflater = self._new_inflater()
                else:
                    break  # anything after a deflate stream's end is ignored
        return b"".join(out)

    def _new_inflater(self) -> zlib._Decompress:
        return zlib.decompressobj(_GZIP_OR_ZLIB if self.coding == "gzip" else _ZLIB)

    def _count(self, size: int) -> None:
        self._decoded += size
        if self._decoded > self.max_bytes:
            raise self._too_large()

    def _too_large(self) -> FetchError:
        return FetchError(self.url, f"body larger than {self.max_bytes} bytes")
