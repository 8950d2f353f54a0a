"""Ctrl-C stops master and workers: the run ends with what was measured, no process is left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil


def locust_processes(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(marker in part for part in proc.info["cmdline"] or ()):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_ctrl_c_stops_master_and_workers_and_keeps_the_results(server, tmp_path):
    name = f"ctrlc_{uuid.uuid4().hex[:8]}"  # in the generated locustfile's name
    (tmp_path / "targets.yml").write_text(json.dumps({
        "version": 1, "services": {"gt": {"url": server.url}},
        "scenarios": {name: {"driver": "locust", "service": "gt", "users": 4,
                             "duration": "60s", "workers": 2, "buckets": "fine",
                             "requests": [{"path": "/delay/20"}]}},
        "targets": {"reqs": {"metric": "http.reqs", "target": "count > 0"}},
        "reporters": {"json": {"path": "result.json"}}}))
    env = {**os.environ, "PERFGATE_NO_ENTRYPOINTS": "",
           "PERFGATE_DISABLE_PLUGINS": ""}
    perfgate = str(Path(sys.executable).with_name("perfgate"))
    proc = subprocess.Popen([perfgate, "run", "targets.yml",
                             "--output", "out"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        master_log = tmp_path / "out" / "locust" / name / "master.log"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if master_log.exists() and "All users spawned" in master_log.read_text():
                break
            time.sleep(0.1)
        time.sleep(1.5)
        assert len(locust_processes(name)) == 3  # the master and two workers
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        took = time.monotonic() - stopped_at
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, out.decode()
    assert took < 15
    assert locust_processes(name) == []
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["run"]["status"] == "interrupted"
    served = server.counters()["paths"]["/delay/20"]
    counted = sum(m["values"]["count"] for m in result["metrics"] if m["name"] == "http.reqs")
    assert counted == served > 0  # the graceful stop lost no request
    # buckets: fine keeps 3 significant digits (Locust's own buckets: whole ms under 100 ms)
    [duration] = [m for m in result["metrics"] if m["name"] == "http.req_duration"]
    percentiles = [duration["values"][k] for k in ("med", "p(90)", "p(95)", "p(99)")]
    assert any(abs(v - round(v)) > 0.02 for v in percentiles), percentiles
