"""The k6 process: started in its own process group, watched, stopped cleanly, never leaked.

k6 writes its log to stderr, one JSON object per line (``--log-format json``), between the
plain-text progress lines it prints every second when stderr is not a terminal::

    running (01.0s), 2/2 VUs, 32 complete and 0 interrupted iterations
    {"level":"error","msg":"thresholds on metrics 'http_req_duration' have been crossed",...}

Stopping: SIGINT to the group makes k6 end the test and still write its summary; if k6 is
still there after the grace period it gets SIGKILL.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from perfgate import watchdog

#: k6's exit codes (k6 ``errext/exitcodes``) and what they mean.
EXIT_CODES: dict[int, str] = {
    97: "the cloud test run failed",
    98: "could not get the cloud test's progress",
    99: "thresholds were crossed",
    100: "setup() timed out",
    101: "teardown() timed out",
    102: "k6 timed out",
    103: "the k6 engine failed",
    104: "invalid configuration",
    105: "the test was stopped from outside (signal or REST API)",
    106: "could not start k6's REST API",
    107: "the script threw an exception",
    108: "the script aborted the test (test.abort())",
    109: "k6 crashed",
    110: "the script marked the test as failed (test.fail())",
    255: "k6 could not start the test (command line or environment)",
}
THRESHOLDS_CROSSED = 99
EXTERNAL_ABORT = 105
MARKED_FAILED = 110

_PROGRESS = re.compile(r"running \(([^)]*)\), (\d+)/(\d+) VUs, (\d+) complete and (\d+) "
                       r"interrupted iterations")
#: What k6 prints before its JSON logger is set up (bad flags): ``level=error msg="..."``.
_LOGFMT = re.compile(r'level=(\w+)\s+msg="((?:[^"\\]|\\.)*)"')
_KEEP = 20  # distinct messages kept per level


def one_line(message: str) -> str:
    """k6's multi-line messages (stack traces, lists of problems) on one line."""
    return " ".join(part.strip() for part in message.splitlines() if part.strip())


@dataclass
class K6Log:
    """What k6 said on stderr, condensed."""

    errors: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    #: Exceptions thrown in iterations (k6 logs them and goes on with the next iteration).
    script_errors: Counter[str] = field(default_factory=Counter)
    #: The last plain-text lines, for errors k6 printed before its logger was set up.
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=_KEEP))
    vus: int | None = None
    iterations: int | None = None
    interrupted_iterations: int | None = None

    def line(self, text: str) -> None:
        """Take one stderr line."""
        text = text.rstrip()
        if not text:
            return
        if text.startswith("{"):
            try:
                record = json.loads(text)
            except ValueError:
                record = None
            if isinstance(record, dict) and "msg" in record:
                self._record(record)
                return
        logfmt = _LOGFMT.search(text)
        if logfmt:
            try:
                message = json.loads(f'"{logfmt.group(2)}"')
            except ValueError:
                message = logfmt.group(2)
            self._record({"level": logfmt.group(1), "msg": message})
            return
        match = _PROGRESS.search(text)
        if match:
            self.vus = int(match.group(2))
            self.iterations = int(match.group(4))
            self.interrupted_iterations = int(match.group(5))
            return
        self.tail.append(text)

    def _record(self, record: Mapping[str, object]) -> None:
        message = one_line(str(record.get("msg", "")))
        if record.get("error"):
            message = f"{message}: {one_line(str(record['error']))}"
        level = record.get("level")
        if level in ("error", "fatal", "panic"):
            target = self.script_errors if record.get("source") == "stacktrace" else self.errors
        elif level in ("warning", "warn"):
            target = self.warnings
        else:
            return
        if message in target or len(target) < _KEEP:
            target[message] += 1

    def messages(self) -> list[str]:
        """k6's own error messages, most telling first; plain stderr lines if there are none."""
        found = list(self.errors) + list(self.script_errors)
        return found or [line for line in self.tail if "█" not in line][-5:]


class K6Process:
    """One ``k6 run``; :meth:`interrupt` and :meth:`kill` act on its whole process group."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = cwd
        self.log = K6Log()
        self.proc: subprocess.Popen[bytes] | None = None
        self.interrupted = False
        self._reader: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start k6; raises ``OSError`` if the executable cannot be started."""
        self.proc = subprocess.Popen(
            self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        # k6 must not run its whole load on if perfgate is killed (SIGKILL).
        watchdog().add_group(self.proc.pid, grace=1.0)
        self._reader = threading.Thread(target=self._read_stderr, name="perfgate-k6-stderr",
                                        daemon=True)
        self._reader.start()

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.log.line(raw.decode("utf-8", errors="replace"))

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None if k6 is still running after ``timeout`` seconds."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def interrupt(self, grace: float) -> None:
        """SIGINT now (k6 ends the test and writes its summary); SIGKILL after ``grace`` s."""
        with self._lock:
            first = not self.interrupted
            self.interrupted = True
        if not self.running:
            return
        self._signal(signal.SIGINT)
        if first:
            threading.Thread(target=self._kill_after, args=(grace,),
                             name="perfgate-k6-stop", daemon=True).start()

    def _kill_after(self, grace: float) -> None:
        deadline = time.monotonic() + grace
        while self.running and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.running:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the group and reap k6 (safe to call at any time, also twice)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        watchdog().remove_group(self.proc.pid)
        self.close()

    def close(self) -> None:
        """After k6 exited: finish reading stderr."""
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()

    def _signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)
