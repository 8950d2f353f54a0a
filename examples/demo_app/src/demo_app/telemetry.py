"""What the service tells about itself: metrics, the trace log and exported spans."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from demo_app.metrics import ServiceMetrics
from demo_app.tracing import SpanExport, TraceLog


@dataclass
class Telemetry:
    """The metrics registry, and the trace log and span exporter when they are configured."""

    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)
    trace_log: TraceLog | None = None
    spans: SpanExport | None = None

    def close(self) -> None:
        """Write out the trace log and the buffered spans."""
        if self.trace_log is not None:
            self.trace_log.close()
        if self.spans is not None:
            self.spans.shutdown()


TELEMETRY = web.AppKey("demo_telemetry", Telemetry)
