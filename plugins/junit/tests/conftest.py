"""Result documents to render, the JUnit schema to validate against, a reader to parse with."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from perfgate import Check, ResultDocument, ThresholdOutcome, Verdict
from perfgate.context import RunContext
from perfgate.testing import run_context

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20 UTC
SCHEMA = Path(__file__).with_name("junit-10.xsd")


def every_verdict(*, status: str = "completed", fail_on: str = "fail") -> ResultDocument:
    """Two scenarios and one run-level check; one check of each verdict."""
    checks = [
        Check(name="api-latency", metric="http.req_duration{scenario:load}",
              verdict=Verdict.PASS, aggregation="p(95)", measured=182.4, unit="ms",
              target=ThresholdOutcome("p(95) < 200ms", 200.0, True),
              critical=ThresholdOutcome("p(95) < 1000ms", 1000.0, True),
              message="p(95) = 182.40ms; target p(95) < 200ms met; critical p(95) < 1000ms "
                      "met → pass", scenario="load"),
        Check(name="error-rate", metric="http.req_failed{scenario:load}", verdict=Verdict.WARN,
              aggregation="rate", measured=0.0333, unit="ratio",
              target=ThresholdOutcome("rate < 1%", 0.01, False),
              critical=ThresholdOutcome("rate < 20%", 0.2, True),
              message="rate = 3.33%; target rate < 1% missed; critical rate < 20% met → warn",
              scenario="load"),
        Check(name="throughput", metric="http.reqs{scenario:load}", verdict=Verdict.FAIL,
              aggregation="rate", measured=15.0, unit="/s",
              target=ThresholdOutcome("rate > 500", 500.0, False),
              critical=ThresholdOutcome("rate > 100", 100.0, False),
              message="", scenario="load", description="requests per second"),
        Check(name="db-latency", metric="postgres.query_duration", verdict=Verdict.ERROR,
              target=ThresholdOutcome("p(95) < 100ms"),
              message="postgres.query_duration was not measured because postgres: "
                      "connection refused", group="database"),
        Check(name="frontend-load", metric="browser.load_time{scenario:frontend}",
              verdict=Verdict.SKIP, target=ThresholdOutcome("p(95) < 3s"),
              message="scenario 'frontend' was not run (--only)", scenario="frontend"),
    ]
    result = ResultDocument(
        run={"id": "run-42", "started": T0, "finished": T0 + 12.5, "duration": 12.5,
             "targets_file": "perfgate.yml", "targets_sha256": "cd" * 32, "time_scale": 1.0,
             "status": status, "fail_on": fail_on},
        checks=checks,
        scenarios=[
            {"name": "load", "driver": "http", "started": T0 + 1, "finished": T0 + 11,
             "status": "completed", "error": None},
            {"name": "frontend", "driver": "lighthouse", "started": None, "finished": None,
             "status": "skipped", "error": None},
        ],
        errors=[{"component": "postgres", "role": "collector", "phase": "start",
                 "message": "connection refused"}],
        notes=["load generator CPU above 90%"],
        environment={"host": "ci-runner-7", "platform": "Linux", "python": "3.11.9",
                     "perfgate": "0.1.0", "plugins": [
                         {"name": "junit", "distribution": "perfgate-junit",
                          "version": "0.1.0"}]},
    )
    result.summarise()
    result.exit_code = 3
    return result


@pytest.fixture(name="every_verdict")
def every_verdict_fixture():
    """``every_verdict(status=..., fail_on=...)``: a result with one check of each verdict."""
    return every_verdict


@pytest.fixture(scope="session")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


@pytest.fixture
def assert_valid(schema):
    """``assert_valid(xml_text)``: the text validates against the xunit plugin's schema."""

    def check(text: str) -> etree._Element:
        doc = etree.fromstring(text.encode("utf-8"))
        if not schema.validate(doc):
            raise AssertionError(str(schema.error_log))
        return doc

    return check


@pytest.fixture
def make_context(tmp_path):
    """``make_context(**options)``: a RunContext writing under ``tmp_path``."""

    def make(**options) -> RunContext:
        return run_context(output_dir=tmp_path, **options)

    return make
