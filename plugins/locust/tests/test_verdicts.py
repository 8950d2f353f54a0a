"""Worker loss, missing workers, exceptions in tasks, hosts that may not be loaded."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import psutil

from perfgate import Verdict

HERE = Path(__file__).parent


def verdicts(outcome) -> dict[str, Verdict]:
    return {c.name: c.verdict for c in outcome.result.checks}


def local_workers() -> list[psutil.Process]:
    """This test process's Locust worker children, oldest first."""
    found = [p for p in psutil.Process().children(recursive=True)
             if "--worker" in p.cmdline()]
    return sorted(found, key=lambda p: p.create_time())


def kill_worker_when_running(tmp_path: Path, after: float) -> threading.Thread:
    """SIGKILL one local worker ``after`` seconds after all users were spawned."""

    def kill() -> None:
        log = tmp_path / "locust" / "load" / "master.log"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace") if log.exists() else ""
            # On a busy machine the workers' spawn reports may come late: Locust then logs
            # "Spawning is complete and report waittime is expired" instead.
            if "All users spawned" in text or "Spawning is complete" in text:
                break
            time.sleep(0.05)
        time.sleep(after)
        local_workers()[0].send_signal(signal.SIGKILL)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def test_a_worker_killed_mid_run_is_reported_and_the_run_still_ends(run_locust, server,
                                                                     tmp_path):
    killer = kill_worker_when_running(tmp_path, 1.0)
    outcome = run_locust(
        {"users": 6, "duration": "6s", "workers": 2, "spawn_rate": 100,
         "requests": [{"name": "d", "path": "/delay/20"}]},
        targets={"lat": {"metric": "http.req_duration", "target": "p(95) < 1s"}})
    killer.join(5)
    result = outcome.result
    locust = result.details["load"]["locust"]
    lost = [w for w in locust["workers"] if w["lost"]]
    assert len(lost) == 1 and "signal 9" in (lost[0]["exited"] or "")
    check = next(c for c in result.checks if c.name == "load.locust-workers")
    assert check.verdict == Verdict.ERROR and "1 of 2 worker(s) lost" in check.message
    assert verdicts(outcome)["lat"] == Verdict.PASS  # the rest was measured and judged
    assert outcome.exit_code == 3
    assert any("was lost at" in e["message"] for e in result.errors)
    served = server.counters()["paths"]["/delay/20"]
    counted = result.metric_set().combined("http.reqs").aggregate("count")
    survivor = next(w for w in locust["workers"] if not w["lost"])
    assert survivor["requests"] > 0 and survivor["final_report"]
    assert 0 < counted < served  # the lost worker's last report never came


def test_too_few_workers_joining_fails_the_scenario_with_a_clear_error(run_locust):
    outcome = run_locust(
        {"users": 2, "duration": "2s", "workers": 1, "expect_workers": 1,
         "join_timeout": "2s", "requests": [{"path": "/health"}]},
        targets={"reqs": {"metric": "http.reqs", "target": "count > 0"}})
    assert outcome.exit_code == 3
    [scenario] = outcome.result.scenarios
    assert "only 1 of 2 Locust worker(s) joined the master" in scenario["error"]
    assert verdicts(outcome)["load.locust-workers"] == Verdict.ERROR
    assert verdicts(outcome)["reqs"] == Verdict.ERROR


def test_exceptions_in_tasks_fail_the_gate_with_the_message(run_locust, tmp_path):
    locustfile = tmp_path / "throws.py"
    locustfile.write_text(
        "from locust import FastHttpUser, constant, task\n\n\n"
        "class Throws(FastHttpUser):\n"
        "    wait_time = constant(0.05)\n\n"
        "    @task\n"
        "    def parse(self):\n"
        "        self.client.get('/health')\n"
        "        raise KeyError('id')\n")
    outcome = run_locust({"locustfile": str(locustfile), "users": 2, "duration": "2s"})
    check = next(c for c in outcome.result.checks if c.name == "load.locust-exceptions")
    assert check.verdict == Verdict.FAIL
    assert "KeyError" in check.message or "'id'" in check.message
    assert check.measured > 0
    assert outcome.exit_code == 1


def test_a_locustfile_host_that_may_not_be_loaded_is_refused_before_any_load(run_locust,
                                                                             tmp_path):
    locustfile = tmp_path / "elsewhere.py"
    locustfile.write_text(
        "from locust import FastHttpUser, task\n\n\n"
        "class Elsewhere(FastHttpUser):\n"
        "    host = 'http://0.0.0.0:9'\n\n"
        "    @task\n"
        "    def get(self):\n"
        "        self.client.get('/')\n")
    outcome = run_locust({"locustfile": str(locustfile), "service": None, "duration": "2s"})
    [scenario] = outcome.result.scenarios
    assert "refusing to send load to '0.0.0.0'" in scenario["error"]
    assert outcome.exit_code == 3
    assert not local_workers()


def test_a_saturated_worker_fails_the_driver_health_check(run_locust, tmp_path):
    locustfile = tmp_path / "busy.py"
    locustfile.write_text(
        "import time\n\n"
        "from locust import FastHttpUser, constant, task\n\n\n"
        "class Busy(FastHttpUser):\n"
        "    wait_time = constant(0)\n\n"
        "    @task\n"
        "    def compute(self):\n"
        "        until = time.perf_counter() + 0.2\n"
        "        while time.perf_counter() < until:  # holds the worker's event loop\n"
        "            pass\n"
        "        self.client.get('/health')\n")
    outcome = run_locust({"locustfile": str(locustfile), "users": 2, "duration": "4s"})
    check = next(c for c in outcome.result.checks if c.name == "load.driver-health")
    assert check.verdict == Verdict.FAIL, check.message
    assert check.measured >= 0.2  # above the critical threshold: most ticks were late
    metrics = outcome.result.metric_set()
    assert metrics.combined("perfgate.driver.schedule_lag").aggregate("max") >= 100
    assert outcome.exit_code == 1

