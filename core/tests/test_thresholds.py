"""The threshold grammar and the judge, table by table.

- parsing: every aggregation, operator and unit, whitespace, numbers in every notation;
- limits: a value with a unit converted to the unit of the aggregated metric;
- comparing: every operator at, just under and just over the limit;
- syntax errors: the message and the position of the caret;
- verdicts: :func:`perfgate.judge.judge` on metric sets built here with known numbers.
"""

from __future__ import annotations

import pytest

from perfgate.config import TargetConfig
from perfgate.errors import ThresholdSyntaxError
from perfgate.judge import judge
from perfgate.metrics import Kind, MetricSet
from perfgate.result import Verdict
from perfgate.targets import Owner, TargetUse, parse_selector
from perfgate.thresholds import Threshold, parse_threshold

# -- parsing --------------------------------------------------------------------------------

PARSED = [
    # text, aggregation, percentile, operator, value, unit
    ("avg < 200ms", "avg", None, "<", 200.0, "ms"),
    ("min > 1ms", "min", None, ">", 1.0, "ms"),
    ("max <= 1s", "max", None, "<=", 1.0, "s"),
    ("med >= 0.5s", "med", None, ">=", 0.5, "s"),
    ("p(95) < 200ms", "p", 95.0, "<", 200.0, "ms"),
    ("p(99.9) < 1s", "p", 99.9, "<", 1.0, "s"),
    ("p(0) >= 1", "p", 0.0, ">=", 1.0, None),
    ("p(100) < 2m", "p", 100.0, "<", 2.0, "m"),
    ("p(50.25) == 3", "p", 50.25, "==", 3.0, None),
    ("count > 1000", "count", None, ">", 1000.0, None),
    ("rate < 5%", "rate", None, "<", 5.0, "%"),
    ("rate < 0.05", "rate", None, "<", 0.05, None),
    ("value <= 512MB", "value", None, "<=", 512.0, "MB"),
    ("passes >= 99", "passes", None, ">=", 99.0, None),
    ("fails == 0", "fails", None, "==", 0.0, None),
    ("max != 0B", "max", None, "!=", 0.0, "B"),
    ("value < 64KB", "value", None, "<", 64.0, "KB"),
    ("value < 2GB", "value", None, "<", 2.0, "GB"),
    # whitespace
    ("p(95)<200ms", "p", 95.0, "<", 200.0, "ms"),
    ("  p(95)   <=   200ms  ", "p", 95.0, "<=", 200.0, "ms"),
    ("p(95)\t<\t200ms", "p", 95.0, "<", 200.0, "ms"),
    ("avg>=1", "avg", None, ">=", 1.0, None),
    # numbers
    ("value > -5", "value", None, ">", -5.0, None),
    ("min >= -10.5", "min", None, ">=", -10.5, None),
    ("value > +5", "value", None, ">", 5.0, None),
    ("avg < .5s", "avg", None, "<", 0.5, "s"),
    ("p(95) < 1e3ms", "p", 95.0, "<", 1000.0, "ms"),
    ("rate < 5e-2", "rate", None, "<", 0.05, None),
    ("count > 1E3", "count", None, ">", 1000.0, None),
    ("p(1e1) < 5", "p", 10.0, "<", 5.0, None),
]


@pytest.mark.parametrize(("text", "aggregation", "percentile", "op", "value", "unit"), PARSED,
                         ids=[row[0] for row in PARSED])
def test_parse(text: str, aggregation: str, percentile: float | None, op: str, value: float,
               unit: str | None) -> None:
    t = parse_threshold(text)
    assert (t.aggregation, t.percentile, t.op, t.value, t.unit) == (
        aggregation, percentile, op, value, unit)
    assert t.text == text.strip()
    assert str(t) == text.strip()


@pytest.mark.parametrize(("text", "label"), [
    ("p(95) < 1", "p(95)"), ("p(95.0) < 1", "p(95)"), ("p(99.9) < 1", "p(99.9)"),
    ("p(0) < 1", "p(0)"), ("p(100) < 1", "p(100)"), ("avg < 1", "avg"), ("rate < 1", "rate"),
])
def test_label(text: str, label: str) -> None:
    assert parse_threshold(text).label == label


# -- limits: the value in the unit of the aggregated metric ---------------------------------

LIMITS = [
    # text, metric kind, metric unit, limit
    # trends in ms
    ("p(95) < 200ms", Kind.TREND, "ms", 200.0),
    ("p(95) < 200", Kind.TREND, "ms", 200.0),
    ("p(95) < 1s", Kind.TREND, "ms", 1000.0),
    ("avg < 1.5s", Kind.TREND, "ms", 1500.0),
    ("max < 2m", Kind.TREND, "ms", 120_000.0),
    ("med < 0.25ms", Kind.TREND, "ms", 0.25),
    ("count > 10", Kind.TREND, "ms", 10.0),
    # a trend in seconds, a trend in bytes
    ("p(95) < 500ms", Kind.TREND, "s", 0.5),
    ("avg < 2m", Kind.TREND, "s", 120.0),
    ("p(99) < 1KB", Kind.TREND, "B", 1024.0),
    # rates: ratios from 0 to 1
    ("rate < 5%", Kind.RATE, "ratio", 0.05),
    ("rate < 0.05", Kind.RATE, "ratio", 0.05),
    ("rate <= 100%", Kind.RATE, "ratio", 1.0),
    ("rate >= 0%", Kind.RATE, "ratio", 0.0),
    ("rate > 99.9%", Kind.RATE, "ratio", 0.999),
    ("count > 100", Kind.RATE, "ratio", 100.0),
    ("passes >= 95", Kind.RATE, "ratio", 95.0),
    ("fails < 5", Kind.RATE, "ratio", 5.0),
    # gauges in percent: 80% is 80
    ("max < 80%", Kind.GAUGE, "%", 80.0),
    ("avg < 80", Kind.GAUGE, "%", 80.0),
    ("value < 0.8", Kind.GAUGE, "%", 0.8),
    ("min > 5%", Kind.GAUGE, "%", 5.0),
    # counters: count in the counter's unit, rate per second
    ("rate > 500", Kind.COUNTER, "", 500.0),
    ("count >= 1000", Kind.COUNTER, "", 1000.0),
    ("rate > 1MB", Kind.COUNTER, "B", 1024.0**2),
    ("count < 1GB", Kind.COUNTER, "B", 1024.0**3),
    ("rate > 512", Kind.COUNTER, "B", 512.0),
    # gauges in B and B/s
    ("value <= 512MB", Kind.GAUGE, "B", 512 * 1024.0**2),
    ("max < 100KB", Kind.GAUGE, "B", 102_400.0),
    ("avg < 2GB", Kind.GAUGE, "B", 2 * 1024.0**3),
    ("max < 10MB", Kind.GAUGE, "B/s", 10 * 1024.0**2),
    ("avg < 1B", Kind.GAUGE, "B/s", 1.0),
    # a gauge in plain numbers (load average), and in ms
    ("max < 4", Kind.GAUGE, "", 4.0),
    ("value < 1s", Kind.GAUGE, "ms", 1000.0),
]


@pytest.mark.parametrize(("text", "kind", "unit", "limit"), LIMITS,
                         ids=[f"{r[0]} on {r[1]} in {r[2] or 'numbers'}" for r in LIMITS])
def test_limit_in_the_metric_unit(text: str, kind: Kind, unit: str, limit: float) -> None:
    t = parse_threshold(text)
    assert t.check_applies(kind, unit) is None
    assert t.limit(kind, unit) == pytest.approx(limit, rel=1e-12)


DOES_NOT_APPLY = [
    # text, kind, unit, why
    ("p(95) < 5%", Kind.RATE, "ratio",
     "p(95) does not apply to a rate metric (use one of: count, fails, passes, rate)"),
    ("avg < 5%", Kind.RATE, "ratio",
     "avg does not apply to a rate metric (use one of: count, fails, passes, rate)"),
    ("value < 1", Kind.TREND, "ms",
     "value does not apply to a trend metric (use one of: avg, count, max, med, min, p(N))"),
    ("rate < 1", Kind.TREND, "ms",
     "rate does not apply to a trend metric (use one of: avg, count, max, med, min, p(N))"),
    ("p(95) < 80%", Kind.GAUGE, "%",
     "p(95) does not apply to a gauge metric (use one of: avg, max, min, value)"),
    ("count > 1", Kind.GAUGE, "%",
     "count does not apply to a gauge metric (use one of: avg, max, min, value)"),
    ("avg > 1", Kind.COUNTER, "",
     "avg does not apply to a counter metric (use one of: count, rate)"),
    ("max > 1", Kind.COUNTER, "",
     "max does not apply to a counter metric (use one of: count, rate)"),
    ("count > 5ms", Kind.COUNTER, "",
     "unit 'ms' does not apply to count of a metric in plain numbers"),
    ("rate > 5s", Kind.COUNTER, "", "unit 's' does not apply to rate of a metric in /s"),
    ("rate > 5%", Kind.COUNTER, "", "'%' does not apply to rate of a metric in /s"),
    ("count > 1MB", Kind.TREND, "ms",
     "unit 'MB' does not apply to count of a metric in plain numbers"),
    ("p(95) < 5%", Kind.TREND, "ms", "'%' does not apply to p(95) of a metric in ms"),
    ("p(95) < 5MB", Kind.TREND, "ms", "unit 'MB' does not apply to p(95) of a metric in ms"),
    ("max < 80ms", Kind.GAUGE, "%", "unit 'ms' does not apply to max of a metric in %"),
    ("max < 80%", Kind.GAUGE, "B", "'%' does not apply to max of a metric in B"),
    ("max < 10MB", Kind.GAUGE, "%", "unit 'MB' does not apply to max of a metric in %"),
    ("rate < 1ms", Kind.RATE, "ratio", "unit 'ms' does not apply to rate of a metric in ratio"),
    ("count > 5%", Kind.RATE, "ratio", "'%' does not apply to count of a metric in plain "
                                       "numbers"),
    ("rate < 5", Kind.RATE, "ratio", "rate of a rate metric is a ratio from 0 to 1; 5 is "
                                     "outside it (write 5% or 0.05 for five percent)"),
    ("rate < 120%", Kind.RATE, "ratio", "rate of a rate metric is a ratio from 0 to 1; 120% "
                                        "is outside it (write 5% or 0.05 for five percent)"),
    ("rate > -0.1", Kind.RATE, "ratio", "rate of a rate metric is a ratio from 0 to 1; -0.1 "
                                        "is outside it (write 5% or 0.05 for five percent)"),
]


@pytest.mark.parametrize(("text", "kind", "unit", "why"), DOES_NOT_APPLY,
                         ids=[f"{r[0]} on {r[1]} in {r[2] or 'numbers'}" for r in DOES_NOT_APPLY])
def test_does_not_apply(text: str, kind: Kind, unit: str, why: str) -> None:
    assert parse_threshold(text).check_applies(kind, unit) == why


AGGREGATIONS = {"avg": "avg", "min": "min", "max": "max", "med": "med", "p": "p(90)",
                "count": "count", "rate": "rate", "value": "value", "passes": "passes",
                "fails": "fails"}
APPLIES = {
    Kind.TREND: {"avg", "min", "max", "med", "p", "count"},
    Kind.RATE: {"rate", "count", "passes", "fails"},
    Kind.COUNTER: {"count", "rate"},
    Kind.GAUGE: {"value", "min", "max", "avg"},
}


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("aggregation", list(AGGREGATIONS))
def test_which_aggregation_applies_to_which_kind(aggregation: str, kind: Kind) -> None:
    t = parse_threshold(f"{AGGREGATIONS[aggregation]} >= 0")
    applies = t.check_applies(kind, {Kind.RATE: "ratio", Kind.TREND: "ms"}.get(kind, "")) is None
    assert applies == (aggregation in APPLIES[kind])


# -- comparing ------------------------------------------------------------------------------

OPERATORS = [
    # operator, measured below / at / above the limit of 100
    ("<", True, False, False),
    ("<=", True, True, False),
    (">", False, False, True),
    (">=", False, True, True),
    ("==", False, True, False),
    ("!=", True, False, True),
]


@pytest.mark.parametrize(("op", "below", "at", "above"), OPERATORS,
                         ids=[row[0] for row in OPERATORS])
def test_operators_at_the_limit(op: str, below: bool, at: bool, above: bool) -> None:
    t = parse_threshold(f"p(95) {op} 100ms")
    assert [t.holds(v, Kind.TREND, "ms") for v in (99.999, 100.0, 100.001)] == [below, at, above]
    # the same limit written in seconds compares the same way
    t = parse_threshold(f"p(95) {op} 0.1s")
    assert [t.holds(v, Kind.TREND, "ms") for v in (99.999, 100.0, 100.001)] == [below, at, above]


HOLDS = [
    # text, kind, unit, measured, holds
    ("rate < 5%", Kind.RATE, "ratio", 0.049, True),
    ("rate < 5%", Kind.RATE, "ratio", 0.05, False),
    ("rate <= 5%", Kind.RATE, "ratio", 0.05, True),
    ("rate == 5%", Kind.RATE, "ratio", 1 / 20, True),
    ("rate != 0", Kind.RATE, "ratio", 0.0, False),
    ("rate == 0", Kind.RATE, "ratio", 0.0, True),
    ("max < 80%", Kind.GAUGE, "%", 79.9, True),
    ("max < 80%", Kind.GAUGE, "%", 80.0, False),
    ("value > -5", Kind.GAUGE, "", -4.0, True),
    ("value > -5", Kind.GAUGE, "", -5.0, False),
    ("value >= -5", Kind.GAUGE, "", -5.0, True),
    ("min >= -10.5", Kind.GAUGE, "", -10.6, False),
    ("p(95) < 1e3ms", Kind.TREND, "ms", 999.0, True),
    ("p(95) < 1e3ms", Kind.TREND, "ms", 1000.0, False),
    ("rate > 500", Kind.COUNTER, "", 500.5, True),
    ("value <= 512MB", Kind.GAUGE, "B", 512 * 1024**2, True),
    ("value <= 512MB", Kind.GAUGE, "B", 512 * 1024**2 + 1, False),
]


@pytest.mark.parametrize(("text", "kind", "unit", "measured", "holds"), HOLDS,
                         ids=[f"{r[0]} with {r[3]}" for r in HOLDS])
def test_holds(text: str, kind: Kind, unit: str, measured: float, holds: bool) -> None:
    assert parse_threshold(text).holds(measured, kind, unit) is holds


# -- syntax errors --------------------------------------------------------------------------

AGGREGATION_EXPECTED = ("expected an aggregation (avg, min, max, med, p(N), count, rate, passes, "
                        "fails, value)")
UNKNOWN = ("unknown aggregation {!r}; expected avg, min, max, med, p(N), count, rate, passes, "
           "fails or value")
OPERATOR_EXPECTED = "expected an operator: < <= > >= == !="
UNITS = "expected one of ms s m % B KB MB GB"

SYNTAX_ERRORS = [
    # text, position of the caret, message
    ("", 0, AGGREGATION_EXPECTED),
    ("   ", 3, AGGREGATION_EXPECTED),
    ("< 200ms", 0, AGGREGATION_EXPECTED),
    ("95 < 200", 0, AGGREGATION_EXPECTED),
    ("mean < 200", 0, UNKNOWN.format("mean")),
    ("P(95) < 200", 0, UNKNOWN.format("P")),
    ("AVG < 200", 0, UNKNOWN.format("AVG")),
    ("  pmax < 200", 2, UNKNOWN.format("pmax")),
    ("p95 < 200", 1, "expected '(' after p, as in p(95)"),
    ("p() < 200", 2, "expected a percentile between 0 and 100"),
    ("p(x) < 200", 2, "expected a percentile between 0 and 100"),
    ("p( 95) < 200", 2, "expected a percentile between 0 and 100"),
    ("p(95 < 200", 4, "expected ')' to close p("),
    ("p(95", 4, "expected ')' to close p("),
    ("p(-1) < 200", 2, "a percentile is between 0 and 100"),
    ("p(100.1) < 200", 2, "a percentile is between 0 and 100"),
    ("p(101) < 200", 2, "a percentile is between 0 and 100"),
    ("avg", 3, OPERATOR_EXPECTED),
    ("avg 200", 4, OPERATOR_EXPECTED),
    ("avg = 200", 4, OPERATOR_EXPECTED),
    ("avg => 200", 4, OPERATOR_EXPECTED),
    ("avg =< 200", 4, OPERATOR_EXPECTED),
    ("p(95) ~ 200", 6, OPERATOR_EXPECTED),
    ("avg <", 5, "expected a number"),
    ("avg < ", 6, "expected a number"),
    ("avg < ms", 6, "expected a number"),
    ("avg <= <= 200", 7, "expected a number"),
    ("avg < - 5", 6, "expected a number"),
    ("avg < inf", 6, "expected a number"),
    ("avg < 200xs", 9, f"unknown unit 'xs'; {UNITS}"),
    ("avg < 5min", 7, f"unknown unit 'min'; {UNITS}"),
    ("avg < 5kb", 7, f"unknown unit 'kb'; {UNITS}"),
    ("avg < 5Ms", 7, f"unknown unit 'Ms'; {UNITS}"),
    ("avg < 200%%", 9, f"unknown unit '%%'; {UNITS}"),
    ("avg < 1e", 7, f"unknown unit 'e'; {UNITS}"),
    ("avg < 200 ms", 10, "no space between a number and its unit: write 200ms"),
    ("avg < 200ms;", 11, "unexpected text after the value"),
    ("avg < 200 and max < 300", 10, "unexpected text after the value"),
    ("p(95) < 200ms or so", 14, "unexpected text after the value"),
    ("avg < 1.2.3", 9, "unexpected text after the value"),
    ("avg < 200 200", 10, "unexpected text after the value"),
]


@pytest.mark.parametrize(("text", "position", "message"), SYNTAX_ERRORS,
                         ids=[repr(row[0]) for row in SYNTAX_ERRORS])
def test_syntax_error(text: str, position: int, message: str) -> None:
    with pytest.raises(ThresholdSyntaxError) as info:
        parse_threshold(text)
    err = info.value
    assert (err.position, err.expression) == (position, text)
    # The message, the expression, and a caret under the offending character.
    assert err.message == f"{message}\n    {text}\n    {' ' * position}^"
    assert position <= len(text)


def test_a_threshold_that_is_not_text() -> None:
    with pytest.raises(ThresholdSyntaxError) as info:
        parse_threshold(200)  # type: ignore[arg-type]
    assert info.value.message.startswith("a threshold is a string like 'p(95) < 200ms'")


# -- verdicts -------------------------------------------------------------------------------


def target(selector: str, target: str | None = None, critical: str | None = None, *,
           on_missing: str = "fail", scenario: str | None = None) -> TargetUse:
    """A target as the loader makes it, without a file."""
    metric, tags = parse_selector(selector)
    if scenario is not None:
        tags.setdefault("scenario", scenario)
    config = TargetConfig(metric=selector, target=target, critical=critical,
                          on_missing=on_missing)  # type: ignore[arg-type]
    return TargetUse(name="t", metric=metric, tags=tags, config=config,
                     target=parse_threshold(target) if target else None,
                     critical=parse_threshold(critical) if critical else None,
                     scenario=scenario, group=scenario or "targets")


def measured() -> MetricSet:
    """Known numbers: latency 1..100 ms, 3 of 100 requests failed, 1000 requests in 10 s,
    CPU 10/50/90 %, memory 256 MB, a counter without a window."""
    metrics = MetricSet()
    latency = metrics.trend("http.req_duration", {"scenario": "load"})
    failed = metrics.rate("http.req_failed", {"scenario": "load"})
    for i in range(1, 101):
        latency.add(float(i), t=1000.0 + i / 10)
        failed.add(i <= 3, t=1000.0 + i / 10)
    reqs = metrics.counter("http.reqs", {"scenario": "load"})
    for i in range(1000):
        reqs.add(1, t=1000.0 + i / 100)
    metrics.set_window(1000.0, 1010.0)
    cpu = metrics.gauge("system.cpu", unit="%")
    for t, v in enumerate((10.0, 90.0, 50.0)):
        cpu.add(v, t=1000.0 + t)
    metrics.gauge("system.memory_used", unit="B").add(256 * 1024**2, t=1000.0)
    metrics.counter("windowless.ops").add(5, t=1000.0)
    return metrics


VERDICTS = [
    # selector, target, critical, verdict, measured, target limit, critical limit
    ("http.req_duration", "p(95) < 200ms", "p(95) < 1s", Verdict.PASS, 95.0, 200.0, 1000.0),
    ("http.req_duration", "p(95) < 50ms", "p(95) < 1s", Verdict.WARN, 95.0, 50.0, 1000.0),
    ("http.req_duration", "p(95) < 50ms", "p(95) < 90ms", Verdict.FAIL, 95.0, 50.0, 90.0),
    ("http.req_duration", "max < 100ms", "max <= 100ms", Verdict.WARN, 100.0, 100.0, 100.0),
    ("http.req_duration", "min > 1ms", "min >= 1ms", Verdict.WARN, 1.0, 1.0, 1.0),
    ("http.req_duration", None, "max < 0.1s", Verdict.FAIL, 100.0, None, 100.0),
    ("http.req_duration", None, "max <= 0.1s", Verdict.PASS, 100.0, None, 100.0),
    ("http.req_duration", "avg == 50.5", None, Verdict.PASS, 50.5, 50.5, None),
    ("http.req_duration", "avg != 50.5", None, Verdict.WARN, 50.5, 50.5, None),
    ("http.req_duration", "p(0) >= 1ms", "p(100) <= 100ms", Verdict.PASS, 1.0, 1.0, 100.0),
    ("http.req_duration", "med < 50ms", "p(99.9) < 1s", Verdict.WARN, 50.0, 50.0, 1000.0),
    ("http.req_duration", "count >= 100", None, Verdict.PASS, 100.0, 100.0, None),
    ("http.req_failed", "rate < 5%", "rate < 20%", Verdict.PASS, 0.03, 0.05, 0.2),
    ("http.req_failed", "rate < 1%", "rate < 0.2", Verdict.WARN, 0.03, 0.01, 0.2),
    ("http.req_failed", "rate < 1%", "rate < 0.02", Verdict.FAIL, 0.03, 0.01, 0.02),
    ("http.req_failed", "fails <= 97", "passes < 5", Verdict.PASS, 97.0, 97.0, 5.0),
    ("http.reqs", "rate > 500", "rate > 50", Verdict.WARN, 100.0, 500.0, 50.0),
    ("http.reqs", "count >= 1000", "rate >= 100", Verdict.PASS, 1000.0, 1000.0, 100.0),
    ("http.reqs", None, "rate > 100", Verdict.FAIL, 100.0, None, 100.0),
    ("system.cpu", "max < 80%", "max < 95%", Verdict.WARN, 90.0, 80.0, 95.0),
    ("system.cpu", "avg < 80%", "value < 95%", Verdict.PASS, 50.0, 80.0, 95.0),
    ("system.cpu", "min > 10", "min >= 10", Verdict.WARN, 10.0, 10.0, 10.0),
    ("system.memory_used", "value < 200MB", "value < 1GB", Verdict.WARN, 256 * 1024.0**2,
     200 * 1024.0**2, 1024.0**3),
]


@pytest.mark.parametrize(("selector", "target_", "critical", "verdict", "value", "target_limit",
                          "critical_limit"), VERDICTS,
                         ids=[f"{r[0]} {r[1]} / {r[2]}" for r in VERDICTS])
def test_verdict(selector: str, target_: str | None, critical: str | None, verdict: Verdict,
                 value: float, target_limit: float | None,
                 critical_limit: float | None) -> None:
    check = judge(target(selector, target_, critical), measured())
    assert check.verdict is verdict, check.message
    assert check.measured == pytest.approx(value, rel=1e-3)
    metric = measured().combined(selector)
    assert metric is not None
    for which, expression, limit in (("target", target_, target_limit),
                                     ("critical", critical, critical_limit)):
        outcome = getattr(check, which)
        if expression is None:
            assert outcome is None
            continue
        # Every check records both thresholds, their limits and whether each was met.
        t = parse_threshold(expression)
        own = metric.aggregate(t.aggregation, t.percentile)
        assert own is not None
        assert outcome.expression == expression
        assert outcome.limit == pytest.approx(limit, rel=1e-12)
        assert outcome.passed is t.holds(own, metric.kind, metric.unit)
    assert check.message.endswith(f"→ {verdict.value}")


def test_a_check_records_what_was_measured() -> None:
    metrics = MetricSet()
    latency = metrics.trend("http.req_duration", {"scenario": "load", "name": "health"})
    for value in [0.5] * 95 + [1.5] * 4 + [2.0]:  # below 2 ms the histogram is exact
        latency.add(value, t=1000.0)
    check = judge(target("http.req_duration{scenario:load}", "p(95) < 0.4ms", "p(99) < 1s"),
                  metrics)
    assert check.to_dict() == {
        "name": "t", "metric": "http.req_duration{scenario:load}", "verdict": "warn",
        "aggregation": "p(95)", "measured": 0.5, "unit": "ms",
        "target": {"expression": "p(95) < 0.4ms", "limit": 0.4, "passed": False},
        "critical": {"expression": "p(99) < 1s", "limit": 1000.0, "passed": True},
        "message": "p(95) = 0.50ms; target p(95) < 0.4ms missed; critical p(99) < 1s met "
                   "(p(99) = 1.50ms) → warn",
        "group": "targets", "scenario": "load", "description": "", "source": "thresholds",
    }


def test_rate_and_counter_messages_in_their_units() -> None:
    check = judge(target("http.req_failed", "rate < 1%", "rate < 20%"), measured())
    assert check.message == "rate = 3.00%; target rate < 1% missed; critical rate < 20% met " \
                            "→ warn"
    assert check.unit == "ratio"
    check = judge(target("http.reqs", "rate > 50"), measured())
    assert check.message == "rate = 100/s; target rate > 50 met → pass"
    assert check.unit == "/s"


def test_a_counter_without_a_window_is_an_error() -> None:
    check = judge(target("windowless.ops", "rate > 1", "rate > 0"), measured())
    assert check.verdict is Verdict.ERROR
    assert check.message == "rate of windowless.ops could not be computed (no time window " \
                            "for a rate, or no samples)"
    assert check.measured is None
    # its count does not need a window
    assert judge(target("windowless.ops", "count == 5"), measured()).verdict is Verdict.PASS


def test_an_aggregation_the_measured_kind_does_not_have_is_an_error() -> None:
    """A plugin that declared a trend but measured a rate: the judge says so, not a crash."""
    check = judge(target("http.req_failed", "p(95) < 5"), measured())
    assert check.verdict is Verdict.ERROR
    assert check.message == "p(95) does not apply to a rate metric (use one of: count, fails, " \
                            "passes, rate)"


@pytest.mark.parametrize(("on_missing", "verdict"), [
    ("fail", Verdict.FAIL), ("warn", Verdict.WARN), ("skip", Verdict.SKIP),
])
def test_on_missing(on_missing: str, verdict: Verdict) -> None:
    check = judge(target("redis.hits", "rate > 90%", on_missing=on_missing), measured())
    assert check.verdict is verdict
    assert check.message == f"redis.hits was never measured (on_missing: {on_missing})"
    assert check.measured is None


def test_missing_is_a_fail_by_default() -> None:
    assert judge(target("redis.hits", "rate > 90%"), measured()).verdict is Verdict.FAIL


def test_a_series_with_no_samples_counts_as_missing() -> None:
    metrics = MetricSet()
    metrics.trend("http.req_duration")
    check = judge(target("http.req_duration", "p(95) < 1s", on_missing="warn"), metrics)
    assert check.verdict is Verdict.WARN


def test_a_tag_filter_that_matches_nothing_counts_as_missing() -> None:
    check = judge(target("http.req_duration{scenario:soak}", "p(95) < 1s"), measured())
    assert check.verdict is Verdict.FAIL
    assert check.message == "http.req_duration{scenario:soak} was never measured " \
                            "(on_missing: fail)"


def test_a_broken_producer_gives_an_error_with_its_message() -> None:
    redis = Owner("collector", "redis")
    broken = {redis: ["cannot connect to 127.0.0.1:6390: connection refused"],
              Owner("collector", "other"): ["unrelated"],
              Owner("load_driver", "redis"): ["a scenario of the same name"]}
    for on_missing in ("fail", "warn", "skip"):
        check = judge(target("redis.hits", "rate > 90%", on_missing=on_missing), measured(),
                      broken=broken, producers=[redis])
        assert check.verdict is Verdict.ERROR
        assert check.message == "redis.hits was not measured because redis: cannot connect " \
                                "to 127.0.0.1:6390: connection refused"


def test_a_broken_component_that_is_not_the_producer_changes_nothing() -> None:
    check = judge(target("redis.hits", "rate > 90%", on_missing="skip"), measured(),
                  broken={Owner("collector", "postgres"): ["down"]},
                  producers=[Owner("collector", "redis")])
    assert check.verdict is Verdict.SKIP


def test_a_broken_producer_with_metrics_is_judged_on_them() -> None:
    system = Owner("collector", "system")
    check = judge(target("system.cpu", "max < 95%"), measured(), broken={system: ["late"]},
                  producers=[system])
    assert check.verdict is Verdict.PASS


def test_a_skipped_scenario_skips_its_checks() -> None:
    check = judge(target("http.req_duration", "p(95) < 1ms", scenario="load"), measured(),
                  skipped_scenarios=frozenset({"load"}))
    assert check.verdict is Verdict.SKIP
    assert check.message == "scenario 'load' was not run (--only)"
    # a check of another scenario is judged
    check = judge(target("http.req_duration{scenario:load}", "p(95) < 1ms"), measured(),
                  skipped_scenarios=frozenset({"soak"}))
    assert check.verdict is Verdict.WARN


# -- tag filters ----------------------------------------------------------------------------


def tagged() -> MetricSet:
    """Three endpoints in two scenarios, each with values no other series has."""
    metrics = MetricSet()
    series = {
        ("load", "health", "200"): [1.0, 2.0, 3.0],
        ("load", "records", "200"): [10.0, 20.0],
        ("load", "records", "500"): [500.0],
        ("soak", "health", "200"): [7.0, 9.0],
    }
    for (scenario, name, status), values in series.items():
        tags = {"scenario": scenario, "name": name, "status": status}
        trend = metrics.trend("http.req_duration", tags)
        for v in values:
            trend.add(v, t=1000.0)
        failed = metrics.rate("http.req_failed", tags)
        for _ in values:
            failed.add(status == "500", t=1000.0)
    return metrics


TAG_FILTERS = [
    # selector, count, avg, max
    ("http.req_duration", 8, 552 / 8, 500.0),
    ("http.req_duration{scenario:load}", 6, 536 / 6, 500.0),
    ("http.req_duration{scenario:soak}", 2, 8.0, 9.0),
    ("http.req_duration{name:health}", 5, 22 / 5, 9.0),
    ("http.req_duration{scenario:load,name:records}", 3, 530 / 3, 500.0),
    ("http.req_duration{name:records,scenario:load}", 3, 530 / 3, 500.0),
    ("http.req_duration{ scenario : load , status : 200 }", 5, 36 / 5, 20.0),
    ("http.req_duration{scenario:load,name:records,status:200}", 2, 15.0, 20.0),
]


@pytest.mark.parametrize(("selector", "count", "avg", "high"), TAG_FILTERS,
                         ids=[r[0] for r in TAG_FILTERS])
def test_tag_filters_merge_every_matching_series(selector: str, count: int, avg: float,
                                                 high: float) -> None:
    metrics = tagged()
    for expression, value in (("count == 0", count), ("avg == 0", avg), ("max == 0", high)):
        check = judge(target(selector, expression), metrics)
        assert check.measured == pytest.approx(value, rel=1e-12), expression


def test_tag_filter_on_a_rate() -> None:
    metrics = tagged()
    check = judge(target("http.req_failed{scenario:load}", "rate < 10%", "rate < 20%"),
                  metrics)
    assert (check.verdict, check.measured) == (Verdict.WARN, 1 / 6)
    check = judge(target("http.req_failed{status:500}", "rate == 100%"), metrics)
    assert (check.verdict, check.measured) == (Verdict.PASS, 1.0)
    check = judge(target("http.req_failed{scenario:soak}", "rate == 0"), metrics)
    assert (check.verdict, check.measured) == (Verdict.PASS, 0.0)


@pytest.mark.parametrize(("text", "name", "tags"), [
    ("http.reqs", "http.reqs", {}),
    ("http.reqs{}", "http.reqs", {}),
    ("  http.reqs  ", "http.reqs", {}),
    ("http.req_duration{scenario:load}", "http.req_duration", {"scenario": "load"}),
    ("a-b.c_d{x:1,y:two words}", "a-b.c_d", {"x": "1", "y": "two words"}),
    ("m{status:200,}", "m", {"status": "200"}),
    ("m{url:http://127.0.0.1/x}", "m", {"url": "http://127.0.0.1/x"}),
])
def test_selector(text: str, name: str, tags: dict[str, str]) -> None:
    assert parse_selector(text) == (name, tags)


@pytest.mark.parametrize(("text", "message"), [
    ("", "'' is not a metric selector; expected name or name{tag:value,...}"),
    ("http reqs", "'http reqs' is not a metric selector; expected name or name{tag:value,...}"),
    ("9lives", "'9lives' is not a metric selector; expected name or name{tag:value,...}"),
    ("m{scenario:load", "'m{scenario:load' is not a metric selector; expected name or "
                        "name{tag:value,...}"),
    ("m{scenario}", "bad tag filter 'scenario' in 'm{scenario}'; expected tag:value"),
    ("m{:load}", "bad tag filter ':load' in 'm{:load}'; expected tag:value"),
    ("m{scenario:}", "bad tag filter 'scenario:' in 'm{scenario:}'; expected tag:value"),
])
def test_bad_selector(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_selector(text)
    assert str(info.value) == message


def test_threshold_is_hashable_and_comparable() -> None:
    assert parse_threshold("p(95) < 1s") == parse_threshold("p(95) < 1s")
    assert isinstance(hash(parse_threshold("p(95) < 1s")), int)
    assert isinstance(parse_threshold("p(95) < 1s"), Threshold)


def test_series_of_different_kinds_under_one_name_are_an_error() -> None:
    """Two components that measure ``queue.depth`` as a gauge and as a counter: not a crash."""
    metrics = MetricSet()
    metrics.gauge("queue.depth", {"source": "a"}).add(5, t=1000.0)
    metrics.counter("queue.depth", {"source": "b"}).add(5, t=1000.0)
    check = judge(target("queue.depth", "max < 10"), metrics)
    assert check.verdict is Verdict.ERROR
    assert check.message == "queue.depth cannot be judged: cannot merge counter queue.depth " \
                            "into gauge"
    # a tag filter that picks one kind is judged as usual
    assert judge(target("queue.depth{source:a}", "max < 10"), metrics).verdict is Verdict.PASS
