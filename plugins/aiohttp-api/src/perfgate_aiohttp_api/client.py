"""A lean HTTP/1.1 client connection: one asyncio protocol, httptools parsing, no copies.

A connection carries one request at a time (no pipelining) and stays open between requests
(keep-alive). Interim responses (``1xx`` but ``101``, such as ``103 Early Hints``) are
skipped: the request waits for its final response. A response with neither
``Content-Length`` nor chunking ends when the server closes the connection (RFC 9112, 6.3).

:meth:`Connection.send` writes pre-built request bytes and returns a future whose result is
the status code, or a string naming the error (see :data:`ERROR_KINDS`); errors never raise
into the caller, so a virtual user never dies of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from time import perf_counter_ns
from typing import Any

import httptools

#: Error kinds, the ``error`` tag of a failed request.
ERROR_KINDS = ("connect_refused", "timeout", "interrupted", "reset", "tls", "dns", "protocol",
               "connect", "capture", "not_allowed", "http_4xx", "http_5xx",
               "stream_reset", "goaway", "refused_stream")  # the last three: HTTP/2


def classify(exc: BaseException | None) -> str:
    """The error kind of an exception met while connecting or waiting for a response."""
    if exc is None:
        return "reset"  # the server closed the connection before answering
    if isinstance(exc, ConnectionRefusedError):
        return "connect_refused"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls"
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError
                  | EOFError):
        return "reset"
    if isinstance(exc, httptools.HttpParserError):
        return "protocol"
    return "connect"


class Traffic:
    """Bytes sent and received by every connection of one engine."""

    __slots__ = ("received", "sent")

    def __init__(self) -> None:
        self.received = 0
        self.sent = 0


class _HeadDone(Exception):
    """Raised inside the parser to end a HEAD response at its headers."""


def is_interim(status: int) -> bool:
    """``1xx`` but ``101``: a response that precedes the final one (RFC 9110, 15.2)."""
    return 100 <= status < 200 and status != 101


def delimited_by_close(received: bytes) -> bool:
    """Whether the final response head in ``received`` leaves its body to end at the close.

    ``received`` is what came for one request up to the end of its final headers: interim
    heads first, then the final one. Without ``Content-Length`` and ``Transfer-Encoding``
    the body runs until the server closes the connection.
    """
    for block in received.split(b"\r\n\r\n"):
        lines = block.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            return False
        if is_interim(int(parts[1])):
            continue
        names = {line.partition(b":")[0].strip().lower() for line in lines[1:]}
        return not names & {b"content-length", b"transfer-encoding"}
    return False


class BodySearch:
    """Looks for ``needle`` in a body that comes in pieces, keeping only the last
    ``len(needle) - 1`` bytes between pieces: memory is bounded whatever the body's size."""

    __slots__ = ("found", "needle", "tail")

    def __init__(self, needle: bytes) -> None:
        self.needle = needle
        self.found = not needle
        self.tail = b""

    def feed(self, piece: bytes) -> None:
        n = len(self.needle)
        if self.needle in piece or (self.tail and self.needle in self.tail + piece[:n - 1]):
            self.found = True
            self.tail = b""
        elif len(piece) >= n - 1:
            self.tail = piece[len(piece) - (n - 1):]
        else:
            self.tail = (self.tail + piece)[-(n - 1):]


#: A request without ``body_contains``: found already, so never fed (shared, never changed).
NO_SEARCH = BodySearch(b"")


class Connection(asyncio.Protocol):
    """One keep-alive connection. Not thread-safe; one request in flight at a time."""

    #: The request in flight's own ``timeout`` in ns (0: the scenario's), set by the engine.
    timeout_ns = 0
    #: The ``proto`` tag of its requests.
    proto = "HTTP/1.1"

    def __init__(self, traffic: Traffic) -> None:
        self.traffic = traffic
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Any] | None = None
        self.closed = False
        #: Responses completed on this connection (a reused connection has > 0).
        self.responses = 0
        self.sent_ns = 0
        self.first_byte_ns = 0
        self.keep_body = False
        self.head = False
        self.body: list[bytes] = []
        #: ``body_contains``: searched for as the body streams in, never kept whole.
        self.search = NO_SEARCH
        #: Bytes of this request's response up to its final headers; then ``None``.
        self.heads: list[bytes] | None = []
        self.head_bytes: list[bytes] = []
        self.interim = False
        #: The final response's status, from its headers.
        self.status = 0

    # -- asyncio.Protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.first_byte_ns:
            self.first_byte_ns = perf_counter_ns()
        if self.heads is not None:
            self.heads.append(data)
        self.traffic.received += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _HeadDone) or isinstance(exc.__cause__, _HeadDone):
                self.parser = httptools.HttpResponseParser(self)
                return
            self.fail("protocol")
        except httptools.HttpParserError:
            self.fail("protocol")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                if exc is None and self.heads is None and self._ends_at_close():
                    self.responses += 1  # the close ended the body: a complete response
                    waiter.set_result(self.parser.get_status_code())
                else:
                    waiter.set_result(classify(exc))

    def _ends_at_close(self) -> bool:
        return delimited_by_close(b"".join(self.head_bytes))

    # -- httptools callbacks ---------------------------------------------------------------
    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # is_interim(), inlined: once a response
            self.interim = True
            return
        self.status = status
        self.head_bytes = self.heads or []
        self.heads = None
        if self.head:
            self.on_message_complete()
            raise _HeadDone

    def on_body(self, body: bytes) -> None:
        if self.keep_body:
            self.body.append(body)
        if not self.search.found:
            self.search.feed(body)

    def on_message_complete(self) -> None:
        if self.interim:  # 103 Early Hints and the like: the final response follows
            self.interim = False
            return
        self.responses += 1
        waiter = self.waiter
        self.waiter = None
        if not self.parser.should_keep_alive():
            self.closed = True
            if self.transport is not None:
                self.transport.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(self.status)

    # -- use ----------------------------------------------------------------------------
    def send(self, data: bytes, loop: asyncio.AbstractEventLoop, keep_body: bool = False,
             head: bool = False, search: bytes | None = None) -> asyncio.Future[Any]:
        """Write one request; the future gives the status code or an error kind (a str).

        ``search``: bytes to look for in the body as it streams in (:attr:`search`).
        """
        waiter = loop.create_future()
        self.waiter = waiter
        self.first_byte_ns = 0
        self.heads = []
        self.keep_body = keep_body
        self.head = head
        self.search = BodySearch(search) if search is not None else NO_SEARCH
        if keep_body:
            self.body = []
        self.traffic.sent += len(data)
        self.sent_ns = perf_counter_ns()
        self.transport.write(data)  # type: ignore[union-attr]
        return waiter

    def fail(self, kind: str) -> None:
        """End the request in flight with error ``kind`` and drop the connection."""
        self.closed = True
        waiter = self.waiter
        self.waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(kind)
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def peer_address(self) -> str | None:
        """The address the connection reached (None if the transport does not say)."""
        peer = self.transport.get_extra_info("peername") if self.transport else None
        return str(peer[0]) if peer else None

    def body_bytes(self) -> bytes:
        return b"".join(self.body)


async def connect(loop: asyncio.AbstractEventLoop, traffic: Traffic, host: str, port: int,
                  tls: ssl.SSLContext | None, timeout: float,
                  server_name: str | None = None) -> Connection | str:
    """Open a connection; on failure return the error kind instead of raising.

    ``server_name``: the name TLS checks the certificate against when ``host`` is another
    address for it (``hosts:``).
    """
    try:
        async with asyncio.timeout(timeout):
            _, conn = await loop.create_connection(
                lambda: Connection(traffic), host, port, ssl=tls,
                server_hostname=(server_name or host) if tls is not None else None)
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        return classify(exc)
    sock = conn.transport.get_extra_info("socket") if conn.transport else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn
