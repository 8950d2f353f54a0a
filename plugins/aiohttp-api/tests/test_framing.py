"""HTTP/1.1 framing a well-behaved framework never sends, against the raw listener."""

from __future__ import annotations

import tracemalloc

import pytest

from perfgate_aiohttp_api.client import BodySearch, delimited_by_close


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


def test_a_status_outside_100_to_599_is_a_protocol_error(drive, server, value) -> None:
    metrics, _ = drive({"executor": "per-vu-iterations", "vus": 1, "iterations": 3,
                        "requests": [{"url": server.raw_url + "/status-999"}]})
    assert value(metrics, "http.reqs", "count", {"status": "999", "error": "protocol"}) == 3
    assert value(metrics, "http.req_failed", "rate") == 1.0


def test_body_contains_searches_a_huge_body_as_it_streams_in(drive, server, value) -> None:
    # 2 VUs x 3 responses of 48 MiB each, the text at the very end: kept whole, each VU's
    # body alone would be 48 MiB; searched while streaming, what is held stays bounded.
    size = 48 << 20
    tracemalloc.start()
    try:
        metrics, _ = drive({"executor": "per-vu-iterations", "vus": 2, "iterations": 3,
                            "timeout": "60s",
                            "requests": [{"name": "large", "url": f"{server.raw_url}/large/"
                                          f"{size}", "checks": {"body_contains": "the-end",
                                                                "status": 200}}]})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert value(metrics, "http.reqs", "count", {"status": "200"}) == 6
    assert value(metrics, "checks", "rate", {"check": "body contains 'the-end'"}) == 1.0
    assert value(metrics, "data_received", "count") >= 6 * size
    assert peak < size / 4, f"{peak / 2**20:.1f} MiB held at the peak"


def test_body_contains_fails_when_the_text_is_not_there(drive, server, value) -> None:
    metrics, _ = drive({"executor": "per-vu-iterations", "vus": 1, "iterations": 2,
                        "requests": [{"url": f"{server.raw_url}/large/{3 << 20}",
                                      "checks": {"body_contains": "the-end!"}}]})
    assert value(metrics, "checks", "rate") == 0.0


@pytest.mark.parametrize("needle", [b"ab", b"abcdef", b"x" * 9])
def test_a_body_search_finds_the_text_across_every_split(needle: bytes) -> None:
    body = b"." * 7 + needle + b"." * 7
    for size in range(1, len(body) + 1):
        for offset in range(size):
            search = BodySearch(needle)
            pieces = [body[:offset]] + [body[i:i + size] for i in range(offset, len(body), size)]
            for piece in pieces:
                search.feed(piece)
                assert len(search.tail) < len(needle)
            assert search.found, (size, offset)
    missing = BodySearch(needle + b"!")
    for i in range(0, len(body), 3):
        missing.feed(body[i:i + 3])
    assert not missing.found
