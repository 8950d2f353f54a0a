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


def test_system_cpu_over_a_burning_scenario_s_window(tmp_path):
    """``system.cpu{scenario:burn}`` holds only the samples taken while ``burn`` spun."""
    outcome = run_targets("""
        version: 1
        scenarios:
          idle: {driver: synthetic, duration: 2500ms}
          burn: {driver: synthetic, duration: 2500ms, burn: true, after: idle}
          cooldown: {driver: synthetic, duration: 2500ms, after: burn}
        collectors:
          system: {interval: 250ms, check_load_generator: false}
        targets:
          host-burn: {metric: "system.cpu{scenario:burn}", critical: avg <= 100%}
          host-idle: {metric: "system.cpu{scenario:idle}", critical: avg <= 100%}
          host-run: {metric: system.cpu, critical: avg <= 100%}
          own-burn: {metric: "perfgate.cpu{scenario:burn}", critical: avg <= 200%}
          own-idle: {metric: "perfgate.cpu{scenario:idle}", critical: avg <= 200%}
          own-run: {metric: perfgate.cpu, critical: avg <= 200%}
        """, output_dir=tmp_path, plugins=(gateplugin,))
    measured = {c.name: c.measured for c in outcome.result.checks}
    # Ground truth: the CPU the burning driver really got (less than a core on a busy box).
    spent = outcome.result.details["burn"]
    burned = 100 * spent["cpu_seconds"] / spent["wall_seconds"]
    assert burned > 15
    # perfgate's own CPU over the window is what the driver burned, and the idle windows'
    # is next to nothing; the whole run's average lies in between (a third of it burned).
    assert measured["own-burn"] == pytest.approx(burned, rel=0.2)
    assert measured["own-idle"] < burned / 3
    assert measured["own-idle"] < measured["own-run"] < measured["own-burn"]
    assert measured["own-run"] == pytest.approx(burned / 3, abs=burned * 0.15 + 5)
    # The host: one more busy thread adds its share of all cores to the burning window,
    # unless other work already kept every core busy (a shared test machine): then the
    # burn only took CPU from it, and the host's numbers cannot tell the windows apart.
    cores = outcome.result.environment["cpu_count"]
    share = burned / cores
    if measured["host-idle"] < 100 - share:
        assert measured["host-burn"] - measured["host-idle"] > 0.5 * share
        assert measured["host-idle"] < measured["host-run"] < measured["host-burn"]
    assert measured["host-burn"] >= measured["host-idle"] - 5
    cut = outcome.result.metric("system.cpu", scenario="burn")
    assert cut["window"]["scenario"] == "burn"
    assert 8 <= cut["data"]["samples"] <= 11  # 2.5 s at 250 ms
    assert outcome.exit_code == 0
