"""Same-name targets of two scenarios, judged in real runs and compared with a real baseline.

A ``fixed`` driver records known latencies, so every percentile of each scenario, in the
baseline and in this run, is known: ``ramp`` records 1..100 ms (p(95) 95 ms), ``open``
101..200 ms (p(99) 199 ms); in the second run ``ramp`` is twice as slow.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from perfgate import (
    Baseline,
    DriverScenario,
    Kind,
    LoadDriver,
    MetricInfo,
    MetricSet,
    check_labels,
    hookimpl,
)
from perfgate.testing import run_targets
from perfgate_markdown import render


class FixedScenario(DriverScenario):
    #: Every request's latency, in ms.
    latencies: list[float]


class FixedDriver(LoadDriver[FixedScenario]):
    name = "fixed"

    @classmethod
    def produces(cls, config: FixedScenario) -> list[MetricInfo]:
        return [MetricInfo("http.req_duration", Kind.TREND, "ms")]

    def run(self) -> MetricSet:
        metrics = MetricSet()
        now = time.time()
        trend = metrics.trend("http.req_duration", {"name": "x", "method": "GET"})
        for value in self.config.latencies:
            trend.add(value, now)
        metrics.set_window(now, now + 1.0)
        return metrics


class Plugin:
    @staticmethod
    @hookimpl
    def perfgate_register_components(register) -> None:
        register(FixedDriver)


def targets(slowdown: float) -> str:
    ramp = [v * slowdown for v in range(1, 101)]
    open_ = [float(v) for v in range(101, 201)]
    return f"""
        version: 1
        scenarios:
          ramp:
            driver: fixed
            latencies: {ramp}
            targets:
              latency:
                metric: http.req_duration
                target: p(95) < 1s
                baseline: p(95) <= +50%
          open:
            driver: fixed
            latencies: {open_}
            targets:
              latency: {{metric: http.req_duration, target: p(99) < 1s}}
        """


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The baseline run, this run against it, and this run with only ``open``."""
    tmp_path = tmp_path_factory.mktemp("runs")
    first = run_targets(targets(1.0), output_dir=tmp_path / "base", plugins=(Plugin,))
    path = tmp_path / "base.json"
    path.write_text(json.dumps(first.result.to_dict()))
    second = run_targets(targets(2.0), output_dir=tmp_path / "now", plugins=(Plugin,),
                         baseline=path)
    only = run_targets(targets(2.0), output_dir=tmp_path / "only", plugins=(Plugin,),
                       baseline=path, only=("open",))
    return Baseline.load(path), second.result, only.result


def rows(text: str, tables, find_table) -> dict[str, list[str]]:
    return {row[0]: row for row in find_table(tables(text), "Check")[1:]}


def test_same_name_targets_of_two_scenarios_are_told_apart(runs):
    from perfgate.builtin.console import render as console

    _, result, _ = runs
    assert check_labels(result.checks) == ["ramp/latency", "open/latency",
                                           "ramp/latency vs baseline"]
    text = console(result)
    assert "ramp/latency " in text and "open/latency " in text


def ms(cell: str) -> float:
    """The milliseconds a cell states (``p(99) 199.04ms``, ``+95.00ms (+100.0%)``)."""
    match = re.search(r"([-+]?[\d.]+)ms", cell)
    assert match, f"{cell!r} states no milliseconds"
    return float(match.group(1))


def near(value: float) -> object:
    return pytest.approx(value, rel=1e-3)  # HDR histograms keep three significant digits


def test_each_row_compares_with_its_own_scenario_and_aggregation(runs, tables, find_table):
    baseline, result, _ = runs
    found = rows(render(result, baseline), tables, find_table)
    assert set(found) == {"ramp/latency", "open/latency", "ramp/latency vs baseline"}
    # open's p(99) is compared with open's p(99) in the baseline, not ramp's p(95).
    measured, before, delta = (found["open/latency"][i] for i in (2, -2, -1))
    assert measured.startswith("p(99) ") and ms(measured) == near(199)
    assert ms(before) == near(199) and delta == "±0"
    measured, before, delta = (found["ramp/latency"][i] for i in (2, -2, -1))
    assert measured.startswith("p(95) ") and ms(measured) == near(190)
    assert ms(before) == near(95) and ms(delta) == near(95) and delta.endswith("(+100.0%)")
    # The baseline had no `vs baseline` check (it had no baseline itself), but it has the
    # metric: the row shows what the baseline measured, in its unit, not `new`.
    before, delta = found["ramp/latency vs baseline"][-2:]
    assert ms(before) == near(95) and delta.endswith("(+100.0%)")


def test_a_skipped_row_shows_the_baseline_in_its_unit(runs, tables, find_table):
    baseline, _, only = runs
    found = rows(render(only, baseline), tables, find_table)
    for label in ("ramp/latency", "ramp/latency vs baseline"):
        verdict, before, delta = found[label][-3:]
        assert verdict == "⏭️ skip"
        assert before.endswith("ms") and ms(before) == near(95)  # not a bare 95.04
        assert delta == "n/a"


def test_the_baseline_check_of_a_scenario_is_its_own(runs):
    baseline, result, _ = runs
    ramp, open_ = result.checks[0], result.checks[1]
    assert baseline.check(ramp).measured == near(95)
    assert baseline.check(open_).measured == near(199)
    assert Path(baseline.path).name == "base.json"
