"""The ``remote-write`` reporter: a run written into a real Prometheus, queryable at once."""

from __future__ import annotations

import struct
import time

import pytest

from perfgate import Check, ResultDocument, RunError, Verdict
from perfgate.testing import free_port, run_context
from perfgate_prometheus.remote_write import (
    RemoteWriteConfig,
    RemoteWriteReporter,
    encode_write_request,
    snappy_block,
)
from perfgate_prometheus.testing import PrometheusServer, requires, scrape_config


def result(verdict: str, finished: float) -> ResultDocument:
    return ResultDocument(
        run={"id": "r1", "started": finished - 30, "finished": finished, "duration": 30.0,
             "targets_file": "/ci/checkout/examples/demo/targets.yml", "status": "completed"},
        verdict=verdict, exit_code={"pass": 0, "fail": 1}[verdict],
        checks=[Check(name="api-latency", metric="http.req_duration", verdict=Verdict(verdict),
                      aggregation="p(95)", measured=250.0, unit="ms")])


def test_snappy_literals_and_protobuf_by_hand():
    # one literal of 3 bytes: length 3, tag (3-1)<<2
    assert snappy_block(b"abc") == b"\x03\x08abc"
    long = bytes(range(256)) * 300  # 76,800 bytes: two literals, 2-byte lengths
    framed = snappy_block(long)
    assert framed[:3] == b"\x80\xd8\x04"  # varint 76800
    assert framed[3:6] == bytes([61 << 2]) + (65535).to_bytes(2, "little")
    # one series {__name__="x"} 1.5 at 1000 ms, field by field
    label = b"\x0a\x08__name__" + b"\x12\x01x"
    sample = b"\x09" + struct.pack("<d", 1.5) + b"\x10\xe8\x07"
    series = b"\x0a" + bytes([len(label)]) + label + b"\x12" + bytes([len(sample)]) + sample
    assert encode_write_request([([("__name__", "x")], 1.5)], 1000) == \
        b"\x0a" + bytes([len(series)]) + series


@requires("prometheus")
def test_a_written_run_is_in_prometheus_with_its_labels():
    with PrometheusServer(scrape_config(("none", []))) as prometheus:
        config = RemoteWriteConfig(url=f"{prometheus.url}/api/v1/write",
                                   targets="examples/demo/targets.yml",
                                   grouping={"branch": "main"})
        reporter = RemoteWriteReporter(config, run_context(), "remote-write")
        now = time.time()
        reporter.report(result("fail", now - 60))
        reporter.report(result("pass", now - 1))
        selector = 'perfgate_run_verdict{targets="examples/demo/targets.yml",branch="main"}'
        [latest] = prometheus.query(f"{selector} == 1")
        assert latest["metric"] == {"__name__": "perfgate_run_verdict", "job": "perfgate",
                                    "targets": "examples/demo/targets.yml", "branch": "main",
                                    "verdict": "pass"}
        # every run stays in the series: the failed one a minute ago too
        failed = ('perfgate_run_verdict{targets="examples/demo/targets.yml",branch="main",'
                  'verdict="fail"}')
        [earlier] = prometheus.query(failed, at=now - 50)
        assert float(earlier["value"][1]) == 1
        [value] = prometheus.query('perfgate_check_value{check="api-latency"}')
        assert float(value["value"][1]) == 250


def test_a_refused_write_is_a_reporter_error():
    config = RemoteWriteConfig(url=f"http://127.0.0.1:{free_port()}/api/v1/write")
    reporter = RemoteWriteReporter(config, run_context(), "remote-write")
    with pytest.raises(RunError, match=r"cannot write to http://127\.0\.0\.1:.*ConnectError"):
        reporter.report(result("pass", time.time()))
