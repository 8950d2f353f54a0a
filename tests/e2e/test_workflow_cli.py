"""A load tester's command-line habits, through the real ``perfgate`` command: reporters
named on the command line, a quick gate on a URL, comparing two results, ``perfgate init``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import Finished, Perfgate

from perfgate.cli import main
from perfgate.result import validate_result

groundtruth = pytest.importorskip("perfgate_aiohttp_api.groundtruth")
junitparser = pytest.importorskip("junitparser")

SYNTHETIC = """\
version: 1
scenarios:
  load: {driver: synthetic, latency_ms: 50, operations: 200}
targets:
  latency: {metric: "synthetic.latency{scenario:load}", target: p(95) < 100ms}
reporters:
  console: {}
  json: {path: result.json}
"""


@pytest.fixture(scope="module")
def server() -> Iterator[groundtruth.RunningServer]:
    with groundtruth.running_server() as running:
        yield running


def result_of(path: Path) -> dict:
    doc = json.loads(path.read_text())
    validate_result(doc)
    return doc


def check(doc: dict, name: str) -> dict:
    return next(c for c in doc["checks"] if c["name"] == name)


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    """``perfgate ARGS`` in this process (for the quick ways out: wrong input), in tmp_path."""
    monkeypatch.setenv("PERFGATE_PLUGINS", "gateplugin")
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Finished:
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's own errors
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return Finished(code, out, err, tmp_path / "out")

    return run


def test_reporters_named_on_the_command_line_come_on_top_of_the_file_s(perfgate, tmp_path):
    """``--reporter junit=out.xml --reporter markdown=r.md`` adds two reports; naming the
    file's ``json`` reporter again moves its file and keeps its other options."""
    path = perfgate.write(SYNTHETIC.replace("console: {}", "console: {scenarios: false}"))
    done = perfgate.run("run", str(path), "--output", "out", "--no-progress",
                        "--reporter", "junit=out.xml", "--reporter", "markdown=r.md",
                        "--reporter", "json=elsewhere/run.json")
    assert done.code == 0, done.stderr
    out = tmp_path / "out"
    assert check(result_of(out / "elsewhere" / "run.json"), "latency")["verdict"] == "pass"
    assert not (out / "result.json").exists()
    assert "perfgate: PASS" in done.stdout  # the file's console reporter still reports,
    assert "scenario load" not in done.stdout  # with its own options
    suite = junitparser.JUnitXml.fromfile(str(out / "out.xml"))
    cases = [case.name for s in suite for case in s]
    assert any("latency" in name for name in cases), cases
    assert "latency" in (out / "r.md").read_text()


@pytest.mark.parametrize(("args", "message"), [
    (["--reporter", "nope=x.txt"], "--reporter 'nope=x.txt': unknown reporter 'nope'. "
                                   "Installed reporters: console, "),
    (["--reporter", "console=x.txt"], "the console reporter writes no file"),
    (["--reporter", "junit="], "expected NAME=PATH (junit=out.xml)"),
    (["--vus", "3"], "--vus is for a quick gate with --url"),
    (["--url", "http://127.0.0.1:9/"], "give a targets file or --url, not both"),
])
def test_wrong_command_lines_are_exit_2_before_anything_runs(perfgate, cli, tmp_path, args,
                                                             message):
    path = perfgate.write(SYNTHETIC)
    done = cli("run", str(path), "--output", "out", *args)
    assert done.code == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def quick(perfgate: Perfgate, url: str, *args: str, output: str = "out") -> Finished:
    return perfgate.run("run", "--url", url, "--vus", "5", "--duration", "2s",
                        "--output", output, "--no-progress", *args)


def test_a_quick_gate_on_a_url_and_the_comparison_of_two_runs(perfgate, tmp_path, server):
    """Ground truth: the server answers /delay/N after exactly N ms and counts requests."""
    server.reset()
    fast = quick(perfgate, f"{server.url}/delay/20", "--target",
                 "http.req_duration: p(95) < 500ms", "--target", "http.req_failed: rate < 1%",
                 output="fast")
    assert fast.code == 0, (fast.stdout, fast.stderr)
    before = result_of(tmp_path / "fast" / "reports" / "result.json")
    latency = check(before, "http.req_duration-p95")
    assert latency["verdict"] == "pass"
    assert 20 <= latency["measured"] < 500
    assert check(before, "http.req_failed-rate")["measured"] == 0
    reqs = sum(m["values"]["count"] for m in before["metrics"] if m["name"] == "http.reqs")
    assert reqs == server.counters()["paths"]["/delay/20"]
    assert 5 <= reqs <= 5 * 2.0 / 0.020 + 5  # 5 VUs, each at most one request per 20 ms
    kept = (tmp_path / "fast" / "perfgate-quick.yml").read_text()
    assert "vus: 5" in kept and "duration: 2s" in kept  # to edit and run again

    slow = quick(perfgate, f"{server.url}/delay/80", "--target",
                 "http.req_duration: p(95) < 60ms", output="slow")
    assert slow.code == 1, (slow.stdout, slow.stderr)  # 80 ms answers miss 60 ms: fail
    after = result_of(tmp_path / "slow" / "reports" / "result.json")
    missed = check(after, "http.req_duration-p95")
    assert missed["verdict"] == "fail" and missed["measured"] >= 80

    done = perfgate.run("compare", str(tmp_path / "fast" / "reports" / "result.json"),
                        str(tmp_path / "slow" / "reports" / "result.json"))
    assert done.code == 0, done.stderr
    row = next(line for line in done.stdout.splitlines()
               if line.startswith("http.req_duration-p95"))
    change = missed["measured"] - latency["measured"]
    assert f"{latency['measured']:.2f}ms" in row and f"{missed['measured']:.2f}ms" in row
    assert f"+{change:.2f}ms" in row
    assert f"{change / latency['measured']:+.1%}" in row
    assert "pass → fail" in row
    gone = next(line for line in done.stdout.splitlines()
                if line.startswith("http.req_failed-rate"))
    assert "gone" in gone


def test_quick_gate_input_is_checked(cli):
    for args, message in [
        (["--target", "http.req_duration p(95) < 200ms"], "expected 'METRIC: THRESHOLD'"),
        (["--target", "http.req_duration: p(95) < 200 parsecs"], "bad threshold"),
        (["--duration", "soon"], "'soon' is not a duration"),
        (["--vus", "0"], "must be 1 or more"),
    ]:
        done = cli("run", "--url", "http://127.0.0.1:9/", *args)
        assert done.code == 2 and message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    done = cli("run", "--url", "http://192.0.2.1/")
    assert done.code == 2
    assert "a quick gate loads loopback addresses only" in done.stderr


def test_compare_names_a_file_that_is_not_a_result(perfgate, cli):
    bad = perfgate.write("{}", "bad.json")
    done = cli("compare", str(bad), str(bad))
    assert done.code == 2
    assert f"cannot read the baseline {bad}: it is not a perfgate result document" \
        in done.stderr


def test_init_writes_a_commented_file_that_check_accepts_and_run_runs(perfgate, cli, tmp_path,
                                                                     server):
    url = f"{server.url}/delay/10"
    done = perfgate.run("init", url)
    assert done.code == 0, done.stderr
    path = tmp_path / "targets.yml"
    text = path.read_text()
    assert re.search(r"^\s*#", text, re.M)  # commented for the one who edits it
    assert "p(95) < 200ms" in text and "rate < 5%" in text  # the plan's API targets
    checked = perfgate.run("check", str(path))
    assert checked.code == 0, checked.stderr
    assert "OK: 1 service, 1 scenario, 1 collector" in checked.stdout

    again = cli("init", url)
    assert again.code == 2 and "exists; give --force" in again.stderr
    assert path.read_text() == text

    server.reset()
    ran = perfgate.run("run", str(path), "--output", "out", "--no-progress",
                       "--time-scale", "0.05")
    assert ran.code == 0, (ran.stdout, ran.stderr)
    doc = result_of(tmp_path / "out" / "reports" / "result.json")
    assert check(doc, "api-latency")["measured"] >= 10
    reqs = sum(m["values"]["count"] for m in doc["metrics"] if m["name"] == "http.reqs")
    assert reqs == server.counters()["paths"]["/delay/10"] > 0
