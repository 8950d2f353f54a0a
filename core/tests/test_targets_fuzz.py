"""Valid targets files, mutated at random: ``perfgate check`` answers every one with exit 0,
or exit 2 and a location, never a traceback, each within a second of CPU."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfgate.cli import main

pytestmark = pytest.mark.usefixtures("test_plugins")

VALID = [
    """\
version: 1
allow_hosts: [staging.example.com]
services:
  api: {url: "http://127.0.0.1:8000", health: /health, start_timeout: 10s}
scenarios:
  warmup: {driver: synthetic, latency_ms: 5, operations: 10}
  load: {driver: stub-http, vus: 10, duration: 30s, after: warmup, start_time: 1s,
         service: api, tags: {build: "1"}}
collectors:
  system: {interval: 500ms}
  crashy: {value: 3}
targets:
  latency: {metric: "synthetic.latency{scenario:warmup}", target: p(95) < 200ms,
            critical: p(99) < 1s}
  errors: {metric: http.req_failed, critical: rate < 1%, on_missing: warn}
  reqs: {metric: "http.reqs{scenario:load}", target: count > 10}
  value: {metric: crashy.value, critical: value == 3, description: "known"}
reporters:
  json: {path: result.json}
  console: {}
""",
    """\
version: 1
scenarios:
  load: {driver: synthetic, latency_ms: 2, operations: 5, failures: 1}
targets:
  ops: {metric: synthetic.ops, critical: count == 5}
  p95: {metric: synthetic.latency, target: "p(95) < 5ms", baseline: "p(95) <= +10%"}
validators:
  baseline: {file: previous.json, on_regression: warn}
""",
]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["0s", "-1s", "1e400s", "p(95) < 1e999ms", "${env:UNSET_X}", "${host}",
                     "http://${host}/x", "http://10.0.0.1", "*alias", "&a", "[", "{", "'",
                     "synthetic", "stub-http", "crashy", "p(101) < 1ms", "rate < 200%"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6)


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in ``data``."""
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += paths(value, (*prefix, i))
    return out


def mutate(data: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    if not path:
        return value if how == "replace" else data
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "replace":
        parent[last] = value
    elif how == "delete":
        del parent[last]
    elif how == "rename" and isinstance(parent, dict):
        parent[str(value)] = parent.pop(last)
    return data


@st.composite
def mutated_files(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID))
    if draw(st.booleans()):  # a change to the data, written back as YAML
        data = yaml.safe_load(text)
        for _ in range(draw(st.integers(1, 3))):
            path = draw(st.sampled_from(paths(data)))
            how = draw(st.sampled_from(["replace", "delete", "rename"]))
            data = mutate(data, path, how, draw(values))
        return yaml.safe_dump(data, sort_keys=False)
    # a change to the text: characters inserted, removed or the file cut short
    at = draw(st.integers(0, len(text)))
    cut = draw(st.integers(0, 20))
    insert = draw(st.text(alphabet=st.sampled_from(list(":-[]{}&*!|>'\"#%@` \t\n\\$x9")),
                          max_size=5))
    return text[:at] + insert + text[at + cut:]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=mutated_files())
def test_a_mutated_file_is_exit_0_or_2_with_a_location(text: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "targets.yml"
    path.write_text(text)
    started = time.process_time()
    code = main(["check", str(path)])
    spent = time.process_time() - started
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    assert code in (0, 2), err
    if code == 2:
        first = err.splitlines()[0]
        assert first.startswith(f"perfgate: error: {path}:"), err
    assert spent < 1.0, f"{spent:.2f}s of CPU"


@pytest.mark.parametrize("text", VALID)
def test_the_files_mutated_are_valid(text: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "targets.yml"
    path.write_text(text)
    assert main(["check", str(path)]) == 0, capsys.readouterr().err
