"""The collector against real containers whose behaviour is known in advance.

One run of the collector follows six containers at once (about 8 s in all):

- ``burn``: a busy loop under ``--cpus 0.5``: 50% of a core, 100% of its limit, when the host
  has that to give; the truth is the kernel's own account of the container's CPU time
  (its cgroup's ``cpuacct.usage``, or ``cpu.stat`` on cgroup v2) over the same seconds;
- ``hold``: 64 MiB written to a tmpfs, under a 256 MiB limit: 64 MiB, 25% of the limit;
- ``oom``: 64 MB read into a shell variable under a 16 MiB limit: OOM-killed once (the engine
  sends many ``oom`` events for one kill), exit code 137;
- ``flap``: exits with code 3 after a second, restarted once by ``on-failure:1``;
- ``late``: started two seconds into the run, a busy loop under ``--cpus 0.3``;
- ``health``: healthy, then unhealthy once its health file is removed.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from perfgate import MetricSet
from perfgate.testing import collect
from perfgate_docker_resources import DockerResourcesCollector, DockerResourcesConfig
from perfgate_docker_resources.testing import BUSY_LOOP, DockerEngine

MiB = 1024 * 1024


def cgroup_cpu_seconds(pid: int) -> float:
    """CPU time used by the cgroup of process ``pid``, from the kernel (cgroup v1 or v2)."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            return int(Path(f"/sys/fs/cgroup/cpuacct{path}/cpuacct.usage").read_text()) / 1e9
        if controllers == "":
            stat = Path(f"/sys/fs/cgroup{path}/cpu.stat").read_text().split()
            return int(stat[stat.index("usage_usec") + 1]) / 1e6
    raise LookupError(f"no CPU accounting cgroup for {pid}")


def seconds(metrics: MetricSet, name: str, container: str) -> dict[int, float]:
    """Each whole second's mean of one container's gauge."""
    return {second: bucket[1] / bucket[0] for metric in metrics if metric.name == name
            and metric.tags.get("container") == container
            for second, bucket in metric.series.buckets.items()}


def values(metrics: MetricSet, name: str, container: str) -> list[float]:
    """The per-second means of one container's gauge."""
    return [bucket[1] / bucket[0] for metric in metrics if metric.name == name
            and metric.tags.get("container") == container
            for bucket in metric.series.buckets.values()]


def total(metrics: MetricSet, name: str, container: str, **tags: str) -> float:
    return sum(metric.aggregate("count") or 0.0 for metric in metrics if metric.name == name
               and metric.tags.get("container") == container
               and all(metric.tags.get(k) == v for k, v in tags.items()))


@pytest.fixture(scope="module")
def run(docker_engine: DockerEngine, busybox_image: str) -> tuple[Any, MetricSet, dict, dict]:
    client, token = docker_engine.client, docker_engine.token
    names = {role: f"pg-{role}-{token}" for role in
             ("burn", "hold", "oom", "flap", "late", "health")}

    def start(role: str, command: list[str], **options: Any) -> None:
        client.containers.run(busybox_image, command, name=names[role], detach=True,
                              network_mode="host", labels={**docker_engine.labels,
                                                           "org.perfgate.role": role},
                              **options)

    start("burn", BUSY_LOOP, nano_cpus=500_000_000)
    burn_pid = client.api.inspect_container(names["burn"])["State"]["Pid"]
    start("hold", ["sh", "-c", "dd if=/dev/zero of=/data/x bs=1M count=64 && sleep 120"],
          tmpfs={"/data": "size=100m"}, mem_limit="256m")
    time.sleep(1)

    truth: dict[str, float] = {}

    def workload() -> None:
        truth["start"], truth["cpu_start"] = time.time(), cgroup_cpu_seconds(burn_pid)
        start("oom", ["sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' x)"],
              mem_limit="16m", memswap_limit="16m")
        start("flap", ["sh", "-c", "sleep 1; exit 3"],
              restart_policy={"Name": "on-failure", "MaximumRetryCount": 1})
        start("health", ["sh", "-c", "touch /tmp/ok; sleep 3; rm /tmp/ok; sleep 120"],
              healthcheck={"test": ["CMD", "test", "-f", "/tmp/ok"], "interval": 500_000_000,
                           "timeout": 1_000_000_000, "retries": 1})
        time.sleep(2)
        truth["late"] = time.time()
        start("late", BUSY_LOOP, nano_cpus=300_000_000)
        time.sleep(5)
        truth["end"], truth["cpu_end"] = time.time(), cgroup_cpu_seconds(burn_pid)

    config = DockerResourcesConfig(labels={"org.perfgate.test": token}, interval=0.5)
    collector, metrics = collect(DockerResourcesCollector, config, workload)
    docker_engine.remove_test_containers()
    return collector, metrics, names, truth


def test_a_busy_loop_under_half_a_cpu_reads_what_the_kernel_counted(run) -> None:
    _, metrics, names, truth = run
    used = (truth["cpu_end"] - truth["cpu_start"]) / (truth["end"] - truth["start"]) * 100
    assert 5 < used <= 51  # the limit holds (a busy host may have had less to give)
    cpu = seconds(metrics, "docker.cpu", names["burn"])
    inside = [v for second, v in cpu.items()
              if truth["start"] + 1 <= second and second + 1 <= truth["end"]]
    assert len(inside) >= 4
    assert statistics.mean(inside) == pytest.approx(used, abs=5)
    assert max(cpu.values()) <= 55
    of_limit = seconds(metrics, "docker.cpu_of_limit", names["burn"])
    assert statistics.mean(of_limit[s] for s in cpu if s in of_limit) == pytest.approx(
        statistics.mean(cpu.values()) * 2, abs=0.01)


def test_memory_held_in_tmpfs_reads_64_mib(run) -> None:
    _, metrics, names, _ = run
    memory = values(metrics, "docker.memory", names["hold"])
    assert statistics.median(memory) == pytest.approx(64 * MiB, rel=0.05)
    share = values(metrics, "docker.memory_of_limit", names["hold"])
    assert statistics.median(share) == pytest.approx(25, rel=0.05)
    assert values(metrics, "docker.pids", names["hold"])[-1] == 1  # sleep


def test_an_oom_kill_counts_once(run) -> None:
    _, metrics, names, _ = run
    assert total(metrics, "docker.oom_kills", names["oom"]) == 1
    assert total(metrics, "docker.exits", names["oom"], exit_code="137") == 1


def test_a_restart_by_policy_counts_once(run) -> None:
    _, metrics, names, _ = run
    assert total(metrics, "docker.restarts", names["flap"]) == 1
    assert total(metrics, "docker.exits", names["flap"], exit_code="3") == 2
    assert total(metrics, "docker.oom_kills", names["flap"]) == 0


def test_a_container_started_mid_run_is_followed(run) -> None:
    collector, metrics, names, truth = run
    cpu = seconds(metrics, "docker.cpu", names["late"])
    assert len(cpu) >= 3
    assert min(cpu) >= int(truth["late"])  # measured from when it started
    assert 5 < statistics.median(cpu.values()) <= 35  # busy under its 0.3 CPUs
    assert total(metrics, "docker.restarts", names["late"]) == 0
    [late] = [c for c in collector.details()["containers"] if c["name"] == names["late"]]
    assert late["cpu_limit"] == pytest.approx(0.3)


def test_health_changes_are_counted(run) -> None:
    _, metrics, names, _ = run
    assert total(metrics, "docker.health_changes", names["health"], status="healthy") == 1
    assert total(metrics, "docker.health_changes", names["health"], status="unhealthy") == 1
    assert total(metrics, "docker.unhealthy", names["health"]) == 1
    assert total(metrics, "docker.unhealthy", names["burn"]) == 0


def test_containers_outside_the_selection_are_not_followed(run) -> None:
    collector, metrics, names, _ = run
    followed = {c["name"] for c in collector.details()["containers"]}
    assert followed == set(names.values())
    assert all(m.tags["container"] in followed for m in metrics if "container" in m.tags)
