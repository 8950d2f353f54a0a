"""The reporter writes a valid file where it is told, and works inside a real run."""

from __future__ import annotations

import pytest
from junitparser import Error, Failure, JUnitXml
from pydantic import ValidationError

from perfgate import Collector, Kind, MetricInfo, MetricSet, Reporter, hookimpl
from perfgate.plugins import PluginHost
from perfgate.testing import run_targets
from perfgate_junit import JUnitReporter, render


def test_writes_the_file_under_the_output_folder(every_verdict, make_context, tmp_path,
                                                 assert_valid):
    config = JUnitReporter.Config(path="reports/perf.xml", group_by="scenario")
    JUnitReporter(config, make_context()).report(every_verdict())
    written = tmp_path / "reports" / "perf.xml"
    text = written.read_text(encoding="utf-8")
    assert text == render(every_verdict(), group_by="scenario")
    assert_valid(text)
    assert len(list(JUnitXml.fromfile(str(written)))) == 3
    assert [p.name for p in written.parent.iterdir()] == ["perf.xml"]  # no temp file left


def test_options_are_checked():
    with pytest.raises(ValidationError):
        JUnitReporter.Config(group_by="endpoint")
    with pytest.raises(ValidationError):
        JUnitReporter.Config(fail_on_warning=True)


def test_registered_through_its_entry_point():
    host = PluginHost.load()
    assert host.registry.get("reporter", "junit") is JUnitReporter
    assert issubclass(JUnitReporter, Reporter)


class CacheCollector(Collector):
    """A collector that reports a fixed hit ratio, or cannot connect."""

    name = "fixed-cache"
    summary = "a fixed cache hit ratio (tests only)"

    @classmethod
    def produces(cls, config):
        return [MetricInfo("cache.hit_ratio", Kind.GAUGE, "%")]

    def stop(self):
        metrics = MetricSet()
        metrics.gauge("cache.hit_ratio", unit="%").add(75.0)
        return metrics


class DownCollector(CacheCollector):
    name = "down-cache"

    @classmethod
    def produces(cls, config):
        return [MetricInfo("down.hit_ratio", Kind.GAUGE, "%")]

    def start(self):
        raise ConnectionError("connection refused")


class CachePlugin:
    @hookimpl
    def perfgate_register_components(self, register):
        register(CacheCollector)
        register(DownCollector)


TARGETS = """
version: 1
collectors:
  fixed-cache: {}
  down-cache: {}
targets:
  hits-ok: {metric: cache.hit_ratio, target: value > 50%}
  hits-warn: {metric: cache.hit_ratio, target: value > 80%, critical: value > 50%}
  hits-fail: {metric: cache.hit_ratio, target: value > 90%, critical: value > 80%}
  down: {metric: down.hit_ratio, target: value > 50%}
reporters:
  junit: {path: out/junit.xml, fail_on_warn: FAIL_ON_WARN}
"""


@pytest.mark.parametrize("fail_on_warn", [False, True])
def test_a_run_through_the_core(perfgate_plugin, tmp_path, assert_valid, fail_on_warn):
    perfgate_plugin(CachePlugin())
    outcome = run_targets(TARGETS.replace("FAIL_ON_WARN", str(fail_on_warn).lower()),
                          output_dir=tmp_path)
    assert outcome.exit_code == 3  # "down" could not be evaluated: the run broke
    text = (tmp_path / "out" / "junit.xml").read_text(encoding="utf-8")
    assert_valid(text)
    assert text == render(outcome.result, fail_on_warn=fail_on_warn)
    xml = JUnitXml.fromfile(str(tmp_path / "out" / "junit.xml"))
    found = {case.name: case for suite in xml for case in suite}
    assert list(found) == ["hits-ok", "hits-warn", "hits-fail", "down", "run"]
    assert found["hits-ok"].is_passed
    if fail_on_warn:
        assert [type(r) for r in found["hits-warn"].result] == [Failure]
    else:
        assert found["hits-warn"].is_passed
        assert found["hits-warn"].system_out.startswith("WARNING: target missed")
    [failure] = found["hits-fail"].result
    assert isinstance(failure, Failure)
    assert failure.message == ("FAIL: value = 75.0%; target value > 90% missed; "
                               "critical value > 80% missed → fail")
    [error] = found["down"].result
    assert isinstance(error, Error)
    assert "connection refused" in error.message
    assert [type(r) for r in found["run"].result] == [Error]
    [suite] = list(xml)
    assert suite.timestamp and suite.time >= 0 and suite.hostname
