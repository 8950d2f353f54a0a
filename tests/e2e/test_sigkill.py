"""``kill -9`` of perfgate: what it started (a service's process group, k6) dies with it."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import tempfile
import time
from pathlib import Path

import psutil
from harness import HERE, free_port, pid_alive, wait_for

SERVICE = HERE / "service.py"
SCRIPT = """
import http from 'k6/http';
import { sleep } from 'k6';
export default function () { http.get(`${__ENV.BASE_URL}/`); sleep(0.05); }
"""


def test_sigkill_of_perfgate_stops_its_service_and_k6(perfgate, tmp_path: Path) -> None:
    port = free_port()
    pidfile = tmp_path / "service.pids"
    (tmp_path / "load.js").write_text(SCRIPT)
    command = [sys.executable, str(SERVICE), "--port", str(port), "--pidfile", str(pidfile),
               "--child"]
    path = perfgate.write(f"""\
version: 1
services:
  api:
    url: http://127.0.0.1:{port}
    health: /health
    start: {json.dumps(command)}
scenarios:
  load: {{driver: k6, service: api, script: load.js, vus: 1, duration: 60s}}
""")
    proc = perfgate.start("run", str(path), "--output", "out", "--no-progress")
    try:
        def k6() -> list[psutil.Process]:
            found = []
            for child in psutil.Process(proc.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if child.name() == "k6" and "run" in child.cmdline():
                        found.append(child)
            return found
        assert wait_for(lambda: bool(k6()), timeout=30), proc.stderr.read() if \
            proc.poll() is not None else "k6 did not start"
        [k6_process] = k6()
        workdirs = list(Path(tempfile.gettempdir()).glob(f"perfgate-k6-{proc.pid}-*"))
        service_pids = [int(p) for p in pidfile.read_text().split()]
        assert len(workdirs) == 1
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        started = time.monotonic()
        assert wait_for(lambda: not any(pid_alive(p) for p in service_pids), timeout=20)
        assert wait_for(lambda: not pid_alive(k6_process.pid), timeout=20)
        assert wait_for(lambda: not workdirs[0].exists(), timeout=20)
        assert time.monotonic() - started < 15  # the service's stop_timeout is 10 s
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in ([*service_pids] if "service_pids" in locals() else []):
            if pid_alive(pid):
                psutil.Process(pid).kill()


def test_sigkill_of_perfgate_stops_its_http_workers(perfgate, tmp_path: Path) -> None:
    port = free_port()
    pidfile = tmp_path / "service.pids"
    command = [sys.executable, str(SERVICE), "--port", str(port), "--pidfile", str(pidfile)]
    path = perfgate.write(f"""\
version: 1
services:
  api: {{url: "http://127.0.0.1:{port}", health: /health, start: {json.dumps(command)}}}
scenarios:
  load:
    driver: http
    service: api
    executor: constant-arrival-rate
    rate: 20
    duration: 60s
    workers: 2
    requests: [{{path: /}}]
""")
    proc = perfgate.start("run", str(path), "--output", "out", "--no-progress")
    try:
        def workers() -> list[psutil.Process]:
            return [c for c in psutil.Process(proc.pid).children()
                    if "multiprocessing" in " ".join(c.cmdline())
                    and "resource_tracker" not in " ".join(c.cmdline())]
        assert wait_for(lambda: len(workers()) == 2, timeout=30)
        pids = [w.pid for w in workers()] + [int(p) for p in pidfile.read_text().split()]
        time.sleep(3)  # the workers are past their start-up and sending load
        assert all(pid_alive(p) for p in pids)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert wait_for(lambda: not any(pid_alive(p) for p in pids), timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
