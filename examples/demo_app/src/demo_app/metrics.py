"""The service's Prometheus metrics, with ``prometheus-client``, on a registry of its own.

========================================================  =========  ===========================
metric                                                    kind       labels
========================================================  =========  ===========================
``demo_http_request_duration_seconds``                    histogram  method, route, status
``demo_http_requests_in_flight``                          gauge
``demo_db_query_duration_seconds``                        histogram  operation
``demo_cache_hits_total``, ``demo_cache_misses_total``    counter    cache (records, pages)
``demo_cache_entries``                                    gauge      cache
``demo_records``                                          gauge
``demo_logins_total``                                     counter
``process_*``, ``python_*``                               (the client library's own)
========================================================  =========  ===========================

The request histogram's buckets include the performance plan's thresholds (200 ms target,
400 ms warning, 1 s critical, 800 ms for Apdex's "tolerating"), so alerts and checks at those
values are exact, and are close together below 100 ms, where the demo's answers are, so a p95
read from them is within a few milliseconds. Cache, record and sign-in numbers are read when
``/metrics`` is scraped, which costs requests nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Gauge,
    Histogram,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

#: Seconds. The plan's thresholds (0.2, 0.4, 0.8, 1) are bucket bounds.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05,
                   0.06, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5,
                   2.0, 2.5, 5.0, 10.0)
#: Seconds. The plan's database thresholds (100 ms target, 500 ms critical) are bucket bounds.
QUERY_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                 0.1, 0.25, 0.5, 1.0, 2.5)


class StateCollector(Collector):
    """Numbers the service keeps anyway (cache counters, records, sign-ins), read at scrape."""

    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        now = self.read()
        hits = CounterMetricFamily("demo_cache_hits", "Reads answered from the cache.",
                                   labels=["cache"])
        misses = CounterMetricFamily("demo_cache_misses", "Reads that went to the database.",
                                     labels=["cache"])
        entries = GaugeMetricFamily("demo_cache_entries", "Entries in the cache now.",
                                    labels=["cache"])
        for name, stats in now["caches"].items():
            hits.add_metric([name], stats.hits)
            misses.add_metric([name], stats.misses)
            entries.add_metric([name], stats.entries)
        yield from (hits, misses, entries)
        yield GaugeMetricFamily("demo_records", "Records in the database.", now["records"])
        yield CounterMetricFamily("demo_logins", "Successful sign-ins.", now["logins"])


class ServiceMetrics:
    """The registry ``/metrics`` exposes and the instruments the handlers update."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)
        self.request_duration = Histogram(
            "demo_http_request_duration_seconds",
            "Time from the request's arrival to its answer, by method, route and status.",
            ["method", "route", "status"], buckets=REQUEST_BUCKETS, registry=self.registry)
        self.in_flight = Gauge("demo_http_requests_in_flight",
                               "Requests being answered now.", registry=self.registry)
        self.query_duration = Histogram(
            "demo_db_query_duration_seconds", "Time of one database query, by operation.",
            ["operation"], buckets=QUERY_BUCKETS, registry=self.registry)
        # labels() takes a lock and builds a key; the handlers keep the children instead.
        self._requests: dict[tuple[str, str, int], Any] = {}
        self._queries: dict[str, Any] = {}

    def watch(self, read: Callable[[], dict[str, Any]]) -> None:
        """Expose the state ``read()`` returns (``caches``, ``records``, ``logins``)."""
        self.registry.register(StateCollector(read))

    def observe_request(self, method: str, route: str, status: int, seconds: float,
                        trace_id: str | None = None) -> None:
        """One answered request; a sampled trace id becomes the bucket's exemplar."""
        key = (method, route, status)
        child = self._requests.get(key)
        if child is None:
            child = self._requests[key] = self.request_duration.labels(method, route,
                                                                       str(status))
        child.observe(seconds, {"trace_id": trace_id} if trace_id else None)

    def query_timer(self, span: Callable[[str], AbstractContextManager[Any]] | None = None,
                    ) -> Callable[[str], AbstractContextManager[None]]:
        """A ``timed(operation)`` context manager for the record store's queries."""
        @contextmanager
        def timed(operation: str) -> Iterator[None]:
            child = self._queries.get(operation)
            if child is None:
                child = self._queries[operation] = self.query_duration.labels(operation)
            with span(operation) if span is not None else nullcontext():
                start = time.perf_counter()
                try:
                    yield
                finally:
                    child.observe(time.perf_counter() - start)
        return timed

    def exposition(self, accept: str) -> tuple[bytes, str]:
        """The metrics in the format ``accept`` prefers (OpenMetrics carries exemplars)."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type
