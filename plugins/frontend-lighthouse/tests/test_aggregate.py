"""Runs into numbers as Lighthouse CI aggregates them, on results with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfgate_frontend_lighthouse.aggregate import aggregate, median, median_run
from perfgate_frontend_lighthouse.lhr import LighthouseResult, read_result


def run(name: str, fcp: float | None, tti: float | None, score: float = 0.9,
        lcp: float = 1000.0) -> LighthouseResult:
    result = LighthouseResult(Path(f"{name}.json"), None, "u", "u", "", "12.8.2", "", 2000.0,
                              "desktop", "simulate")
    if fcp is not None:
        result.values["frontend.fcp"] = (fcp, "ms")
    if tti is not None:
        result.values["frontend.tti"] = (tti, "ms")
    result.values["frontend.lcp"] = (lcp, "ms")
    result.values["frontend.performance_score"] = (score, "ratio")
    return result


def test_median_of_odd_and_even_counts():
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    with pytest.raises(ValueError):
        median([])


def test_median_run_is_nearest_the_medians_of_fcp_and_tti():
    # Medians: FCP 1000, TTI 3000. Squared distances: a 0+250000, b 10000+0, c 250000+...
    a = run("a", 1000, 3500)
    b = run("b", 1100, 3000)
    c = run("c", 500, 2000)
    assert median_run([a, b, c]) is b
    assert median_run([c, b, a]) is b


def test_median_run_breaks_ties_with_the_lower_tti_then_the_earlier_run():
    low, high = run("low", 1000, 2000), run("high", 1000, 4000)
    assert median_run([high, low]) is low
    first, second = run("first", 1000, 2000), run("second", 1000, 2000)
    assert median_run([first, second]) is first


def test_median_run_leaves_out_runs_without_fcp_or_tti():
    broken = run("broken", None, 100)
    zero = run("zero", 0, 100)  # Lighthouse reads 0 as missing too
    good = run("good", 900, 2500)
    assert median_run([broken, zero, good]) is good
    with pytest.raises(ValueError, match="no run has both"):
        median_run([broken])


def test_aggregations_of_each_metric():
    runs = [run("a", 1000, 3000, score=0.5, lcp=1200), run("b", 900, 2900, score=0.9, lcp=800),
            run("c", 1100, 3100, score=0.7, lcp=2000)]
    assert aggregate(runs, "median-run") == runs[0].values
    assert aggregate(runs, "median")["frontend.lcp"] == (1200, "ms")
    assert aggregate(runs, "median")["frontend.performance_score"] == (0.7, "ratio")
    # Optimistic: the best of each metric, from whichever run; pessimistic the worst.
    assert aggregate(runs, "optimistic")["frontend.lcp"] == (800, "ms")
    assert aggregate(runs, "optimistic")["frontend.performance_score"] == (0.9, "ratio")
    assert aggregate(runs, "pessimistic")["frontend.lcp"] == (2000, "ms")
    assert aggregate(runs, "pessimistic")["frontend.performance_score"] == (0.5, "ratio")
    assert aggregate([], "median") == {}
    with pytest.raises(ValueError, match="unknown aggregation 'mean'"):
        aggregate(runs, "mean")


def test_a_result_is_read_into_perfgate_names_and_units(tmp_path):
    lhr = {
        "lighthouseVersion": "12.8.2", "requestedUrl": "http://127.0.0.1/", "fetchTime": "t",
        "finalDisplayedUrl": "http://127.0.0.1/",
        "environment": {"benchmarkIndex": 2400.5, "hostUserAgent": "HeadlessChrome/156"},
        "configSettings": {"formFactor": "mobile", "throttlingMethod": "simulate"},
        "categories": {"performance": {"score": 0.42}, "best-practices": {"score": 1},
                       "seo": {"score": None}},
        "audits": {
            "largest-contentful-paint": {"numericValue": 2600.5, "numericUnit": "millisecond",
                                         "score": 0.4},
            "cumulative-layout-shift": {"numericValue": 0.25, "numericUnit": "unitless"},
            "total-byte-weight": {"numericValue": 9000, "numericUnit": "byte", "score": 1},
            "dom-size": {"numericValue": 31, "numericUnit": "element", "score": None},
            "metrics": {"numericValue": 1, "details": {"items": [{"observedLoad": 812}]}},
            "viewport": {"score": 1},
        },
        "runWarnings": ["slow host"],
    }
    path = tmp_path / "r.report.json"
    path.write_text(json.dumps(lhr))
    result = read_result(path)
    assert result.values == {
        "frontend.performance_score": (0.42, "ratio"),
        "frontend.best_practices_score": (1.0, "ratio"),
        "frontend.lcp": (2600.5, "ms"),
        "frontend.cls": (0.25, ""),
        "frontend.total_byte_weight": (9000.0, "B"),
        "frontend.load_time": (812.0, "ms"),
        "frontend.audit.largest-contentful-paint": (2600.5, "ms"),
        "frontend.audit.cumulative-layout-shift": (0.25, ""),
        "frontend.audit.total-byte-weight": (9000.0, "B"),
        "frontend.audit.dom-size": (31.0, ""),
        "frontend.audit_score.largest-contentful-paint": (0.4, "ratio"),
        "frontend.audit_score.total-byte-weight": (1.0, "ratio"),
        "frontend.audit_score.viewport": (1.0, "ratio"),
    }
    assert (result.benchmark_index, result.form_factor, result.warnings) == (
        2400.5, "mobile", ["slow host"])
    path.write_text('{"audits": {}}')
    with pytest.raises(ValueError, match="is not a Lighthouse result"):
        read_result(path)
