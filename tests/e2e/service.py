"""A service for end-to-end tests: answers /health, records its PIDs, may spawn a child.

    python service.py --port N --pidfile F [--health-status 500] [--child] [--exit-now]
                      [--exit-after SECONDS]
"""

from __future__ import annotations

import argparse
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pidfile", type=Path, required=True)
    parser.add_argument("--health-status", type=int, default=200)
    parser.add_argument("--child", action="store_true", help="spawn a grandchild process")
    parser.add_argument("--exit-now", action="store_true", help="exit with code 7 at once")
    parser.add_argument("--print-env", default=None, help="print this variable's value")
    parser.add_argument("--log-requests", action="store_true",
                        help="print each request line, as an access log does")
    parser.add_argument("--exit-after", type=float, default=None,
                        help="crash with code 9 this many seconds after starting")
    args = parser.parse_args()
    if args.print_env:
        print(f"{args.print_env}={__import__('os').environ.get(args.print_env)}", flush=True)
    if args.exit_now:
        print("service: refusing to start (on purpose)", flush=True)
        sys.exit(7)
    pids = [str(__import__("os").getpid())]
    if args.child:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        pids.append(str(child.pid))
    args.pidfile.write_text("\n".join(pids) + "\n")
    status = args.health_status
    log_requests = args.log_requests
    if args.exit_after is not None:
        def crash() -> None:
            print("service: out of memory (on purpose)", flush=True)
            os._exit(9)

        threading.Timer(args.exit_after, crash).start()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = status if self.path == "/health" else 200
            body = b'{"ok": true}'
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            if log_requests:
                print(format % args, flush=True)

    http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
