"""The built-in system collector sees the host and a saturated load generator."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import gateplugin
import pytest
from harness import HERE, free_port

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


SERVICE = HERE / "service.py"


def burned_share(log: Path, start: float, end: float) -> float:
    """Percent of one core the burner used from ``start`` to ``end``, from its own log."""
    points = [tuple(map(float, line.split())) for line in log.read_text().splitlines()]
    first = min(points, key=lambda p: abs(p[0] - start))
    last = min(points, key=lambda p: abs(p[0] - end))
    return 100 * (last[1] - first[1]) / (last[0] - first[0])


def test_a_started_service_s_process_tree_is_measured_as_the_service(tmp_path):
    """``service.*{service:NAME}``: each started service's processes, apart from perfgate's.

    Service ``busy`` has a child process that burns half a core (and logs the CPU it really
    got), 8 idle threads, 50 open files and 100 MB of memory; ``idle`` has none of them. The
    load generator burns a core of its own meanwhile: none of it is the services'.
    """
    pidfiles = {name: tmp_path / f"{name}.pids" for name in ("busy", "idle")}
    log = tmp_path / "burn.log"
    extra = {"busy": ["--burn", "0.5", "--burn-log", str(log), "--threads", "8",
                      "--open-files", "50", "--memory", "100"], "idle": []}
    blocks = []
    for name, pidfile in pidfiles.items():
        port = free_port()
        command = [sys.executable, str(SERVICE), "--port", str(port), "--pidfile",
                   str(pidfile), *extra[name]]
        blocks.append(f"""\
          {name}:
            url: http://127.0.0.1:{port}
            health: /health
            start: {json.dumps(command)}
            stop_timeout: 5s""")
    services = "\n".join(blocks)
    outcome = run_targets(f"""
        version: 1
        services:
{services}
        scenarios:
          load: {{driver: synthetic, duration: 4s, burn: true}}
        collectors:
          system: {{interval: 0.25s, check_load_generator: false}}
        targets:
          busy-cpu: {{metric: "service.cpu{{service:busy}}", critical: avg < 90%}}
          idle-cpu: {{metric: "service.cpu{{service:idle}}", critical: avg < 10%}}
        """, output_dir=tmp_path / "out", plugins=(gateplugin,))
    result = outcome.result

    def metric(name: str, service: str) -> dict:
        found = result.metric(name, service=service)
        assert found is not None, (name, service)
        return found

    busy, idle = metric("service.cpu", "busy"), metric("service.cpu", "idle")
    truth = burned_share(log, busy["window"]["start"], busy["window"]["end"])
    assert truth > 10  # it got a fair part of the half core it asked for
    assert busy["values"]["avg"] == pytest.approx(truth, abs=6)
    assert idle["values"]["avg"] < 5
    # Ground truth of the load generator: what the spinning driver really got.
    spent = result.details["load"]
    own = 100 * spent["cpu_seconds"] / spent["wall_seconds"]
    assert own > 5
    assert result.metric("perfgate.cpu")["values"]["avg"] == pytest.approx(own, rel=0.3)
    assert idle["values"]["max"] < own / 2
    # The rest, exactly: processes, threads and open files are counts the service holds.
    assert metric("service.processes", "busy")["values"]["min"] == 2
    assert metric("service.processes", "idle")["values"]["min"] == 1
    threads = {s: metric("service.threads", s)["values"]["min"] for s in ("busy", "idle")}
    assert threads == {"busy": 1 + 8 + 1, "idle": 1}
    files = {s: metric("service.open_files", s)["values"]["min"] for s in ("busy", "idle")}
    # 50 files, and the burner's standard input, output and error and its log.
    assert files["busy"] - files["idle"] == 50 + 4
    memory = {s: metric("service.memory", s)["values"]["min"] for s in ("busy", "idle")}
    assert 100e6 < memory["busy"] - memory["idle"] < 100e6 + 40e6
    checks = {c.name: c.verdict.value for c in result.checks}
    assert checks["busy-cpu"] == "pass" and checks["idle-cpu"] == "pass"
