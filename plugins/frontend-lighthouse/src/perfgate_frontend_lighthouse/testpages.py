"""Pages with known speed for tests: a fast one and a deliberately slow one.

:class:`TestPages` serves them on 127.0.0.1 from a thread of the test's own process::

    with TestPages() as pages:
        pages.url("/fast")   # small, no script, no image: Lighthouse scores it near 1.0
        pages.url("/slow")   # what the constants below say, so LCP and TBT are known

The slow page is slow in three ways a real page is, each with a known size:

- a render-blocking script in ``<head>`` (:data:`BLOCKING_SCRIPT_BYTES`, answered after
  :data:`BLOCKING_SCRIPT_DELAY` seconds): nothing paints before it has run;
- a long task: once the page has painted, the script keeps the main thread busy for
  :data:`LONG_TASK_MS` milliseconds in one go (Total Blocking Time counts what a task lasts
  beyond 50 ms);
- a late big image: the page's largest element, an :data:`IMAGE_SIZE` PNG of noise (so it does
  not compress, about 1.4 MB) answered after :data:`IMAGE_DELAY` seconds, so the Largest
  Contentful Paint comes after it.

Every answer carries ``Cache-Control: no-store``; the server counts the requests for each path
(:attr:`TestPages.hits`).
"""

from __future__ import annotations

import random
import struct
import threading
import time
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

BLOCKING_SCRIPT_BYTES = 1_000_000
BLOCKING_SCRIPT_DELAY = 0.8
LONG_TASK_MS = 1200
IMAGE_DELAY = 2.5
IMAGE_SIZE = (800, 600)

FAST_PAGE = b"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="description" content="A small page with nothing to wait for.">
  <title>fast</title>
  <link rel="icon" href="data:,">
</head>
<body><main><h1>Fast page</h1><p>Text that paints at once.</p></main></body>
</html>
"""

SLOW_PAGE = b"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="description" content="A page with a blocking script, a long task and a late image.">
  <title>slow</title>
  <link rel="icon" href="data:,">
  <script src="/slow/blocking.js"></script>
</head>
<body>
  <main>
    <h1>Slow page</h1>
    <img src="/slow/hero.png" alt="noise" width="%d" height="%d">
  </main>
</body>
</html>
""" % IMAGE_SIZE

# After the first paint (a frame, then a task), one task that busy-waits LONG_TASK_MS.
_LONG_TASK = b"""
document.addEventListener("DOMContentLoaded", function () {
  requestAnimationFrame(function () {
    setTimeout(function longTask() {
      var end = performance.now() + %d;
      while (performance.now() < end) {}
    }, 100);
  });
});
""" % LONG_TASK_MS


def _blocking_script() -> bytes:
    """About :data:`BLOCKING_SCRIPT_BYTES` of JavaScript: a big table, then the long task."""
    rows = []
    size = len(_LONG_TASK)
    i = 0
    while size < BLOCKING_SCRIPT_BYTES:
        row = b'"row-%d-%s",' % (i, b"x" * 40)
        rows.append(row)
        size += len(row)
        i += 1
    return b"var table = [" + b"".join(rows) + b"];\n" + _LONG_TASK


def _noise_png(width: int, height: int, seed: int = 15) -> bytes:
    """An RGB PNG of random pixels: as many bytes as pixels times three, whatever zlib does."""
    rng = random.Random(seed)
    raw = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))


class TestPages:
    """The fast and the slow page on ``127.0.0.1`` and a free port, until :meth:`close`."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        routes: dict[str, tuple[float, str, bytes]] = {
            "/fast": (0.0, "text/html; charset=utf-8", FAST_PAGE),
            "/slow": (0.0, "text/html; charset=utf-8", SLOW_PAGE),
            "/slow/blocking.js": (BLOCKING_SCRIPT_DELAY, "text/javascript", _blocking_script()),
            "/slow/hero.png": (IMAGE_DELAY, "image/png", _noise_png(*IMAGE_SIZE)),
        }
        pages = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                pages.hits[path] += 1
                route = routes.get(path)
                if route is None:
                    self.send_error(404)
                    return
                delay, content_type, body = route
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        name="perfgate-testpages", daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        """The address of ``path`` on this server: ``http://127.0.0.1:PORT/slow``."""
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> TestPages:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
