"""Targets files from a URL and ``--target`` texts: what the quick gate and ``init`` write."""

from __future__ import annotations

import pytest
import yaml

from perfgate.errors import ConfigError
from perfgate.quickstart import QuickTarget, parse_target, targets_file


def test_the_metric_ends_at_the_first_colon_outside_its_tags():
    taken: set[str] = set()
    assert parse_target("http.req_duration{status:500,scenario:load}: p(95)<200ms", taken) \
        == QuickTarget("http.req_duration-p95", "http.req_duration{status:500,scenario:load}",
                       "p(95)<200ms")
    assert parse_target("http.req_duration: p(95) < 300ms", taken).name == \
        "http.req_duration-p95-2"
    assert parse_target("http.req_failed:rate<1%", taken).name == "http.req_failed-rate"


@pytest.mark.parametrize(("text", "message"), [
    ("http.req_duration p(95) < 200ms", "expected 'METRIC: THRESHOLD'"),
    (": p(95) < 200ms", "expected 'METRIC: THRESHOLD'"),
    ("http.req_duration:", "expected 'METRIC: THRESHOLD'"),
    ("http.req_duration: p(95) <", "bad threshold"),
])
def test_a_wrong_target_names_the_option(text, message):
    with pytest.raises(ConfigError, match="--target") as raised:
        parse_target(text)
    assert message in str(raised.value)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "http://", "http://127.0.0.1:/x",
                                 "http://127.0.0.1:port/", "127.0.0.1:8000/health",
                                 "http://user:pw@127.0.0.1/"])
def test_a_url_that_is_not_one_is_refused(url):
    with pytest.raises(ConfigError, match="expected an http:// or https:// URL"):
        targets_file(url)


def test_the_file_loads_the_url_and_judges_the_targets_given():
    text = targets_file("http://127.0.0.1:8000/api/records?page=2&q=a%20b", vus=7,
                        duration=90, targets=[QuickTarget("t", "http.reqs", "rate > 10")],
                        reporters=["console"], installed=["console", "json"])
    doc = yaml.safe_load(text)
    assert doc["services"] == {"api": {"url": "http://127.0.0.1:8000"}}
    scenario = doc["scenarios"]["load"]
    assert (scenario["vus"], scenario["duration"]) == (7, "1m30s")
    assert scenario["requests"] == [{"name": "api/records", "path": "/api/records",
                                     "query": {"page": "2", "q": "a b"}}]
    assert doc["targets"] == {"t": {"metric": "http.reqs", "critical": "rate > 10"}}
    assert doc["reporters"] == {"console": {}}
    assert "# json: {path: reports/result.json}\n" in text
    assert "# markdown: {path: reports/report.md}  # not installed" in text
    assert "allow_hosts" not in doc


def test_another_host_is_listed_under_allow_hosts():
    doc = yaml.safe_load(targets_file("https://api.example.test/health"))
    assert doc["allow_hosts"] == ["api.example.test"]
    assert set(doc["targets"]) == {"api-latency", "error-rate"}  # the plan's defaults
