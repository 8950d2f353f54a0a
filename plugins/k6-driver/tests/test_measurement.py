"""perfgate's numbers from a k6 run equal k6's own summary and the ground truth."""

from __future__ import annotations

import json
import math
from pathlib import Path

from perfgate import MetricSet

DELAY_MS = 20
SCRIPT = f"""
import http from 'k6/http';
import {{ check }} from 'k6';
import {{ Trend }} from 'k6/metrics';

const waited = new Trend('server_wait', true);

export default function () {{
  const slow = http.get(`${{__ENV.BASE_URL}}/delay/{DELAY_MS}`, {{ tags: {{ name: 'delay' }} }});
  check(slow, {{ 'delay is 200': (r) => r.status === 200 }});
  waited.add(slow.timings.waiting);
  const flaky = http.get(`${{__ENV.BASE_URL}}/errors/1/10`, {{ tags: {{ name: 'flaky' }} }});
  check(flaky, {{ 'flaky is 200': (r) => r.status === 200 }});
}}
"""
#: k6's summary with the percentiles compared below (and the count).
STATS = "avg,min,med,max,p(90),p(95),p(99),count"


def raw_samples(path: Path, metric: str, **tags: str) -> list[float]:
    """Every value of ``metric`` in a k6 JSON stream, read without the driver, sorted."""
    values = []
    with path.open() as fh:
        for line in fh:
            doc = json.loads(line)
            if doc["type"] != "Point" or doc["metric"] != metric:
                continue
            if all(doc["data"]["tags"].get(k) == v for k, v in tags.items()):
                values.append(doc["data"]["value"])
    return sorted(values)


def neighbours(ordered: list[float], p: float) -> tuple[float, float]:
    """The samples around the ``p``-th percentile's rank: where any definition of it lies."""
    rank = p / 100 * (len(ordered) - 1)
    return ordered[max(math.floor(rank) - 1, 0)], ordered[min(math.ceil(rank) + 1,
                                                               len(ordered) - 1)]


def test_numbers_match_k6_summary_and_ground_truth(run_k6, script, server, tmp_path):
    server.reset()
    raw = tmp_path / "raw.json"
    outcome = run_k6({
        "script": str(script(SCRIPT)), "vus": 4, "duration": "3s",
        # A second copy of k6's sample stream, read below without the driver.
        "k6_args": ["--summary-trend-stats", STATS, "--out", f"json={raw}"],
        "tags": {"suite": "accuracy"},
    }, targets={
        "latency": {"metric": "http.req_duration{name:delay}", "target": "p(95) < 1000ms"},
        "errors": {"metric": "http.req_failed{name:flaky}", "critical": "rate < 15%"},
    })
    assert outcome.exit_code == 0, outcome.result.errors
    result = outcome.result
    metrics = MetricSet.from_list(result.metrics)
    truth = server.counters()
    k6 = result.details["s"]["k6"]
    summary = k6["summary"]  # k6's own numbers, from its --summary-export
    assert k6["version"].startswith("v") and k6["exit_code"] == 0

    duration = metrics.combined("http.req_duration", {"scenario": "s"})
    delay = metrics.combined("http.req_duration", {"name": "delay"})
    flaky = metrics.combined("http.req_failed", {"name": "flaky"})
    reqs = metrics.combined("http.reqs", {"scenario": "s"})
    failed = metrics.combined("http.req_failed", {"scenario": "s"})

    # Counts: perfgate, k6's summary and the server agree exactly.
    assert reqs.aggregate("count") == summary["http_reqs"]["count"] == truth["total"]
    assert duration.count == summary["http_req_duration"]["count"] == truth["total"]
    assert delay.count == truth["paths"][f"/delay/{DELAY_MS}"]
    assert flaky.count == truth["paths"]["/errors/1/10"]
    expected_failures = math.ceil(truth["paths"]["/errors/1/10"] / 10)  # first of every 10
    assert failed.aggregate("passes") == summary["http_req_failed"]["passes"] == truth["failed"]
    assert truth["failed"] == expected_failures
    assert failed.aggregate("rate") == summary["http_req_failed"]["value"]
    for name in ("iterations", "data_received", "data_sent"):
        ours = metrics.combined(name, {"scenario": "s"})
        assert ours.aggregate("count") == summary[name]["count"], name
        # Counter rates divide by k6's own test duration, so they match k6's too.
        assert math.isclose(ours.aggregate("rate"), summary[name]["rate"], rel_tol=1e-6), name
    checks = metrics.combined("checks", {"scenario": "s"})
    assert checks.aggregate("rate") == summary["checks"]["value"]
    assert checks.aggregate("fails") == truth["failed"]

    # Trend statistics: min, max and avg exact; percentiles within HDR precision of k6's
    # (k6 interpolates between samples, HDR answers with a sample's bucket).
    ordered = raw_samples(raw, "http_req_duration")
    assert len(ordered) == duration.count
    k6_stats = summary["http_req_duration"]
    assert duration.aggregate("min") == k6_stats["min"] == ordered[0]
    assert duration.aggregate("max") == k6_stats["max"] == ordered[-1]
    assert math.isclose(duration.aggregate("avg"), k6_stats["avg"], rel_tol=1e-9)
    for p, key in ((50, "med"), (90, "p(90)"), (95, "p(95)"), (99, "p(99)")):
        ours, theirs = duration.aggregate("p", p), k6_stats[key]
        low, high = neighbours(ordered, p)
        assert low * 0.999 <= ours <= high * 1.001, (key, ours, theirs)
        assert abs(ours - theirs) <= (high - low) + theirs * 0.001, (key, ours, theirs)

    # The ground truth: the server's delay (its timer may fire a little early), plus little
    # on loopback.
    assert delay.aggregate("min") >= DELAY_MS * 0.95
    assert DELAY_MS * 0.95 <= delay.aggregate("med") <= DELAY_MS * 1.25, delay.values()

    # Tags as the http driver writes them; k6's url/proto left out, the scenario's tags kept.
    series = metrics.select("http.req_duration", {"name": "delay"})
    assert {tuple(sorted(m.tags)) for m in series} == {
        ("method", "name", "scenario", "status", "suite")}
    assert metrics.select("server_wait")[0].unit == "ms"
    assert metrics.combined("vus").aggregate("max") == 4

    # Per-second series add up to the totals.
    assert sum(row[1] for row in duration.series.to_list()) == duration.count
    verdicts = {c.name: c.verdict.value for c in result.checks}
    # No thresholds in the script: the k6 validator (always on) adds no check.
    assert verdicts == {"latency": "pass", "errors": "pass"}
