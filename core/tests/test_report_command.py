"""``perfgate report``: reporters run on an earlier result document, and its bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfgate import Reporter, ResultDocument, hookimpl
from perfgate.cli import main
from perfgate.plugins import extra_plugins
from perfgate.testing import run_targets

pytestmark = pytest.mark.usefixtures("test_plugins")

TARGETS = """
version: 1
scenarios:
  load: {driver: synthetic, latency_ms: 20, operations: 50, failures: 2}
targets:
  latency: {metric: synthetic.latency, target: p(95) < 1s}
reporters: {json: {path: result.json}}
"""


@pytest.fixture
def result_file(tmp_path: Path) -> Path:
    run_targets(TARGETS, output_dir=tmp_path / "run")
    return tmp_path / "run" / "result.json"


def test_reporters_render_the_document_again(result_file, tmp_path, capsys):
    code = main(["report", str(result_file), "--reporter", "json=copy/result.json",
                 "--reporter", "console", "--output", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    copy = json.loads((tmp_path / "out" / "copy" / "result.json").read_text())
    assert copy == json.loads(result_file.read_text())
    assert "latency" in capsys.readouterr().out  # the console reporter's checks table


def test_a_relative_path_starts_in_the_current_folder(result_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(result_file), "-r", "json=again.json"]) == 0
    assert (tmp_path / "again.json").is_file()


def test_html_is_short_for_the_html_reporter(result_file, capsys):
    # No html reporter is installed for the core's tests: --html names it all the same.
    assert main(["report", str(result_file), "--html", "out.html"]) == 2
    assert "--reporter 'html=out.html': unknown reporter 'html'" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "message"), [
    ("{\n  \"schema\": \"perfgate-result/1\",\n  oops\n}",
     "result.json:3:3: not a result document: invalid JSON: Expecting property name"),
    ('{"checks": []}', "result.json: not a perfgate result document"),
    ('{"schema": "perfgate-result/1", "verdict": "maybe"}',
     "result.json: not a valid result document:"),
])
def test_a_file_that_is_not_a_result_document_is_exit_2(tmp_path, capsys, text, message):
    path = tmp_path / "result.json"
    path.write_text(text)
    assert main(["report", str(path), "-r", "json=x.json", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert not (tmp_path / "x.json").exists()


def test_a_schema_problem_names_its_key(result_file, tmp_path, capsys):
    doc = json.loads(result_file.read_text())
    doc["checks"][0]["verdict"] = "maybe"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    assert main(["report", str(path), "-r", "json=x.json"]) == 2
    assert "bad.json: checks.0.verdict: not a valid result document: 'maybe' is not one of" \
        in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["-r", "nosuch=x"], "unknown reporter 'nosuch'. Installed reporters: console, json"),
    (["-r", "json=x.json", "-r", "console=x.txt"], "--reporter 'console=x.txt': "),
    (["-r", "json="], "expected NAME=PATH"),
    ([], "no reporter given"),
    (["-r", "json=x.json", "--baseline", "missing.json"], "--baseline missing.json: no such"),
])
def test_wrong_reporters_are_exit_2_before_anything_is_written(result_file, tmp_path, capsys,
                                                                args, message):
    assert main(["report", str(result_file), "-o", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_a_missing_result_is_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.json"), "-r", "json=x.json"]) == 2
    assert "nope.json: cannot read the result document: No such file" in \
        capsys.readouterr().err


class Broken(Reporter):
    name = "broken"

    def report(self, result: ResultDocument) -> None:
        raise RuntimeError("disk on fire")


class _BrokenPlugin:
    @hookimpl
    def perfgate_register_components(self, register) -> None:
        register(Broken)


def test_a_failing_reporter_does_not_stop_the_others(result_file, tmp_path, capsys):
    with extra_plugins(_BrokenPlugin()):
        code = main(["report", str(result_file), "-r", "broken", "-r", "json=x.json",
                     "-o", str(tmp_path)])
    assert code == 3
    assert "reporter 'broken' failed: RuntimeError: disk on fire" in capsys.readouterr().err
    assert (tmp_path / "x.json").is_file()
