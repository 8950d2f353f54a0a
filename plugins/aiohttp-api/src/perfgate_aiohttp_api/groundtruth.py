"""A local HTTP server whose behaviour is known exactly, to test load drivers against.

Run it in its own process::

    python -m perfgate_aiohttp_api.groundtruth --port 0    # prints "listening http://127.0.0.1:PORT"

or from a test::

    from perfgate_aiohttp_api.groundtruth import running_server

    with running_server() as server:          # a free port; stopped by PID afterwards
        ...load server.url + "/delay/50"...
        assert server.counters()["paths"]["/delay/50"] == expected

Endpoints (``/control/*`` are not counted and never stalled):

====================================  ==========================================================
``GET /health``, ``GET /``            ``ok``
``ANY /delay/{ms}``                   answers after exactly ``ms`` milliseconds (JSON)
``ANY /slow-after/{s}/{ms}``          at once for ``s`` seconds after its first request,
                                      then after ``ms`` milliseconds (a server turning slow)
``ANY /errors/{k}/{n}``               the first ``k`` of every ``n`` requests to this path fail
                                      (status ``?status=``, default 500); the rest are 200
``ANY /status/{code}``                answers with that status
``ANY /hang/{n}``                     every ``n``-th request to this path never answers (the
                                      ``n``-th, ``2n``-th...); the others are 200 at once
``GET /bytes/{n}``                    ``n`` bytes of body
``ANY /echo``                         the request as JSON: method, path, query, headers, body
``POST /login``                       ``{"token": ..., "user": ...}`` (JSON body ``{"user"}``)
``GET /me``                           200 with ``Authorization: Bearer <token>`` from /login,
                                      else 401
``POST /items``, ``GET /items/{id}``  create an item (``{"id": n, ...}``, 201) and read it back
``POST /control/stall?seconds=S``     every response waits until S seconds from now
``GET /control/counters``             ``{"total", "failed", "paths": {path: count}}``
``GET /control/served?path=P&p=95``   the server's own time spent on ``P`` at percentile p
                                      (ms, from handler entry to response ready)
``GET /control/arrivals?path=P``      epoch times at which requests to ``P`` arrived
``GET /control/logins``               ``{user: count}`` of every ``POST /login``
``POST /control/reset``               zero the counters
====================================  ==========================================================

A second listener, :attr:`RunningServer.raw_url`, answers with hand-written bytes what a
well-behaved framework never sends (each counted under its path like the others):

====================================  ==========================================================
``GET /close-delimited/{n}``          ``n`` bytes of body with neither ``Content-Length`` nor
                                      chunking: the body ends when the server closes (as
                                      Python's ``http.server`` does)
``GET /early-hints``                  ``103 Early Hints``, then ``200`` with ``early-hints-final``
                                      as body, on a keep-alive connection
``GET /truncated``                    ``Content-Length: 100``, 10 bytes of body, then close
``GET /status-999``                   a ``999`` status with an empty body
``GET /large/{n}``                    ``n`` bytes of body (``Content-Length``), written 1 MiB
                                      at a time: ``x`` all along, and ``the-end`` as the
                                      last 7
====================================  ==========================================================
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import select
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web


class GroundTruth:
    """The server's state: counters, stall, sessions and items."""

    def __init__(self) -> None:
        self.total = 0
        self.failed = 0
        self.paths: dict[str, int] = {}
        self.stall_until = 0.0
        self.tokens: dict[str, str] = {}
        #: POST /login calls by user name
        self.logins: dict[str, int] = {}
        self.items: dict[int, Any] = {}
        #: ms each /delay request really took inside the server (timers can run late)
        self.served: dict[str, list[float]] = {}
        #: epoch times requests arrived, by path
        self.arrivals: dict[str, list[float]] = {}
        #: /slow-after: when each path got its first request (monotonic)
        self.first_seen: dict[str, float] = {}

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_get("/", self.ok)
        r.add_get("/health", self.ok)
        r.add_route("*", "/delay/{ms}", self.delay)
        r.add_route("*", "/slow-after/{seconds}/{ms}", self.slow_after)
        r.add_route("*", "/errors/{k}/{n}", self.errors)
        r.add_route("*", "/status/{code}", self.status)
        r.add_route("*", "/hang/{n}", self.hang)
        r.add_get("/bytes/{n}", self.bytes)
        r.add_route("*", "/echo", self.echo)
        r.add_post("/login", self.login)
        r.add_get("/me", self.me)
        r.add_post("/items", self.create_item)
        r.add_get("/items/{id}", self.get_item)
        r.add_post("/control/stall", self.stall)
        r.add_get("/control/counters", self.counters)
        r.add_get("/control/served", self.served_time)
        r.add_get("/control/arrivals", self.arrival_times)
        r.add_get("/control/logins", self.login_counts)
        r.add_post("/control/reset", self.reset)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                          ) -> web.StreamResponse:
        if request.path.startswith("/control/"):
            return await handler(request)
        started = time.perf_counter()
        self.total += 1
        self.paths[request.path] = self.paths.get(request.path, 0) + 1
        arrivals = self.arrivals.setdefault(request.path, [])
        if len(arrivals) < 1_000_000:
            arrivals.append(time.time())
        response = await handler(request)
        wait = self.stall_until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if response.status >= 400:
            self.failed += 1
        if request.path.startswith("/delay/"):
            served = self.served.setdefault(request.path, [])
            if len(served) < 1_000_000:
                served.append((time.perf_counter() - started) * 1000)
        return response

    async def ok(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def delay(self, request: web.Request) -> web.Response:
        ms = float(request.match_info["ms"])
        await asyncio.sleep(ms / 1000)
        return web.json_response({"delay_ms": ms})

    async def slow_after(self, request: web.Request) -> web.Response:
        now = time.monotonic()
        first = self.first_seen.setdefault(request.path, now)
        slow = now - first >= float(request.match_info["seconds"])
        if slow:
            await asyncio.sleep(float(request.match_info["ms"]) / 1000)
        return web.json_response({"slow": slow})

    async def errors(self, request: web.Request) -> web.Response:
        k, n = int(request.match_info["k"]), int(request.match_info["n"])
        seen = self.paths[request.path] - 1  # this request's 0-based position on the path
        if seen % n < k:
            return web.json_response({"error": True},
                                     status=int(request.query.get("status", 500)))
        return web.json_response({"error": False})

    async def status(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="status")

    async def hang(self, request: web.Request) -> web.Response:
        if self.paths[request.path] % int(request.match_info["n"]) == 0:
            await asyncio.sleep(3600)  # cancelled when the client goes away
        return web.Response(text="ok")

    async def bytes(self, request: web.Request) -> web.Response:
        return web.Response(body=b"x" * int(request.match_info["n"]))

    async def echo(self, request: web.Request) -> web.Response:
        body = await request.text()
        return web.json_response({"method": request.method, "path": request.path,
                                  "query": dict(request.query),
                                  "headers": dict(request.headers), "body": body})

    async def login(self, request: web.Request) -> web.Response:
        data = await request.json()
        token = secrets.token_hex(8)
        user = self.tokens[token] = str(data.get("user", "anonymous"))
        self.logins[user] = self.logins.get(user, 0) + 1
        return web.json_response({"token": token, "user": user})

    async def login_counts(self, request: web.Request) -> web.Response:
        return web.json_response(self.logins)

    async def me(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"user": self.tokens[token]})

    async def create_item(self, request: web.Request) -> web.Response:
        data = await request.json()
        item_id = len(self.items) + 1
        self.items[item_id] = {"id": item_id, **data}
        return web.json_response(self.items[item_id], status=201)

    async def get_item(self, request: web.Request) -> web.Response:
        item = self.items.get(int(request.match_info["id"]))
        if item is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(item)

    async def stall(self, request: web.Request) -> web.Response:
        seconds = float(request.query.get("seconds", "1"))
        self.stall_until = time.monotonic() + seconds
        return web.json_response({"stalled_for": seconds})

    async def counters(self, request: web.Request) -> web.Response:
        return web.json_response({"total": self.total, "failed": self.failed,
                                  "paths": self.paths})

    async def served_time(self, request: web.Request) -> web.Response:
        values = sorted(self.served.get(request.query["path"], []))
        if not values:
            return web.json_response({"count": 0, "ms": None})
        p = float(request.query.get("p", "50"))
        index = min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))
        return web.json_response({"count": len(values), "ms": values[index]})

    async def arrival_times(self, request: web.Request) -> web.Response:
        return web.json_response(self.arrivals.get(request.query["path"], []))

    async def reset(self, request: web.Request) -> web.Response:
        self.total = self.failed = 0
        self.paths = {}
        self.logins = {}
        self.served = {}
        self.arrivals = {}
        self.first_seen = {}
        return web.json_response({"reset": True})


_RAW_EARLY_HINTS = (b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                    b"HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\nearly-hints-final")


async def _raw_connection(truth: GroundTruth, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
    """Answer requests on one connection of the raw listener (GET only, no request bodies)."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode("latin-1").split("?", 1)[0]
            truth.total += 1
            truth.paths[path] = truth.paths.get(path, 0) + 1
            if path.startswith("/close-delimited/"):
                size = int(path.rsplit("/", 1)[1])
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
                writer.write(b"x" * size)
                break
            if path == "/early-hints":
                writer.write(_RAW_EARLY_HINTS)
            elif path == "/truncated":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
                break
            elif path == "/status-999":
                writer.write(b"HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n")
            elif path.startswith("/large/"):
                await _write_large(writer, int(path.rsplit("/", 1)[1]))
            else:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
            IndexError, ValueError):
        pass
    finally:
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()


async def _write_large(writer: asyncio.StreamWriter, size: int) -> None:
    """``size`` bytes of body, ending in ``the-end``, a MiB at a time: never held whole."""
    end = b"the-end"
    size = max(size, len(end))
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
    piece = b"x" * (1 << 20)
    left = size - len(end)
    while left > 0:
        writer.write(piece[:left])
        left -= len(piece)
        await writer.drain()
    writer.write(end)


async def serve(host: str, port: int, raw_port: int = 0) -> None:
    truth = GroundTruth()
    runner = web.AppRunner(truth.app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    server = site._server  # the only way aiohttp exposes the bound port
    sockets = getattr(server, "sockets", None)
    bound = sockets[0].getsockname()[1] if sockets else port
    raw = await asyncio.start_server(lambda r, w: _raw_connection(truth, r, w), host,
                                     raw_port)
    raw_bound = raw.sockets[0].getsockname()[1]
    print(f"raw http://{host}:{raw_bound}", flush=True)
    print(f"listening http://{host}:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    raw.close()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        asyncio.run(serve(args.host, args.port))
    else:
        uvloop.run(serve(args.host, args.port))


# -- use from tests ----------------------------------------------------------------------
@dataclass
class RunningServer:
    """A ground-truth server in its own process group, with helpers to ask it things."""

    url: str
    pid: int
    #: The raw listener: hand-written responses (close-delimited bodies, 103, ...).
    raw_url: str = ""

    def _call(self, method: str, path: str) -> Any:
        req = urllib.request.Request(self.url + path, method=method, data=b"" if
                                     method == "POST" else None)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def counters(self) -> dict[str, Any]:
        """``{"total", "failed", "paths": {path: count}}`` since the start or the last reset."""
        counters: dict[str, Any] = self._call("GET", "/control/counters")
        return counters

    def served(self, path: str, percentile: float) -> float | None:
        """Milliseconds the server itself spent on ``path`` at ``percentile`` (``/delay`` only)."""
        ms: float | None = self._call("GET", f"/control/served?path={path}&p={percentile}")["ms"]
        return ms

    def arrivals(self, path: str) -> list[float]:
        """Epoch times at which requests to ``path`` arrived, in order."""
        arrivals: list[float] = self._call("GET", f"/control/arrivals?path={path}")
        return arrivals

    def logins(self) -> dict[str, int]:
        """How many times each user name signed in (``POST /login``)."""
        logins: dict[str, int] = self._call("GET", "/control/logins")
        return logins

    def reset(self) -> None:
        self._call("POST", "/control/reset")

    def stall(self, seconds: float) -> None:
        """Make every response wait until ``seconds`` from now."""
        self._call("POST", f"/control/stall?seconds={seconds}")


@contextlib.contextmanager
def running_server(timeout: float = 20.0) -> Iterator[RunningServer]:
    """Start the server on a free loopback port; stop it (by PID) when the block ends."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "perfgate_aiohttp_api.groundtruth", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url, raw_url = _wait_listening(proc, timeout)
        yield RunningServer(url, proc.pid, raw_url)
    finally:
        _stop(proc)


def _wait_listening(proc: subprocess.Popen[bytes], timeout: float) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buffer = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            chunk = os.read(fd, 4096)
            buffer += chunk
            raw = ""
            for line in buffer.decode(errors="replace").splitlines():
                if line.startswith("raw "):
                    raw = line.split(" ", 1)[1].strip()
                if line.startswith("listening "):
                    return line.split(" ", 1)[1].strip(), raw
            if chunk:
                continue
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"ground-truth server exited with {proc.returncode}: {err}")
    raise RuntimeError("ground-truth server did not start in time")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


if __name__ == "__main__":
    main()
