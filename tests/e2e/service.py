"""A service for end-to-end tests: answers /health, records its PIDs, may spawn a child.

    python service.py --port N --pidfile F [--health-status 500] [--child] [--exit-now]
                      [--exit-after SECONDS] [--burn SHARE --burn-log FILE] [--threads N]
                      [--open-files N] [--memory MB]

With ``--burn`` a child process uses SHARE of one core (0.5: half of it) and appends
``<epoch time> <its CPU seconds>`` to the burn log every 100 ms: the ground truth of the
service's CPU over any window. ``--threads``, ``--open-files`` and ``--memory`` hold that many
idle threads, open files and megabytes of touched memory while it runs.
"""

from __future__ import annotations

import argparse
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

BURNER = """
import sys, time
share, log = float(sys.argv[1]), open(sys.argv[2], "a", buffering=1)
start, last = time.monotonic(), 0.0
while True:
    now = time.monotonic()
    if now - last >= 0.1:
        log.write(f"{time.time()} {time.process_time()}\\n")
        last = now
    if time.process_time() < share * (now - start):
        deadline = time.process_time() + 0.005
        while time.process_time() < deadline:
            pass
    else:
        time.sleep(0.005)
"""


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
    parser.add_argument("--burn", type=float, default=None, metavar="SHARE",
                        help="a child process that uses this share of one core")
    parser.add_argument("--burn-log", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=0, help="idle threads to hold")
    parser.add_argument("--open-files", type=int, default=0, help="open files to hold")
    parser.add_argument("--memory", type=int, default=0, help="megabytes of memory to hold")
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
    if args.burn is not None:
        burner = subprocess.Popen([sys.executable, "-c", BURNER, str(args.burn),
                                   str(args.burn_log)], stdin=subprocess.DEVNULL)
        pids.append(str(burner.pid))
    idle = threading.Event()
    for _ in range(args.threads):
        threading.Thread(target=idle.wait, daemon=True).start()
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(args.open_files)]  # until exit
    memory = bytearray(args.memory * 1024 * 1024)
    for i in range(0, len(memory), 4096):  # touched, so it is resident
        memory[i] = 1
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

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()
    del held, memory


if __name__ == "__main__":
    main()
