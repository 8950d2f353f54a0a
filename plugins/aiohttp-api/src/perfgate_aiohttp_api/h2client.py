"""HTTP/2 for the ``http`` driver: connections shared by virtual users, one stream each.

An :class:`H2Connection` is one TCP (or TLS) connection speaking HTTP/2 through the ``h2``
library. Virtual users do not own it: each gets a :class:`Lane` on it, a handle that carries
one request at a time as :class:`perfgate_aiohttp_api.client.Connection` does, so the engine
drives both alike. A connection takes at most ``max_streams`` lanes, capped by the server's
``SETTINGS_MAX_CONCURRENT_STREAMS``: that many requests are in flight on it at once
(multiplexed), and the next virtual user gets a lane on another connection.

Requests are compiled once, as HTTP/1.1 bytes (:mod:`perfgate_aiohttp_api.plan`); a lane turns
them into HTTP/2 headers (``Host`` becomes ``:authority``, connection-specific fields are
dropped), cached by the bytes object, so a request that is not a template is converted once.

Flow control: the client opens a 1 MiB window per stream and 16 MiB per connection and
acknowledges data as it arrives; a request body larger than the server's window is sent as
the window opens. ``data_sent``/``data_received`` count the HTTP/2 frames (TLS records
excluded, as for HTTP/1.1).

Errors, as the ``error`` tag: a stream the server reset is ``stream_reset`` with the h2 error
code (``stream_reset: INTERNAL_ERROR``); one cut by the server's ``GOAWAY`` (an error code
other than ``NO_ERROR``) is ``goaway: <code>``; a malformed frame is ``protocol``. A request
the server did not process (``REFUSED_STREAM``, or above the last stream of a ``GOAWAY``) is
sent once more on another connection, as RFC 9113 (8.7) allows, before it counts as an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from time import perf_counter_ns
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import hpack
from h2.errors import ErrorCodes
from h2.settings import SettingCodes

from perfgate_aiohttp_api.client import NO_SEARCH, BodySearch, Traffic, classify

PROTO = "HTTP/2"
STREAM_WINDOW = 1 << 20
CONNECTION_WINDOW = 1 << 24
#: Request fields HTTP/2 forbids (RFC 9113, 8.2.2); ``Host`` becomes ``:authority``.
_DROPPED = frozenset({b"connection", b"keep-alive", b"proxy-connection",
                      b"transfer-encoding", b"upgrade", b"host"})
_CACHE_MAX = 512
#: What a lane hands back for a request the server did not process: sent again once.
_REFUSED = "refused"

Headers = list[tuple[bytes, bytes]]


def h2_request(data: bytes, scheme: bytes) -> tuple[Headers, bytes]:
    """HTTP/2 headers and body of the HTTP/1.1 request ``data``."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    method, target, _ = lines[0].split(b" ", 2)
    authority = b""
    fields: Headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"host":
            authority = value.strip()
        if name not in _DROPPED:
            fields.append((name, value.strip()))
    return [(b":method", method), (b":scheme", scheme), (b":authority", authority),
            (b":path", target), *fields], body


class _RepeatingEncoder(hpack.Encoder):
    """An HPACK encoder that gives a header list it has encoded before the same bytes again,
    while its dynamic table is unchanged.

    A load sends the same requests over and over: once their fields are in the table, each
    block is the same indexes, and encoding it anew is most of what sending a request costs
    h2. A block is kept only when encoding it left the table as it was (so the server's table
    stays in step when it comes again), and all are forgotten when the table changes.
    """

    def __init__(self) -> None:
        super().__init__()
        self._blocks: dict[tuple[Any, ...], bytes] = {}

    def encode(self, headers: Any, huffman: bool = True) -> bytes:
        key = tuple(headers)
        table = self.header_table
        if not table.resized:
            block = self._blocks.get(key)
            if block is not None:
                return block
        entries = table.dynamic_entries
        resized = table.resized
        before = (len(entries), entries[0] if entries else None)
        block = super().encode(key, huffman)
        if resized or (len(entries), entries[0] if entries else None) != before:
            self._blocks.clear()  # the table changed: the blocks kept no longer hold
        elif len(self._blocks) < _CACHE_MAX:
            self._blocks[key] = block
        return block


class _Client(h2.connection.H2Connection):
    """h2's client connection, which goes on receiving after a graceful ``GOAWAY``.

    The streams up to the ``GOAWAY``'s last stream still get their responses (RFC 9113,
    6.8), but h2 closes its state machine at any ``GOAWAY`` and refuses their frames, even
    those that came in the same read. :class:`H2Connection` opens no new stream on it
    (``closed``), so the machine may stay open for the rest.
    """

    def __init__(self, config: h2.config.H2Configuration) -> None:
        super().__init__(config=config)
        self.encoder = _RepeatingEncoder()

    def _receive_goaway_frame(self, frame: Any) -> tuple[list[Any], list[Any]]:
        frames, events = super()._receive_goaway_frame(frame)
        if frame.error_code == 0:
            self.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
        return frames, events


class H2Connection(asyncio.Protocol):
    """One HTTP/2 connection: the h2 state machine, its streams, its lanes."""

    def __init__(self, traffic: Traffic, max_streams: int) -> None:
        self.traffic = traffic
        self.max_streams = max_streams
        self.h2 = _Client(config=h2.config.H2Configuration(
            client_side=True, header_encoding=None, validate_outbound_headers=False,
            normalize_outbound_headers=False, validate_inbound_headers=False,
            normalize_inbound_headers=False))
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, Lane] = {}
        #: Lanes bound to this connection (each carries at most one stream).
        self.lanes = 0
        #: No new streams: closed, or the server said ``GOAWAY``.
        self.closed = False
        self.ready: asyncio.Future[None] | None = None
        #: The error kind that ended the connection, if one did.
        self.failure: str | None = None
        self._again: set[asyncio.Task[None]] = set()
        self._sending: dict[int, tuple[Lane, memoryview]] = {}

    # -- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def start(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        """Send the preface and settings; the future is set at the server's settings."""
        self.ready = loop.create_future()
        self.h2.initiate_connection()
        self.h2.update_settings({SettingCodes.ENABLE_PUSH: 0,
                                 SettingCodes.INITIAL_WINDOW_SIZE: STREAM_WINDOW})
        self.h2.increment_flow_control_window(CONNECTION_WINDOW - 65535)
        self.flush()
        return self.ready

    @property
    def capacity(self) -> int:
        """Lanes this connection takes: ours limit capped by the server's."""
        theirs = self.h2.remote_settings.max_concurrent_streams
        return min(self.max_streams, theirs) if theirs is not None else self.max_streams

    def data_received(self, data: bytes) -> None:
        now = perf_counter_ns()
        self.traffic.received += len(data)
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.fail_all("protocol")
            return
        for event in events:
            self._event(event, now)
        self.flush()

    def _event(self, event: Any, now: int) -> None:
        cls = event.__class__
        if cls is h2.events.DataReceived:
            lane = self.streams.get(event.stream_id)
            if event.flow_controlled_length:
                self.h2.acknowledge_received_data(event.flow_controlled_length,
                                                  event.stream_id)
            if lane is not None:
                lane.body_piece(event.data)
        elif cls is h2.events.ResponseReceived:
            lane = self.streams.get(event.stream_id)
            if lane is not None:
                lane.first_byte_ns = now
                lane.status = _status(event.headers)
                lane.headers = event.headers
        elif cls is h2.events.StreamEnded:
            lane = self.streams.pop(event.stream_id, None)
            if lane is not None:
                lane.responses += 1
                lane.finish(lane.status if lane.status else "protocol")
            if self.closed and not self.streams:
                self._drained()
        elif cls is h2.events.StreamReset:
            lane = self.streams.pop(event.stream_id, None)
            self._sending.pop(event.stream_id, None)
            if lane is not None:
                code = _code(event.error_code)
                lane.finish(_REFUSED if code == "REFUSED_STREAM"
                            else f"stream_reset: {code}")
        elif cls is h2.events.WindowUpdated or cls is h2.events.RemoteSettingsChanged:
            if cls is h2.events.RemoteSettingsChanged and self.ready is not None \
                    and not self.ready.done():
                self.ready.set_result(None)
            self._send_bodies()
        elif cls is h2.events.ConnectionTerminated:
            self._goaway(event.last_stream_id, _code(event.error_code))

    def _goaway(self, last: int | None, code: str) -> None:
        """The server is closing: no new streams; those it did not take are refused, and
        with an error code the others are cut."""
        self.closed = True
        for sid in list(self.streams):
            if last is None or sid > last:
                self.streams.pop(sid).finish(_REFUSED)
            elif code != "NO_ERROR":
                self.streams.pop(sid).finish(f"goaway: {code}")
        if not self.streams:
            self._drained()

    def _drained(self) -> None:
        """After ``GOAWAY``, the last stream ended: the connection is of no more use."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.fail_all(classify(exc))

    # -- use ------------------------------------------------------------------------------
    def open_stream(self, lane: Lane, data: bytes) -> None:
        """Start ``lane``'s request on a new stream (the lane is told how it ends)."""
        headers, body = lane.converted(data)
        try:
            sid = self.h2.get_next_available_stream_id()
            self.h2.send_headers(sid, headers, end_stream=not body)
        except (h2.exceptions.ProtocolError, h2.exceptions.NoAvailableStreamIDError):
            self.closed = True
            lane.finish(_REFUSED)
            return
        lane.stream_id = sid
        self.streams[sid] = lane
        if body:
            self._sending[sid] = (lane, memoryview(body))
            self._send_bodies()
        self.flush()

    def _send_bodies(self) -> None:
        """Send as much of the pending request bodies as the windows allow."""
        for sid, (lane, rest) in list(self._sending.items()):
            try:
                while rest:
                    size = min(self.h2.local_flow_control_window(sid),
                               self.h2.max_outbound_frame_size, len(rest))
                    if size <= 0:
                        break
                    self.h2.send_data(sid, rest[:size].tobytes())
                    rest = rest[size:]
                if rest:
                    self._sending[sid] = (lane, rest)
                else:
                    del self._sending[sid]
                    self.h2.end_stream(sid)
            except h2.exceptions.H2Error:  # the stream ended meanwhile (reset by the server)
                self._sending.pop(sid, None)

    def reset(self, sid: int) -> None:
        """Cancel stream ``sid`` (a request that timed out or was interrupted)."""
        self.streams.pop(sid, None)
        self._sending.pop(sid, None)
        try:
            self.h2.reset_stream(sid, ErrorCodes.CANCEL)
        except h2.exceptions.H2Error:
            return  # already closed
        self.flush()

    def flush(self) -> None:
        out = self.h2.data_to_send()
        if out and self.transport is not None and not self.transport.is_closing():
            self.traffic.sent += len(out)
            self.transport.write(out)

    def fail_all(self, kind: str) -> None:
        """End every stream with ``kind`` and drop the connection."""
        self.closed = True
        self.failure = self.failure or kind
        if self.ready is not None and not self.ready.done():
            self.ready.set_result(None)
        streams, self.streams = self.streams, {}
        self._sending.clear()
        for lane in streams.values():
            lane.finish(kind)
        if self.transport is not None:
            self.transport.abort()

    def release(self) -> None:
        """A lane is done with this connection; the last one closes it."""
        self.lanes -= 1
        if self.lanes <= 0 and self.transport is not None:
            self.closed = True
            if not self.transport.is_closing():
                self.h2.close_connection()
                self.flush()
                self.transport.close()

    def peer_address(self) -> str | None:
        peer = self.transport.get_extra_info("peername") if self.transport else None
        return str(peer[0]) if peer else None


def _status(headers: Headers) -> int:
    for name, value in headers:
        if name == b":status":
            return int(value) if value.isdigit() else 0
    return 0


def _code(code: Any) -> str:
    return code.name if isinstance(code, ErrorCodes) else str(code)


#: Gets a lane a connection with room: an existing one or a new one (or an error kind).
Rebind = Callable[[], Awaitable["H2Connection | str"]]


class Lane:
    """A virtual user's handle on an :class:`H2Connection`: one request at a time, with the
    attributes the engine reads of an HTTP/1.1 :class:`~perfgate_aiohttp_api.client.Connection`.
    """

    proto = PROTO
    #: The request in flight's own ``timeout`` in ns (0: the scenario's), set by the engine.
    timeout_ns = 0

    def __init__(self, conn: H2Connection, scheme: bytes, rebind: Rebind,
                 cache: dict[bytes, tuple[Headers, bytes]]) -> None:
        self.conn = conn
        #: The response's header fields, as they came (pseudo-headers included).
        self.headers: Headers = []
        self.scheme = scheme
        self.rebind = rebind
        self.cache = cache
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiter: asyncio.Future[Any] | None = None
        self.stream_id = 0
        self.status = 0
        self.responses = 0
        self.sent_ns = 0
        self.first_byte_ns = 0
        self.keep_body = False
        self.body: list[bytes] = []
        self.search = NO_SEARCH
        self.data = b""
        self.retried = False
        self._released = False

    @property
    def closed(self) -> bool:
        """Whether the next request needs another lane (this one, or its connection, ended)."""
        return self._released or self.conn.closed

    def converted(self, data: bytes) -> tuple[Headers, bytes]:
        got = self.cache.get(data)
        if got is None:
            if len(self.cache) >= _CACHE_MAX:
                self.cache.clear()
            got = self.cache[data] = h2_request(data, self.scheme)
        return got

    def send(self, data: bytes, loop: asyncio.AbstractEventLoop, keep_body: bool = False,
             head: bool = False, search: bytes | None = None) -> asyncio.Future[Any]:
        """Send one request; the future gives the status code or an error kind (a str)."""
        self.loop = loop
        waiter = self.waiter = loop.create_future()
        self.keep_body = keep_body
        if keep_body:
            self.body = []
        self.search = BodySearch(search) if search is not None else NO_SEARCH
        self.data = data
        self.retried = False
        self._start()
        return waiter

    @property
    def head_bytes(self) -> list[bytes]:
        """The response's head written as an HTTP/1.1 head (``HTTP/1.1 200``, one field a
        line, pseudo-headers left out), for what reads heads (redirects, cookies, decoding,
        ``header:`` captures) the same way on both protocols; made only when asked for."""
        lines = [b"HTTP/1.1 %d " % self.status]
        lines += [name + b": " + value for name, value in self.headers
                  if not name.startswith(b":")]
        return [b"\r\n".join(lines) + b"\r\n\r\n"]

    def _start(self) -> None:
        self.status = 0
        self.headers = []
        self.first_byte_ns = 0
        self.sent_ns = perf_counter_ns()
        self.conn.open_stream(self, self.data)

    def body_piece(self, piece: bytes) -> None:
        if self.keep_body:
            self.body.append(piece)
        if not self.search.found:
            self.search.feed(piece)

    def finish(self, result: int | str) -> None:
        """The stream ended with ``result``; a refused request is sent once more."""
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        self.stream_id = 0
        if result == _REFUSED:
            if not self.retried and self.loop is not None:
                self.retried = True
                task = self.loop.create_task(self._again())
                tasks = self.conn._again  # kept until done (the loop holds tasks weakly)
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                return
            result = "refused_stream"
        self.waiter = None
        waiter.set_result(result)

    async def _again(self) -> None:
        conn = await self.rebind()
        waiter = self.waiter
        if waiter is None or waiter.done():  # timed out or cancelled meanwhile
            if isinstance(conn, H2Connection):
                conn.release()
            return
        if isinstance(conn, str):
            self.waiter = None
            waiter.set_result(conn)
            return
        self.conn.release()
        self.conn = conn
        if self.keep_body:
            self.body = []
        if self.search is not NO_SEARCH:
            self.search = BodySearch(self.search.needle)
        self._start()

    def fail(self, kind: str) -> None:
        """End the request in flight with error ``kind`` (its stream is cancelled)."""
        waiter = self.waiter
        self.waiter = None
        if self.stream_id:
            self.conn.reset(self.stream_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(kind)
        self.close()

    def close(self) -> None:
        if self.waiter is not None and self.stream_id:
            self.conn.reset(self.stream_id)
        if not self._released:
            self._released = True
            self.conn.release()

    def peer_address(self) -> str | None:
        return self.conn.peer_address()

    def body_bytes(self) -> bytes:
        return b"".join(self.body)
