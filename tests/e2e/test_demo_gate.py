"""The demo gate end to end with the real parts: demo service, http driver, Ctrl-C."""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path

import pytest
from harness import Perfgate, free_port, wait_for

from perfgate.result import validate_result

pytest.importorskip("perfgate_aiohttp_api")
pytest.importorskip("demo_app")

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo" / "targets.yml"


def demo_copy(perfgate: Perfgate, port: int, duration: str) -> Path:
    text = DEMO.read_text().replace("8000", str(port)).replace("duration: 30s",
                                                               f"duration: {duration}")
    assert str(port) in text and f"duration: {duration}" in text
    return perfgate.write(text)


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_ctrl_c_during_load_keeps_what_was_measured_and_stops_the_service(perfgate, tmp_path):
    port = free_port()
    path = demo_copy(perfgate, port, "5m")
    proc = perfgate.start("run", str(path), "--output", "out", "--no-progress")
    try:
        assert wait_for(lambda: answers(port), timeout=30)
        # Let the load run for a moment, so there is something to keep.
        assert not wait_for(lambda: proc.poll() is not None, timeout=2.0)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    result = json.loads((tmp_path / "out" / "reports" / "result.json").read_text())
    validate_result(result)
    assert result["run"]["status"] == "interrupted"
    assert result["scenarios"][0]["status"] == "interrupted"
    requests = sum(m["values"]["count"] for m in result["metrics"] if m["name"] == "http.reqs")
    assert requests > 100
    assert (tmp_path / "out" / "reports" / "junit.xml").exists()
    assert (tmp_path / "out" / "reports" / "report.md").exists()
    assert result["run"]["duration"] < 60  # the 5-minute scenario did stop
    assert not answers(port)  # the demo service perfgate started is gone
