"""A result document with every verdict, real metrics and known ground truth."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from perfgate import Check, MetricSet, ResultDocument, RunContext, ThresholdOutcome, Verdict
from perfgate.testing import run_context

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


def load_metrics(health_ms: list[float], users_ms: list[float], users_failed: int,
                 cpu: list[float]) -> MetricSet:
    """Request metrics of scenario ``load`` (two endpoints, 10 s) and a CPU gauge."""
    metrics = MetricSet()
    for name, method, values, failed in (("health", "GET", health_ms, 0),
                                         ("users", "POST", users_ms, users_failed)):
        tags = {"scenario": "load", "name": name, "method": method, "status": "200"}
        trend = metrics.trend("http.req_duration", tags)
        reqs = metrics.counter("http.reqs", tags)
        errors = metrics.rate("http.req_failed", tags)
        for i, value in enumerate(values):
            t = T0 + 1 + i * 9 / len(values)
            trend.add(value, t)
            reqs.add(1, t)
            errors.add(i < failed, t)
    metrics.set_window(T0, T0 + 10)
    vus = metrics.gauge("vus", {"scenario": "load"}, "")
    vus.add(10, T0 + 1)
    gauge = metrics.gauge("system.cpu", {}, "%")
    for i, value in enumerate(cpu):
        gauge.add(value, T0 + i)
    gauge.set_window(T0, T0 + 10)
    return metrics


def make_result(*, p95: float = 182.4, cpu: tuple[float, ...] = (10.0, 20.0, 30.0),
                users_ms: list[float] | None = None) -> ResultDocument:
    """Every verdict once: pass, warn, fail, error, skip."""
    metrics = load_metrics([float(v) for v in range(1, 101)],
                           users_ms or [float(v) for v in range(20, 1001, 20)], 5, list(cpu))
    checks = [
        Check("api-latency", "http.req_duration{scenario:load}", Verdict.PASS, "p(95)", p95, "ms",
              ThresholdOutcome("p(95) < 200ms", 200.0, True),
              ThresholdOutcome("p(95) < 1000ms", 1000.0, True),
              f"p(95) = {p95:.2f}ms; target p(95) < 200ms met → pass", scenario="load"),
        Check("error-rate", "http.req_failed{scenario:load}", Verdict.WARN, "rate", 0.0333,
              "ratio", ThresholdOutcome("rate < 1%", 0.01, False),
              ThresholdOutcome("rate < 20%", 0.2, True),
              "rate = 3.33%; target rate < 1% missed; critical rate < 20% met → warn"),
        Check("throughput", "http.reqs{scenario:load}", Verdict.FAIL, "rate", 15.0, "/s",
              ThresholdOutcome("rate > 500", 500.0, False),
              ThresholdOutcome("rate > 100", 100.0, False),
              "rate = 15/s; target rate > 500 missed; critical rate > 100 missed → fail"),
        Check("db-latency", "postgres.query_duration", Verdict.ERROR, None, None, "",
              ThresholdOutcome("p(95) < 100ms"), None,
              "postgres.query_duration was not measured because postgres: connection refused",
              source="thresholds"),
        Check("frontend-load", "browser.load_time{scenario:frontend}", Verdict.SKIP, None, None,
              "", ThresholdOutcome("p(95) < 3s"), ThresholdOutcome("p(95) < 5s"),
              "scenario 'frontend' was not run (--only)", scenario="frontend"),
    ]
    result = ResultDocument(
        run={"id": "run-42", "started": T0, "finished": T0 + 12.5, "duration": 12.5,
             "targets_file": "perfgate.yaml", "targets_sha256": "ab" * 32, "time_scale": 1.0,
             "status": "completed", "fail_on": "fail"},
        exit_code=1, checks=checks,
        scenarios=[
            {"name": "load", "driver": "http", "started": T0, "finished": T0 + 10,
             "status": "completed", "error": None},
            {"name": "frontend", "driver": "lighthouse", "started": None, "finished": None,
             "status": "skipped", "error": None},
        ],
        metrics=metrics.to_list(),
        errors=[{"component": "postgres", "role": "collector", "phase": "start",
                 "message": "connection refused"}],
        notes=["CPU was above 90% on the load generator: latencies may be overstated"],
        details={"postgres": {"top_statements": [
            {"query": "SELECT * FROM users WHERE id = $1", "calls": 120, "total_ms": 960.0,
             "mean_ms": 8.0, "max_ms": 42.5},
            {"query": "UPDATE   orders\n SET state = 'paid' WHERE id = $1", "calls": 30,
             "total_ms": 300.0, "mean_ms": 10.0, "max_ms": 12.0},
        ]}},
        environment={"host": "ci-runner-7", "platform": "Linux-6.1-x86_64", "python": "3.11.9",
                     "perfgate": "0.1.0", "plugins": [
                         {"name": "markdown", "distribution": "perfgate-markdown",
                          "version": "0.1.0"}]},
    )
    result.summarise()
    return result


@pytest.fixture
def result() -> ResultDocument:
    return make_result()


@pytest.fixture(name="make_result")
def make_result_fixture():
    """``make_result(p95=..., cpu=..., users_ms=...)``: another result, e.g. a baseline."""
    return make_result


@pytest.fixture
def make_context(tmp_path):
    """``make_context(**options)``: a RunContext writing under ``tmp_path``."""

    def make(**options) -> RunContext:
        return run_context(output_dir=tmp_path, **options)

    return make


class Tables(HTMLParser):
    """Every ``<table>`` of an HTML page as rows of cell texts (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def render_html(text: str) -> str:
    """Markdown to HTML as GitHub does it: CommonMark with GFM tables."""
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)


def tables_of(text: str) -> list[list[list[str]]]:
    parser = Tables()
    parser.feed(render_html(text))
    return parser.tables


@pytest.fixture
def tables():
    """``tables(markdown)``: the rendered tables as rows of cell texts."""
    return tables_of


@pytest.fixture
def html():
    """``html(markdown)``: the HTML a GFM renderer makes of it."""
    return render_html


def table_with(all_tables: list[list[list[str]]], first_header: str) -> list[list[str]]:
    """The table whose first header cell is ``first_header``."""
    for found in all_tables:
        if found and found[0] and found[0][0] == first_header:
            return found
    raise AssertionError(f"no table headed {first_header!r} in {all_tables}")


@pytest.fixture
def find_table():
    """``find_table(tables, first_header)``."""
    return table_with
