"""A Docker engine and small local images for tests, with no image registry.

::

    with DockerEngine() as engine:
        image = engine.busybox_image()
        engine.client.containers.run(image, "sleep 5", detach=True, network_mode="host",
                                     labels=engine.labels)

:class:`DockerEngine` uses the engine at ``DOCKER_HOST`` when that is set (CI starts one for
the whole suite in ``.ci/run``), and otherwise starts a private ``dockerd`` of its own (as
root): its own data root, exec root, PID file and socket in a temporary folder, no bridge and
no iptables rules (containers use the host's network, so traffic stays on 127.0.0.1). It is
stopped by its PID and its folder removed at :meth:`DockerEngine.stop`, and by perfgate's
watchdog if the test process is killed before that.

Images are built locally: :meth:`DockerEngine.busybox_image` imports a root filesystem made
of Debian's ``busybox-static`` (about 2 MB, under a second). Programs of the host (Python,
``redis-server``, PostgreSQL) run in that image from read-only bind mounts of the host's
``/usr`` and interpreter (:func:`host_mounts`); the image links ``/lib`` and ``/lib64`` into
``/usr`` as a merged-``/usr`` host does. Every container a test starts should carry
:attr:`DockerEngine.labels`; :meth:`DockerEngine.stop` removes those containers and the images
it built, on a shared engine too.

Loaded as a pytest plugin, this module gives the session fixtures ``docker_engine`` (the
engine, started once) and ``busybox_image`` (imported once).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType

import docker
import docker.errors
import pytest
import requests

from perfgate import watchdog

#: What the SDK raises when the engine is gone or refuses.
ENGINE_ERRORS = (docker.errors.DockerException, requests.RequestException)
#: The label every test container carries, so it can be found and removed.
TEST_LABEL = "org.perfgate.test"
BUSYBOX = "/usr/bin/busybox"
#: A busy loop on one core that ends at SIGTERM (as PID 1 a shell ignores it unless trapped).
BUSY_LOOP = ["sh", "-c", "trap 'exit 0' TERM; while :; do :; done"]


def find_dockerd() -> str | None:
    """The ``dockerd`` binary, or None when Docker's engine is not installed."""
    return shutil.which("dockerd") or next(
        (p for p in ("/usr/sbin/dockerd", "/usr/bin/dockerd") if Path(p).exists()), None)


def dockerd_args(folder: Path) -> list[str]:
    """The ``dockerd`` command line of an engine kept wholly inside ``folder``."""
    dockerd = find_dockerd()
    if dockerd is None:
        raise FileNotFoundError("dockerd is not installed (Debian: apt-get install docker.io)")
    return [dockerd, "--bridge=none", "--iptables=false", "--log-level=warn",
            "--data-root", str(folder / "data"), "--exec-root", str(folder / "exec"),
            "--pidfile", str(folder / "dockerd.pid"), "-H", f"unix://{folder}/docker.sock"]


def host_mounts(*paths: str | Path) -> dict[str, dict[str, str]]:
    """Read-only bind mounts (docker SDK ``volumes=``) to run the host's programs.

    The host's ``/usr`` (libraries, ``redis-server``, PostgreSQL), the Python interpreter this
    process runs (its base prefix and its virtual environment) and ``paths`` (a source tree
    installed in editable mode, say), each at the same path inside the container.
    """
    wanted = ["/usr", sys.base_prefix, sys.prefix, *map(str, paths)]
    mounts: dict[str, dict[str, str]] = {}
    for path in sorted({os.path.realpath(p) for p in wanted}):
        if any(path.startswith(kept.rstrip("/") + "/") for kept in mounts):
            continue  # already inside a mounted folder
        mounts[path] = {"bind": path, "mode": "ro"}
    return mounts


def _busybox_rootfs() -> bytes:
    """A tar of a root filesystem: busybox-static and its applets in /bin, merged-/usr links."""
    if not Path(BUSYBOX).exists():
        raise FileNotFoundError(f"{BUSYBOX} is missing (Debian: apt-get install busybox-static)")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        def add(name: str, kind: bytes = tarfile.DIRTYPE, mode: int = 0o755,
                data: bytes = b"", link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.linkname, info.size = kind, mode, link, len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)

        for folder in ("bin", "dev", "etc", "proc", "sys", "usr", "var", "run", "home"):
            add(folder)
        add("tmp", mode=0o1777)
        add("lib", tarfile.SYMTYPE, link="usr/lib")
        add("lib64", tarfile.SYMTYPE, link="usr/lib64")
        add("sbin", tarfile.SYMTYPE, link="bin")
        tar.add(BUSYBOX, "bin/busybox")
        for applet in applets:
            if applet != "busybox":
                add(f"bin/{applet}", tarfile.SYMTYPE, link="busybox")
        add("etc/passwd", tarfile.REGTYPE, 0o644,
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
        add("etc/group", tarfile.REGTYPE, 0o644, b"root:x:0:\nnogroup:x:65534:\n")
    return buffer.getvalue()


class DockerEngine:
    """The engine tests use: the one at ``DOCKER_HOST`` or a private ``dockerd``.

    :param host: an engine address (``unix:///path``, ``tcp://127.0.0.1:2375``); default
        ``DOCKER_HOST``, and without it a private engine.
    :param start_timeout: how long a private engine may take to answer.
    """

    def __init__(self, host: str | None = None, start_timeout: float = 60.0) -> None:
        self.requested = host if host is not None else os.environ.get("DOCKER_HOST") or None
        self.start_timeout = start_timeout
        self.host = ""
        self.folder: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._client: docker.DockerClient | None = None
        self.images: list[str] = []
        #: This object's own mark on the images it builds and the containers tests start.
        self.token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        #: Labels for every container a test starts (removed at :meth:`stop`).
        self.labels = {TEST_LABEL: self.token}

    @property
    def private(self) -> bool:
        """True when this object started the engine (and will stop it)."""
        return self.process is not None

    @property
    def client(self) -> docker.DockerClient:
        assert self._client is not None, "start() the engine first"
        return self._client

    def env(self) -> dict[str, str]:
        """The process environment with ``DOCKER_HOST`` pointing at this engine."""
        return {**os.environ, "DOCKER_HOST": self.host}

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> DockerEngine:
        """Connect to the engine, starting a private one if none is given; raise if neither."""
        if self.requested:
            self.host = self.requested
            self._client = docker.DockerClient(base_url=self.host, version="auto", timeout=60)
            return self
        if os.geteuid() != 0:
            raise PermissionError("a private Docker engine needs root; set DOCKER_HOST to a "
                                  "running engine instead")
        # Short: the engine's sockets live inside it, and a socket path has 107 bytes at most.
        self.folder = Path(tempfile.mkdtemp(prefix="pgdock-", dir="/tmp"))
        try:
            self._start_dockerd(self.folder)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_dockerd(self, folder: Path) -> None:
        log = open(folder / "dockerd.log", "wb")  # noqa: SIM115 (the engine keeps writing)
        with log:
            self.process = subprocess.Popen(dockerd_args(folder), stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        # A test session that is killed still takes its engine along (perfgate's watchdog).
        watchdog().add_group(self.process.pid, grace=30.0)
        watchdog().add_path(folder)
        self.host = f"unix://{folder}/docker.sock"
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dockerd exited with code {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            if (folder / "docker.sock").exists():
                client = docker.DockerClient(base_url=self.host, version="auto", timeout=60)
                with contextlib.suppress(*ENGINE_ERRORS):
                    client.ping()
                    self._client = client
                    return
                client.close()
            time.sleep(0.1)
        raise RuntimeError(f"dockerd did not answer within {self.start_timeout:g}s:\n"
                           f"{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        if self.folder is None:
            return ""
        with contextlib.suppress(OSError):
            text = (self.folder / "dockerd.log").read_text(errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        return ""

    def remove_test_containers(self) -> None:
        """Remove (forcibly) every container carrying :attr:`labels`."""
        if self._client is None:
            return
        key, value = next(iter(self.labels.items()))
        with contextlib.suppress(*ENGINE_ERRORS):
            for container in self.client.containers.list(
                    all=True, filters={"label": f"{key}={value}"}):
                with contextlib.suppress(*ENGINE_ERRORS):
                    container.remove(force=True, v=True)

    def stop(self) -> None:
        """Remove the test containers and the images built; stop a private engine by PID."""
        try:
            self.remove_test_containers()
            for image in self.images:
                with contextlib.suppress(*ENGINE_ERRORS):
                    self.client.images.remove(image, force=True)
            self.images.clear()
        finally:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self.process is not None:
                stop_dockerd(self.process)
                watchdog().remove_group(self.process.pid)
                self.process = None
            if self.folder is not None:
                remove_engine_folder(self.folder)
                watchdog().remove_path(self.folder)
                self.folder = None

    def __enter__(self) -> DockerEngine:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- images --------------------------------------------------------------------------
    def busybox_image(self, name: str = "perfgate-test/busybox") -> str:
        """Import the busybox root filesystem as ``name:<token>``; removed at :meth:`stop`."""
        self.client.api.import_image_from_data(_busybox_rootfs(), repository=name,
                                               tag=self.token)
        self.images.append(f"{name}:{self.token}")
        return f"{name}:{self.token}"

    def tag(self, image: str, repository: str, tag: str = "latest") -> str:
        """Give ``image`` another name (``perfgate-demo-app:latest``); removed at :meth:`stop`."""
        self.client.api.tag(image, repository, tag)
        self.images.append(f"{repository}:{tag}")
        return f"{repository}:{tag}"

def stop_dockerd(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM the engine (it stops its containers and its containerd), SIGKILL its group late.

    Never raises."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def mounts_under(folder: Path) -> list[str]:
    """Mount points inside ``folder`` (deepest first), from ``/proc/self/mountinfo``."""
    prefix = os.path.realpath(folder).rstrip("/") + "/"
    points: list[str] = []
    with contextlib.suppress(OSError), open("/proc/self/mountinfo") as info:
        for line in info:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix):
                points.append(point)
    return sorted(points, key=len, reverse=True)


def remove_engine_folder(folder: Path, attempts: Iterable[int] = range(3)) -> None:
    """Unmount whatever an engine left mounted in ``folder``, then remove it."""
    for _ in attempts:
        for point in mounts_under(folder):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.2)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    """The engine for the whole test session (skipped when none can be had)."""
    engine = DockerEngine()
    try:
        engine.start()
        engine.client.ping()
    except (OSError, RuntimeError, docker.errors.DockerException) as exc:
        engine.stop()
        pytest.skip(f"no Docker engine: {exc}")
    # Collectors and compose commands under test find the engine as users' do: DOCKER_HOST.
    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = engine.host
    try:
        yield engine
    finally:
        if previous is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = previous
        engine.stop()


@pytest.fixture(scope="session")
def busybox_image(docker_engine: DockerEngine) -> str:
    """The busybox image, imported once per session."""
    return docker_engine.busybox_image()
