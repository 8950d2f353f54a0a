"""How much Locust's response-time buckets can move a percentile, stated and checked.

Locust rounds every response time before it is counted (``locust.stats.bucket_response_time``):
to 1 ms under 100 ms, 10 ms under 1 s, 100 ms under 10 s, 1 s above. Rounding is monotonic, so
the p-th percentile of the rounded values is the true p-th percentile rounded the same way:
a p95 moves by at most half a bucket (0.5 ms, 5 ms, 50 ms, 500 ms), at most 5% of the value
just above 100 ms, 1 s and 10 s. perfgate's HDR histogram adds at most 0.1% on top.
"""

from __future__ import annotations

import random

import pytest

from perfgate_locust.results import Results, locust_bucket, rounding_error


def report(values: list[float], bucket=locust_bucket) -> dict:
    buckets: dict[str, int] = {}
    for v in values:
        key = str(bucket(v))
        buckets[key] = buckets.get(key, 0) + 1
    return {"event": "report", "t": 1_700_000_000.0, "worker": "w0",
            "stats": [{"name": "r", "method": "GET", "num_requests": len(values),
                       "num_failures": 0, "response_times": buckets,
                       "num_reqs_per_sec": {"1700000000": len(values)},
                       "total_content_length": 0}]}


@pytest.mark.parametrize("low, high", [(5, 95), (90, 130), (300, 900), (950, 1200),
                                       (2000, 9000), (9000, 30000)])
def test_a_p95_moves_by_at_most_half_a_bucket(low: float, high: float, nearest_rank) -> None:
    rng = random.Random(f"{low}-{high}")
    for _ in range(20):
        values = [rng.uniform(low, high) for _ in range(rng.randint(50, 3000))]
        results = Results("load")
        results.take(report(values))
        trend = results.metrics.combined("http.req_duration")
        for p in (50, 90, 95, 99):
            truth = nearest_rank(values, p)
            measured = trend.aggregate("p", p)
            assert abs(measured - truth) <= rounding_error(truth) + truth * 0.001 + 1e-9, (p, truth)
        assert trend.aggregate("count") == len(values)


def test_the_bound_is_reached_just_above_100ms() -> None:
    """The worst case is real: 104.9 ms is counted as 100 ms, 4.7% off."""
    results = Results("load")
    results.take(report([104.9] * 100))
    p95 = results.metrics.combined("http.req_duration").aggregate("p", 95)
    assert p95 == pytest.approx(100.0, abs=0.1)
    assert (104.9 - p95) / 104.9 == pytest.approx(0.047, abs=0.001)


def test_reports_add_up_exactly_across_workers() -> None:
    results = Results("load")
    a, b = [10.0] * 7 + [20.0] * 3, [30.0] * 5
    results.take({**report(a), "worker": "w0"})
    results.take({**report(b), "worker": "w1"})
    assert results.metrics.combined("http.reqs").aggregate("count") == 15
    assert [w.requests for w in results.workers.values()] == [10, 5]
    assert results.metrics.combined("http.req_duration").aggregate("max") == 30.0
