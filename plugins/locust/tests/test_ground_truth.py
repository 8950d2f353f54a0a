"""A master and two worker processes against the ground-truth server with known delays.

The locustfile keeps every exact response time on the side (``locustfiles/exact.py``), so
perfgate's numbers, made from Locust's rounded buckets, are compared with the client's own
truth: counts exactly, percentiles within half a Locust bucket (plus HDR's 0.1%). A
subscriber follows the run live: the deltas the driver published add up to the result.
"""

from __future__ import annotations

import json
from pathlib import Path

from perfgate import LiveUpdate, MetricSet, RunContext, Verdict, hookimpl
from perfgate_locust.results import rounding_error

HERE = Path(__file__).parent


class LiveFollower:
    """Merges every live update's delta, as a reporter following the run would."""

    def __init__(self) -> None:
        self.merged = MetricSet()
        #: (final?, requests merged so far) after each update
        self.seen: list[tuple[bool, float]] = []

    @hookimpl
    def perfgate_run_started(self, context: RunContext) -> None:
        context.live.subscribe(self.update)

    def update(self, update: LiveUpdate) -> None:
        self.merged.merge(update.delta)
        requests = self.merged.combined("http.reqs", {"scenario": "load"})
        self.seen.append((update.final, requests.aggregate("count") or 0 if requests else 0))


def test_counts_add_up_across_workers_and_percentiles_are_the_rounded_truth(
        run_locust, server, tmp_path, nearest_rank, perfgate_plugin):
    live = perfgate_plugin(LiveFollower())
    samples_dir = tmp_path / "samples"
    samples_dir.mkdir()
    outcome = run_locust(
        {"locustfile": str(HERE / "locustfiles" / "exact.py"), "users": 8, "duration": "4s",
         "workers": 2, "spawn_rate": 100, "env": {"SAMPLES_DIR": str(samples_dir)}},
        targets={"lat": {"metric": "http.req_duration{name:slow}", "target": "p(95) < 1s"}})
    result = outcome.result
    assert outcome.exit_code == 0, [c.message for c in result.checks]
    metrics = result.metric_set()
    paths = server.counters()["paths"]
    locust = result.details["load"]["locust"]
    workers = locust["workers"]
    assert len(workers) == 2 and all(w["requests"] > 0 for w in workers)
    assert not any(w["lost"] for w in workers)
    files = sorted(samples_dir.glob("*.json"))
    assert {int(f.stem) for f in files} == {w["pid"] for w in workers}
    samples = [s for f in files for s in json.loads(f.read_text())]
    for name, path, delay in (("fast", "/delay/40", 40.0), ("slow", "/delay/150", 150.0)):
        truth = [ms for n, ms in samples if n == name]
        trend = metrics.combined("http.req_duration", {"name": name})
        counted = metrics.combined("http.reqs", {"name": name}).aggregate("count")
        assert counted == len(truth) == paths[path] == trend.aggregate("count")
        assert min(truth) >= delay - 1  # asyncio may wake up to a clock tick early
        for p in (50, 95, 99):
            exact = nearest_rank(truth, p)
            measured = trend.aggregate("p", p)
            assert abs(measured - exact) <= rounding_error(exact) + 0.001 * exact, (name, p)
    assert sum(w["requests"] for w in workers) == locust["master_requests"] == \
        sum(paths.values())
    verdicts = {c.name: c.verdict for c in result.checks}
    assert verdicts["load.locust-workers"] == Verdict.PASS
    # each worker's health, every 100 ms: sampled, and not saturated by this light load
    health = metrics.combined("perfgate.driver.behind_schedule")
    assert health.aggregate("count") >= 2 * 20
    assert verdicts["load.driver-health"] in (Verdict.PASS, Verdict.WARN)
    # Live: requests arrived in several updates while the test ran (Locust's workers report
    # every second, the driver publishes every second), and the deltas add up exactly.
    growing = sorted({n for final, n in live.seen if not final and n})
    assert len(growing) >= 2, live.seen
    for name in ("fast", "slow"):
        final = metrics.combined("http.req_duration", {"name": name})
        merged = live.merged.combined("http.req_duration", {"name": name})
        assert merged.aggregate("count") == final.aggregate("count")
        assert merged.aggregate("p", 95) == final.aggregate("p", 95)
        assert live.merged.combined("http.reqs", {"name": name}).aggregate("count") == \
            metrics.combined("http.reqs", {"name": name}).aggregate("count")
