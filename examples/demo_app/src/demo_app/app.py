"""The aiohttp application: API routes, health, Prometheus metrics, tracing and the frontend."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import Any

from aiohttp import web

from demo_app import __version__
from demo_app.api import routes as api_routes
from demo_app.cache import CacheStats, TTLCache
from demo_app.records import RecordStore
from demo_app.state import STATE, DemoState, json_response, state
from demo_app.telemetry import TELEMETRY, Telemetry
from demo_app.tracing import parse_traceparent

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Frontend files served from the package: URL path, file name, content type, cache policy.
_STATIC = [
    ("/", "index.html", "text/html", "no-cache"),
    ("/static/app.css", "app.css", "text/css", "public, max-age=3600"),
    ("/static/app.js", "app.js", "text/javascript", "public, max-age=3600"),
]


def observe_requests(telemetry: Telemetry) -> Any:
    """Middleware: time every request, count it in flight, and trace it when it carries
    a ``traceparent`` (exemplar, trace log, span)."""
    metrics, trace_log, spans = telemetry.metrics, telemetry.trace_log, telemetry.spans
    in_flight = metrics.in_flight

    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        trace = parse_traceparent(request.headers.get("traceparent"))
        status = 500
        in_flight.inc()
        try:
            if spans is not None and trace is not None:
                with spans.server_span(request.headers, request.method, route) as span:
                    response = await handler(request)
                    span.set_attribute("http.response.status_code", response.status)
            else:
                response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            in_flight.dec()
            seconds = time.perf_counter() - start
            metrics.observe_request(request.method, route, status, seconds,
                                    trace.trace_id if trace is not None and trace.sampled
                                    else None)
            if trace is not None and trace_log is not None:
                trace_log.record(trace, request.method, route, status, seconds)

    return observe


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


async def metrics(request: web.Request) -> web.Response:
    """The service's metrics in the Prometheus text format (OpenMetrics when asked for)."""
    body, content_type = request.app[TELEMETRY].metrics.exposition(
        request.headers.get("Accept", ""))
    return web.Response(body=body, headers={"Content-Type": content_type,
                                            "X-Content-Type-Options": "nosniff"})


def _static_handler(body: bytes, content_type: str, cache_control: str) -> Handler:
    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=content_type, charset="utf-8",
                            headers={"Cache-Control": cache_control})
    return serve


def create_app(store: RecordStore, cache_ttl: float = 300.0, cache_size: int = 10_000,
               telemetry: Telemetry | None = None) -> web.Application:
    """The demo service over ``store``, with reads cached for ``cache_ttl`` seconds.

    ``telemetry`` holds the metrics (a new registry if not given), the trace log and the span
    exporter; the store's queries are timed into it.
    """
    telemetry = telemetry or Telemetry()
    app = web.Application(middlewares=[observe_requests(telemetry)])
    demo = DemoState(store=store, record_cache=TTLCache(cache_ttl, cache_size),
                     page_cache=TTLCache(cache_ttl, cache_size))
    app[STATE] = demo
    app[TELEMETRY] = telemetry
    store.timed = telemetry.metrics.query_timer(
        telemetry.spans.query_span if telemetry.spans is not None else None)
    telemetry.metrics.watch(lambda: {
        "caches": {"records": demo.record_cache.stats(), "pages": demo.page_cache.stats()},
        "records": store.count(), "logins": demo.tokens.logins})
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    app.router.add_routes(api_routes)
    static = files("demo_app") / "static"
    for path, filename, content_type, cache_control in _STATIC:
        body = (static / filename).read_bytes()
        app.router.add_get(path, _static_handler(body, content_type, cache_control))
    return app
