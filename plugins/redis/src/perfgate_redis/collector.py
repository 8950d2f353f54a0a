"""The ``redis`` collector: what a Redis server did during the run, from ``INFO`` deltas."""

from __future__ import annotations

import contextlib
import inspect
import threading
import time
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from perfgate import (
    ConfigError,
    Kind,
    MetricInfo,
    RunContext,
    RunError,
    SamplingCollector,
    TargetSpec,
)
from perfgate_redis.config import INVALID_URL, RedisConfig, url_problem
from perfgate_redis.sample import Sample, delta
from perfgate_redis.url import RedisURL

METRICS = [
    MetricInfo("redis.hit_rate", Kind.RATE, "ratio",
               "keyspace hits / (hits + misses): reads that found their key"),
    MetricInfo("redis.commands", Kind.COUNTER, "",
               "commands processed (the collector's own left out); rate is ops/s"),
    MetricInfo("redis.probe_duration", Kind.TREND, "ms",
               "round trip of the collector's own PING"),
    MetricInfo("redis.command_duration", Kind.TREND, "ms",
               "server time per call, per command (tag command), from INFO commandstats"),
    MetricInfo("redis.memory_used", Kind.GAUGE, "B", "used_memory"),
    MetricInfo("redis.maxmemory", Kind.GAUGE, "B", "the maxmemory limit, when one is set"),
    MetricInfo("redis.maxmemory_used", Kind.GAUGE, "%", "used_memory as a share of maxmemory"),
    MetricInfo("redis.evicted_keys", Kind.COUNTER, "", "keys evicted to stay under maxmemory"),
    MetricInfo("redis.expired_keys", Kind.COUNTER, "", "keys removed because their TTL ran out"),
    MetricInfo("redis.connected_clients", Kind.GAUGE, "", "client connections"),
    MetricInfo("redis.blocked_clients", Kind.GAUGE, "", "clients waiting in BLPOP and the like"),
    MetricInfo("redis.keys", Kind.GAUGE, "", "keys per database (tag db)"),
]


def _client_options() -> dict[str, Any]:
    """No retries (a failure must show at once) and no CLIENT SETINFO on connect."""
    params = inspect.signature(redis.Redis.__init__).parameters
    options: dict[str, Any] = {"retry": Retry(NoBackoff(), 0), "health_check_interval": 0}
    if "driver_info" in params:
        options["driver_info"] = None
    elif "lib_name" in params:
        options.update(lib_name=None, lib_version=None)
    return options


class RedisCollector(SamplingCollector[RedisConfig]):
    """Samples ``INFO all`` and times ``PING`` probes while the scenarios run."""

    name = "redis"
    summary = ("Redis during the run: cache hit rate, ops/s, memory vs maxmemory, evictions, "
               "expired keys, clients, command latency")

    def __init__(self, config: RedisConfig, context: RunContext,
                 instance: str | None = None) -> None:
        super().__init__(config, context, instance)
        self.target = RedisURL(config.url.get_secret_value())
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()
        #: Commands this collector sent, by name: they are taken out of the server's counts.
        self._own: dict[str, int] = {"ping": 0, "info": 0}
        self._previous: Sample | None = None
        self._command_totals: dict[str, list[float]] = {}
        self._details: dict[str, Any] = {}

    # -- the contract --------------------------------------------------------------------
    @classmethod
    def produces(cls, config: RedisConfig) -> list[MetricInfo]:
        return list(METRICS)

    @classmethod
    def builtin_targets(cls, config: RedisConfig) -> dict[str, TargetSpec]:
        if not config.builtin_targets:
            return {}
        return {
            "hit-rate": TargetSpec(
                metric="redis.hit_rate", target="rate > 80%", critical="rate > 50%",
                on_missing="skip", description="reads find their key in the cache"),
            "memory": TargetSpec(
                metric="redis.memory_used", target="max < 512MB", on_missing="fail",
                description="Redis stays within the plan's 512MB"),
        }

    def details(self) -> dict[str, Any]:
        return self._details

    def describe(self) -> str:
        return self.target.describe()

    # -- connecting ----------------------------------------------------------------------
    def _reason(self, exc: BaseException) -> str:
        text = " ".join(str(exc).split()) or type(exc).__name__
        low = text.lower()
        auth_words = ("noauth", "wrongpass", "invalid password", "invalid username-password",
                      "without any password configured")
        if isinstance(exc, redis.AuthenticationError) or any(w in low for w in auth_words):
            hint = "authentication failed: check the user and password in the url"
        elif "refused" in low:
            hint = "connection refused: is the server running and listening there?"
        elif isinstance(exc, redis.TimeoutError) or "timeout" in low or "timed out" in low:
            hint = f"no answer within {self.config.timeout:g}s"
        else:
            hint = "cannot connect"
        return f"{hint} ({self.target.describe()}): {text}"

    def open(self) -> None:
        problem = url_problem(self.target.url)
        if problem is not None:  # the parser's own message may quote the password
            raise RunError(f"redis: url: {problem}")
        if self.target.scheme != "unix":
            try:
                self.context.check_host_allowed(self.target.host or "localhost")
            except ConfigError as exc:
                raise RunError(f"redis: {exc}") from None
        try:
            # One connection (made here), so that the address it reached can be checked.
            self._client = redis.Redis.from_url(
                self.target.url, socket_connect_timeout=self.config.timeout,
                socket_timeout=self.config.timeout, single_connection_client=True,
                **_client_options())
        except ValueError:
            raise RunError(f"redis: url: {INVALID_URL}") from None
        except redis.RedisError as exc:
            raise RunError(f"redis: {self._reason(exc)}") from None
        try:
            self._own["ping"] += 1
            self._client.ping()
            self._check_connected()
        except redis.RedisError as exc:
            self.close()
            raise RunError(f"redis: {self._reason(exc)}") from None
        except ConfigError as exc:
            self.close()
            raise RunError(f"redis: {exc}") from None

    def _check_connected(self) -> None:
        """Refuse the server if the connection reached an address load may not go to (a
        name that looks loopback but resolved elsewhere)."""
        connection = self._client.connection if self._client is not None else None
        sock = getattr(connection, "_sock", None)
        if self.target.scheme == "unix" or sock is None:
            return
        try:
            address = str(sock.getpeername()[0])
        except OSError:
            return  # gone: the next command reconnects, and is checked then
        self.context.check_connected(self.target.host or "localhost", address)

    # -- sampling ------------------------------------------------------------------------
    def sample(self, now: float) -> None:
        with self._lock:
            client = self._client
            if client is None:
                return
            try:
                probe_ms = []
                for _ in range(self.config.probes):
                    self._own["ping"] += 1
                    t0 = time.perf_counter()
                    client.ping()
                    probe_ms.append((time.perf_counter() - t0) * 1000.0)
                own = dict(self._own)
                self._own["info"] += 1
                info = client.info("all")
                self._check_connected()  # a reconnect may have gone elsewhere
            except redis.RedisError as exc:
                self.sample_failed(self._reason(exc), now)
                return
            except ConfigError as exc:
                self.sample_failed(str(exc), now)
                self.close()
                return
            self._record(Sample.from_info(info, time.time(), own, probe_ms))

    def _record(self, sample: Sample) -> None:
        t, m = sample.at, self.metrics
        self.sample_succeeded(t)
        for ms in sample.probe_ms:
            m.trend("redis.probe_duration").add(ms, t)
        g = sample.gauges
        m.gauge("redis.memory_used", unit="B").add(g["used_memory"], t)
        if g["maxmemory"] > 0:
            m.gauge("redis.maxmemory", unit="B").add(g["maxmemory"], t)
            m.gauge("redis.maxmemory_used", unit="%").add(
                100.0 * g["used_memory"] / g["maxmemory"], t)
        m.gauge("redis.connected_clients").add(g["connected_clients"], t)
        m.gauge("redis.blocked_clients").add(g["blocked_clients"], t)
        for db, keys in sample.keys.items():
            m.gauge("redis.keys", {"db": db}).add(keys, t)
        previous, self._previous = self._previous, sample
        if previous is None:
            return
        d = delta(previous, sample)
        hits, misses = d.counters["keyspace_hits"], d.counters["keyspace_misses"]
        if hits + misses > 0:
            m.rate("redis.hit_rate").add_counts(hits, hits + misses, t)
        m.counter("redis.commands").add(d.commands_processed, t)
        m.counter("redis.evicted_keys").add(d.counters["evicted_keys"], t)
        m.counter("redis.expired_keys").add(d.counters["expired_keys"], t)
        if self.config.commandstats:
            for command in d.commands:
                m.trend("redis.command_duration", {"command": command.command}).add_many(
                    command.usec / command.calls / 1000.0, command.calls, t)
                totals = self._command_totals.setdefault(command.command, [0, 0.0])
                totals[0] += command.calls
                totals[1] += command.usec

    # -- the end -------------------------------------------------------------------------
    def _latency_events(self) -> list[dict[str, Any]]:
        """``LATENCY LATEST`` events inside the window (only if latency monitoring is on)."""
        if self._client is None or self.first_ok is None or self.failing_since is not None:
            return []
        try:
            rows = self._client.execute_command("LATENCY", "LATEST")
        except redis.RedisError:
            return []
        events = []
        for row in rows or []:
            name, at, latest, worst = row[0], int(row[1]), int(row[2]), int(row[3])
            if at >= int(self.first_ok):
                events.append({"event": name.decode() if isinstance(name, bytes) else name,
                               "at": at, "latest_ms": latest, "max_ms": worst})
        return events

    def finish(self) -> None:
        last = self._previous
        commands = sorted(self._command_totals.items(), key=lambda kv: kv[1][1], reverse=True)
        self._details = {
            "server": self.target.describe(),
            "version": last.version if last else None,
            "maxmemory": last.gauges["maxmemory"] if last else None,
            "maxmemory_policy": last.policy if last else None,
            **self.sampling_details(),
            "commands": [{"command": name, "calls": int(calls), "total_ms": usec / 1000.0,
                          "mean_ms": usec / calls / 1000.0}
                         for name, (calls, usec) in commands[:20]],
            "latency_events": self._latency_events(),
        }

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None
