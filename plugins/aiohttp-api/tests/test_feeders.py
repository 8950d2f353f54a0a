"""Test data (``data:`` CSV and JSON files) and iteration variables in requests and flows,
against the ground-truth server, which counts the user names that signed in."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from perfgate import ConfigError
from perfgate.loader import load_targets
from perfgate.plugins import PluginHost
from perfgate.testing import run_targets

SIGN_IN = [
    {"name": "login", "method": "POST", "path": "/login",
     "json": {"user": "${users.name}", "password": "${users.password}"},
     "capture": {"token": "token"}},
    {"name": "me", "path": "/me", "headers": {"Authorization": "Bearer ${token}"},
     "checks": {"status": 200}},
]


def users_csv(folder: Path, count: int) -> list[str]:
    names = [f"user{i:03d}" for i in range(1, count + 1)]
    (folder / "users.csv").write_text(
        "name,password\n" + "".join(f"{n},pw-{n}\n" for n in names))
    return names


def test_100_vus_sign_in_as_the_100_users_of_a_csv_file(tmp_path, server):
    """Each VU its own row (``per-vu``), across two worker processes: the server sees
    exactly the file's 100 names, each once, and every VU is then signed in."""
    names = users_csv(tmp_path, 100)
    (tmp_path / "targets.yml").write_text(f"""\
version: 1
services:
  gt: {{url: "{server.url}"}}
scenarios:
  sign-in:
    driver: http
    service: gt
    executor: per-vu-iterations
    vus: 100
    iterations: 1
    workers: 2
    data:
      users: {{file: users.csv, mode: per-vu}}
    flows:
      - name: sign-in
        steps: {json.dumps(SIGN_IN)}
targets:
  signed-in: {{metric: checks, critical: rate == 100%}}
""")
    server.reset()
    outcome = run_targets(tmp_path / "targets.yml", output_dir=tmp_path / "out")
    assert server.logins() == dict.fromkeys(names, 1)
    check = next(c for c in outcome.result.checks if c.name == "signed-in")
    assert check.verdict.value == "pass", check.message  # /me knew every token


def test_the_shared_sequence_gives_each_row_once(drive, value, server, tmp_path):
    """``sequential``: one sequence for all VUs (and both processes): 120 iterations over
    120 rows take each row exactly once."""
    names = users_csv(tmp_path, 120)
    metrics, _ = drive({
        "executor": "shared-iterations", "vus": 10, "iterations": 120, "workers": 2,
        "data": {"users": {"file": str(tmp_path / "users.csv")}},
        "flows": [{"name": "sign-in", "steps": SIGN_IN}]})
    assert server.logins() == dict.fromkeys(names, 1)
    assert value(metrics, "checks", "rate") == 1.0


def test_per_iteration_rows_and_wrapping_around(drive, server, tmp_path):
    """``per-iteration``: iteration i of every VU takes row i, and the rows wrap around."""
    (tmp_path / "users.json").write_text(json.dumps([{"name": "ann"}, {"name": "bob"},
                                                     {"name": "cy"}]))
    drive({"executor": "per-vu-iterations", "vus": 4, "iterations": 5,
           "data": {"users": {"file": str(tmp_path / "users.json"), "mode": "per-iteration"}},
           "requests": [{"method": "POST", "path": "/login",
                         "json": {"user": "${users.name}"}}]})
    # iterations 0-4 take rows 0, 1, 2, 0, 1, for each of the 4 VUs
    assert server.logins() == {"ann": 8, "bob": 8, "cy": 4}


def test_random_rows_come_from_the_file(drive, server, tmp_path):
    (tmp_path / "names.json").write_text(json.dumps(["ann", "bob", "cy", "dan"]))
    drive({"executor": "shared-iterations", "vus": 2, "iterations": 200,
           "data": {"names": {"file": str(tmp_path / "names.json"), "mode": "random"}},
           "requests": [{"method": "POST", "path": "/login", "json": {"user": "${names}"}}]})
    logins = server.logins()
    assert set(logins) == {"ann", "bob", "cy", "dan"}  # 200 draws of 4: each drawn
    assert sum(logins.values()) == 200


def test_vu_and_iteration_numbers(drive, server):
    drive({"executor": "per-vu-iterations", "vus": 3, "iterations": 2, "workers": 2,
           "requests": [{"method": "POST", "path": "/login",
                         "json": {"user": "vu${vu}-it${iteration}"}}]})
    assert server.logins() == {f"vu{vu}-it{it}": 1 for vu in (1, 2, 3) for it in (0, 1)}


def test_uuid_and_random_int_are_new_at_each_use(drive, server):
    drive({"executor": "shared-iterations", "vus": 2, "iterations": 300,
           "requests": [{"method": "POST", "path": "/login",
                         "json": {"user": "${uuid} ${random_int:1:3}"}}]})
    logins = server.logins()
    ids = [name.split()[0] for name in logins]
    assert len(set(ids)) == 300  # no UUID twice
    assert all(uuid.UUID(i).version == 4 for i in ids)
    assert {name.split()[1] for name in logins} == {"1", "2", "3"}  # MIN and MAX included


def test_inline_rows_beside_a_plain_request(drive, value, server):
    """Rows may be given inline; a request without a template beside them is unchanged."""
    metrics, _ = drive({
        "executor": "per-vu-iterations", "vus": 2, "iterations": 2,
        "data": {"users": {"rows": [{"name": "ann"}, {"name": "bob"}], "mode": "per-vu"}},
        "requests": [{"name": "in", "method": "POST", "path": "/login",
                      "json": {"user": "${users.name}"}},
                     {"name": "plain", "path": "/health"}]})
    logins = server.logins()
    assert set(logins) <= {"ann", "bob"} and sum(logins.values()) == 2
    assert server.counters()["paths"]["/health"] == 2
    assert value(metrics, "http.req_failed", "rate") == 0.0


def load(tmp_path: Path, scenario_extra: str) -> None:
    (tmp_path / "targets.yml").write_text(f"""\
version: 1
scenarios:
  load:
    driver: http
    url: http://127.0.0.1:9
    executor: per-vu-iterations
    vus: 1
    iterations: 1
{scenario_extra}
""")
    load_targets(tmp_path / "targets.yml", PluginHost.load())


@pytest.mark.parametrize(("files", "extra", "message"), [
    ({}, "    data: {users: {file: users.csv}}\n    requests: [{path: /}]",
     r"targets.yml:\d+:\d+: scenarios.load.data.users: cannot read .*users.csv: No such file"),
    ({"users.csv": "name,password\nann\n"},
     "    data: {users: {file: users.csv}}\n    requests: [{path: /}]",
     r"users.csv:2: 1 values for 2 columns \(name, password\)"),
    ({"users.json": "{\"name\": 1}"},
     "    data: {users: {file: users.json}}\n    requests: [{path: /}]",
     r"users.json: expected a JSON array of rows"),
    ({"users.csv": "name,password\nann,pw\n"},
     "    data: {users: {file: users.csv}}\n"
     "    requests: [{method: POST, path: /login, json: {user: \"${users.nmae}\"}}]",
     r"uses \$\{users.nmae\}, which no earlier step of its flow captures .* and no data file "
     r"gives \(they give \$\{users.name\}, \$\{users.password\}\)"),
    ({}, "    requests: [{path: \"/x/${random_int:9:1}\"}]", r"MIN \(9\) is above MAX \(1\)"),
    ({}, "    data: {vu: {rows: [a]}}\n    requests: [{path: /}]", r"data: 'vu': a data file"),
])
def test_wrong_data_is_an_error_of_the_targets_file(tmp_path, files, extra, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, extra)
    assert re.search(message, str(raised.value)), str(raised.value)
