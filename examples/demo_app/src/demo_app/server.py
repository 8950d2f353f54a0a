"""Running the service as a process: database file, event loop, listening, shutdown.

SIGTERM and SIGINT stop the service gracefully: it stops accepting connections, lets
requests in flight finish (up to ``shutdown_timeout``), closes the database and removes the
temporary database it created.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.log import access_logger

from demo_app import __version__
from demo_app.app import create_app
from demo_app.records import RecordStore
from demo_app.telemetry import Telemetry
from demo_app.tracing import SpanExport, TraceLog, exporter_configured

#: aiohttp's default access log line, with the caller's trace context at the end.
ACCESS_LOG_FORMAT = ('%a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i" %Tfs '
                     'traceparent=%{traceparent}i')


@dataclass(frozen=True)
class ServerOptions:
    """How to run the service (the command line's options)."""

    host: str = "127.0.0.1"
    port: int = 8000
    #: A database file to use and keep; None: a temporary one removed on exit.
    db: Path | None = None
    seed: int = 100
    cache_ttl: float = 300.0
    loop: str = "auto"  # auto | uvloop | asyncio
    access_log: bool = False
    #: A file to append one JSON line to per request that carried a ``traceparent``.
    trace_log: Path | None = None
    shutdown_timeout: float = 5.0


def loop_factory(choice: str) -> tuple[str, Callable[[], asyncio.AbstractEventLoop] | None]:
    """The event loop to run on: uvloop when installed (``auto``) or asked for."""
    if choice in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise
        else:
            return "uvloop", uvloop.new_event_loop
    return "asyncio", None


def _say(message: str) -> None:
    print(f"demo_app: {message}", flush=True)


async def _serve(options: ServerOptions, loop_name: str) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    temp_dir: Path | None = None
    if options.db is None:
        temp_dir = Path(tempfile.mkdtemp(prefix="perfgate-demo-"))
        db_path = temp_dir / "records.sqlite3"
    else:
        db_path = options.db
    store: RecordStore | None = None
    runner: web.AppRunner | None = None
    telemetry = Telemetry()
    try:
        if options.trace_log is not None:
            try:
                telemetry.trace_log = TraceLog(options.trace_log)
            except OSError as exc:
                print(f"demo_app: cannot write the trace log {options.trace_log}: "
                      f"{exc.strerror}", file=sys.stderr, flush=True)
                return 1
        if exporter_configured():
            telemetry.spans = SpanExport()
        try:
            store = RecordStore(db_path)
        except sqlite3.Error as exc:
            print(f"demo_app: cannot open the database {db_path}: {exc}",
                  file=sys.stderr, flush=True)
            return 1
        seeded = store.seed(options.seed)
        runner = web.AppRunner(create_app(store, options.cache_ttl, telemetry=telemetry),
                               access_log=access_logger if options.access_log else None,
                               access_log_format=ACCESS_LOG_FORMAT,
                               shutdown_timeout=options.shutdown_timeout)
        await runner.setup()
        site = web.TCPSite(runner, options.host, options.port, backlog=1024,
                           reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            print(f"demo_app: cannot listen on {options.host}:{options.port}: {exc.strerror}",
                  file=sys.stderr, flush=True)
            return 1
        kept = "temporary, removed on exit" if temp_dir else "kept on exit"
        _say(f"database {db_path} ({kept}; {seeded} records seeded)")
        if telemetry.trace_log is not None:
            _say(f"trace log {telemetry.trace_log.path}")
        if telemetry.spans is not None:
            _say("exporting spans (OpenTelemetry, configured by OTEL_* variables)")
        host, port = runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in host else host
        _say(f"{__version__} listening on http://{shown}:{port} ({loop_name})")
        await stop.wait()
        _say("stopping")
        return 0
    finally:
        if runner is not None:
            await runner.cleanup()
        telemetry.close()
        if store is not None:
            store.close()
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
        _say("stopped")


def serve(options: ServerOptions) -> int:
    """Run the service until SIGTERM or SIGINT; returns the process exit code."""
    loop_name, factory = loop_factory(options.loop)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(_serve(options, loop_name))
