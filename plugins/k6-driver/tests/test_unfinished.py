"""Requests k6 was still waiting on when it ended the test: k6 drops them, perfgate does not."""

from __future__ import annotations

import pytest

from perfgate import MetricSet

HANG_EVERY = 10
SCRIPT = f"""
import http from 'k6/http';
import {{ get }} from 'k6/http';

export const options = {{
  scenarios: {{
    open: {{ executor: 'constant-arrival-rate', rate: 50, timeUnit: '1s', duration: '2s',
            preAllocatedVUs: 20, maxVUs: 40, gracefulStop: '1s', exec: 'hang' }},
  }},
}};

export function hang() {{
  if (exec_count++ % 2) {{
    http.get(`${{__ENV.BASE_URL}}/hang/{HANG_EVERY}`, {{ tags: {{ name: 'hang' }} }});
  }} else {{
    get(`${{__ENV.BASE_URL}}/hang/{HANG_EVERY}`, {{ tags: {{ name: 'hang' }} }});
  }}
}}
let exec_count = 0;
"""


def test_requests_in_flight_at_the_end_are_failed(run_k6, script, server) -> None:
    server.reset()
    outcome = run_k6({"script": str(script(SCRIPT))}, targets={
        "errors": {"metric": "http.req_failed", "critical": "rate < 1%"}})
    metrics = MetricSet.from_list(outcome.result.metrics)
    sent = server.counters()["paths"][f"/hang/{HANG_EVERY}"]
    assert sent in (100, 101)  # k6 may start one more at the very end
    total = metrics.combined("http.reqs")
    assert total is not None and total.aggregate("count") == sent
    stuck = metrics.combined("http.reqs", {"error": "interrupted", "status": "0",
                                           "name": "hang", "method": "GET"})
    assert stuck is not None and stuck.aggregate("count") == sent // HANG_EVERY
    failed = metrics.combined("http.req_failed")
    assert failed is not None and failed.aggregate("rate") == pytest.approx(10 / sent)
    # timed from their start to the end of the test (2 s of load, then 1 s gracefulStop):
    # the first hung request (the 10th start, at 0.18 s) waited about 2.8 s
    waited = metrics.combined("http.req_duration", {"error": "interrupted"})
    assert waited is not None
    assert waited.aggregate("max") == pytest.approx(2800, abs=400)
    assert waited.aggregate("min") == pytest.approx(1000, abs=400)
    assert outcome.exit_code == 1  # the error-rate target fails: 10% of requests failed
    assert any("10 request(s) were still in flight" in n for n in outcome.result.notes)
    details = outcome.result.details["s"]["k6"]
    assert details["unfinished_requests"] == 10
    assert not [name for name in details["summary"] if name.startswith("perfgate_")]


def test_a_script_without_a_default_export_still_runs(run_k6, script, server) -> None:
    outcome = run_k6({"script": str(script("""
        import http from 'k6/http';
        export const options = { scenarios: { only: { executor: 'per-vu-iterations',
          vus: 1, iterations: 3, exec: 'named' } } };
        export function named() { http.batch([`${__ENV.BASE_URL}/health`,
                                               ['GET', `${__ENV.BASE_URL}/health`]]); }
    """))})
    metrics = MetricSet.from_list(outcome.result.metrics)
    assert outcome.exit_code == 0, outcome.result.errors
    reqs = metrics.combined("http.reqs")
    assert reqs is not None and reqs.aggregate("count") == 6
    assert not metrics.select("http.reqs", {"error": "interrupted"})


def test_without_record_unfinished_k6_drops_them_as_it_does(run_k6, script, server) -> None:
    server.reset()
    outcome = run_k6({"script": str(script(SCRIPT)), "record_unfinished": False})
    metrics = MetricSet.from_list(outcome.result.metrics)
    sent = server.counters()["paths"][f"/hang/{HANG_EVERY}"]
    total = metrics.combined("http.reqs")
    assert total is not None and total.aggregate("count") == sent - sent // HANG_EVERY
    assert outcome.result.details["s"]["k6"]["unfinished_requests"] == 0
