"""The metric model against ground truth computed here, without numpy.

Trend percentiles come from an HDR histogram with 3 significant digits, so they are within
0.1% of the exact order statistic; ``avg``, ``min``, ``max`` and ``count`` are exact. Merging
is exact: two halves merged equal one metric fed everything.
"""

from __future__ import annotations

import json
import math
import random

import pytest

from perfgate.metrics import (
    AGGREGATIONS,
    REPORTED_PERCENTILES,
    Counter,
    Gauge,
    Kind,
    Metric,
    MetricSet,
    Rate,
    SecondHistograms,
    TimeSeries,
    Trend,
    aggregation_unit,
    format_selector,
)

PERCENTILES = (0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99)


def exact_percentile(ordered: list[float], p: float) -> tuple[float, float]:
    """The nearest-rank order statistic as an interval: ranks ``ceil`` and ``round`` of p·n."""
    n = len(ordered)
    ranks = {max(1, math.ceil(p / 100 * n)), max(1, int(p / 100 * n + 0.5))}
    return ordered[min(ranks) - 1], ordered[max(ranks) - 1]


def assert_within_hdr_precision(trend: Trend, values: list[float]) -> None:
    """Within 0.1%, or within the resolution (1 µs for a trend in ms) for tiny values."""
    ordered = sorted(values)
    for p in PERCENTILES:
        low, high = exact_percentile(ordered, p)
        got = trend.percentile(p)
        assert got is not None
        assert (min(low * (1 - 1e-3), low - Trend.RESOLUTION) <= got
                <= max(high * (1 + 1e-3), high + Trend.RESOLUTION)), (p, got, low, high)


def feed(trend: Trend, values: list[float], t: float = 1000.0) -> Trend:
    for v in values:
        trend.add(v, t=t)
    return trend


# -- trends ---------------------------------------------------------------------------------


def test_uniform_1_to_10000_ms() -> None:
    values = [float(i) for i in range(1, 10_001)]
    trend = feed(Trend("http.req_duration"), values)
    assert trend.percentile(50) == pytest.approx(5000, rel=1e-3)
    assert trend.percentile(90) == pytest.approx(9000, rel=1e-3)
    assert trend.percentile(95) == pytest.approx(9500, rel=1e-3)
    assert trend.percentile(99) == pytest.approx(9900, rel=1e-3)
    assert trend.percentile(99.9) == pytest.approx(9990, rel=1e-3)
    assert trend.aggregate("med") == trend.percentile(50)
    assert trend.aggregate("p", 95) == trend.percentile(95)
    assert_within_hdr_precision(trend, values)
    # exact ones
    assert trend.aggregate("avg") == 5000.5
    assert trend.aggregate("min") == 1.0
    assert trend.aggregate("max") == 10_000.0
    assert trend.aggregate("count") == 10_000.0
    assert trend.percentile(0) == 1.0
    assert trend.percentile(100) == 10_000.0


@pytest.mark.parametrize("distribution", ["lognormal", "exponential", "bimodal", "sub-ms"])
def test_skewed_distributions(distribution: str) -> None:
    rng = random.Random(20240611)
    draw = {
        "lognormal": lambda: rng.lognormvariate(3.0, 1.0),  # a median near 20 ms, long tail
        "exponential": lambda: rng.expovariate(1 / 50),
        "bimodal": lambda: rng.gauss(5, 0.5) if rng.random() < 0.9 else rng.gauss(800, 50),
        "sub-ms": lambda: rng.uniform(0.05, 0.9),  # a cache: tens to hundreds of µs
    }[distribution]
    values = [max(draw(), 0.001) for _ in range(20_000)]
    trend = feed(Trend("t"), values)
    assert_within_hdr_precision(trend, values)
    assert trend.aggregate("avg") == pytest.approx(math.fsum(values) / len(values), rel=1e-12)
    assert (trend.aggregate("min"), trend.aggregate("max")) == (min(values), max(values))


def test_avg_is_exact() -> None:
    values = [0.1 * i for i in range(1, 1001)]
    trend = feed(Trend("t"), values)
    assert trend.aggregate("avg") == sum(values) / len(values)


def test_percentiles_never_go_beyond_what_was_seen() -> None:
    # One value repeated: the histogram's bucket is wider than one value; report the value.
    trend = feed(Trend("t"), [10.0] * 1000)
    for p in PERCENTILES:
        assert trend.percentile(p) == 10.0
    trend = feed(Trend("t"), [0.0, 0.0, 0.0])
    assert trend.percentile(50) == 0.0
    assert trend.aggregate("avg") == 0.0


def test_values_beyond_the_histogram_range_keep_an_exact_max() -> None:
    hours = 5 * 3_600_000.0  # five hours in ms: beyond the histogram's one hour
    trend = feed(Trend("t"), [1.0] * 99 + [hours])
    assert trend.aggregate("max") == hours
    assert trend.percentile(100) == hours
    assert trend.percentile(50) == 1.0
    assert trend.aggregate("avg") == pytest.approx((99 + hours) / 100)


def test_an_empty_trend() -> None:
    trend = Trend("t")
    assert trend.count == 0
    assert trend.aggregate("count") == 0.0
    for aggregation in ("avg", "min", "max", "med"):
        assert trend.aggregate(aggregation) is None
    assert trend.percentile(95) is None
    assert trend.values()["p(99)"] is None


def test_add_many_equals_adding_one_by_one() -> None:
    one = feed(Trend("t"), [3.0] * 500 + [7.5] * 20)
    many = Trend("t")
    many.add_many(3.0, 500, t=1000.0)
    many.add_many(7.5, 20, t=1000.0)
    many.add_many(1.0, 0, t=1000.0)  # nothing
    assert many.values() == one.values()
    assert many.series.to_list() == one.series.to_list()


def test_add_tally_equals_add_many_of_each_pair() -> None:
    pairs = [(v / 4, c) for v, c in zip(quarter_ms_values(3000, 5), range(1, 3001), strict=True)]
    pairs += [(2.0, 0), (0.0001, 3), (5e9, 2), (123456.789, 4)]  # nothing, clamped, wide
    live = MetricSet(deltas=True)
    batched = live.trend("t")
    batched.add_tally(pairs[:1000], t=1000.0)
    batched.add_tally(pairs[1000:], t=1000.5)
    batched.add_tally([], t=1001.0)
    one_by_one = Trend("t")
    for value, count in pairs[:1000]:
        one_by_one.add_many(value, count, t=1000.0)
    for value, count in pairs[1000:]:
        one_by_one.add_many(value, count, t=1000.5)
    assert batched.values() == one_by_one.values()
    assert batched.series.to_list() == one_by_one.series.to_list()
    assert batched.second_histograms.to_dict() == one_by_one.second_histograms.to_dict()
    mine, theirs = batched.histogram, one_by_one.histogram  # hdrh's arithmetic, inlined
    assert list(mine.counts) == list(theirs.counts)
    assert (mine.total_count, mine.min_value, mine.max_value) == (
        theirs.total_count, theirs.min_value, theirs.max_value)
    assert mine.encode() == theirs.encode()
    delta = live.take_delta().trend("t")  # the journal repeats the batch on the delta
    assert delta.values() == one_by_one.values()
    assert delta.series.to_list() == one_by_one.series.to_list()


def test_values_reports_every_reported_percentile() -> None:
    trend = feed(Trend("t"), [float(i) for i in range(1, 101)])
    values = trend.values()
    assert set(values) == {"count", "avg", "min", "max", "med",
                           *(f"p({p:g})" for p in REPORTED_PERCENTILES)}
    assert values["p(99.9)"] == trend.percentile(99.9)


# -- merging --------------------------------------------------------------------------------


def quarter_ms_values(n: int, seed: int) -> list[float]:
    """Latencies in multiples of 0.25 ms: their sums are exact in floating point."""
    rng = random.Random(seed)
    return [round(rng.lognormvariate(3.0, 1.2) * 4) / 4 for _ in range(n)]


def test_merge_of_two_trends_equals_one_trend_fed_everything() -> None:
    values = quarter_ms_values(10_000, 1)
    whole = feed(Trend("t"), values)
    left = feed(Trend("t"), values[::2])
    right = feed(Trend("t"), values[1::2])
    left.merge(right)
    assert left.values() == whole.values()
    for p in (*PERCENTILES, 33.3, 66.6):
        assert left.percentile(p) == whole.percentile(p)
    assert left.histogram.get_total_count() == whole.histogram.get_total_count() == 10_000


def test_merge_across_worker_processes_through_the_wire_format() -> None:
    """Workers send ``to_dict()`` as JSON; the parent merges what it decodes."""
    values = quarter_ms_values(6000, 2)
    whole = feed(Trend("t"), values)
    parent = MetricSet()
    for worker in range(3):
        part = feed(Trend("t"), values[worker::3])
        parent.add(Metric.from_dict(json.loads(json.dumps(part.to_dict()))))
    merged = parent.combined("t")
    assert merged is not None
    assert merged.values() == whole.values()


def test_merging_an_empty_trend_changes_nothing() -> None:
    trend = feed(Trend("t"), [1.0, 2.0, 3.0])
    before = trend.values()
    trend.merge(Trend("t"))
    assert trend.values() == before
    empty = Trend("t")
    empty.merge(trend)
    assert empty.values() == before


def test_merge_refuses_another_kind() -> None:
    with pytest.raises(TypeError, match="cannot merge rate t into trend"):
        Trend("t").merge(Rate("t"))


# -- round trip -----------------------------------------------------------------------------


def round_trip(metric: Metric) -> Metric:
    return Metric.from_dict(json.loads(json.dumps(metric.to_dict(), allow_nan=False)))


def test_trend_round_trip_keeps_percentiles_exactly() -> None:
    rng = random.Random(3)
    trend = Trend("http.req_duration", {"scenario": "load", "name": "health"})
    for i in range(5000):
        trend.add(rng.expovariate(1 / 40), t=1000.0 + i / 1000)
    trend.set_window(1000.0, 1005.0)
    back = round_trip(trend)
    assert isinstance(back, Trend)
    assert back.to_dict() == trend.to_dict()
    for p in (*PERCENTILES, 12.5, 87.5):
        assert back.percentile(p) == trend.percentile(p)
    assert (back.start, back.end, back.tags, back.unit) == (1000.0, 1005.0, trend.tags, "ms")
    # and the decoded histogram still merges exactly
    back.merge(trend)
    assert back.count == 10_000
    assert back.percentile(95) == trend.percentile(95)


def test_round_trip_of_every_kind() -> None:
    rate = Rate("checks", {"scenario": "load"})
    for i in range(10):
        rate.add(i % 3 != 0, t=1000.0 + i)
    counter = Counter("data_received", {"scenario": "load"}, unit="B")
    counter.add(1500, t=1000.0)
    counter.add(500, t=1001.5)
    counter.set_window(1000.0, 1004.0)
    gauge = Gauge("system.cpu", unit="%")
    for i, v in enumerate((20.0, 75.5, 40.0)):
        gauge.add(v, t=1000.0 + i)
    for metric in (rate, counter, gauge, Trend("empty"), Rate("empty"), Counter("empty"),
                   Gauge("empty")):
        back = round_trip(metric)
        assert type(back) is type(metric)
        assert back.to_dict() == metric.to_dict()
        assert back.values() == metric.values()


def test_metric_set_round_trip() -> None:
    metrics = MetricSet()
    feed(metrics.trend("a", {"x": "1"}), [1.0, 2.0])
    metrics.rate("b").add(True, t=1000.0)
    metrics.counter("c", unit="B").add(10, t=1000.0)
    metrics.gauge("d", unit="%").add(50, t=1000.0)
    doc = json.loads(json.dumps(metrics.to_list()))
    assert [d["name"] for d in doc] == ["a", "b", "c", "d"]
    assert MetricSet.from_list(doc).to_list() == metrics.to_list()


# -- rates, counters, gauges ------------------------------------------------------------------


def test_rate() -> None:
    rate = Rate("http.req_failed")
    for i in range(200):
        rate.add(i % 8 == 0, t=1000.0)
    assert rate.unit == "ratio"
    assert rate.values() == {"rate": 25 / 200, "count": 200.0, "passes": 25.0, "fails": 175.0}
    rate.add_counts(passes=5, total=50, t=1001.0)
    rate.add_counts(passes=1, total=0, t=1001.0)  # nothing
    assert rate.values() == {"rate": 30 / 250, "count": 250.0, "passes": 30.0, "fails": 220.0}
    other = Rate("http.req_failed")
    other.add(1, t=1002.0)
    rate.merge(other)
    assert (rate.aggregate("rate"), rate.count) == (31 / 251, 251)
    assert Rate("x").aggregate("rate") is None
    assert Rate("x").aggregate("count") == 0.0


def test_counter_rate_is_per_second_over_the_window() -> None:
    counter = Counter("http.reqs")
    for i in range(1000):
        counter.add(1, t=1000.0 + i / 100)
    assert counter.aggregate("count") == 1000.0
    assert counter.aggregate("rate") is None  # no window yet
    counter.set_window(1000.0, 1010.0)
    assert counter.aggregate("rate") == 100.0
    # a window only widens: the earliest start and the latest end
    counter.set_window(1002.0, 1008.0)
    assert (counter.start, counter.end) == (1000.0, 1010.0)
    counter.set_window(None, 1020.0)
    assert counter.aggregate("rate") == 50.0
    assert counter.values() == {"count": 1000.0, "rate": 50.0}
    assert counter.count == 1000  # samples


def test_counter_of_bytes_and_a_zero_length_window() -> None:
    counter = Counter("data_sent", unit="B")
    counter.add(4096, t=1000.0)
    counter.add(1024, t=1000.5)
    counter.set_window(1000.0, 1000.0)
    assert counter.aggregate("count") == 5120.0
    assert counter.aggregate("rate") is None  # no time passed: no rate
    counter.set_window(1000.0, 1002.0)
    assert counter.aggregate("rate") == 2560.0


def test_merged_counters_divide_by_the_union_of_windows() -> None:
    a, b = Counter("ops"), Counter("ops")
    a.add(100, t=1000.0)
    a.set_window(1000.0, 1010.0)
    b.add(300, t=1015.0)
    b.set_window(1010.0, 1020.0)
    a.merge(b)
    assert (a.aggregate("count"), a.aggregate("rate")) == (400.0, 20.0)


def test_gauge() -> None:
    gauge = Gauge("system.cpu", unit="%")
    assert gauge.aggregate("value") is None
    for t, v in ((1000.0, 10.0), (1002.0, 90.0), (1001.0, 50.0)):  # arrives out of order
        gauge.add(v, t=t)
    assert gauge.values() == {"value": 90.0, "min": 10.0, "max": 90.0, "avg": 50.0}
    later = Gauge("system.cpu", unit="%")
    later.add(30.0, t=1005.0)
    earlier = Gauge("system.cpu", unit="%")
    earlier.add(99.0, t=999.0)
    gauge.merge(later)
    gauge.merge(earlier)
    assert gauge.values() == {"value": 30.0, "min": 10.0, "max": 99.0, "avg": 279 / 5}


@pytest.mark.parametrize(("kind", "unit", "aggregation", "expected"), [
    (Kind.TREND, "ms", "p", "ms"),
    (Kind.TREND, "ms", "avg", "ms"),
    (Kind.TREND, "ms", "count", ""),
    (Kind.TREND, "B", "max", "B"),
    (Kind.RATE, "ratio", "rate", "ratio"),
    (Kind.RATE, "ratio", "count", ""),
    (Kind.RATE, "ratio", "passes", ""),
    (Kind.COUNTER, "", "count", ""),
    (Kind.COUNTER, "", "rate", "/s"),
    (Kind.COUNTER, "B", "count", "B"),
    (Kind.COUNTER, "B", "rate", "B/s"),
    (Kind.GAUGE, "%", "value", "%"),
    (Kind.GAUGE, "B/s", "max", "B/s"),
])
def test_aggregation_unit(kind: Kind, unit: str, aggregation: str, expected: str) -> None:
    assert aggregation_unit(kind, unit, aggregation) == expected


@pytest.mark.parametrize("cls", [Trend, Rate, Counter, Gauge])
def test_every_aggregation_of_a_kind_answers(cls: type[Metric]) -> None:
    metric = cls("m")
    metric.add(1.0, t=1000.0)
    metric.set_window(1000.0, 1001.0)
    for aggregation in AGGREGATIONS[cls.kind]:
        assert metric.aggregate(aggregation, 50.0) is not None, aggregation
    with pytest.raises(KeyError):
        metric.aggregate("nope")


# -- per-second series --------------------------------------------------------------------


def test_per_second_buckets() -> None:
    trend = Trend("t")
    for t, v in ((1000.1, 5.0), (1000.9, 3.0), (1000.5, 4.0), (1001.0, 10.0), (1003.99, 1.0)):
        trend.add(v, t=t)
    # [second, count, sum, min, max, last]
    assert trend.series.to_list() == [
        [1000, 3, 12.0, 3.0, 5.0, 4.0],
        [1001, 1, 10.0, 10.0, 10.0, 10.0],
        [1003, 1, 1.0, 1.0, 1.0, 1.0],
    ]


def test_per_second_buckets_of_rates_counters_and_gauges() -> None:
    rate = Rate("r")
    for t, hit in ((1000.2, True), (1000.4, False), (1000.6, True)):
        rate.add(hit, t=t)
    assert rate.series.to_list() == [[1000, 3, 2, 0, 1, 1]]
    counter = Counter("c")
    counter.add(2, t=1000.0)
    counter.add(3, t=1000.7)
    counter.add(1, t=1001.0)
    assert counter.series.to_list() == [[1000, 2, 5.0, 2.0, 3.0, 3.0],
                                        [1001, 1, 1.0, 1.0, 1.0, 1.0]]
    gauge = Gauge("g")
    gauge.add(40.0, t=1000.0)
    gauge.add(60.0, t=1000.5)
    assert gauge.series.to_list() == [[1000, 2, 100.0, 40.0, 60.0, 60.0]]


def test_series_merge_adds_up_per_second() -> None:
    a, b = Trend("t"), Trend("t")
    feed(a, [1.0, 9.0], t=1000.2)
    feed(b, [5.0], t=1000.8)
    feed(b, [2.0], t=1001.1)
    a.merge(b)
    assert a.series.to_list() == [[1000, 3, 15.0, 1.0, 9.0, 5.0],
                                  [1001, 1, 2.0, 2.0, 2.0, 2.0]]
    assert TimeSeries.from_list(a.series.to_list()).to_list() == a.series.to_list()


# -- metric sets ----------------------------------------------------------------------------


def test_get_or_create_one_series_per_name_and_tags() -> None:
    metrics = MetricSet()
    a = metrics.trend("http.req_duration", {"scenario": "load", "name": "x"})
    assert metrics.trend("http.req_duration", {"name": "x", "scenario": "load"}) is a
    assert metrics.trend("http.req_duration", {"scenario": "load"}) is not a
    assert len(metrics) == 2
    assert "http.req_duration" in metrics
    assert "http.reqs" not in metrics
    with pytest.raises(TypeError, match=r"http\.req_duration is a trend, not a counter"):
        metrics.counter("http.req_duration", {"scenario": "load", "name": "x"})


def test_add_merges_the_same_series_and_copies_a_new_one() -> None:
    metrics = MetricSet()
    first = feed(Trend("t", {"a": "1"}), [1.0])
    metrics.add(first)
    first.add(100.0, t=1000.0)  # the set holds a copy
    metrics.add(feed(Trend("t", {"a": "1"}), [3.0]))
    merged = metrics.combined("t")
    assert merged is not None
    assert (merged.count, merged.aggregate("max")) == (2, 3.0)


def test_tag_all_adds_tags_without_overriding() -> None:
    metrics = MetricSet()
    feed(metrics.trend("t", {"name": "health"}), [1.0])
    feed(metrics.trend("t", {"name": "x", "scenario": "other"}), [2.0])
    tagged = metrics.tag_all(scenario="load", host="a")
    assert sorted(m.selector for m in tagged) == [
        "t{host:a,name:health,scenario:load}",
        "t{host:a,name:x,scenario:other}",
    ]
    # the original is untouched and the data came along
    assert sorted(m.selector for m in metrics) == ["t{name:health}", "t{name:x,scenario:other}"]
    assert [m.count for m in tagged] == [1, 1]


def test_select_and_combined() -> None:
    metrics = MetricSet()
    feed(metrics.trend("lat", {"scenario": "load", "name": "a"}), [1.0, 2.0])
    feed(metrics.trend("lat", {"scenario": "load", "name": "b"}), [10.0])
    feed(metrics.trend("lat", {"scenario": "soak", "name": "a"}), [100.0])
    feed(metrics.trend("other", {"scenario": "load"}), [1000.0])
    assert len(metrics.select("lat")) == 3
    assert len(metrics.select("lat", {"scenario": "load"})) == 2
    assert len(metrics.select("lat", {"name": "a"})) == 2
    assert metrics.select("lat", {"scenario": "nope"}) == []
    assert metrics.select("lat", {"scenario": "load", "name": "b", "x": "y"}) == []
    load = metrics.combined("lat", {"scenario": "load"})
    assert load is not None
    assert (load.count, load.aggregate("avg"), load.aggregate("max")) == (3, 13 / 3, 10.0)
    assert load.tags == {"scenario": "load"}
    assert load.selector == "lat{scenario:load}"
    everything = metrics.combined("lat")
    assert everything is not None and everything.count == 4
    assert metrics.combined("missing") is None
    # combining copies: the series in the set are unchanged
    assert [m.count for m in metrics.select("lat")] == [2, 1, 1]
    assert metrics.names() == {"lat", "other"}


def test_combined_merges_histograms_exactly() -> None:
    values = quarter_ms_values(3000, 4)
    metrics = MetricSet()
    for i, v in enumerate(values):
        metrics.trend("lat", {"scenario": "load", "endpoint": f"e{i % 7}"}).add(v, t=1000.0)
    whole = feed(Trend("lat", {"scenario": "load"}), values)
    combined = metrics.combined("lat", {"scenario": "load"})
    assert combined is not None
    assert combined.values() == whole.values()


def test_set_window_only_fills_metrics_without_one() -> None:
    metrics = MetricSet()
    metrics.counter("a").add(1, t=1000.0)
    b = metrics.counter("b")
    b.add(1, t=1000.0)
    b.set_window(990.0, 995.0)
    metrics.set_window(1000.0, 1010.0)
    assert (metrics.combined("a").start, metrics.combined("a").end) == (1000.0, 1010.0)
    assert (b.start, b.end) == (990.0, 995.0)


@pytest.mark.parametrize(("name", "tags", "selector"), [
    ("http.reqs", None, "http.reqs"),
    ("http.reqs", {}, "http.reqs"),
    ("http.reqs", {"status": "200", "scenario": "load"}, "http.reqs{scenario:load,status:200}"),
])
def test_format_selector(name: str, tags: dict[str, str] | None, selector: str) -> None:
    assert format_selector(name, tags) == selector


# -- percentiles of each second ------------------------------------------------------------


def test_each_seconds_percentiles_are_within_two_percent() -> None:
    rng = random.Random(7)
    trend = Trend("t")
    seconds = {}
    for second in range(5):
        # a different distribution each second: log-normal around 2 ms ... 200 ms
        values = [rng.lognormvariate(math.log(2 * 3.16 ** second), 0.6) for _ in range(2000)]
        seconds[1000 + second] = sorted(values)
        for v in values:
            trend.add(v, t=1000 + second + rng.random())
    wanted = (50.0, 95.0, 99.0, 100.0)
    columns = trend.second_percentiles(wanted)
    for column, p in zip(columns, wanted, strict=True):
        assert sorted(column) == sorted(seconds)
        for second, ordered in seconds.items():
            low, high = exact_percentile(ordered, p)
            assert low * (1 - 0.0201) <= column[second] <= high * (1 + 0.0201), (p, second)
    # never beyond what that second really saw
    assert columns[3] == {s: v[-1] for s, v in seconds.items()}


def test_each_seconds_histograms_merge_exactly_through_the_wire_format() -> None:
    values = quarter_ms_values(6000, 3)
    whole = Trend("t")
    parent = MetricSet()
    for worker in range(3):
        part = Trend("t")
        for i, v in enumerate(values[worker::3]):
            part.add(v, t=2000 + (i % 4))
            whole.add(v, t=2000 + (i % 4))
        parent.add(Metric.from_dict(json.loads(json.dumps(part.to_dict()))))
    merged = parent.combined("t")
    assert isinstance(merged, Trend)
    assert merged.second_histograms.windows == whole.second_histograms.windows
    assert merged.second_percentiles((50.0, 99.0)) == whole.second_percentiles((50.0, 99.0))
    assert sum(sum(b.values()) for b in merged.second_histograms.windows.values()) == 6000


def test_deltas_add_up_to_each_seconds_histograms() -> None:
    live = MetricSet(deltas=True)
    merged = MetricSet()
    for second in range(3):
        for v in (1.0, 5.0, 5.0, 80.0):
            live.trend("t").add(v, t=3000 + second)
        live.trend("t").add_many(12.5, 10, t=3000 + second)
        merged.merge(live.take_delta())
    assert merged.combined("t").second_histograms.windows == \
        live.combined("t").second_histograms.windows


def test_a_document_without_each_seconds_histograms_still_loads() -> None:
    trend = feed(Trend("t"), [1.0, 2.0, 3.0])
    doc = trend.to_dict()
    del doc["data"]["seconds"]
    loaded = Metric.from_dict(doc)
    assert isinstance(loaded, Trend)
    assert loaded.percentile(50) == trend.percentile(50)
    assert loaded.second_percentiles((50.0,)) == [{}]


def test_percentiles_in_one_pass_equal_one_by_one() -> None:
    trend = feed(Trend("t"), quarter_ms_values(5000, 4))
    wanted = [0.0, *PERCENTILES, 100.0]
    assert trend.percentiles(wanted) == [trend.percentile(p) for p in wanted]
    assert Trend("t").percentiles([50.0]) == [None]


def test_a_long_series_keeps_bounded_windows_that_still_merge_exactly() -> None:
    limit = SecondHistograms.MAX_WINDOWS
    long, short, whole = Trend("t"), Trend("t"), Trend("t")
    for second in range(3 * limit):  # 45 minutes of one sample a second: 4-second windows
        for trend in (long, whole):
            trend.add(1.0 + second % 7, t=10_000 + second)
    for second in range(10):  # another process saw 10 seconds only: 1-second windows
        for trend in (short, whole):
            trend.add(50.0, t=10_000 + second)
    assert long.second_histograms.width == 4 and short.second_histograms.width == 1
    assert len(long.second_histograms.windows) <= limit
    long.merge(short)
    assert long.second_histograms.windows == whole.second_histograms.windows
    assert long.second_histograms.width == 4
    first = long.second_percentiles((100.0, 0.0))
    assert first[0][10_000] == 50.0 and first[1][10_000] == 1.0  # the window's extremes
    assert sum(sum(b.values()) for b in long.second_histograms.windows.values()) == \
        3 * limit + 10
    doc = json.loads(json.dumps(long.to_dict()))
    assert doc["data"]["seconds"]["width"] == 4
    loaded = Metric.from_dict(doc)
    assert isinstance(loaded, Trend)
    assert loaded.second_histograms.windows == long.second_histograms.windows
