"""The built-in system collector sees the host and a saturated load generator."""

from __future__ import annotations

import gateplugin
import pytest

from perfgate.result import validate_result
from perfgate.testing import run_targets


def test_a_busy_load_generator_shows_in_perfgate_cpu(tmp_path):
    outcome = run_targets("""
        version: 1
        scenarios:
          busy: {driver: synthetic, duration: 3s, burn: true}
        collectors:
          system: {interval: 0.25s}
        targets:
          cpu: {metric: system.cpu, critical: max <= 100%}
          memory: {metric: system.memory_used, critical: value > 1MB}
        """, output_dir=tmp_path, plugins=(gateplugin,))
    doc = outcome.result.to_dict()
    validate_result(doc)
    own = outcome.result.metric("perfgate.cpu_max_process")
    assert own is not None
    # Ground truth: the CPU time the process really used while spinning (it gets less than
    # a whole core when the machine is busy, so compare with what it got, not with 100%).
    spent = outcome.result.details["busy"]
    used_pct = 100 * spent["cpu_seconds"] / spent["wall_seconds"]
    assert used_pct > 20
    assert own["values"]["max"] >= 0.7 * used_pct
    assert own["values"]["max"] <= 100 * 1.15
    host = outcome.result.metric("system.cpu")
    assert host is not None and 0 < host["values"]["max"] <= 100
    assert len(host["series"]) >= 2  # per-second buckets over ~2 s
    check = next(c for c in outcome.result.checks if c.name == "system.load-generator-cpu")
    assert check.measured == pytest.approx(own["values"]["max"])
    assert check.verdict.value == ("pass" if own["values"]["max"] < 90 else
                                   "warn" if own["values"]["avg"] < 95 else "fail")
    verdicts = {c.name: c.verdict.value for c in outcome.result.checks}
    assert verdicts["cpu"] == "pass" and verdicts["memory"] == "pass"
