"""The ``docker-resources`` collector: containers' resources and events while the load runs.

Three kinds of threads feed one :class:`~perfgate.MetricSet` under a lock:

- the sampling thread (every ``interval``) lists the engine's running containers, follows the
  selected ones it does not follow yet, and tells the base class whether the engine answered
  (so an engine that goes away is an outage, reported the same way as a database's);
- one stats stream per followed container (the engine sends a sample about once a second):
  CPU, memory, network and block I/O, PIDs;
- one events stream: ``start`` (a container to follow at once; a restart when its previous run
  ended during this one), ``die``, ``oom`` and ``health_status``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import docker
import docker.errors

from perfgate import Kind, MetricInfo, RunContext, RunError, SamplingCollector, TargetSpec
from perfgate_docker_resources.config import SERVICE_LABEL, DockerResourcesConfig
from perfgate_docker_resources.stats import Reading, cpu_limit, read_sample

DEFAULT_HOST = "unix:///var/run/docker.sock"
EVENTS = ["start", "die", "oom", "health_status"]

METRICS = [
    MetricInfo("docker.cpu", Kind.GAUGE, "%",
               "CPU as docker stats shows it: 100% is one core"),
    MetricInfo("docker.cpu_of_limit", Kind.GAUGE, "%",
               "CPU in percent of the container's CPU limit (containers with one only)"),
    MetricInfo("docker.memory", Kind.GAUGE, "B", "memory used, less inactive page cache"),
    MetricInfo("docker.memory_of_limit", Kind.GAUGE, "%",
               "docker.memory in percent of the memory limit (the host's memory without one)"),
    MetricInfo("docker.net_rx", Kind.GAUGE, "B/s", "bytes received per second"),
    MetricInfo("docker.net_tx", Kind.GAUGE, "B/s", "bytes sent per second"),
    MetricInfo("docker.block_read", Kind.GAUGE, "B/s", "bytes read from block devices per second"),
    MetricInfo("docker.block_write", Kind.GAUGE, "B/s",
               "bytes written to block devices per second"),
    MetricInfo("docker.pids", Kind.GAUGE, "", "processes and threads in the container"),
    MetricInfo("docker.restarts", Kind.COUNTER, "",
               "times a container started again after it stopped during the run"),
    MetricInfo("docker.oom_kills", Kind.COUNTER, "",
               "runs of a container in which the kernel's OOM killer struck (once per run)"),
    MetricInfo("docker.exits", Kind.COUNTER, "", "times a container's main process ended"),
    MetricInfo("docker.unhealthy", Kind.COUNTER, "", "times a health check turned unhealthy"),
    MetricInfo("docker.health_changes", Kind.COUNTER, "",
               "health status changes, tagged with the new status"),
]
#: Counters recorded as 0 for every container followed, so ``count == 0`` targets pass.
ZERO_COUNTERS = ("docker.restarts", "docker.oom_kills", "docker.exits", "docker.unhealthy")


@dataclass
class Followed:
    """One container the collector follows, across its restarts."""

    id: str
    name: str
    labels: Mapping[str, str]
    image: str = ""
    cpu_limit: float | None = None
    memory_limit: float | None = None
    thread: threading.Thread | None = None
    last: Reading | None = None
    #: Its run ended (a ``die`` event) and it did not start again yet.
    died: bool = False
    #: The OOM killer struck in its current run (``oom`` comes many times per kill).
    oom_this_run: bool = False
    samples: int = 0
    peaks: dict[str, float] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)

    @property
    def tags(self) -> dict[str, str]:
        service = self.labels.get(SERVICE_LABEL)
        return {"container": self.name, **({"service": service} if service else {})}

    def count(self, event: str) -> None:
        self.events[event] = self.events.get(event, 0) + 1

    def peak(self, name: str, value: float) -> None:
        self.peaks[name] = max(value, self.peaks.get(name, value))


def _reason(exc: BaseException) -> str:
    """One line about an engine error, without the SDK's long wrapping."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300]


class DockerResourcesCollector(SamplingCollector[DockerResourcesConfig]):
    """CPU, memory, I/O, PIDs and events of the selected containers, from the Docker engine."""

    name = "docker-resources"
    summary = "containers' CPU, memory, I/O, PIDs, restarts, OOM kills and health (Docker engine)"

    #: How long :meth:`stop` waits for the streams to wind down.
    join_timeout: ClassVar[float] = 3.0

    @classmethod
    def produces(cls, config: DockerResourcesConfig) -> list[MetricInfo]:
        return list(METRICS)

    @classmethod
    def builtin_targets(cls, config: DockerResourcesConfig) -> dict[str, TargetSpec]:
        if not config.builtin_targets:
            return {}
        return {
            "oom-kills": TargetSpec(metric="docker.oom_kills", critical="count == 0",
                                    on_missing="skip",
                                    description="no container was OOM-killed during the run"),
            "restarts": TargetSpec(metric="docker.restarts", critical="count == 0",
                                   on_missing="skip",
                                   description="no container restarted during the run"),
        }

    def __init__(self, config: DockerResourcesConfig, context: RunContext,
                 instance: str | None = None) -> None:
        super().__init__(config, context, instance)
        self.host = config.host or os.environ.get("DOCKER_HOST") or DEFAULT_HOST
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._client: docker.DockerClient | None = None
        self._followed: dict[str, Followed] = {}
        self._events: Any = None
        self._events_thread: threading.Thread | None = None

    def describe(self) -> str:
        return f"the Docker engine at {self.host}"

    # -- the engine ------------------------------------------------------------------------
    def open(self) -> None:
        try:
            self._client = docker.DockerClient(base_url=self.host, version="auto",
                                               timeout=self.config.timeout, max_pool_size=64)
        except docker.errors.DockerException as exc:
            raise RunError(f"cannot reach the Docker engine at {self.host} ({_reason(exc)}); "
                           "start dockerd, or point DOCKER_HOST (or host:) at a running "
                           "engine") from None
        since = time.time()
        self._events_thread = threading.Thread(target=self._watch_events, args=(since,),
                                               name=f"perfgate-{self.instance}-events",
                                               daemon=True)
        self._events_thread.start()

    @property
    def client(self) -> docker.DockerClient:
        assert self._client is not None
        return self._client

    def sample(self, now: float) -> None:
        try:
            running = self.client.api.containers(filters={"status": "running"})
        except Exception as exc:
            self.sample_failed(_reason(exc), now)
            return
        self.sample_succeeded(now)
        for item in running:
            name = (item.get("Names") or ["/?"])[0].lstrip("/")
            labels = item.get("Labels") or {}
            if self.config.selects(name, labels):
                self._follow(item["Id"], name, labels)

    # -- following containers ------------------------------------------------------------
    def _known(self, container_id: str, name: str, labels: Mapping[str, str]) -> Followed:
        """The container's record, made (with its limits and zero counters) on first sight."""
        with self._lock:
            known = self._followed.get(container_id)
        if known is not None:
            return known
        followed = Followed(container_id, name, dict(labels))
        with contextlib.suppress(Exception):
            info = self.client.api.inspect_container(container_id)
            followed.image = info.get("Config", {}).get("Image", "")
            host_config = info.get("HostConfig") or {}
            followed.cpu_limit = cpu_limit(host_config)
            followed.memory_limit = float(host_config.get("Memory") or 0) or None
        with self._lock:
            known = self._followed.setdefault(container_id, followed)
            if known is followed:
                for counter in ZERO_COUNTERS:
                    self.metrics.counter(counter, followed.tags).add(0, time.time())
        return known

    def _follow(self, container_id: str, name: str, labels: Mapping[str, str]) -> None:
        """Open the container's stats stream unless one is open."""
        followed = self._known(container_id, name, labels)
        with self._lock:
            if self._closing.is_set() or (followed.thread and followed.thread.is_alive()):
                return
            followed.thread = threading.Thread(
                target=self._stream, args=(followed,), daemon=True,
                name=f"perfgate-{self.instance}-{followed.name}")
            followed.thread.start()

    def _stream(self, followed: Followed) -> None:
        """Record the container's stats stream until it ends (the container stopped, the
        engine went away) or the collector stops."""
        followed.last = None
        with contextlib.suppress(Exception):
            for stats in self.client.api.stats(followed.id, stream=True, decode=True):
                if self._closing.is_set():
                    return
                if stats.get("read", "").startswith("0001-"):
                    continue  # a stopped container's empty sample
                self._record(followed, read_sample(stats))

    def _record(self, followed: Followed, reading: Reading) -> None:
        tags, at, last = followed.tags, reading.at, followed.last
        with self._lock:
            if self._closing.is_set():
                return
            followed.samples += 1

            def gauge(name: str, unit: str, value: float) -> None:
                self.metrics.gauge(name, tags, unit).add(value, at)

            if reading.cpu_percent is not None:
                gauge("docker.cpu", "%", reading.cpu_percent)
                followed.peak("cpu", reading.cpu_percent)
                if followed.cpu_limit:
                    gauge("docker.cpu_of_limit", "%", reading.cpu_percent / followed.cpu_limit)
            if reading.memory is not None:
                gauge("docker.memory", "B", reading.memory)
                followed.peak("memory", reading.memory)
                if reading.memory_percent is not None:
                    gauge("docker.memory_of_limit", "%", reading.memory_percent)
            if reading.pids is not None:
                gauge("docker.pids", "", reading.pids)
            if last is not None and at > last.at:
                for name, now, before in (("docker.net_rx", reading.net_rx, last.net_rx),
                                          ("docker.net_tx", reading.net_tx, last.net_tx),
                                          ("docker.block_read", reading.block_read,
                                           last.block_read),
                                          ("docker.block_write", reading.block_write,
                                           last.block_write)):
                    if now is not None and before is not None and now >= before:
                        gauge(name, "B/s", (now - before) / (at - last.at))
            followed.last = reading

    # -- events ----------------------------------------------------------------------------
    def _watch_events(self, since: float) -> None:
        """Read the events stream; reopen it (from the last event) if the engine drops it."""
        last_nano = int(since * 1e9)
        while not self._closing.is_set():
            try:
                self._events = self.client.api.events(
                    since=f"{last_nano / 1e9:.9f}", decode=True,
                    filters={"type": "container", "event": EVENTS})
                for event in self._events:
                    if self._closing.is_set():
                        return
                    nano = int(event.get("timeNano") or 0)
                    if nano and nano <= last_nano:
                        continue  # seen before the stream was reopened
                    last_nano = max(last_nano, nano)
                    self._on_event(event)
            except Exception:
                pass  # the sampling thread reports the engine's outage
            self._closing.wait(self.interval)

    def _on_event(self, event: dict[str, Any]) -> None:
        action = str(event.get("Action") or event.get("status") or "")
        actor = event.get("Actor") or {}
        attributes = actor.get("Attributes") or {}
        container_id, name = actor.get("ID") or event.get("id"), attributes.get("name", "")
        if not container_id or not self.config.selects(name, attributes):
            return
        at = int(event.get("timeNano") or time.time_ns()) / 1e9
        followed = self._known(container_id, name, attributes)
        if action == "start":
            with self._lock:
                restarted, followed.died, followed.oom_this_run = followed.died, False, False
            if restarted:
                self._count(followed, "docker.restarts", at)
            self._follow(container_id, name, attributes)
        elif action == "die":
            with self._lock:
                followed.died = True
            self._count(followed, "docker.exits", at,
                        exit_code=str(attributes.get("exitCode", "")))
        elif action == "oom":
            with self._lock:
                first, followed.oom_this_run = not followed.oom_this_run, True
            if first:
                self._count(followed, "docker.oom_kills", at)
        elif action.startswith("health_status"):
            status = action.partition(":")[2].strip()
            self._count(followed, "docker.health_changes", at, status=status)
            if status == "unhealthy":
                self._count(followed, "docker.unhealthy", at)

    def _count(self, followed: Followed, name: str, at: float, **extra: str) -> None:
        with self._lock:
            if self._closing.is_set():
                return
            tags = {**followed.tags, **{k: v for k, v in extra.items() if v}}
            self.metrics.counter(name, tags).add(1, at)
            followed.count(name.removeprefix("docker."))

    # -- the end ---------------------------------------------------------------------------
    def stop(self) -> Any:
        self._closing.set()
        if self._events is not None:
            with contextlib.suppress(Exception):
                self._events.close()
        deadline = time.monotonic() + self.join_timeout
        threads = [self._events_thread, *(f.thread for f in self._followed.values())]
        for thread in threads:
            if thread is not None:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
        return super().stop()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def details(self) -> dict[str, Any]:
        containers = []
        for followed in sorted(self._followed.values(), key=lambda f: f.name):
            containers.append({
                "name": followed.name, "id": followed.id[:12], **followed.tags,
                "image": followed.image, "cpu_limit": followed.cpu_limit,
                "memory_limit": followed.memory_limit, "samples": followed.samples,
                "cpu_max": followed.peaks.get("cpu"),
                "memory_max": followed.peaks.get("memory"), "events": dict(followed.events),
            })
        return {"engine": self.host, "selection": self.config.describe(),
                "containers": containers, **self.sampling_details()}
