"""Before anything starts: the output folder, the paths the run writes, its lock, baselines."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from perfgate import ConfigError
from perfgate.preflight import LOCK_NAME, OutputLock
from perfgate.result import Verdict
from perfgate.testing import run_targets

pytestmark = pytest.mark.usefixtures("test_plugins")


def service(tmp_path: Path, log: str | None = None) -> str:
    """A service perfgate would start: it writes a marker file the moment it runs."""
    marker = tmp_path / "started"
    script = tmp_path / "svc.py"
    script.write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\n")
    extra = f", log: {log}" if log else ""
    return (f'services: {{api: {{url: "http://127.0.0.1:1", '
            f'start: "{sys.executable} {script}"{extra}}}}}')


def gate(tmp_path: Path, extra: str = "", reporters: str = "reporters: {json: {}}") -> Path:
    path = tmp_path / "targets.yml"
    path.write_text(textwrap.dedent(f"""\
        version: 1
        scenarios:
          load: {{driver: synthetic, latency_ms: 5, operations: 20}}
        targets:
          latency: {{metric: synthetic.latency, critical: p(95) < 1s, baseline: "avg <= +50%"}}
        {reporters}
        """) + extra + "\n")
    return path


def test_an_output_that_is_a_file_is_refused_before_anything_starts(tmp_path):
    out = tmp_path / "out"
    out.write_text("not a folder")
    path = gate(tmp_path, service(tmp_path))
    with pytest.raises(ConfigError, match=f"--output {out}: it is a file, not a folder"):
        run_targets(path, output_dir=out)
    assert not (tmp_path / "started").exists()
    assert out.read_text() == "not a folder"


def test_a_report_path_that_is_a_folder_and_a_log_under_a_file_are_refused_together(tmp_path):
    out = tmp_path / "out"
    (out / "result.json").mkdir(parents=True)
    (out / "logs").write_text("a file")
    path = gate(tmp_path, service(tmp_path, log="logs/api.log"))
    with pytest.raises(ConfigError) as caught:
        run_targets(path, output_dir=out)
    message = str(caught.value)
    assert f"reporters.json.path: cannot write {out / 'result.json'}: it is a folder" in message
    assert f"services.api.log: cannot write {out / 'logs' / 'api.log'}: " \
           f"{out / 'logs'} is a file, not a folder" in message
    assert not (tmp_path / "started").exists()
    assert not (out / LOCK_NAME).exists()


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")
def test_a_read_only_output_folder_is_exit_2_before_the_load(tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    path = gate(tmp_path, service(tmp_path))
    # A read-only file system in a mount namespace of its own: root can write anywhere else.
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o ro tmpfs {out}"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount in a namespace of its own: {probe.stderr.strip()}")
    command = (f"mount -t tmpfs -o ro tmpfs {out} && "
               f"PERFGATE_PLUGINS=gateplugin {sys.executable} -m perfgate.cli run {path} "
               f"--output {out} --no-progress")
    done = subprocess.run(["unshare", "-m", "sh", "-c", command], capture_output=True,
                          text=True, timeout=60, env=_env())
    assert done.returncode == 2, done.stderr
    assert f"--output {out}: " in done.stderr and "read-only" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "started").exists()


def _env() -> dict[str, str]:
    import os

    e2e = Path(__file__).resolve().parents[2] / "tests" / "e2e"
    return {**os.environ, "PYTHONPATH": f"{e2e}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            "PERFGATE_NO_ENTRYPOINTS": "1"}


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_holds_it(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    first = OutputLock(out)
    first.acquire()
    try:
        path = gate(tmp_path, service(tmp_path))
        with pytest.raises(ConfigError, match=r"another perfgate run \(PID [0-9]+\) is writing "
                                              r"into this folder"):
            run_targets(path, output_dir=out)
        assert not (tmp_path / "started").exists()
    finally:
        first.release()
    # Released: the folder is free again, and the lock file is gone after the run.
    outcome = run_targets(gate(tmp_path), output_dir=out)
    assert outcome.exit_code == 0
    assert not (out / LOCK_NAME).exists()


def baseline(tmp_path: Path) -> Path:
    outcome = run_targets(gate(tmp_path), output_dir=tmp_path / "base")
    assert outcome.exit_code == 0
    return tmp_path / "base" / "result.json"


@pytest.mark.parametrize(("change", "message"), [
    (lambda doc: {**doc, "schema": "perfgate-result/2"},
     "it is a perfgate-result/2 document, and this perfgate reads perfgate-result/1"),
    (lambda doc: {**doc, "checks": [{"name": "x"}]}, "it is not a valid result document"),
    (lambda doc: [doc], "it is not a perfgate result document"),
])
def test_an_unusable_baseline_is_exit_2_before_the_run(tmp_path, change, message):
    base = baseline(tmp_path)
    base.write_text(json.dumps(change(json.loads(base.read_text()))))
    with pytest.raises(ConfigError, match=message):
        run_targets(gate(tmp_path, service(tmp_path)), output_dir=tmp_path / "now",
                    baseline=base)
    assert not (tmp_path / "started").exists()
    assert not (tmp_path / "now" / "result.json").exists()


def test_a_baseline_whose_data_is_corrupt_gives_error_verdicts_not_skips(tmp_path):
    base = baseline(tmp_path)
    doc = json.loads(base.read_text())
    for metric in doc["metrics"]:
        if metric["name"] == "synthetic.latency":
            metric["data"] = {}  # its values still show 20 requests
    base.write_text(json.dumps(doc))
    outcome = run_targets(gate(tmp_path), output_dir=tmp_path / "now", baseline=base)
    check = next(c for c in outcome.result.checks if c.name == "latency vs baseline")
    assert check.verdict is Verdict.ERROR, check.message
    assert "corrupt for synthetic.latency: its values say count 20 but its data holds 0" \
        in check.message
    assert outcome.exit_code == 3


def test_a_baseline_from_another_targets_file_is_a_note_in_the_report(tmp_path):
    base = baseline(tmp_path)
    path = gate(tmp_path)
    path.write_text(path.read_text().replace("operations: 20", "operations: 21"))
    outcome = run_targets(path, output_dir=tmp_path / "now", baseline=base)
    assert any(f"the baseline {base} was measured with another targets file" in note
               for note in outcome.result.notes), outcome.result.notes
    same = run_targets(gate(tmp_path), output_dir=tmp_path / "same", baseline=base)
    assert not any("another targets file" in note for note in same.result.notes)
