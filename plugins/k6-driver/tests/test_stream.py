"""Reading k6's JSON stream: partial lines, time stamps, series limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from perfgate_k6_driver.names import DROPPED_TAGS
from perfgate_k6_driver.stream import OTHER, FileTail, SampleReader

DEFINITION = {"type": "Metric", "metric": "http_req_duration",
              "data": {"name": "http_req_duration", "type": "trend", "contains": "time",
                       "thresholds": ["p(95)<200"], "submetrics": None}}


def point(value: float, stamp: str, **tags: str) -> str:
    return json.dumps({"type": "Point", "metric": "http_req_duration",
                       "data": {"time": stamp, "value": value, "tags": tags}})


def test_lines_written_in_pieces_are_read_once_complete(tmp_path):
    path = tmp_path / "samples.json"
    reader = SampleReader("s", DROPPED_TAGS)
    tail = FileTail(path, reader)
    assert tail.poll() == 0  # k6 has not created the file yet
    line = point(12.5, "2026-01-02T03:04:05.250000000Z", name="a", scenario="default")
    with path.open("w") as fh:
        fh.write(json.dumps(DEFINITION) + "\n" + line[:30])
        fh.flush()
        assert tail.poll() == 1 and reader.samples == 0
        fh.write(line[30:] + "\n" + line[:10])
        fh.flush()
        assert tail.poll() == 1 and reader.samples == 1
    assert tail.poll(final=True) == 1 and reader.bad_lines == 1  # a truncated last line
    tail.close()
    [metric] = reader.metrics.select("http.req_duration")
    assert metric.tags == {"name": "a", "scenario": "s"} and metric.unit == "ms"
    assert reader.thresholds == {"http_req_duration": ["p(95)<200"]}
    expected = datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=UTC).timestamp()
    assert reader.first == reader.last == expected


def test_time_stamps_with_offsets_and_nanoseconds():
    reader = SampleReader("s", ())
    assert reader._epoch("2026-01-02T03:04:05.123456789+02:00") == \
        datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC).timestamp() + 0.123456789
    assert reader._epoch("2026-01-02T03:04:05Z") == \
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()


def test_requests_named_by_url_are_merged_beyond_max_series():
    reader = SampleReader("s", DROPPED_TAGS, max_series=50)
    reader.feed(json.dumps(DEFINITION))
    for i in range(300):
        url = f"http://127.0.0.1/api/records/{i}"
        reader.feed(point(1.0 + i, "2026-01-02T03:04:05.5Z", name=url, url=url, method="GET",
                          status="200", scenario="default"))
    series = reader.metrics.select("http.req_duration")
    assert len(series) == 51
    merged = reader.metrics.combined("http.req_duration", {"name": OTHER})
    assert merged.count == 250 and merged.aggregate("min") == 51.0
    assert sum(m.count for m in series) == 300  # every sample is still counted
    assert reader.merged == {"http.req_duration"}


def test_what_was_read_is_given_back_to_the_disk(tmp_path):
    path = tmp_path / "samples.json"
    line = point(3.0, "2026-01-02T03:04:05.5Z", name="a", method="GET", status="200",
                 scenario="default") + "\n"
    with path.open("w") as fh:
        fh.write(json.dumps(DEFINITION) + "\n")
        fh.write(line * ((20 << 20) // len(line)))
    reader = SampleReader("s", DROPPED_TAGS)
    tail = FileTail(path, reader)
    tail.poll(final=True)
    if tail._fallocate is None:
        pytest.skip("this file system cannot punch holes into files")
    on_disk = path.stat().st_blocks * 512
    tail.close()
    assert path.stat().st_size > (20 << 20) - 1024
    assert on_disk < 5 << 20  # 16 MiB of the 20 were handed back
    assert reader.samples == (20 << 20) // len(line)
