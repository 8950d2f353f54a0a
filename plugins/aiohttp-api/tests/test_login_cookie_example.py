"""examples/login-cookie/targets.yml: a login that depends on a session cookie passes with
the http driver, and the secrets it sends (a form password, basic and bearer auth) are in
no report, log or result document."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import yaml

from perfgate.testing import run_targets

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "login-cookie"
PASSWORD = "wonderland"  # ann's, in the example server
TOKEN = "tok-3f9a"  # the server's bearer token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def example(folder: Path, name: str = "targets.yml") -> Path:
    """The example in ``folder`` on a free port, for two seconds of load."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE / "server.py", folder / "server.py")
    text = (EXAMPLE / name).read_text().replace("8012", str(free_port()))
    (folder / name).write_text(text.replace("5s", "2s"))
    return folder / name


def written(folder: Path) -> str:
    """Every report, log and result the run wrote."""
    return "\n".join(p.read_text(errors="replace") for p in sorted(folder.rglob("*"))
                     if p.is_file() and p.name not in ("server.py", "targets.yml")
                     and p.suffix != ".pyc")


def test_the_login_example_passes_with_the_http_driver(tmp_path) -> None:
    path = example(tmp_path)
    outcome = run_targets(path, output_dir=tmp_path, environ={"LOGIN_PASSWORD": PASSWORD})
    assert outcome.result.errors == [], outcome.result.errors
    assert outcome.exit_code == 0, [(c.name, c.verdict, c.message)
                                    for c in outcome.result.checks]
    me = outcome.result.metric_set().combined("http.reqs", {"name": "me", "status": "200"})
    assert me is not None and me.aggregate("count") > 10
    assert (tmp_path / "reports" / "login-cookie.json").is_file()
    assert PASSWORD not in written(tmp_path)


def test_auth_secrets_reach_no_report(tmp_path) -> None:
    path = example(tmp_path)
    doc = yaml.safe_load(path.read_text())
    doc["scenarios"]["login"]["flows"] = [{"name": "auth", "steps": [
        # the secrets in a name: the tag reaches every report, and must be masked there
        {"name": f"basic {PASSWORD}", "path": "/auth/basic",
         "auth": {"basic": {"user": "ann", "password": PASSWORD}}, "checks": {"status": 200}},
        {"name": f"bearer {TOKEN}x", "path": "/auth/bearer",
         "auth": {"bearer": {"token": TOKEN}}, "checks": {"status": 200}},
        {"name": "wrong", "path": "/auth/basic", "checks": {"status": 401}},
    ]}]
    doc["targets"] = {"checks": {"metric": "checks", "target": "rate == 100%",
                                 "critical": "rate > 99%"}}
    doc["reporters"] = {"json": {"path": "result.json"}, "markdown": {"path": "report.md"}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    outcome = run_targets(path, output_dir=tmp_path)
    assert outcome.exit_code == 0, [(c.name, c.verdict, c.message)
                                    for c in outcome.result.checks]
    out = written(tmp_path)
    assert "result.json" in {p.name for p in tmp_path.rglob("*")}
    assert "basic ***" in out
    assert PASSWORD not in out and TOKEN not in out
