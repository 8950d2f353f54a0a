"""``perfgate run`` end to end, as CI runs it: exit codes, the result document, services."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from harness import HERE, Perfgate, free_port, pid_alive, wait_for

from perfgate.result import validate_result

SERVICE = HERE / "service.py"


def targets(*, latency: float = 50, failures: int = 0, duration: str = "0.2s",
            crash: bool = False, service: str = "", collectors: str = "",
            extra_targets: str = "") -> str:
    return f"""\
version: 1
{service}
scenarios:
  load:
    driver: synthetic
    {"service: api" if service else ""}
    latency_ms: {latency}
    operations: 200
    failures: {failures}
    duration: {duration}
    crash: {str(crash).lower()}
{collectors}
targets:
  latency:
    metric: "synthetic.latency{{scenario:load}}"
    target: p(95) < 100ms
    critical: p(95) < 500ms
  errors: {{metric: synthetic.failed, target: rate < 5%, critical: rate < 20%}}
  throughput: {{metric: synthetic.ops, critical: count >= 200}}
{extra_targets}
reporters:
  console: {{}}
  json: {{path: result.json}}
"""


def service_block(tmp: Path, *, status: int = 200, exit_now: bool = False,
                  timeout: str = "20s", exit_after: float | None = None) -> tuple[str, Path]:
    port = free_port()
    pidfile = tmp / "service.pids"
    command = [sys.executable, str(SERVICE), "--port", str(port), "--pidfile", str(pidfile),
               "--health-status", str(status), "--child"]
    if exit_now:
        command.append("--exit-now")
    if exit_after is not None:
        command += ["--exit-after", str(exit_after)]
    block = f"""\
services:
  api:
    url: http://127.0.0.1:{port}
    health: /health
    start: {json.dumps(command)}
    start_timeout: {timeout}
    stop_timeout: 5s
"""
    return block, pidfile


def service_pids(pidfile: Path) -> list[int]:
    return [int(line) for line in pidfile.read_text().split()]


def run_ok(perfgate: Perfgate, text: str, *args: str):
    path = perfgate.write(text)
    done = perfgate.run("run", str(path), "--output", "out", "--no-progress", *args)
    doc = done.result()
    validate_result(doc)
    return done, doc


def test_exit_0_when_every_target_is_met(perfgate):
    done, doc = run_ok(perfgate, targets())
    assert done.code == 0, done.stderr
    assert doc["verdict"] == "pass"
    assert doc["summary"]["pass"] == 3
    latency = next(c for c in doc["checks"] if c["name"] == "latency")
    assert latency["measured"] == pytest.approx(50, rel=1e-3)
    assert latency["unit"] == "ms"
    assert latency["target"] == {"expression": "p(95) < 100ms", "limit": 100.0, "passed": True}
    assert "perfgate: PASS" in done.stdout


def test_warn_passes_unless_fail_on_warn(perfgate):
    done, doc = run_ok(perfgate, targets(latency=200))
    assert done.code == 0
    assert doc["verdict"] == "warn"
    done, doc = run_ok(perfgate, targets(latency=200), "--fail-on", "warn")
    assert done.code == 1
    assert doc["exit_code"] == 1


def test_with_fail_on_warn_every_report_has_the_same_headline(perfgate):
    from xml.etree import ElementTree as ET

    text = targets(latency=200).replace("reporters:\n", "reporters:\n"
                                        "  markdown: {path: report.md, step_summary: false}\n"
                                        "  junit: {path: junit.xml}\n")
    done, doc = run_ok(perfgate, text, "--fail-on", "warn")
    assert (done.code, doc["verdict"]) == (1, "warn")
    said = "perfgate: FAIL (exit 1)"
    assert done.stdout.splitlines()[-1].startswith(f"{said} — 3 checks: 2 pass, 1 warn")
    markdown = (done.output / "report.md").read_text(encoding="utf-8")
    assert markdown.splitlines()[0] == f"## ❌ {said} — checks: warn"
    root = ET.parse(done.output / "junit.xml").getroot()
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["perfgate.headline"] == f"{said} — checks: warn"
    failed = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    assert failed == ["latency"]


def test_exit_1_when_a_critical_threshold_is_missed(perfgate):
    done, doc = run_ok(perfgate, targets(failures=60))  # 30% failed > 20% critical
    assert done.code == 1, done.stderr
    errors = next(c for c in doc["checks"] if c["name"] == "errors")
    assert errors["verdict"] == "fail"
    assert errors["measured"] == pytest.approx(0.30)
    assert "FAIL errors" in done.stdout


def test_exit_2_on_a_bad_targets_file(perfgate):
    path = perfgate.write(targets().replace("operations: 200", "operatons: 200"))
    done = perfgate.run("run", str(path), "--output", "out")
    assert done.code == 2
    assert f"{path}:8:5: scenarios.load.operatons: unknown key 'operatons'; did you mean " \
           "'operations'?" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (done.output / "result.json").exists()


def test_exit_3_when_the_driver_crashes_and_reports_are_still_written(perfgate):
    done, doc = run_ok(perfgate, targets(crash=True))
    assert done.code == 3
    assert doc["run"]["status"] == "broken"
    assert {c["verdict"] for c in doc["checks"]} == {"error"}
    assert "synthetic driver crashed on purpose" in doc["checks"][0]["message"]
    assert doc["scenarios"][0]["status"] == "failed"


def test_a_broken_collector_errors_only_its_own_checks(perfgate, monkeypatch):
    perfgate.env["PG_PASSWORD"] = "s3cr3t-pw-42"
    text = targets(
        collectors="collectors:\n  crashy: {fail_on: start, "
                   "dsn: 'postgresql://app:${env:PG_PASSWORD}@127.0.0.1/app'}",
        extra_targets="  backend: {metric: crashy.value, critical: value > 0}")
    done, doc = run_ok(perfgate, text)
    assert done.code == 3
    verdicts = {c["name"]: c["verdict"] for c in doc["checks"]}
    assert verdicts == {"latency": "pass", "errors": "pass", "throughput": "pass",
                        "backend": "error"}
    backend = next(c for c in doc["checks"] if c["name"] == "backend")
    assert "cannot reach postgresql://app:***@127.0.0.1/app" in backend["message"]
    everything = (done.output / "result.json").read_text() + done.stdout + done.stderr
    assert "s3cr3t-pw-42" not in everything


def test_plugin_that_fails_to_import_only_matters_when_used(perfgate):
    perfgate.env["PERFGATE_PLUGINS"] = "gateplugin,no_such_plugin_module"
    done, _ = run_ok(perfgate, targets())
    assert done.code == 0
    listing = perfgate.run("plugins")
    assert "no_such_plugin_module" in listing.stdout
    assert "ModuleNotFoundError" in listing.stdout


def test_only_runs_one_scenario_and_skips_the_others_checks(perfgate):
    text = targets().replace("scenarios:\n", """scenarios:
  other:
    driver: synthetic
    latency_ms: 900
    targets:
      other-latency: {metric: synthetic.latency, critical: p(95) < 1ms}
""", 1)
    done, doc = run_ok(perfgate, text, "--only", "load")
    assert done.code == 0, done.stdout
    other = next(c for c in doc["checks"] if c["name"] == "other-latency")
    assert other["verdict"] == "skip"
    assert other["metric"] == "synthetic.latency"
    assert [s["status"] for s in doc["scenarios"]] == ["skipped", "completed"]


@pytest.mark.parametrize("outcome", ["success", "failure"])
def test_started_service_is_gone_after_the_run(perfgate, tmp_path, outcome):
    block, pidfile = service_block(tmp_path)
    done, _ = run_ok(perfgate, targets(service=block,
                                       failures=0 if outcome == "success" else 100))
    assert done.code == (0 if outcome == "success" else 1), done.stderr
    pids = service_pids(pidfile)
    assert len(pids) == 2  # the service and its own child, one process group
    assert not any(pid_alive(p) for p in pids)


def test_service_never_healthy_is_a_broken_run(perfgate, tmp_path):
    block, pidfile = service_block(tmp_path, status=503, timeout="1.5s")
    done, doc = run_ok(perfgate, targets(service=block))
    assert done.code == 3
    assert doc["run"]["status"] == "broken"
    assert "was not healthy within 1.5s" in doc["errors"][0]["message"]
    assert "HTTP 503" in doc["errors"][0]["message"]
    assert {c["verdict"] for c in doc["checks"]} == {"error"}
    assert not any(pid_alive(p) for p in service_pids(pidfile))


def test_service_that_exits_at_start_is_reported_with_its_output(perfgate, tmp_path):
    block, _ = service_block(tmp_path, exit_now=True)
    done, doc = run_ok(perfgate, targets(service=block))
    assert done.code == 3
    message = doc["errors"][0]["message"]
    assert "exited with code 7" in message
    assert "refusing to start (on purpose)" in message


def test_a_service_that_dies_during_the_load_is_a_broken_run(perfgate, tmp_path):
    block, pidfile = service_block(tmp_path, exit_after=1.0)
    path = perfgate.write(targets(service=block, duration="60s"))
    done = perfgate.run("run", str(path), "--output", "out", "--no-progress", timeout=30)
    assert done.code == 3, done.stderr
    doc = done.result()
    assert doc["run"]["status"] == "broken"
    died = [e for e in doc["errors"] if e["role"] == "service"]
    assert len(died) == 1 and died[0]["component"] == "api"
    assert "exited with code 9 while the run was going on" in died[0]["message"]
    assert "out of memory (on purpose)" in died[0]["message"]  # the end of its log
    (scenario,) = doc["scenarios"]
    assert scenario["status"] == "failed"
    assert "service 'api' exited with code 9" in scenario["error"]
    assert scenario["finished"] - scenario["started"] < 10  # the load stopped with it
    assert "exited with code 9" in done.stderr
    assert not any(pid_alive(p) for p in service_pids(pidfile))


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_load_and_services_and_still_reports(perfgate, tmp_path, sig, code):
    block, pidfile = service_block(tmp_path)
    path = perfgate.write(targets(service=block, duration="60s"))
    proc = perfgate.start("run", str(path), "--output", "out", "--no-progress")
    try:
        assert wait_for(lambda: pidfile.exists() and pidfile.read_text().count("\n") == 2)
        # The scenario starts once the service is healthy; give it a moment to be running.
        assert wait_for(lambda: (tmp_path / "out" / "services" / "api.log").exists())
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, stderr
    doc = (tmp_path / "out" / "result.json")
    assert doc.exists()
    result = json.loads(doc.read_text())
    validate_result(result)
    assert result["run"]["status"] == "interrupted"
    assert result["exit_code"] == code
    assert not any(pid_alive(p) for p in service_pids(pidfile))


@pytest.mark.parametrize("section", ["validators", "reporters"])
def test_a_signal_while_judging_or_reporting_is_an_interrupted_run(perfgate, tmp_path,
                                                                   section):
    marker = tmp_path / "slow.started"
    text = targets().replace("reporters:\n", "")
    text = text.replace("  console: {}\n  json: {path: result.json}\n", "")
    slow = f"  slow: {{marker: {json.dumps(str(marker))}, seconds: 3}}\n"
    text += ("validators:\n" + slow + "reporters:\n  json: {path: result.json}\n"
             if section == "validators" else "reporters:\n" + slow
             + "  json: {path: result.json}\n")
    path = perfgate.write(text)
    perfgate.env["PERFGATE_PLUGINS"] = "gateplugin,slowplugin"
    proc = perfgate.start("run", str(path), "--output", "out", "--no-progress")
    try:
        assert wait_for(marker.exists)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    phase = "judging" if section == "validators" else "writing reports"
    assert f"SIGINT received while {phase}" in stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    validate_result(result)
    assert result["run"]["status"] == "interrupted"
    assert result["exit_code"] == 130
    assert any(f"SIGINT came while {phase}" in note for note in result["notes"])
    # the load was over: every check was judged on complete measurements
    assert {c["verdict"] for c in result["checks"]} == {"pass"}


def test_sighup_stops_the_run_like_sigterm(perfgate, tmp_path):
    block, pidfile = service_block(tmp_path)
    path = perfgate.write(targets(service=block, duration="60s"))
    proc = perfgate.start("run", str(path), "--output", "out", "--no-progress")
    try:
        assert wait_for(lambda: pidfile.exists() and pidfile.read_text().count("\n") == 2)
        assert wait_for(lambda: (tmp_path / "out" / "services" / "api.log").exists())
        proc.send_signal(signal.SIGHUP)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 129, stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["run"]["status"] == "interrupted" and result["exit_code"] == 129
    assert not any(pid_alive(p) for p in service_pids(pidfile))


def test_ctrl_c_while_perfgate_loads_is_a_clean_exit_130(tmp_path):
    # The `perfgate` command's module, with the import of perfgate held up so that the
    # signal certainly comes while perfgate is being imported.
    marker = tmp_path / "importing"
    code = (
        "import importlib.abc, pathlib, sys, time\n"
        "class Slow(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'perfgate.cli':\n"
        f"            pathlib.Path({str(marker)!r}).write_text('x')\n"
        "            time.sleep(10)\n"
        "sys.meta_path.insert(0, Slow())\n"
        "import perfgate_command\n"
        "sys.argv = ['perfgate', '--version']\n"
        "sys.exit(perfgate_command.main())\n")
    # A terminal's Ctrl-C reaches a process whose SIGINT is not ignored; a CI runner that
    # starts the suite without job control passes SIGINT on ignored, and then Python (like
    # every program started in the background) rightly ignores it.
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert wait_for(marker.exists)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert stderr.strip() == "perfgate: interrupted"


def test_time_scale_shortens_load(perfgate):
    done, doc = run_ok(perfgate, targets(duration="20s"), "--time-scale", "0.02")
    assert done.code == 0
    assert doc["run"]["time_scale"] == 0.02
    assert doc["run"]["duration"] < 5


def test_check_validates_without_running(perfgate, tmp_path):
    block, pidfile = service_block(tmp_path)
    path = perfgate.write(targets(service=block))
    done = perfgate.run("check", str(path))
    assert done.code == 0, done.stderr
    assert "OK" in done.stdout
    assert not pidfile.exists()


def test_version():
    out = subprocess.run([sys.executable, "-m", "perfgate.cli", "--version"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.startswith("perfgate ")


def test_a_port_already_taken_is_refused_before_starting_the_service(perfgate, tmp_path):
    import socket

    block, pidfile = service_block(tmp_path)
    port = int(block.split("127.0.0.1:")[1].split()[0])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        done, doc = run_ok(perfgate, targets(service=block))
    assert done.code == 3
    assert "already answers before perfgate started it" in doc["errors"][0]["message"]
    assert not pidfile.exists()


def test_a_secret_the_service_prints_is_redacted_in_its_log(perfgate, tmp_path):
    perfgate.env["SERVICE_PASSWORD"] = "pw-Zq81-never-shown"
    block, _ = service_block(tmp_path)
    block = block.replace('"--child"]', '"--child", "--print-env", "DB_PASS"]')
    block += "    env: {DB_PASS: '${env:SERVICE_PASSWORD}'}\n"
    done, _ = run_ok(perfgate, targets(service=block))
    assert done.code == 0, done.stderr
    log = (done.output / "services" / "api.log").read_text()
    assert "DB_PASS=***" in log
    assert "pw-Zq81-never-shown" not in log


def test_a_secret_in_its_encoded_forms_reaches_no_report_and_no_log(perfgate, tmp_path):
    # The http driver percent-encodes query: values; the service logs the request line with
    # the encoded token, and a Basic authorization header carries it in base64.
    token = "tok/3+Zq81=never&shown"
    perfgate.env["API_TOKEN"] = token
    port = free_port()
    command = [sys.executable, str(SERVICE), "--port", str(port), "--pidfile",
               str(tmp_path / "pids"), "--log-requests"]
    path = perfgate.write(f"""\
version: 1
services:
  api: {{url: "http://127.0.0.1:{port}", health: /health, start: {json.dumps(command)}}}
scenarios:
  load:
    driver: http
    service: api
    executor: per-vu-iterations
    iterations: 3
    requests:
      - {{path: /search, query: {{token: "${{env:API_TOKEN}}"}}}}
targets:
  errors: {{metric: http.req_failed, critical: rate < 1%}}
reporters:
  json: {{path: result.json}}
  markdown: {{path: report.md}}
""")
    done = perfgate.run("run", str(path), "--output", "out", "--no-progress")
    assert done.code == 0, done.stderr
    encoded = [token, urllib.parse.quote(token, safe=""), urllib.parse.quote_plus(token),
               urllib.parse.quote(token)]
    log = (done.output / "services" / "api.log").read_text()
    assert "GET /search?token=***" in log, log
    for name in ("services/api.log", "result.json", "report.md"):
        text = (done.output / name).read_text()
        for form in encoded:
            assert form not in text, (name, form)
    assert token not in done.stdout + done.stderr
