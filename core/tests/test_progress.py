"""The progress line: what it shows, and that a CI log gets a line now and then."""

from __future__ import annotations

import io
import time

import pytest

from perfgate import LiveRun, MetricSet, format_value
from perfgate.progress import HEADERS, Progress


def test_line_shows_scenario_elapsed_requests_rate_and_extras():
    progress = Progress(stream=io.StringIO(), enabled=False)
    progress.start_scenario("load", planned=30)
    progress.update(requests=1000, errors=3, vus=100)
    line = progress.line()
    assert line.startswith("[load]")
    assert "/30s" in line
    assert "1000 reqs (" in line
    assert "errors 3" in line and "vus 100" in line


def test_not_a_terminal_prints_whole_lines_periodically():
    stream = io.StringIO()
    progress = Progress(stream=stream, log_interval=0.05)
    progress.start_scenario("load")
    progress.update(requests=5)
    time.sleep(0.3)
    progress.finish_scenario()
    progress.close()
    lines = [line for line in stream.getvalue().splitlines() if line]
    assert len(lines) >= 2
    assert all(line.startswith("[load]") for line in lines)
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


class Terminal(io.StringIO):
    """A stream that says it is a terminal, so the display draws with ``rich``."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_table_of_every_running_scenario_from_the_live_metrics():
    live = LiveRun()
    live.attach("load_driver", "api", {"scenario": "api"})
    published = MetricSet()
    published.counter("http.reqs").add(200)
    published.rate("http.req_failed").add_counts(10, 200)
    for ms in range(1, 101):  # 1..100 ms: the p95 is 95 ms
        published.trend("http.req_duration", unit="ms").add(float(ms))
    published.gauge("vus").add(20)
    live.publish("load_driver", "api", published)
    stream = Terminal()
    progress = Progress(stream=stream, interval=0.05, live=live)
    progress.start_scenario("api", planned=30)
    progress.start_scenario("db")
    progress.update(scenario="db", requests=7, errors=0, vus=1)
    rows = {row.scenario: row for row in progress.rows()}
    assert (rows["api"].requests, rows["api"].errors, rows["api"].vus) == (200, 10, 20)
    assert rows["api"].p95 == pytest.approx(95.0, rel=0.001)
    assert rows["api"].error_rate == pytest.approx(0.05)
    assert (rows["db"].requests, rows["db"].error_rate, rows["db"].p95) == (7, 0.0, None)
    time.sleep(0.3)
    progress.close()
    text = stream.getvalue()
    assert "\x1b[" in text  # drawn in place, not printed line after line
    for header in HEADERS:
        assert header in text
    api = rows["api"].cells()
    assert api[0] == "api" and api[1].endswith("/30s")
    assert api[2].startswith("200 (") and api[3:5] == ["10", "20"]
    assert api[5:] == [format_value(rows["api"].p95, "ms"), "5.00%"]
    for cell in ["api", "db", *api[3:], "7 ("]:
        assert cell in text
