"""The service's metrics and traces against known requests: delays, counts, trace ids."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from demo_app.tracing import parse_traceparent, read_trace_log

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
DURATION = "demo_http_request_duration_seconds"


def traceparent(trace_id: str = TRACE_ID, sampled: bool = True) -> dict[str, str]:
    return {"traceparent": f"00-{trace_id}-{PARENT_ID}-{'01' if sampled else '00'}"}


def test_the_request_histogram_puts_a_known_delay_in_its_bucket(demo):
    for _ in range(3):
        assert demo.get("/api/slow?ms=50").status == 200
    m = demo.metrics()
    labels = 'method="GET",route="/api/slow",status="200"'
    assert m[f'{DURATION}_bucket{{le="0.05",{labels}}}'] == 0  # never faster than the delay
    assert m[f'{DURATION}_bucket{{le="0.1",{labels}}}'] == 3
    assert m[f"{DURATION}_count{{{labels}}}"] == 3
    assert 0.150 <= m[f"{DURATION}_sum{{{labels}}}"] < 0.3


def test_requests_in_flight_are_counted_while_they_run(demo):
    threads = [threading.Thread(target=demo.get, args=("/api/slow?ms=1500",))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        # the three slow requests and the scrape itself
        deadline = threading.Event()
        for _ in range(50):
            if demo.metrics()["demo_http_requests_in_flight"] == 4:
                break
            deadline.wait(0.02)
        else:
            pytest.fail("never saw 3 slow requests in flight")
    finally:
        for thread in threads:
            thread.join()
    assert demo.metrics()["demo_http_requests_in_flight"] == 1


def test_database_queries_are_timed_by_operation(demo):
    demo.get("/api/records/1")          # miss: one get
    demo.get("/api/records/1")          # hit: no query
    demo.get("/api/records?limit=5")    # miss: count and page
    demo.call("POST", "/api/records", {"name": "x", "value": 1})  # create
    m = demo.metrics()
    queries = {k.split('"')[1]: v for k, v in m.items()
               if k.startswith("demo_db_query_duration_seconds_count")}
    assert queries["get"] == 1
    assert queries["page"] == 1
    assert queries["create"] == 1
    assert queries["count"] >= 1
    assert m['demo_db_query_duration_seconds_bucket{le="0.1",operation="get"}'] == 1


def test_cache_counters_and_sign_ins_are_exported(demo):
    demo.get("/api/records/2")
    demo.get("/api/records/2")
    demo.call("POST", "/api/login", {"username": "ada", "password": "demo"})
    m = demo.metrics()
    assert m['demo_cache_hits_total{cache="records"}'] == 1
    assert m['demo_cache_misses_total{cache="records"}'] == 1
    assert m['demo_cache_entries{cache="records"}'] == 1
    assert m["demo_logins_total"] == 1
    assert m["process_resident_memory_bytes"] > 0


def test_openmetrics_carries_the_sampled_trace_id_as_an_exemplar(demo):
    demo.get("/api/records/3", headers=traceparent())
    reply = demo.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert reply.headers["Content-Type"].startswith("application/openmetrics-text")
    text = reply.body.decode()
    assert text.rstrip().endswith("# EOF")
    exemplars = [line for line in text.splitlines() if "# {trace_id=" in line]
    assert len(exemplars) == 1
    assert 'route="/api/records/{id}"' in exemplars[0]
    assert f'trace_id="{TRACE_ID}"' in exemplars[0]


def test_the_trace_log_records_every_traced_request_and_only_those(start_demo, tmp_path):
    log = tmp_path / "traces.jsonl"
    demo = start_demo("--trace-log", str(log))
    demo.get("/api/records/1", headers=traceparent())
    demo.get("/api/slow?ms=20", headers=traceparent("1" * 32, sampled=False))
    demo.get("/api/records/2")                                      # no header
    demo.get("/api/records/3", headers={"traceparent": "00-xyz"})   # not a trace context
    demo.get("/nowhere", headers=traceparent("2" * 32))
    assert demo.stop() == 0
    records = read_trace_log(log)
    assert [(r["trace_id"], r["parent_id"], r["sampled"], r["route"], r["status"])
            for r in records] == [
        (TRACE_ID, PARENT_ID, True, "/api/records/{id}", 200),
        ("1" * 32, PARENT_ID, False, "/api/slow", 200),
        ("2" * 32, PARENT_ID, True, "unmatched", 404),
    ]
    assert 20 <= records[1]["duration_ms"] < 200


@pytest.mark.parametrize(("header", "expected"), [
    (f"00-{TRACE_ID}-{PARENT_ID}-01", (TRACE_ID, PARENT_ID, True)),
    (f"00-{TRACE_ID}-{PARENT_ID}-00", (TRACE_ID, PARENT_ID, False)),
    (f"01-{TRACE_ID}-{PARENT_ID}-03-future", (TRACE_ID, PARENT_ID, True)),
    (f"00-{TRACE_ID}-{PARENT_ID}-01-extra", None),    # version 00 has exactly four fields
    (f"ff-{TRACE_ID}-{PARENT_ID}-01", None),          # version ff is invalid
    (f"00-{'0' * 32}-{PARENT_ID}-01", None),          # all-zero trace id
    (f"00-{TRACE_ID}-{'0' * 16}-01", None),           # all-zero parent id
    (f"00-{TRACE_ID.upper()}-{PARENT_ID}-01", None),  # uppercase hex
    ("", None), (None, None), ("garbage", None),
])
def test_traceparent_follows_the_w3c_rules(header, expected):
    parsed = parse_traceparent(header)
    assert (None if parsed is None else (parsed.trace_id, parsed.parent_id, parsed.sampled)
            ) == expected


class _Collector(BaseHTTPRequestHandler):
    bodies: list[bytes]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.bodies.append(self.rfile.read(length))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def otlp_receiver() -> Iterator[ThreadingHTTPServer]:
    """An OTLP/HTTP endpoint on 127.0.0.1 that keeps what it is sent."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    server.bodies = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def exported_spans(server: ThreadingHTTPServer) -> list[tuple[str, Span]]:
    spans = []
    for body in server.bodies:  # type: ignore[attr-defined]
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            service = next(a.value.string_value for a in resource.resource.attributes
                           if a.key == "service.name")
            spans += [(service, span) for scope in resource.scope_spans for span in scope.spans]
    return spans


def test_spans_continue_the_callers_trace_when_an_exporter_is_configured(
        start_demo, otlp_receiver, tmp_path: Path):
    port = otlp_receiver.server_address[1]
    demo = start_demo(env={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":
                           f"http://127.0.0.1:{port}/v1/traces"})
    assert any("exporting spans" in line for line in demo.output)
    demo.get("/api/records/4", headers=traceparent())
    demo.get("/health")  # not traced: no span
    assert demo.stop() == 0  # the batch is exported at shutdown
    spans = exported_spans(otlp_receiver)
    assert {service for service, _ in spans} == {"demo-app"}
    by_name = {span.name: span for _, span in spans}
    assert set(by_name) == {"GET /api/records/{id}", "sqlite get"}
    server, query = by_name["GET /api/records/{id}"], by_name["sqlite get"]
    assert server.trace_id.hex() == TRACE_ID == query.trace_id.hex()
    assert server.parent_span_id.hex() == PARENT_ID
    assert query.parent_span_id == server.span_id
    assert server.kind == Span.SPAN_KIND_SERVER
    status = next(a.value.int_value for a in server.attributes
                  if a.key == "http.response.status_code")
    assert status == 200
