"""Opening connections: TCP, then TLS, then HTTP/1.1 or HTTP/2 as the scenario and ALPN say.

Every new connection is made in steps, each timed and checked on its own:

1. TCP connect (``http.req_connecting``); the address reached must be allowed, or nothing
   is sent on the connection, not even a TLS hello;
2. for ``https://``, the TLS handshake on that socket (``loop.start_tls``,
   ``http.req_tls_handshaking``), offering by ALPN what ``http_version`` allows;
3. the protocol: HTTP/1.1 (:class:`~perfgate_aiohttp_api.client.Connection`, one per
   virtual user) or HTTP/2 (:class:`~perfgate_aiohttp_api.h2client.H2Connection`, shared:
   each virtual user gets a :class:`~perfgate_aiohttp_api.h2client.Lane` on it).

``http_version``: ``"1.1"`` (the default) always speaks HTTP/1.1; ``"2"`` speaks HTTP/2,
over TLS by ALPN (a server that refuses ``h2`` fails the handshake, ``error: tls``; one
that ignores ALPN is ``error: protocol``) and in clear text with prior knowledge (h2c);
``auto`` (k6's way) offers ``h2`` and ``http/1.1`` by ALPN over TLS and speaks HTTP/1.1 in
clear text.

While the first connection to an origin that may speak HTTP/2 is being made, the other
virtual users wait for it instead of opening their own, so that they share it when the
server chooses HTTP/2.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable
from time import perf_counter_ns
from typing import Literal

from perfgate_aiohttp_api.client import Connection, Traffic, classify
from perfgate_aiohttp_api.h2client import H2Connection, Lane
from perfgate_aiohttp_api.recorder import Recorder
from perfgate_aiohttp_api.tls import TlsOptions, client_context, tls_reason

HttpVersion = Literal["1.1", "2", "auto"]
Origin = tuple[str, str, int]  # scheme, host, port

#: What a virtual user sends on: its own HTTP/1.1 connection or a lane of an HTTP/2 one.
AnyConnection = Connection | Lane
#: The ``proto`` of HTTP/1.1 connections (the same object: compared by identity).
HTTP1 = Connection.proto

_ALPN = {"1.1": ("http/1.1",), "2": ("h2",), "auto": ("h2", "http/1.1")}
_NOT_H2 = "protocol: the server did not choose HTTP/2 by ALPN"


class _Idle(asyncio.Protocol):
    """The protocol of a socket between the TCP connect and the choice of HTTP version."""


class _OriginState:
    """HTTP/2 connections to one origin, and the one being opened."""

    __slots__ = ("conns", "http1", "opening")

    def __init__(self) -> None:
        self.conns: list[H2Connection] = []
        self.opening: asyncio.Future[str | None] | None = None
        #: The server chose HTTP/1.1 by ALPN: connections are per virtual user from now on.
        self.http1 = False


class Opener:
    """Opens one engine's connections (see the module docstring)."""

    def __init__(self, traffic: Traffic, recorder: Recorder, timeout: float,
                 reached_allowed: Callable[[str, str | None], bool],
                 http_version: HttpVersion = "1.1", tls: TlsOptions | None = None,
                 insecure: bool = False, max_streams: int = 100,
                 address_of: Callable[[str, int], tuple[str, int]] = lambda h, p: (h, p),
                 ) -> None:
        self.traffic = traffic
        #: Where a connection to ``host:port`` goes (``hosts:``); TLS still names ``host``.
        self.address_of = address_of
        self.recorder = recorder
        self.timeout = timeout
        self.reached_allowed = reached_allowed
        self.http_version = http_version
        self.tls_options = tls
        self.insecure = insecure
        self.max_streams = max_streams
        self.origins: dict[Origin, _OriginState] = {}
        self._tls_context: ssl.SSLContext | None = None
        #: Requests converted to HTTP/2, by scheme (``:scheme`` is part of the headers).
        self._converted: dict[str, dict[bytes, tuple[list[tuple[bytes, bytes]], bytes]]] = {
            "http": {}, "https": {}}

    def may_be_h2(self, scheme: str) -> bool:
        if self.http_version == "2":
            return True
        return self.http_version == "auto" and scheme == "https"

    async def open(self, loop: asyncio.AbstractEventLoop,
                   origin: Origin) -> Connection | Lane | str:
        """A connection for one virtual user, or the error kind that kept it from one."""
        if not self.may_be_h2(origin[0]) or self._state(origin).http1:
            got = await self._dial(loop, origin)
            if isinstance(got, H2Connection):  # pragma: no cover - ALPN changed its mind
                got.release()
                return _NOT_H2
            return got
        room = await self._room(loop, origin)
        if isinstance(room, H2Connection):
            return Lane(room, origin[0].encode(), lambda: self._h2_room(loop, origin),
                        self._converted[origin[0]])
        return room

    async def _h2_room(self, loop: asyncio.AbstractEventLoop,
                       origin: Origin) -> H2Connection | str:
        room = await self._room(loop, origin)
        if isinstance(room, Connection):
            room.close()
            return _NOT_H2
        return room

    def _state(self, origin: Origin) -> _OriginState:
        state = self.origins.get(origin)
        if state is None:
            state = self.origins[origin] = _OriginState()
        return state

    async def _room(self, loop: asyncio.AbstractEventLoop,
                    origin: Origin) -> H2Connection | Connection | str:
        """An HTTP/2 connection with a free lane (taken), opened if need be; or HTTP/1.1
        if the server chose it."""
        state = self._state(origin)
        while True:
            if state.http1:
                got = await self._dial(loop, origin)
                return _NOT_H2 if isinstance(got, H2Connection) else got
            state.conns = [c for c in state.conns if not c.closed]
            for conn in state.conns:
                if conn.lanes < conn.capacity:
                    conn.lanes += 1
                    return conn
            if state.opening is not None:
                failed = await asyncio.shield(state.opening)
                if failed is not None:
                    return failed
                continue
            opening = state.opening = loop.create_future()
            try:
                got = await self._dial(loop, origin)
            except BaseException:  # cancelled (the load is over): the waiters stop too
                opening.set_result("interrupted")
                raise
            finally:
                state.opening = None
            if isinstance(got, str):
                opening.set_result(got)
                return got
            opening.set_result(None)
            if isinstance(got, Connection):
                state.http1 = True
                return got
            state.conns.append(got)

    def _context(self) -> ssl.SSLContext:
        """The TLS context, made once: it offers by ALPN what ``http_version`` allows."""
        if self._tls_context is None:
            self._tls_context = client_context(self.tls_options, self.insecure,
                                               _ALPN[self.http_version])
        return self._tls_context

    async def _dial(self, loop: asyncio.AbstractEventLoop,
                    origin: Origin) -> Connection | H2Connection | str:
        """One new connection, timed and checked step by step."""
        scheme, host, port = origin
        started = perf_counter_ns()
        transport: asyncio.Transport | None = None
        try:
            async with asyncio.timeout(self.timeout):
                transport, _ = await loop.create_connection(_Idle,
                                                            *self.address_of(host, port))
                connected = perf_counter_ns()
                peer = transport.get_extra_info("peername")
                if not self.reached_allowed(host, str(peer[0]) if peer else None):
                    transport.abort()  # a name that looks loopback went elsewhere: send nothing
                    return "not_allowed"
                _nodelay(transport)
                self.recorder.connecting.append((connected - started) // 1000)
                h2 = self.http_version == "2"
                if scheme == "https":
                    options = self.tls_options
                    name = options.server_name if options and options.server_name else host
                    tls = await loop.start_tls(transport, transport.get_protocol(),
                                               self._context(), server_hostname=name)
                    if tls is None:  # pragma: no cover - only when the loop is closing
                        return "interrupted"
                    transport = tls
                    self.recorder.tls_handshaking.append(
                        (perf_counter_ns() - connected) // 1000)
                    chosen = tls.get_extra_info("ssl_object").selected_alpn_protocol()
                    if h2 and chosen != "h2":
                        transport.abort()
                        return _NOT_H2
                    h2 = chosen == "h2"
                if not h2:
                    conn = Connection(self.traffic)
                    transport.set_protocol(conn)
                    conn.connection_made(transport)
                    return conn
                h2conn = H2Connection(self.traffic, self.max_streams)
                transport.set_protocol(h2conn)
                h2conn.connection_made(transport)
                await h2conn.start(loop)
                if h2conn.failure is not None:  # not an HTTP/2 server (h2c to HTTP/1.1)
                    return h2conn.failure
                return h2conn
        except ssl.SSLError as exc:
            _abort(transport)
            return f"tls: {tls_reason(exc)}"
        except (OSError, TimeoutError) as exc:
            _abort(transport)
            return classify(exc)

    def close(self) -> None:
        """Close every HTTP/2 connection (the load is over)."""
        for state in self.origins.values():
            for conn in state.conns:
                conn.fail_all("interrupted")
            state.conns.clear()


def _nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _abort(transport: asyncio.Transport | None) -> None:
    if transport is not None:
        transport.abort()
