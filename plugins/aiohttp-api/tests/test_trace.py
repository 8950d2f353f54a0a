"""``trace:``: every request carries a W3C traceparent, and the slowest traced requests' ids
in the result are ids the demo service saw, for requests it saw as slow."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

import perfgate_aiohttp_api
from demo_app.tracing import parse_traceparent, read_trace_log
from perfgate.builtin.console import render as render_console
from perfgate.testing import free_port, run_targets
from perfgate_aiohttp_api.tracing import Tracer, merge_slowest, slowest_details
from perfgate_markdown.render import render as render_markdown

SLOW_MS = 80


def gate(tmp_path: Path, trace: dict[str, Any] | None, workers: int = 1,
         ) -> tuple[Any, list[dict]]:
    """A 2 s run against the demo service with its trace log; the result and the log."""
    port = free_port()
    log = tmp_path / "traces.jsonl"
    scenario: dict[str, Any] = {
        "driver": "http", "service": "api", "executor": "constant-vus", "vus": 4,
        "duration": "2s", "workers": workers,
        # one endpoint, two delays: its slowest requests are the 80 ms ones
        "requests": [{"name": "mixed", "path": "/api/slow?ms=1", "weight": 9},
                     {"name": "mixed", "path": f"/api/slow?ms={SLOW_MS}"},
                     {"name": "records", "path": "/api/records"}]}
    if trace is not None:
        scenario["trace"] = trace
    outcome = run_targets({
        "version": 1,
        "services": {"api": {"url": f"http://127.0.0.1:{port}", "health": "/health",
                             "start": f"{sys.executable} -m demo_app --port {port} "
                                      f"--trace-log {log}"}},
        "scenarios": {"load": scenario},
        "targets": {"latency": {"metric": "http.req_duration", "target": "p(95) < 2s"}},
    }, output_dir=tmp_path, plugins=[perfgate_aiohttp_api])
    assert outcome.result.scenarios[0]["status"] == "completed", outcome.result.errors
    return outcome, read_trace_log(log)


@pytest.fixture(autouse=True)
def _only_the_http_driver(monkeypatch):
    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "1")


@pytest.mark.parametrize("workers", [1, 2])
def test_the_slowest_trace_ids_are_ids_the_service_saw_as_slow(tmp_path, workers):
    outcome, seen = gate(tmp_path, {"slowest": 3}, workers)
    slowest = outcome.result.details["load"]["slowest"]
    assert set(slowest) == {"mixed", "records"}
    by_id = {record["trace_id"]: record for record in seen}
    for endpoint, kept in slowest.items():
        assert len(kept) == 3
        assert [k["duration_ms"] for k in kept] == sorted((k["duration_ms"] for k in kept),
                                                          reverse=True)
        for k in kept:
            server = by_id[k["trace_id"]]  # the service saw this very request
            assert server["sampled"] is True and k["status"] == server["status"] == 200
            assert server["duration_ms"] <= k["duration_ms"]  # the client's time holds it
            assert server["route"] == ("/api/slow" if endpoint == "mixed" else "/api/records")
    # the tail of "mixed" is its 80 ms requests, as the service timed them (its 1 ms ones
    # take 1 to 3 ms there; the event loop's timers may wake a millisecond early)
    server_ms = [by_id[k["trace_id"]]["duration_ms"] for k in slowest["mixed"]]
    assert all(ms > SLOW_MS - 5 for ms in server_ms), server_ms
    # The reports show them: the console each endpoint's slowest, Markdown every kept one.
    console = render_console(outcome.result)
    markdown = render_markdown(outcome.result, trace_url="http://127.0.0.1:16686/trace/{trace_id}")
    for endpoint, kept in slowest.items():
        assert f"slowest {endpoint}: " in console
        assert kept[0]["trace_id"] in console
        for k in kept:
            assert f"(http://127.0.0.1:16686/trace/{k['trace_id']})" in markdown


def test_every_request_carries_a_traceparent_and_the_sampled_share_is_kept(tmp_path):
    outcome, seen = gate(tmp_path, {"sample": 0.25})
    sent = sum(m["values"]["count"] for m in outcome.result.metrics if m["name"] == "http.reqs")
    assert len(seen) == sent  # one traceparent per request, every one valid
    assert len({r["trace_id"] for r in seen}) == sent  # a new trace each time
    share = sum(r["sampled"] for r in seen) / len(seen)
    assert 0.15 < share < 0.35, share
    kept = [k for endpoint in outcome.result.details["load"]["slowest"].values() for k in endpoint]
    sampled = {r["trace_id"] for r in seen if r["sampled"]}
    assert kept and all(k["trace_id"] in sampled for k in kept)  # only sampled ones are kept


def test_without_trace_no_header_is_sent_and_nothing_is_kept(tmp_path):
    outcome, seen = gate(tmp_path, None)
    assert seen == []
    assert "slowest" not in outcome.result.details["load"]


def test_a_stamped_request_is_valid_http_with_a_valid_traceparent():
    tracer = Tracer(sample=0.0, keep=2, seed=1)
    request = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"
    stamped, trace_id = tracer.stamp(request)
    assert trace_id is None  # not sampled
    line, header, rest = stamped.split(b"\r\n", 2)
    assert line == b"POST /x HTTP/1.1" and rest == b"Host: a\r\nContent-Length: 2\r\n\r\n{}"
    name, _, value = header.decode().partition(": ")
    assert name == "traceparent" and re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-00", value)
    parsed = parse_traceparent(value)
    assert parsed is not None and not parsed.sampled


def test_the_slowest_are_kept_per_label_and_merged_across_workers():
    one, two = Tracer(1.0, 2), Tracer(1.0, 2)
    for us, tracer in [(5, one), (9, one), (7, one), (8, two), (1, two)]:
        tracer.observe("a", us, f"{us:032x}", 200)
    assert sorted(one.slowest["a"]) == [(7, f"{7:032x}", 200), (9, f"{9:032x}", 200)]
    merged = merge_slowest([one.slowest, two.slowest], 2)
    assert slowest_details(merged) == {"a": [
        {"trace_id": f"{9:032x}", "duration_ms": 0.009, "status": 200},
        {"trace_id": f"{8:032x}", "duration_ms": 0.008, "status": 200}]}
