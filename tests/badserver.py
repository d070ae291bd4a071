"""A raw-socket HTTP server on 127.0.0.x that misbehaves on purpose, one behaviour per path.

``BadServer.route(path, behaviour)`` returns the path's URL; every request is logged (``hits``,
``hits_to(path)``) before its behaviour runs, so a test can prove a request never reached the
server. Behaviours write bytes straight to the socket, so they can do what a well-behaved
server library would not: hang before the headers, drip one byte at a time, promise more body
than they send, stream an endless chunked body or a gzip bomb, stack content encodings.

Builders: ``respond``, ``redirect``, ``echo_headers``, ``hang``, ``drip``, ``partial``,
``drop``, ``gzip_bomb``, ``endless_chunked``, ``stacked_encodings``, and ``in_turn`` (one
behaviour per request, in order). Every response closes
its connection (``Connection: close``), so one request is one connection.

Bind to another loopback address with ``BadServer(host="127.0.0.2")`` (Linux routes all of
127/8 to this machine); pytest-socket then needs ``@pytest.mark.allow_hosts([...])``.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self


@dataclass(frozen=True, slots=True)
class Hit:
    """One request as received: ``path`` keeps its query; header names are lower case;
    ``at`` is when its headers were read (``time.monotonic()``)."""

    method: str
    path: str
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Connection:
    """What a behaviour gets: the socket, the request, and the server's stop signal."""

    sock: socket.socket
    request: Hit
    stopped: threading.Event

    def send(self, data: bytes) -> bool:
        """Send ``data``; ``False`` once the client has gone (the behaviour should end)."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the server stops first; ``False`` when it stopped."""
        return not self.stopped.wait(seconds)


Behaviour = Callable[[Connection], None]


class BadServer:
    """Serve behaviours per path on ``host``; unrouted paths answer 404.

    ``port`` 0 takes a free one. With ``tls`` (a server-side ``ssl.SSLContext``) it speaks
    https: every accepted connection is wrapped before its request is read.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
    ) -> None:
        self._routes: dict[str, Behaviour] = {}
        self._hits: list[Hit] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._open: set[socket.socket] = set()
        self._listener = socket.create_server((host, port))
        self._listener.settimeout(0.05)
        self._tls = tls
        self.host = host
        self.port: int = self._listener.getsockname()[1]
        self.base_url = f"{'https' if tls else 'http'}://{host}:{self.port}"
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def route(self, path: str, behaviour: Behaviour) -> str:
        """Answer ``path`` (matched with its query, then without) with ``behaviour``."""
        with self._lock:
            self._routes[path] = behaviour
        return self.url(path)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    @property
    def hits(self) -> list[Hit]:
        with self._lock:
            return list(self._hits)

    def hits_to(self, path: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path.split("?")[0] == path.split("?")[0]]

    def close(self) -> None:
        """Stop: end hanging behaviours, close every connection and the listener."""
        self._stopped.set()
        self._thread.join(timeout=5)
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            _close(sock)
        self._listener.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._open.add(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            sock.settimeout(10)
            if self._tls is not None:
                with self._lock:
                    self._open.discard(sock)
                sock = self._tls.wrap_socket(sock, server_side=True)
                with self._lock:
                    self._open.add(sock)
            request = _read_request(sock)
            if request is None:
                return
            with self._lock:
                self._hits.append(request)
                behaviour = self._routes.get(request.path) or self._routes.get(
                    request.path.split("?")[0], respond(404, b"not found")
                )
            sock.settimeout(None)
            behaviour(Connection(sock, request, self._stopped))
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(sock)
            _close(sock)


def _read_request(sock: socket.socket) -> Hit | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk or len(data) > 65536:
            return None
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    request_line, *lines = head.split("\r\n")
    method, path, _version = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Hit(method, path, headers)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def head(status: int, headers: dict[str, str]) -> bytes:
    """A status line and headers, ending with the blank line; adds ``Connection: close``."""
    lines = [f"HTTP/1.1 {status} X"]
    lines += [f"{name}: {value}" for name, value in {**headers, "Connection": "close"}.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# Behaviours


def respond(
    status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None
) -> Behaviour:
    """A plain, correct response with a Content-Length."""
    fields = {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}
    fields["Content-Length"] = str(len(body))

    def behave(conn: Connection) -> None:
        conn.send(head(status, fields) + body)

    return behave


def in_turn(*behaviours: Behaviour) -> Behaviour:
    """The first request gets the first behaviour, the next the second ...; the last repeats."""
    answered = 0
    lock = threading.Lock()

    def behave(conn: Connection) -> None:
        nonlocal answered
        with lock:
            turn = min(answered, len(behaviours) - 1)
            answered += 1
        behaviours[turn](conn)

    return behave


def redirect(location: str, status: int = 302) -> Behaviour:
    return respond(status, b"moved", {"Location": location})


def echo_headers() -> Behaviour:
    """200 with the request's headers as a JSON object (lower-case names) in the body."""

    def behave(conn: Connection) -> None:
        body = json.dumps(conn.request.headers).encode()
        fields = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        conn.send(head(200, fields) + body)

    return behave


def hang() -> Behaviour:
    """Read the request, then send nothing until the client or the server gives up."""

    def behave(conn: Connection) -> None:
        conn.sock.settimeout(0.1)
        while not conn.stopped.is_set():
            try:
                if not conn.sock.recv(1):
                    return  # the client closed
            except TimeoutError:
                continue

    return behave


def drip(data: bytes, interval: float = 1.0) -> Behaviour:
    """Send ``data`` (a whole response, headers included) one byte every ``interval`` seconds."""

    def behave(conn: Connection) -> None:
        for byte in data:
            if not conn.send(bytes([byte])) or not conn.wait(interval):
                return

    return behave


def slow_body(body: bytes, interval: float = 1.0) -> Behaviour:
    """Headers at once, then ``body`` (declared in Content-Length) one byte per ``interval``."""

    def behave(conn: Connection) -> None:
        conn.send(head(200, {"Content-Length": str(len(body))}))
        drip(body, interval)(conn)

    return behave


def partial(body: bytes, declared: int) -> Behaviour:
    """Promise ``declared`` bytes in Content-Length, send ``body`` (fewer), close."""

    def behave(conn: Connection) -> None:
        conn.send(head(200, {"Content-Length": str(declared), **_XML}) + body)

    return behave


def drop() -> Behaviour:
    """Close the connection without a byte of response."""
    return lambda conn: None


def gzip_bomb(decoded_size: int, content_type: str = "application/xml") -> Behaviour:
    """A gzip body of ``decoded_size`` zero bytes, compressed while sent (about 1000:1)."""

    def behave(conn: Connection) -> None:
        fields = {"Content-Type": content_type, "Content-Encoding": "gzip"}
        if conn.send(head(200, {**fields, "Transfer-Encoding": "chunked"})):
            for piece in _gzip_zeros(decoded_size):
                if piece and not conn.send(_chunk(piece)):
                    return
            conn.send(b"0\r\n\r\n")

    return behave


def endless_chunked(piece: bytes = b"<item>" + b"x" * 4090) -> Behaviour:
    """A chunked body that never ends: ``piece`` again and again until the client leaves."""

    def behave(conn: Connection) -> None:
        if conn.send(head(200, {**_XML, "Transfer-Encoding": "chunked"})):
            while not conn.stopped.is_set() and conn.send(_chunk(piece)):
                pass

    return behave


def stacked_encodings(body: bytes, codings: str = "gzip, gzip") -> Behaviour:
    """``body`` compressed once per gzip/deflate named in ``codings``, declared as such."""
    encoded = body
    for coding in [c.strip() for c in codings.split(",")]:
        if coding == "gzip":
            encoded = gzip.compress(encoded, mtime=0)
        elif coding == "deflate":
            encoded = zlib.compress(encoded)
    return respond(200, encoded, {**_XML, "Content-Encoding": codings})


_XML = {"Content-Type": "application/xml; charset=utf-8"}


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _gzip_zeros(size: int, piece: int = 65536) -> Iterator[bytes]:
    """Compressed zeros in pieces of ``piece`` bytes: each one a full read for the client."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip wrapper
    block = bytes(1 << 20)
    left = size
    pending = b""
    while left > 0:
        part = block if left >= len(block) else bytes(left)
        left -= len(part)
        pending += compressor.compress(part)
        if len(pending) >= piece:
            yield pending
            pending = b""
    yield pending + compressor.flush()


def self_signed_tls(host: str = "127.0.0.1") -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throwaway certificate for the IP ``host``: (server context, client context trusting it)."""
    import datetime
    import ipaddress
    import tempfile
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        cert_file, key_file = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(key_pem)
        server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=cert_pem.decode("ascii"))
    return server, client
