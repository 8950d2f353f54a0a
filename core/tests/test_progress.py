"""The progress line: what it shows, and that a CI log gets a line now and then."""

from __future__ import annotations

import io
import time

from perfgate.progress import Progress


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
