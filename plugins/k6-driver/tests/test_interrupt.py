"""Ctrl-C stops k6 cleanly (its summary still read), and k6 is never left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import yaml

from perfgate.testing import run_context
from perfgate_k6_driver import K6Driver, K6Scenario

LONG_SCRIPT = """
import http from 'k6/http';
import { sleep } from 'k6';
export default function () {
  http.get(`${__ENV.BASE_URL}/delay/10`, { tags: { name: 'delay' } });
  sleep(0.05);
}
"""


def k6_children(pid: int) -> list[psutil.Process]:
    """The k6 processes below ``pid``."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if child.name() == "k6":
                found.append(child)
        except psutil.Error:
            continue
    return found


def wait_for(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def direct_driver(tmp_path: Path, server_url: str, **options) -> K6Driver:
    context = run_context(services={"gt": server_url}, targets_path=tmp_path / "targets.yml",
                          output_dir=tmp_path)
    cfg = K6Scenario.model_validate({"driver": "k6", "service": "gt", **options})
    return K6Driver(cfg, context, "s")


def test_interrupt_stops_k6_and_keeps_what_was_measured(tmp_path, script, server):
    driver = direct_driver(tmp_path, server.url, script=str(script(LONG_SCRIPT)),
                           vus=2, duration="60s")
    result: dict[str, object] = {}
    runner = threading.Thread(target=lambda: result.update(metrics=driver.run()))
    started = time.monotonic()
    runner.start()
    wait_for(lambda: k6_children(os.getpid()))
    [k6] = k6_children(os.getpid())
    time.sleep(1.5)
    driver.interrupt()
    runner.join(timeout=20)
    assert not runner.is_alive()
    assert time.monotonic() - started < 15
    assert not psutil.pid_exists(k6.pid)
    metrics = result["metrics"]
    assert metrics.combined("http.reqs").aggregate("count") > 5
    details = driver.details()["k6"]
    assert details["interrupted"] is True and details["exit_code"] == 105
    # k6 counts the requests that returned; perfgate adds those k6 cut off (one per VU at
    # most), as failed requests
    unfinished = details["unfinished_requests"]
    assert unfinished <= 2
    assert details["summary"]["http_reqs"]["count"] + unfinished == metrics.combined(
        "http.reqs").aggregate("count")
    cut = metrics.select("http.reqs", {"error": "interrupted"})
    assert sum(m.aggregate("count") for m in cut) == unfinished
    assert driver.errors == []


def test_stopping_event_stops_k6(tmp_path, script, server):
    driver = direct_driver(tmp_path, server.url, script=str(script(LONG_SCRIPT)),
                           vus=1, duration="60s")
    threading.Timer(1.5, driver.context.stopping.set).start()
    started = time.monotonic()
    metrics = driver.run()
    assert time.monotonic() - started < 15
    assert metrics.combined("http.reqs").aggregate("count") > 0
    assert not k6_children(os.getpid())


def test_k6_that_ignores_sigint_is_killed(tmp_path, script, server):
    fake = tmp_path / "stubborn-k6"
    fake.write_text("#!/bin/sh\n"
                    "if [ \"$1\" = version ]; then echo 'k6 v0.0.0-stubborn'; exit 0; fi\n"
                    "trap '' INT\n"
                    "sleep 60 & wait\n")
    fake.chmod(0o755)
    driver = direct_driver(tmp_path, server.url, script=str(script(LONG_SCRIPT)),
                           k6_path=str(fake), stop_timeout="1s", vus=1, duration="60s")
    runner = threading.Thread(target=driver.run)
    runner.start()
    def stubborn() -> list[psutil.Process]:
        found = []
        for child in psutil.Process().children():
            try:
                if any("stubborn-k6" in part for part in child.cmdline()):
                    found += [child, *child.children(recursive=True)]
            except psutil.Error:
                continue
        return found

    wait_for(lambda: any(p.name() == "sleep" for p in stubborn()))
    group = stubborn()
    driver.interrupt()
    runner.join(timeout=15)
    assert not runner.is_alive()
    # SIGKILL went to the whole process group: the shell and its sleep are both gone.
    _gone, alive = psutil.wait_procs(group, timeout=5)
    assert not alive
    assert any("did not stop within" in e for e in driver.errors)
    assert driver.details()["k6"]["version"] == "v0.0.0-stubborn"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_to_perfgate_stops_k6_and_writes_reports(tmp_path, script, server):
    path = script(LONG_SCRIPT)
    targets = tmp_path / "targets.yml"
    targets.write_text(yaml.safe_dump({
        "version": 1,
        "services": {"gt": {"url": server.url}},
        "scenarios": {"s": {"driver": "k6", "service": "gt", "script": path.name,
                            "vus": 2, "duration": "60s"}},
        "targets": {"latency": {"metric": "http.req_duration", "target": "p(95) < 1s"}},
        "reporters": {"json": {"path": "result.json"}},
    }))
    perfgate = Path(sys.executable).with_name("perfgate")
    proc = subprocess.Popen([str(perfgate), "run", str(targets), "--output", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        wait_for(lambda: k6_children(proc.pid))
        [k6] = k6_children(proc.pid)
        time.sleep(1.5)
        os.kill(proc.pid, signal.SIGINT)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 130
    assert not psutil.pid_exists(k6.pid)
    result = yaml.safe_load((tmp_path / "result.json").read_text())
    assert result["run"]["status"] == "interrupted"
    assert result["details"]["s"]["k6"]["interrupted"] is True
    measured = [m for m in result["metrics"] if m["name"] == "http.reqs"]
    assert measured and sum(m["values"]["count"] for m in measured) > 0
