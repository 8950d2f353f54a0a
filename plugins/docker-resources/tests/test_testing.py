"""The test engine and images: they run, and leave nothing behind."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import docker
import pytest

from perfgate_docker_resources.testing import DockerEngine, host_mounts, mounts_under


def test_the_engine_answers_with_api_1_41_or_newer(docker_engine: DockerEngine) -> None:
    version = docker_engine.client.version()
    assert tuple(map(int, version["ApiVersion"].split("."))) >= (1, 41)


def test_busybox_runs_on_the_host_network(docker_engine: DockerEngine,
                                          busybox_image: str) -> None:
    out = docker_engine.client.containers.run(
        busybox_image, ["sh", "-c", "echo $((6 * 7)) && cat /proc/1/cgroup | head -n1"],
        network_mode="host", labels=docker_engine.labels, remove=True)
    assert out.decode().splitlines()[0] == "42"


def test_the_host_python_runs_from_read_only_mounts(docker_engine: DockerEngine,
                                                    busybox_image: str) -> None:
    out = docker_engine.client.containers.run(
        busybox_image, [sys.executable, "-c", "import aiohttp, sys; print(sys.prefix)"],
        volumes=host_mounts(), network_mode="host", labels=docker_engine.labels, remove=True)
    assert out.decode().strip() == sys.prefix


def test_a_private_engine_is_stopped_and_leaves_no_folder(monkeypatch) -> None:
    if os.geteuid() != 0:
        pytest.skip("a private engine needs root")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    engine = DockerEngine().start()
    assert engine.private and engine.folder is not None
    folder, pid = engine.folder, engine.process.pid
    image = engine.busybox_image()
    engine.client.containers.run(image, "sleep 60", detach=True, network_mode="host",
                                 labels=engine.labels)
    assert mounts_under(folder)  # the running container's root filesystem
    engine.stop()
    assert not folder.exists()
    assert not mounts_under(folder)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_test_containers_and_images_are_removed(docker_engine: DockerEngine) -> None:
    engine = DockerEngine(host=docker_engine.host).start()
    image = engine.busybox_image("perfgate-test/cleanup")
    container = engine.client.containers.run(image, "sleep 60", detach=True,
                                             network_mode="host", labels=engine.labels)
    engine.stop()
    with pytest.raises(docker.errors.NotFound):
        docker_engine.client.containers.get(container.id)
    with pytest.raises(docker.errors.ImageNotFound):
        docker_engine.client.images.get(image)


def test_a_killed_test_process_takes_its_private_engine_along(tmp_path) -> None:
    if os.geteuid() != 0:
        pytest.skip("a private engine needs root")
    import signal
    import subprocess
    import time

    script = ("import sys, time\n"
              "from perfgate_docker_resources.testing import DockerEngine\n"
              "engine = DockerEngine().start()\n"
              "print(engine.process.pid, engine.folder, flush=True)\n"
              "time.sleep(120)\n")
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    child = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        pid, folder = child.stdout.readline().split()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and Path(folder).exists():
            time.sleep(0.2)
        assert not Path(folder).exists()
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
