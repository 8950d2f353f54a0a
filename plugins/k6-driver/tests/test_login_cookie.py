"""examples/login-cookie/targets-k6.yml: the login that depends on a session cookie passes
with k6 too (k6's cookie jar), against the same server as the http driver's example."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from perfgate.testing import run_targets

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "login-cookie"
SCRIPT = REPO / "k6" / "login-cookie.js"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_login_example_passes_with_k6(tmp_path) -> None:
    shutil.copy(EXAMPLE / "server.py", tmp_path / "server.py")
    text = (EXAMPLE / "targets-k6.yml").read_text().replace("8012", str(free_port()))
    text = text.replace("../../k6/login-cookie.js", str(SCRIPT)).replace("5s", "2s")
    (tmp_path / "targets.yml").write_text(text)
    outcome = run_targets(tmp_path / "targets.yml", output_dir=tmp_path,
                          environ={"LOGIN_PASSWORD": "wonderland"})
    assert outcome.result.errors == [], outcome.result.errors
    assert outcome.exit_code == 0, [(c.name, c.verdict, c.message)
                                    for c in outcome.result.checks]
    me = outcome.result.metric_set().combined("http.reqs", {"name": "me", "status": "200"})
    assert me is not None and me.aggregate("count") > 10
    failed = outcome.result.metric_set().combined("http.req_failed")
    assert failed is not None and failed.aggregate("rate") == 0.0
