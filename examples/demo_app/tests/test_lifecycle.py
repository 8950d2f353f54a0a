"""Starting and stopping the service as a process: signals, database files, bad options."""

from __future__ import annotations

import importlib.util
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly_and_removes_the_temporary_database(start_demo, sig):
    demo = start_demo()
    assert demo.db_path is not None and demo.db_path.exists()
    assert demo.db_path.parent.name.startswith("perfgate-demo-")
    assert demo.get("/api/records?limit=1").json()["total"] == 100  # the default seed
    assert demo.stop(sig) == 0
    assert not demo.db_path.parent.exists()
    assert demo.output[-2:] == ["demo_app: stopping", "demo_app: stopped"]
    assert not any("Traceback" in line for line in demo.output)


def test_requests_in_flight_finish_before_the_service_stops(start_demo):
    demo = start_demo()
    replies = []
    worker = threading.Thread(target=lambda: replies.append(demo.get("/api/slow?ms=800")))
    worker.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert demo.stop() == 0
    worker.join(5)
    assert [r.status for r in replies] == [200]
    assert time.monotonic() - started >= 0.4  # it waited for the slow request
    assert not demo.db_path.parent.exists()


def test_a_given_database_file_is_kept_and_seeded_only_once(start_demo, tmp_path):
    db = tmp_path / "records.sqlite3"
    first = start_demo("--db", str(db), "--seed", "5")
    assert first.db_path == db
    assert first.call("POST", "/api/records", {"name": "kept", "value": 1}).status == 201
    assert first.stop() == 0
    assert db.exists()

    second = start_demo("--db", str(db), "--seed", "5")
    page = second.get("/api/records").json()
    assert page["total"] == 6
    assert page["items"][-1]["name"] == "kept"
    assert second.stop() == 0
    assert db.exists()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "demo_app", *args], capture_output=True,
                          text=True, timeout=30)


def test_a_busy_port_is_a_clear_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _run("--port", str(port), "--db", str(tmp_path / "db.sqlite3"))
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unusable_database_path_is_a_clear_error(tmp_path):
    done = _run("--port", "0", "--db", str(tmp_path / "missing" / "db.sqlite3"))
    assert done.returncode == 1
    assert "cannot open the database" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_options_are_rejected():
    done = _run("--port", "70000")
    assert done.returncode == 2
    assert "--port must be between 0 and 65535" in done.stderr


def test_asyncio_loop_can_be_chosen(start_demo):
    demo = start_demo("--loop", "asyncio", "--seed", "1")
    assert demo.output[-1].endswith("(asyncio)")
    assert demo.get("/health").status == 200


def test_uvloop_is_used_when_installed(start_demo):
    demo = start_demo("--seed", "1")
    expected = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    assert demo.output[-1].endswith(f"({expected})")
