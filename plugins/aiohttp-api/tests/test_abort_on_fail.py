"""abort_on_fail and live metrics, against a ground-truth server that turns slow after 2 s.

The server answers ``/slow-after/2/300`` at once for 2 s after its first request, then after
300 ms, and records when every request arrived: when the slowness began, and how many
requests were sent, are known independently of what perfgate measured.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from perfgate import LiveUpdate, MetricSet, hookimpl
from perfgate.testing import run_targets

pytestmark = pytest.mark.usefixtures("no_entrypoints")

SLOW_AFTER = 2.0  # seconds after its first request the server turns slow
PATH = "/slow-after/2/300"


@pytest.fixture
def no_entrypoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "1")


def plugins(*extra: Any) -> tuple[Any, ...]:
    import perfgate_aiohttp_api
    import perfgate_junit
    import perfgate_markdown

    return (perfgate_aiohttp_api, perfgate_markdown, perfgate_junit, *extra)


class Follower:
    """Merges every live delta, as a subscriber following the run would."""

    def __init__(self) -> None:
        self.merged = MetricSet()
        self.updates = 0

    @hookimpl
    def perfgate_run_started(self, context: Any) -> None:
        context.live.subscribe(self.follow)

    def follow(self, update: LiveUpdate) -> None:
        self.merged.merge(update.delta)
        self.updates += 1


def same_numbers(final: MetricSet, live: MetricSet, scenario: str) -> list[str]:
    """Every series of the scenario, compared without its window (deltas carry none).

    Counts, histograms, minimums, maximums, percentiles and last values are equal exactly;
    a sum of floats (``sum``, ``avg``, a second's sum in the series) depends on the order
    the values were added in, so it is equal to within float rounding. A second's ``last``
    in the series is whichever part was merged last: with worker processes writing into the
    same second, that is the order their results came in, so it is left out.
    """
    followed = {metric.key: metric for metric in live}
    problems = []
    for metric in final:
        if metric.tags.get("scenario") != scenario or metric.window_scenario:
            continue
        other = followed.get(metric.key)
        if other is None:
            problems.append(f"{metric.selector}: not live")
            continue
        (a, sums_a), (b, sums_b) = split(metric.to_dict()), split(other.to_dict())
        for key in a.keys() | b.keys():
            if a.get(key) != b.get(key):
                problems.append(f"{metric.selector}: {key}: {a.get(key)} != {b.get(key)}")
        if sums_a != pytest.approx(sums_b, rel=1e-12, abs=1e-9):
            problems.append(f"{metric.selector}: sums {sums_a} != {sums_b}")
    return problems


def split(doc: dict[str, Any]) -> tuple[dict[str, Any], list[float]]:
    """A metric document without its window, and its float sums apart."""
    doc.pop("window")
    doc["values"].pop("rate", None)  # per second of the window
    sums = [doc[part].pop(key) for part in ("values", "data") for key in ("sum", "avg")
            if key in doc[part]]
    sums += [row.pop(2) for row in doc["series"]]
    doc["series"] = [row[:-1] for row in doc["series"]]
    return doc, sums


def test_a_server_turning_slow_stops_the_load_within_a_second(server, tmp_path) -> None:
    server.reset()
    follower = Follower()
    outcome = run_targets({
        "version": 1,
        "services": {"gt": {"url": server.url}},
        "scenarios": {
            "api": {"driver": "http", "service": "gt", "executor": "constant-arrival-rate",
                    "rate": 50, "duration": "30s", "pre_allocated_vus": 40,
                    "requests": [{"name": "slowing", "path": PATH}]},
        },
        "targets": {
            "latency": {"metric": "http.req_duration{scenario:api}",
                        "critical": "p(95) < 100ms", "abort_on_fail": True},
            "errors": {"metric": "http.req_failed{scenario:api}", "critical": "rate < 50%"},
        },
        "reporters": {"console": {}, "json": {"path": "result.json"},
                      "markdown": {"path": "summary.md"}, "junit": {"path": "junit.xml"}},
    }, output_dir=tmp_path, plugins=plugins(follower))
    result = outcome.result
    assert outcome.exit_code == 1, (result.errors, [(c.name, c.message) for c in result.checks])
    aborted = result.run["aborted"]
    assert result.run["status"] == "aborted"
    assert (aborted["check"], aborted["metric"]) == ("latency",
                                                     "http.req_duration{scenario:api}")
    [api] = result.scenarios
    assert api["status"] == "aborted" and "stopped by check 'latency'" in api["error"]
    # Ground truth: the threshold cannot be crossed before the server turned slow, and the
    # first slow answers came 300 ms later; deltas come about once a second and are judged
    # about once a second.
    arrivals = server.arrivals(PATH)
    slow_from = arrivals[0] + SLOW_AFTER
    assert slow_from + 0.3 < aborted["at"] < slow_from + 0.3 + 6.0
    assert aborted["after"] == pytest.approx(aborted["at"] - api["started"], abs=0.2)
    # The load stopped within about a second of the evaluation, long before its 30 s (the
    # driver looks at its stop flag every 100 ms; a busy machine answers late).
    assert api["finished"] - aborted["at"] < 1.5
    assert arrivals[-1] < aborted["at"] + 1.5
    assert result.run["duration"] < 15
    # Judged with what was measured: every request the server saw, and nothing else.
    metrics = MetricSet.from_list(result.metrics)
    assert metrics.combined("http.reqs", {"scenario": "api"}).aggregate("count") == \
        server.counters()["paths"][PATH] == len(arrivals)
    checks = {c.name: c for c in result.checks}
    assert checks["latency"].verdict.value == "fail"
    assert "stopped the load" in checks["latency"].message
    assert checks["errors"].verdict.value == "pass"  # slow, not failing
    # Every report says which check stopped the load and when.
    said = ("the load was stopped by check 'latency' (http.req_duration{scenario:api}): "
            f"{aborted['message']} (abort_on_fail)")
    assert said in result.notes
    written = json.loads((tmp_path / "result.json").read_text())
    assert written["run"]["aborted"] == aborted
    for report in ("summary.md", "junit.xml"):
        text = (tmp_path / report).read_text()
        assert "the load was stopped by check" in text and "after the load began" in text
    # The final numbers are exactly those a live subscriber merged.
    assert follower.updates >= 2
    assert same_numbers(metrics, follower.merged, "api") == []


def test_worker_processes_publish_deltas_that_add_up_to_the_result(server, tmp_path) -> None:
    server.reset()
    follower = Follower()
    outcome = run_targets({
        "version": 1,
        "services": {"gt": {"url": server.url}},
        "scenarios": {
            "api": {"driver": "http", "service": "gt", "executor": "constant-vus", "vus": 4,
                    "duration": "2500ms", "workers": 2,
                    "requests": [{"name": "d", "path": "/delay/10"},
                                 {"name": "e", "path": "/errors/1/5"}]},
        },
        "targets": {"latency": {"metric": "http.req_duration{scenario:api}",
                                "critical": "p(95) < 1s", "abort_on_fail": True}},
    }, output_dir=tmp_path, plugins=plugins(follower))
    result = outcome.result
    assert result.run["status"] == "completed" and result.run["aborted"] is None
    assert next(c for c in result.checks if c.name == "latency").verdict.value == "pass"
    metrics = MetricSet.from_list(result.metrics)
    paths = server.counters()["paths"]
    assert metrics.combined("http.reqs").aggregate("count") == \
        paths["/delay/10"] + paths["/errors/1/5"]
    assert follower.updates >= 2
    assert same_numbers(metrics, follower.merged, "api") == []
