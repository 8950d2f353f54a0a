"""W3C trace context: the ``traceparent`` a request carries, the trace log, OpenTelemetry spans.

Every request with a valid ``traceparent`` header (``00-<trace id>-<parent id>-<flags>``) is
traced: its trace id goes into the latency histogram as an exemplar when the sampled flag is
set, into the trace log when ``--trace-log`` is given (one JSON line per request, so a test or
a person can find the requests perfgate's report names), and, when an OpenTelemetry exporter
is configured through the standard environment variables (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_TRACES_EXPORTER``), into a server span that
continues the caller's trace. Without any of these a request costs one header lookup more.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE = "0" * 32
_ZERO_PARENT = "0" * 16


@dataclass(frozen=True, slots=True)
class TraceParent:
    """A valid W3C ``traceparent`` header."""

    trace_id: str
    parent_id: str
    sampled: bool


def parse_traceparent(header: str | None) -> TraceParent | None:
    """The trace context of a ``traceparent`` header, or None when absent or invalid.

    As the W3C Trace Context spec says: lowercase hex, version ``ff`` and all-zero ids are
    invalid, and a version above ``00`` may carry more fields after the flags.
    """
    if not header:
        return None
    match = _TRACEPARENT.match(header.strip())
    if match is None:
        return None
    version, trace_id, parent_id, flags = match.groups()
    rest = header.strip()[match.end():]
    if (version == "ff" or (version == "00" and rest) or (rest and not rest.startswith("-"))
            or trace_id == _ZERO_TRACE or parent_id == _ZERO_PARENT):
        return None
    return TraceParent(trace_id, parent_id, bool(int(flags, 16) & 1))


class TraceLog:
    """Appends one JSON line per traced request to a file: what a test reads back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] = path.open("a", encoding="utf-8", buffering=1 << 16)

    def record(self, trace: TraceParent, method: str, route: str, status: int,
               duration_s: float) -> None:
        self._file.write(json.dumps({
            "trace_id": trace.trace_id, "parent_id": trace.parent_id, "sampled": trace.sampled,
            "method": method, "route": route, "status": status,
            "duration_ms": round(duration_s * 1000, 3)}, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self._file.close()


def read_trace_log(path: Path) -> list[dict[str, Any]]:
    """The records of a trace log."""
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def exporter_configured(environ: Mapping[str, str] = os.environ) -> bool:
    """True when the environment asks for spans to be exported."""
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
                or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


class SpanExport:
    """OpenTelemetry tracing: server spans for requests, client spans for database queries.

    The exporter is chosen by ``OTEL_TRACES_EXPORTER`` (``otlp``, the default, over HTTP, or
    ``console``) and configured by the usual ``OTEL_EXPORTER_OTLP_*`` variables; the service
    is named ``demo-app`` unless ``OTEL_SERVICE_NAME`` says otherwise.
    """

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        from demo_app import __version__

        exporter: SpanExporter
        if environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter
            exporter = ConsoleSpanExporter()
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            exporter = OTLPSpanExporter()
        resource = Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME", "demo-app"),
                                    "service.version": __version__})
        self.provider = TracerProvider(resource=resource)
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("demo_app", __version__)
        self.propagator = TraceContextTextMapPropagator()

    def server_span(self, headers: Mapping[str, str], method: str, route: str) -> Any:
        """A context manager: the span of one request, a child of the caller's span."""
        from opentelemetry.trace import SpanKind
        return self.tracer.start_as_current_span(
            f"{method} {route}", context=self.propagator.extract(headers),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": route})

    def query_span(self, operation: str) -> Any:
        """A context manager: the span of one database query inside a traced request (outside
        one, at a scrape for example, nothing)."""
        from opentelemetry.trace import SpanKind, get_current_span
        if not get_current_span().is_recording():
            return nullcontext()
        return self.tracer.start_as_current_span(
            f"sqlite {operation}", kind=SpanKind.CLIENT,
            attributes={"db.system.name": "sqlite", "db.operation.name": operation})

    def shutdown(self) -> None:
        """Export what is buffered and stop."""
        self.provider.shutdown()
