"""Checks between the targets file and the run: nothing starts unless the run can finish.

A run writes its reports and its services' logs into ``--output``. A folder that cannot be
written (a file in its place, a read-only mount), or a report or log path that is a folder,
would be found only when the load is over and every report fails; a baseline that is not a
result document would be found only when the checks are judged. Both are exit 2 here, before
any service starts.

Two runs writing into one folder would leave one's ``result.json`` beside the other's
``report.md``, so a run holds an exclusive lock on ``<output>/.perfgate.lock`` while it
goes (``flock``: the kernel drops it when the process dies, even on SIGKILL), and a second
run into the same folder is refused. The lock file is removed when the run ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from perfgate.context import RunOptions
from perfgate.errors import BaselineError, ConfigError
from perfgate.result import Baseline
from perfgate.targets import TargetsFile

LOCK_NAME = ".perfgate.lock"


class OutputLock:
    """An exclusive lock on an output folder for one run; :meth:`release` ends it."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`ConfigError` naming the run that holds it."""
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise ConfigError(f"--output {self.path.parent}: cannot write into it "
                                  f"({exc.strerror or exc})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read(fd)
                os.close(fd)
                raise ConfigError(
                    f"--output {self.path.parent}: another perfgate run{holder} is writing "
                    "into this folder; wait for it to end, or give this run another "
                    "--output") from None
            # The file may have been removed by the run that held it just before: lock the
            # file that is there now.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Remove the lock file and drop the lock (never raises)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(fd)


def _read(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode().strip())
        return f" (PID {pid})"
    return ""


def output_paths(targets: TargetsFile, options: RunOptions) -> Iterator[tuple[str, Path]]:
    """``(what, path)`` for every file the run will write: service logs and reports."""
    out = options.output_dir
    for name, service in targets.services.items():
        if service.start is not None or service.compose is not None:
            log = service.log or f"services/{name}.log"
            yield f"services.{name}.log", out / log
    for instance, use in targets.reporters.items():
        path = getattr(use.config, "path", None)
        if isinstance(path, str | Path) and str(path):
            target = Path(path)
            yield f"reporters.{instance}.path", target if target.is_absolute() else out / target


def path_problem(path: Path) -> str | None:
    """Why a file cannot be written at ``path``, or None: it is a folder, a parent is a file,
    or the nearest folder that exists is read-only."""
    if path.is_dir():
        return "it is a folder"
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    with contextlib.suppress(OSError):
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"{folder} is on a read-only file system"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{folder} is not writable"
    return None


def prepare_output(targets: TargetsFile, options: RunOptions) -> OutputLock:
    """Make and lock the output folder and check every path the run will write.

    :raises ConfigError: exit 2, before anything starts; every path problem together.
    """
    folder = options.output_dir
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--output {folder}: it is a file, not a folder")
    problem = path_problem(folder / LOCK_NAME)
    if problem is not None:
        raise ConfigError(f"--output {folder}: {problem}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--output {folder}: cannot create it ({exc.strerror or exc})") \
            from None
    lock = OutputLock(folder)
    lock.acquire()
    problems = [f"{key}: cannot write {path}: {why}" for key, path in
                output_paths(targets, options) if (why := path_problem(path)) is not None]
    if problems:
        lock.release()
        raise ConfigError("\n".join(problems))
    return lock


def baseline_paths(targets: TargetsFile, options: RunOptions) -> list[tuple[str, Path]]:
    """``(option, path)`` for the baselines the run will read: ``--baseline``, else the
    ``file:`` of each ``baseline`` validator (relative to the targets file's folder)."""
    if options.baseline is not None:
        return [("--baseline", Path(options.baseline))]
    found = []
    for instance, use in targets.validators.items():
        file = getattr(use.config, "file", None)
        if use.cls.name == "baseline" and isinstance(file, str) and file:
            path = Path(file)
            found.append((f"validators.{instance}.file",
                          path if path.is_absolute() else targets.folder / path))
    return found


def check_baselines(targets: TargetsFile, options: RunOptions) -> list[str]:
    """Read every baseline the run will use; return notes for the report (a baseline made
    with another targets file).

    :raises BaselineError: exit 2: a baseline is missing, not JSON, not a result document, or
        of another schema version.
    """
    notes = []
    for option, path in baseline_paths(targets, options):
        if not path.is_file():
            raise BaselineError(f"{option} {path}: no such file")
        baseline = Baseline.load(path)
        sha = baseline.result.run.get("targets_sha256")
        if sha and targets.sha256 and sha != targets.sha256:
            notes.append(f"the baseline {path} was measured with another targets file "
                         f"(sha256 {str(sha)[:12]}, this one {targets.sha256[:12]}): "
                         "its scenarios, load or targets may differ from this run's")
    return notes
