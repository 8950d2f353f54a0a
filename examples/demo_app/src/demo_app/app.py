"""The aiohttp application: API routes, health, Prometheus metrics and the frontend page."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from importlib.resources import files

from aiohttp import web

from demo_app import __version__
from demo_app.api import routes as api_routes
from demo_app.cache import CacheStats, TTLCache
from demo_app.records import RecordStore
from demo_app.state import STATE, DemoState, json_response, state

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Frontend files served from the package: URL path, file name, content type, cache policy.
_STATIC = [
    ("/", "index.html", "text/html", "no-cache"),
    ("/static/app.css", "app.css", "text/css", "public, max-age=3600"),
    ("/static/app.js", "app.js", "text/javascript", "public, max-age=3600"),
]


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count every answered request by method, route and status for ``/metrics``."""
    route = request.match_info.route.resource
    name = route.canonical if route is not None else "unmatched"
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        request.app[STATE].requests[request.method, name, exc.status] += 1
        raise
    request.app[STATE].requests[request.method, name, response.status] += 1
    return response


def _combined(*caches: TTLCache) -> CacheStats:
    stats = [c.stats() for c in caches]
    return CacheStats(sum(s.hits for s in stats), sum(s.misses for s in stats),
                      sum(s.entries for s in stats))


async def health(request: web.Request) -> web.Response:
    """``{"status": "ok", ...}`` with the read cache's counters."""
    s = state(request)
    cache = _combined(s.record_cache, s.page_cache)
    return json_response({
        "status": "ok",
        "version": __version__,
        "uptime_s": round(time.monotonic() - s.started, 3),
        "cache": {"hits": cache.hits, "misses": cache.misses, "entries": cache.entries,
                  "hit_rate": round(cache.hit_rate, 4)},
    })


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


async def metrics(request: web.Request) -> web.Response:
    """Counters in the Prometheus text format."""
    s = state(request)
    lines = [
        "# HELP demo_up Whether the demo service is serving (always 1 when it answers).",
        "# TYPE demo_up gauge",
        "demo_up 1",
        "# HELP demo_uptime_seconds Seconds since the service started.",
        "# TYPE demo_uptime_seconds gauge",
        f"demo_uptime_seconds {time.monotonic() - s.started:.3f}",
        "# HELP demo_records Records in the database.",
        "# TYPE demo_records gauge",
        f"demo_records {s.store.count()}",
        "# HELP demo_logins_total Successful sign-ins.",
        "# TYPE demo_logins_total counter",
        f"demo_logins_total {s.tokens.logins}",
    ]
    caches = {"records": s.record_cache.stats(), "pages": s.page_cache.stats()}
    for metric, kind, help_text, field in [
        ("demo_cache_hits_total", "counter", "Reads answered from the cache.", "hits"),
        ("demo_cache_misses_total", "counter", "Reads that went to the database.", "misses"),
        ("demo_cache_entries", "gauge", "Entries in the cache now.", "entries"),
    ]:
        lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} {kind}"]
        lines += [f'{metric}{{cache="{name}"}} {getattr(st, field)}'
                  for name, st in caches.items()]
    lines += ["# HELP demo_http_requests_total Requests answered, by method, route and status.",
              "# TYPE demo_http_requests_total counter"]
    lines += [
        f'demo_http_requests_total{{method="{_label(method)}",route="{_label(route)}",'
        f'status="{status}"}} {count}'
        for (method, route, status), count in sorted(s.requests.items())
    ]
    return web.Response(text="\n".join(lines) + "\n",
                        content_type="text/plain", charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})


def _static_handler(body: bytes, content_type: str, cache_control: str) -> Handler:
    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=content_type, charset="utf-8",
                            headers={"Cache-Control": cache_control})
    return serve


def create_app(store: RecordStore, cache_ttl: float = 300.0,
               cache_size: int = 10_000) -> web.Application:
    """The demo service over ``store``, with reads cached for ``cache_ttl`` seconds."""
    app = web.Application(middlewares=[count_requests])
    app[STATE] = DemoState(store=store,
                           record_cache=TTLCache(cache_ttl, cache_size),
                           page_cache=TTLCache(cache_ttl, cache_size))
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    app.router.add_routes(api_routes)
    static = files("demo_app") / "static"
    for path, filename, content_type, cache_control in _STATIC:
        body = (static / filename).read_bytes()
        app.router.add_get(path, _static_handler(body, content_type, cache_control))
    return app
