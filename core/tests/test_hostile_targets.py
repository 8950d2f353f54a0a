"""Hostile targets files: each is exit 2 with a location, quickly and in bounded memory.

An alias bomb, deep nesting, a huge file, numbers beyond 64 bits and durations that no run
can have are refused while the file is read, before anything runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perfgate import FlowSpec, RequestSpec, check_request_hosts, check_requests
from perfgate.cli import main
from perfgate.httpspec import fixed_origin
from perfgate.yamlmap import MAX_BYTES, MAX_DEPTH, MAX_INT, MAX_VALUES

pytestmark = pytest.mark.usefixtures("test_plugins")

PERFGATE = Path(sys.executable).parent / "perfgate"
E2E = Path(__file__).resolve().parents[2] / "tests" / "e2e"

#: 548 bytes that expand to 9^9 (387 million) strings: about a gigabyte once built.
ALIAS_BOMB = ('version: 1\na: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
              + "".join(f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n"
                        for a, b in zip("abcdefgh", "bcdefghi", strict=True)))


def check(tmp_path: Path, text: str | bytes, capsys: pytest.CaptureFixture[str]
          ) -> tuple[int, str, Path]:
    path = tmp_path / "targets.yml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    code = main(["check", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, err, path


def test_an_alias_bomb_is_refused_once_it_expands_past_the_limit(tmp_path, capsys):
    assert len(ALIAS_BOMB) < 600
    code, err, path = check(tmp_path, ALIAS_BOMB, capsys)
    assert code == 2
    assert err.startswith(f"perfgate: error: {path}:")
    assert f"the file expands to more than {MAX_VALUES} values (aliases" in err


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_refused_with_its_line(tmp_path, capsys, style):
    depth = 5000 if style == "flow" else 300  # block nesting needs 2 spaces per level
    if style == "flow":
        text = "version: 1\nx: " + "[" * depth + "]" * depth + "\n"
    else:
        text = "version: 1\n" + "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "x\n"
    code, err, path = check(tmp_path, text, capsys)
    assert code == 2
    assert f"nested more than {MAX_DEPTH} levels deep" in err
    line = 2 if style == "flow" else MAX_DEPTH + 2
    assert err.startswith(f"perfgate: error: {path}:{line}:"), err


def test_a_file_larger_than_the_limit_is_refused_without_parsing_it(tmp_path, capsys):
    big = b"version: 1\n" + b"# padding\n" * (50 * 1024 * 1024 // 10)  # 50 MB
    started = time.process_time()
    code, err, path = check(tmp_path, big, capsys)
    assert code == 2
    assert err == (f"perfgate: error: {path}: the file is larger than {MAX_BYTES // 1024} "
                   "KiB; a targets file is a few kilobytes\n")
    # Not parsed: far less CPU than reading 50 MB of YAML (tens of seconds) would take.
    assert time.process_time() - started < 5


@pytest.mark.parametrize(("value", "says"), [
    (str(MAX_INT + 1), f"{MAX_INT + 1} is out of range: a number here fits in 64 bits"),
    ("9" * 5000, "99999999999999999999... is out of range"),
])
def test_a_number_beyond_64_bits_is_refused_where_it_stands(tmp_path, capsys, value, says):
    text = f"version: 1\nscenarios:\n  load: {{driver: synthetic, operations: {value}}}\n"
    code, err, path = check(tmp_path, text, capsys)
    assert code == 2
    assert err.startswith(f"perfgate: error: {path}:3:41: scenarios.load.operations: {says}")


@pytest.mark.parametrize(("service", "says"), [
    ("start_timeout: 0s", "services.api.start_timeout: Input should be greater than 0"),
    ("start_timeout: 8761h", "services.api.start_timeout: '8761h' is longer than a year"),
    ("start_timeout: 99999999999999999999999999999999h",
     "services.api.start_timeout: '99999999999999999999999999... is longer than a year"),
])
def test_durations_a_run_cannot_have_are_refused(tmp_path, capsys, service, says):
    text = (f"version: 1\nservices:\n  api: {{url: 'http://127.0.0.1:8000', health: /h, "
            f"{service}}}\n")
    code, err, _ = check(tmp_path, text, capsys)
    assert code == 2
    assert says in err, err


def test_the_command_answers_a_bomb_in_bounded_memory(tmp_path):
    """The real ``perfgate check`` on the alias bomb, next to a valid file: the same exit
    path, and about the same memory and time (it used to grow to a gigabyte, for ever)."""
    if not PERFGATE.exists():
        pytest.skip(f"{PERFGATE} is not installed (run ./dev install)")
    env = {**os.environ, "PERFGATE_NO_ENTRYPOINTS": "1", "PERFGATE_PLUGINS": "gateplugin",
           "PYTHONPATH": os.pathsep.join([str(E2E), os.environ.get("PYTHONPATH", "")])}
    valid = tmp_path / "valid.yml"
    valid.write_text("version: 1\nscenarios:\n  load: {driver: synthetic}\n")
    bomb = tmp_path / "bomb.yml"
    bomb.write_text(ALIAS_BOMB)

    def measured(path: Path) -> tuple[int, float, int, str]:
        started = time.monotonic()
        proc = subprocess.Popen([str(PERFGATE), "check", str(path)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        return proc.returncode, time.monotonic() - started, usage.ru_maxrss, err

    code, valid_seconds, valid_kib, _ = measured(valid)
    assert code == 0
    code, seconds, kib, err = measured(bomb)
    assert code == 2 and f"{bomb}:" in err and "Traceback" not in err
    assert kib < valid_kib + 64 * 1024, f"{kib / 1024:.0f} MiB vs {valid_kib / 1024:.0f} MiB"
    assert seconds < 3 * valid_seconds + 1, f"{seconds:.2f}s vs {valid_seconds:.2f}s"


@pytest.mark.parametrize("number", ["9" * 400, "1e400", "1e16"])
def test_a_threshold_no_measurement_can_cross_is_refused(tmp_path, capsys, number):
    text = ("version: 1\nscenarios:\n  load: {driver: synthetic}\ntargets:\n"
            f"  t: {{metric: synthetic.latency, target: 'p(95) < {number}ms'}}\n")
    code, err, path = check(tmp_path, text, capsys)
    assert code == 2
    assert err.startswith(f"perfgate: error: {path}:5:42: targets.t.target: bad threshold: "
                          "the number is out of range (at most 1e+15)"), err


@pytest.mark.parametrize(("url", "refused"), [
    ("http://${host}/items", True),
    ("${next}", True),
    ("http://api${n}.localhost/x", True),
    ("http://127.0.0.1:8000/items/${id}", False),
    ("http://127.0.0.1:8000?q=${id}", False),
])
def test_a_url_whose_host_is_a_template_is_refused_before_the_run(url, refused):
    flow = FlowSpec(name="f", steps=[
        RequestSpec(url="http://127.0.0.1:8000/login", capture={"host": "$.h", "next": "$.n",
                                                                 "n": "$.n", "id": "$.id"}),
        RequestSpec(url=url)])
    if refused:
        with pytest.raises(ValueError, match="the scheme and host of a url cannot be a "
                                             "template"):
            check_requests([], [flow], has_base=False)
    else:
        check_requests([], [flow], has_base=False)
        check_request_hosts(None, [], [flow], [])
    assert (fixed_origin(url) is None) is refused


def test_a_scenario_s_wrong_option_does_not_hide_its_unknown_service(tmp_path, capsys):
    text = ("version: 1\nservices:\n  api: {url: 'http://127.0.0.1:8000'}\nscenarios:\n"
            "  load: {driver: synthetic, service: apl, latency_msec: 5}\n")
    code, err, _ = check(tmp_path, text, capsys)
    assert code == 2
    assert "scenarios.load.service: unknown service 'apl'" in err, err
    assert "scenarios.load.latency_msec: unknown key 'latency_msec'" in err, err
