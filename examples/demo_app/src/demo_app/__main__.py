"""``python -m demo_app``: run the demo service until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from demo_app import __version__
from demo_app.server import ServerOptions, serve


def parse_args(argv: list[str] | None = None) -> ServerOptions:
    """The command line as :class:`ServerOptions`."""
    parser = argparse.ArgumentParser(
        prog="python -m demo_app",
        description="perfgate's demo service: a JSON API over SQLite records with a read "
                    "cache, a slow and a flaky endpoint, sign-in, and a frontend page.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000,
                        help="port to listen on; 0 picks a free one (default: %(default)s)")
    parser.add_argument("--db", type=Path, metavar="PATH",
                        help="SQLite file to use and keep (default: a temporary file "
                             "removed on exit)")
    parser.add_argument("--seed", type=int, default=100, metavar="N",
                        help="records to create when the database is empty "
                             "(default: %(default)s)")
    parser.add_argument("--cache-ttl", type=float, default=300.0, metavar="SECONDS",
                        help="how long reads stay cached; 0 disables the cache "
                             "(default: %(default)s)")
    parser.add_argument("--loop", choices=["auto", "uvloop", "asyncio"], default="auto",
                        help="event loop; auto uses uvloop when installed")
    parser.add_argument("--access-log", action="store_true",
                        help="log every request to stderr (slows the service down)")
    parser.add_argument("--trace-log", type=Path, metavar="PATH",
                        help="append one JSON line per request that carries a traceparent "
                             "header (trace id, route, status, duration)")
    parser.add_argument("--version", action="version", version=f"demo_app {__version__}")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, got {args.port}")
    return ServerOptions(host=args.host, port=args.port, db=args.db, seed=args.seed,
                         cache_ttl=args.cache_ttl, loop=args.loop,
                         access_log=args.access_log, trace_log=args.trace_log)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m demo_app`` and the ``perfgate-demo-app`` script."""
    options = parse_args(argv)
    if options.access_log:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    return serve(options)


if __name__ == "__main__":
    raise SystemExit(main())
