"""What happens around a request beyond sending it: cookies, redirects, decoding, captures
from the head, connections not reused.

The engine calls :meth:`Session.before` when a request or its VU has cookies, and
:meth:`Session.finish` after a response that needs more than its status: a redirect, a
``Set-Cookie`` that matters (:func:`heads.sets_cookie`), a ``header:`` or ``cookie:``
capture, a body to decode, a connection not to reuse (``Prepared.after``). A plain request
on a plain response never gets here.

Each redirect hop is a request of its own in the metrics, as k6 counts them (tagged with
the request's name and the hop's status); the checks and captures see the final response.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from perfgate import render_template
from perfgate_aiohttp_api.connections import HTTP1, AnyConnection
from perfgate_aiohttp_api.cookies import (
    cookie_header,
    new_jar,
    parse_set_cookies,
    store,
    with_header,
)
from perfgate_aiohttp_api.encoding import decode_body
from perfgate_aiohttp_api.heads import ResponseHead, parse_head
from perfgate_aiohttp_api.plan import Prepared, origin_of
from perfgate_aiohttp_api.redirects import REDIRECTS, hop_request, next_url

if TYPE_CHECKING:
    from perfgate_aiohttp_api.engine import VU, Engine


@dataclass
class Final:
    """The last response of a request after its redirects, or the error that ended it."""

    conn: AnyConnection | None
    result: int | str
    start_ns: int
    end_ns: int
    head: ResponseHead | None = None
    #: The body checks and captures read (decoded), or None: the connection's as it came.
    body: bytes | None = None
    #: ``cookie:`` captures: the cookies set along the way, by name.
    set_cookies: dict[str, str] | None = None


class Session:
    """The engine's cookies, redirects and decoding."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.plan = engine.plan
        self.jar_on = self.plan.cookie_jar != "off"
        self.per_iteration = self.plan.cookie_jar == "per-iteration"

    def url_of(self, req: Prepared, values: dict[str, str] | None) -> str:
        return render_template(req.url, values or {}) if req.templated else req.url

    def before(self, vu: VU, req: Prepared, data: bytes,
               values: dict[str, str] | None) -> bytes:
        """``data`` with the ``Cookie`` header the jar and ``cookies:`` give for it."""
        value = cookie_header(vu.jar, self.url_of(req, values), self._own(req, values))
        return with_header(data, "Cookie", value) if value is not None else data

    @staticmethod
    def _own(req: Prepared, values: dict[str, str] | None) -> dict[str, str]:
        """The request's ``cookies:``, templates filled."""
        if not req.templated or not req.cookies:
            return req.cookies
        return {name: render_template(value, values or {})
                for name, value in req.cookies.items()}

    async def finish(self, vu: VU, req: Prepared, conn: AnyConnection, result: int | str,
                     start_ns: int, end_ns: int, data: bytes,
                     values: dict[str, str] | None) -> Final:
        """Store cookies, follow redirects (each hop recorded), decode the final body."""
        engine = self.engine
        url = self.url_of(req, values)
        host = origin_of(url)[0][1]
        method = req.method
        hops = 0
        set_cookies: dict[str, str] | None = {} if any(
            kind == "cookie" for kind, _ in req.header_captures.values()) else None
        while True:
            head = parse_head(conn.head_bytes) if result.__class__ is int else None
            if head is not None:
                morsels = parse_set_cookies(head.all("set-cookie")) \
                    if self.jar_on or set_cookies is not None else []
                if morsels and self.jar_on:
                    if vu.jar is None:
                        vu.jar = new_jar()
                    store(vu.jar, morsels, url)
                if set_cookies is not None:
                    set_cookies.update((m.key, m.value) for m in morsels)
            if not self.plan.connection_reuse:
                self._drop(vu, conn)
            location = head.get("location") if head is not None else None
            if result not in REDIRECTS or hops >= req.follow or location is None:
                break
            self._record_hop(req, result, start_ns, end_ns, conn)
            hops += 1
            try:
                new_url = next_url(url, location)
                method, data = hop_request(data, result, method, url, new_url)
                origin = origin_of(new_url)[0]
            except ValueError:  # not an http(s) URL: the redirect cannot be followed
                return self._failed(req, "protocol", perf_counter_ns())
            url = new_url
            # the jar's cookies for the new URL, and the request's own on its own host
            value = cookie_header(vu.jar, url, self._own(req, values)
                                  if origin[1] == host else {})
            if value is not None:
                data = with_header(data, "Cookie", value)
            start_ns = perf_counter_ns()
            try:
                opened = await engine._connection(vu, origin)
                if isinstance(opened, str):  # refused (not_allowed) or failed: why
                    return self._failed(req, opened, start_ns)
                conn = opened
                start_ns = perf_counter_ns()
                conn.timeout_ns = req.timeout_ns
                result = await conn.send(data, engine.loop, req.keep_body,
                                         method == "HEAD", req.search)
                conn.timeout_ns = 0
            except asyncio.CancelledError:
                engine._record_cancelled(req, start_ns)
                raise
            end_ns = perf_counter_ns()
            if conn.closed:
                engine.conns.discard(conn)
        body = None
        if req.decode and head is not None:
            body = decode_body(conn.body_bytes(), head.joined("content-encoding"))
        return Final(conn, result, start_ns, end_ns, head, body, set_cookies)

    def _drop(self, vu: VU, conn: AnyConnection) -> None:
        """``connection_reuse: false``: the connection ends with its request."""
        for origin, open_conn in list(vu.conns.items()):
            if open_conn is conn:
                del vu.conns[origin]
        conn.close()
        self.engine.conns.discard(conn)

    def _failed(self, req: Prepared, kind: str, start_ns: int) -> Final:
        """A hop that could not be sent: the request failed with ``kind``."""
        self.engine._record(req, kind, start_ns, perf_counter_ns(), None)
        return Final(None, kind, start_ns, perf_counter_ns())

    def _record_hop(self, req: Prepared, status: int, start_ns: int, end_ns: int,
                    conn: AnyConnection) -> None:
        """A redirect response: one request in the metrics, as k6 counts it."""
        proto = conn.proto
        key: Any = status if proto is HTTP1 else (proto, status)  # as the engine keys them
        cell = req.cells.get(key)
        if cell is None:
            cell = req.cells[key] = self.engine.recorder.cell(req.label, req.method, status,
                                                              None, proto)
        cell.durations.append((end_ns - start_ns) // 1000)
        if conn.first_byte_ns:
            cell.waiting.append((conn.first_byte_ns - conn.sent_ns) // 1000)
            cell.receiving.append((end_ns - conn.first_byte_ns) // 1000)


def header_values(final: Final,
                  sources: Mapping[str, tuple[str, Any]]) -> dict[str, str | None]:
    """The ``header:`` and ``cookie:`` captures of a request from its final response."""
    out: dict[str, str | None] = {}
    for name, (kind, key) in sources.items():
        if kind == "header":
            out[name] = final.head.joined(key) if final.head is not None else None
        else:
            out[name] = (final.set_cookies or {}).get(key)
    return out
