"""HTTP/1.1 framing a well-behaved framework never sends, against the raw listener."""

from __future__ import annotations

import pytest

from perfgate_aiohttp_api.client import delimited_by_close


def test_a_body_that_ends_at_the_close_is_a_complete_response(drive, server, value) -> None:
    metrics, _ = drive({"executor": "per-vu-iterations", "vus": 2, "iterations": 25,
                        "requests": [{"name": "close", "url": server.raw_url +
                                      "/close-delimited/5000",
                                      "checks": {"status": 200, "body_contains": "xxxxx"}}]})
    assert server.counters()["paths"]["/close-delimited/5000"] == 50
    assert value(metrics, "http.reqs", "count", {"status": "200"}) == 50
    assert value(metrics, "http.req_failed", "rate") == 0.0
    assert value(metrics, "checks", "rate") == 1.0
    assert value(metrics, "data_received", "count") >= 50 * 5000


def test_a_body_cut_short_of_its_length_is_still_a_failure(drive, server, value) -> None:
    metrics, _ = drive({"executor": "per-vu-iterations", "vus": 1, "iterations": 5,
                        "requests": [{"url": server.raw_url + "/truncated"}]})
    assert value(metrics, "http.reqs", "count", {"error": "reset"}) == 5
    assert value(metrics, "http.req_failed", "rate") == 1.0


def test_interim_responses_are_skipped(drive, server, value) -> None:
    # One VU on one keep-alive connection: a 103 taken as the answer would pair every later
    # request with the previous one's 200 and leave the last one waiting.
    metrics, _ = drive({"executor": "per-vu-iterations", "vus": 1, "iterations": 20,
                        "timeout": "2s",
                        "requests": [{"name": "hints", "url": server.raw_url + "/early-hints",
                                      "checks": {"body_contains": "early-hints-final"}}]})
    assert server.counters()["paths"]["/early-hints"] == 20
    assert value(metrics, "http.reqs", "count", {"status": "200"}) == 20
    assert not metrics.select("http.reqs", {"status": "103"})
    assert value(metrics, "checks", "rate") == 1.0
    assert value(metrics, "http.req_connecting", "count") == 1  # one connection throughout


@pytest.mark.parametrize(("received", "by_close"), [
    (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc", True),
    (b"HTTP/1.0 200 OK\r\n\r\n", True),
    (b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nab", False),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", False),
    (b"HTTP/1.1 103 Early Hints\r\nLink: <a>\r\n\r\nHTTP/1.1 200 OK\r\n\r\nx", True),
    (b"HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", False),
])
def test_which_bodies_end_at_the_close(received: bytes, by_close: bool) -> None:
    assert delimited_by_close(received) is by_close
