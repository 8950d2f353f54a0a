"""The master's events (see :mod:`perfgate_locust.agent`) read into perfgate's metrics.

Every worker report holds, per request name and method, what happened since its previous
report: counts, failures, bytes, requests per second and Locust's response-time buckets
(``{rounded ms: count}``). Adding the reports up is exact, whatever the number of workers:

===================================  ========================================================
``http.req_duration`` (trend, ms)    each bucket added to an HDR histogram as its rounded
                                     value (see README, "How exact are the percentiles?")
``http.reqs`` (counter)              ``num_reqs_per_sec``: each second's requests
``http.req_failed`` (rate)           failures out of requests
``data_received`` (counter, B)       ``total_content_length``
``checks`` (rate)                    generated locustfiles: each check of each request
``iterations`` (counter)             generated locustfiles: iterations, ``error`` tag when
                                     a flow ended early
``vus`` (gauge)                      users running, every second
``perfgate.driver.cpu`` (gauge, %)   each worker's CPU, % of one core, every second
``perfgate.driver.behind_schedule``  share of 100 ms ticks in which a worker's event loop
(rate)                               ran 10 ms late or more, or its CPU was at 95%: the
                                     worker, not the service, set the pace
``perfgate.driver.schedule_lag``     each second's worst lateness of a worker's loop
(trend, ms)
``locust.exceptions`` (counter)      exceptions raised in tasks, by message
``locust.workers_lost`` (counter)    workers that stopped answering or exited early
===================================  ========================================================

Series are tagged ``name`` and ``method`` (Locust's entry), the driver's series ``worker``
(the worker's index, in the order they joined).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfgate import MetricSet

#: A worker at this CPU share of one core (or more) is saturated: its timings are its own.
CPU_SATURATED = 95.0


def locust_bucket(ms: float) -> int:
    """Locust 2.x's rounding of a response time (``locust.stats.bucket_response_time``)."""
    if ms < 100:
        return round(ms)
    if ms < 1000:
        return int(round(ms, -1))
    if ms < 10000:
        return int(round(ms, -2))
    return int(round(ms, -3))


def rounding_error(ms: float) -> float:
    """How far Locust's bucket of a response time (or of a percentile) can be from it, in ms.

    Half a bucket: 0.5 ms under 100 ms, 5 ms under 1 s, 50 ms under 10 s, 500 ms above.
    Rounding keeps the order of values, so a percentile of the buckets is the bucket of the
    true percentile, and moves by no more than this.
    """
    return 0.5 if ms < 100 else 5.0 if ms < 1000 else 50.0 if ms < 10000 else 500.0


@dataclass
class Worker:
    """What the master saw of one worker."""

    id: str
    index: int
    joined: float
    pid: int | None = None
    reports: int = 0
    requests: int = 0
    failures: int = 0
    last_report: float | None = None
    final_report: bool = False
    missing_at: float | None = None
    exited: str | None = None  # a local worker process that ended early: how
    cpu_max: float | None = None
    lag_max: float | None = None
    agent: bool = False

    @property
    def lost(self) -> bool:
        return self.missing_at is not None or self.exited is not None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "index": self.index, "pid": self.pid, "joined": self.joined,
                "reports": self.reports, "requests": self.requests,
                "failures": self.failures, "lost": self.lost, "missing_at": self.missing_at,
                "exited": self.exited, "final_report": self.final_report,
                "cpu_max": self.cpu_max, "lag_max_ms": self.lag_max, "agent": self.agent}


@dataclass
class Results:
    """The state of one Locust run, built from the master's events as they come."""

    scenario: str
    #: Keeps deltas: the driver publishes what arrived about once a second.
    metrics: MetricSet = field(default_factory=lambda: MetricSet(deltas=True))
    workers: dict[str, Worker] = field(default_factory=dict)
    init: dict[str, Any] | None = None
    started: float | None = None
    stopping: float | None = None
    stopped: float | None = None
    ended: dict[str, Any] | None = None
    errors: dict[tuple[str, str, str], int] = field(default_factory=dict)
    requests: int = 0
    failures: int = 0
    users: int = 0
    bad_lines: int = 0

    def take(self, record: dict[str, Any]) -> None:
        """Fold one event into the state and the metrics."""
        event, t = record.get("event"), float(record.get("t") or time.time())
        if event == "init":
            self.init = record
        elif event == "connect":
            self._worker(str(record["worker"]), t)
        elif event == "report":
            self._report(record, t)
        elif event == "workers":
            self._snapshot(record, t)
        elif event == "missing":
            worker = self._worker(str(record["worker"]), t)
            if worker.missing_at is None:
                worker.missing_at = t
        elif event == "start":
            self.started = self.started or t
        elif event == "stopping":
            self.stopping = t
        elif event == "stopped":
            self.stopped = t
        elif event == "end":
            self.ended = record

    def _worker(self, worker_id: str, t: float) -> Worker:
        worker = self.workers.get(worker_id)
        if worker is None:
            worker = self.workers[worker_id] = Worker(worker_id, len(self.workers), t)
        return worker

    def _report(self, record: dict[str, Any], t: float) -> None:
        worker = self._worker(str(record["worker"]), t)
        worker.reports += 1
        worker.last_report = t
        if self.stopping is not None and worker.missing_at is None:
            worker.final_report = True
        base = {"scenario": self.scenario}
        m = self.metrics
        # Why requests failed, per endpoint: Locust reports each failure's message.
        reasons: dict[tuple[str, str], list[tuple[str, int]]] = {}
        for error in (record.get("errors") or {}).values():
            key = (str(error.get("method")), str(error.get("name")), str(error.get("error")))
            occurrences = int(error.get("occurrences") or 0)
            self.errors[key] = self.errors.get(key, 0) + occurrences
            reasons.setdefault(key[:2], []).append((key[2], occurrences))
        for entry in record.get("stats") or []:
            tags = {**base, "name": str(entry.get("name")), "method": str(entry.get("method"))}
            requests = int(entry.get("num_requests") or 0)
            failures = int(entry.get("num_failures") or 0)
            trend = m.trend("http.req_duration", tags)
            for bucket, count in (entry.get("response_times") or {}).items():
                trend.add_many(float(bucket), int(count), t)
            per_second = entry.get("num_reqs_per_sec") or {}
            if per_second and sum(per_second.values()) == requests:
                counter = m.counter("http.reqs", tags)
                for second, count in per_second.items():
                    counter.add(int(count), float(second))
            elif requests:
                m.counter("http.reqs", tags).add(requests, t)
            tagged = 0  # failures told apart by their reason (status, error kind)
            for message, occurrences in reasons.get((tags["method"], tags["name"]), []):
                n = min(occurrences, failures - tagged)
                if n > 0:
                    m.rate("http.req_failed", {**tags, **failure_tags(message)}).add_counts(
                        n, n, t)
                    tagged += n
            if requests > tagged:
                m.rate("http.req_failed", tags).add_counts(failures - tagged,
                                                           requests - tagged, t)
            received = int(entry.get("total_content_length") or 0)
            if received:
                m.counter("data_received", base, unit="B").add(received, t)
            worker.requests += requests
            worker.failures += failures
            self.requests += requests
            self.failures += failures
        self._counts(record.get("counts") or {}, base, t)
        agent = record.get("agent")
        if isinstance(agent, dict):
            worker.agent = True
            worker.pid = agent.get("pid") or worker.pid
            for sample_t, cpu, ticks, late, worst in agent.get("cpu") or []:
                self._health(worker, float(sample_t), float(cpu), int(ticks), int(late),
                             float(worst))

    def _counts(self, counts: dict[str, Any], base: dict[str, str], t: float) -> None:
        for key, (passes, total) in (counts.get("checks") or {}).items():
            name, _, check = str(key).partition("\x1f")
            self.metrics.rate("checks", {**base, "name": name, "check": check}).add_counts(
                int(passes), int(total), t)
        for error, (count, _) in (counts.get("iterations") or {}).items():
            tags = {**base, "error": error} if error else base
            self.metrics.counter("iterations", tags).add(int(count), t)

    def _health(self, worker: Worker, t: float, cpu: float, ticks: int = 1, late: int = 0,
                worst: float | None = None) -> None:
        """One second of a worker's health: a tick is behind when its event loop was late,
        and every tick of a second at saturated CPU."""
        tags = {"scenario": self.scenario, "worker": str(worker.index)}
        self.metrics.gauge("perfgate.driver.cpu", tags, unit="%").add(cpu, t)
        behind = ticks if cpu >= CPU_SATURATED else late
        self.metrics.rate("perfgate.driver.behind_schedule", tags).add_counts(behind, ticks, t)
        if worst is not None:
            self.metrics.trend("perfgate.driver.schedule_lag", tags).add(worst, t)
        worker.cpu_max = cpu if worker.cpu_max is None else max(worker.cpu_max, cpu)
        worker.lag_max = worst if worker.lag_max is None or worst is None \
            else max(worker.lag_max, worst)

    def _snapshot(self, record: dict[str, Any], t: float) -> None:
        self.users = int(record.get("users") or 0)
        if self.started is not None and self.stopped is None:
            self.metrics.gauge("vus", {"scenario": self.scenario}).add(self.users, t)
        for node in record.get("workers") or []:
            worker = self._worker(str(node.get("id")), t)
            if worker.agent or self.started is None or self.stopped is not None:
                continue
            # a worker without perfgate's agent: Locust's own CPU figure (every 10 s)
            self._health(worker, t, float(node.get("cpu") or 0.0))

    def finish(self, end: float) -> MetricSet:
        """The metrics with the run's window; zero counts where a target may ask ``== 0``."""
        base = {"scenario": self.scenario}
        m = self.metrics
        for row in (self.ended or {}).get("exceptions") or []:
            m.counter("locust.exceptions", {**base, "error": str(row.get("msg"))[:200]}).add(
                int(row.get("count") or 0), end)
        if not m.select("locust.exceptions"):
            m.counter("locust.exceptions", base).add(0, end)
        lost = [w for w in self.workers.values() if w.lost]
        for worker in lost:
            m.counter("locust.workers_lost", {**base, "worker": str(worker.index)}).add(1, end)
        if not lost:
            m.counter("locust.workers_lost", base).add(0, end)
        start = self.started if self.started is not None else end
        m.set_window(start, self.stopped or end)
        return m

    def exceptions(self) -> list[dict[str, Any]]:
        return list((self.ended or {}).get("exceptions") or [])

    def error_table(self) -> list[dict[str, Any]]:
        rows = [{"method": k[0], "name": k[1], "error": k[2], "occurrences": n}
                for k, n in self.errors.items()]
        return sorted(rows, key=lambda r: -r["occurrences"])


_STATUS = re.compile(r"\bHTTP (\d{3})\b|\b([1-5]\d\d) (?:Client|Server) Error")


def failure_tags(message: str) -> dict[str, str]:
    """The ``status`` and ``error`` tags of a failure from Locust's message for it:
    ``CatchResponseError('HTTP 404')`` (perfgate's generated locustfile) or
    ``HTTPError('404 Client Error: ...')``
    is status 404; a timeout, a refused or reset connection is that error kind; a capture
    that found nothing is ``capture``; a request still waiting when the load ended is
    ``interrupted``; any other message is its own kind, shortened."""
    found = _STATUS.search(message)
    if found:
        status = found.group(1) or found.group(2)
        return {"status": status, "error": f"http_{status[0]}xx"}
    lower = message.lower()
    for words, kind in ((("timeout", "timed out"), "timeout"),
                        (("refused",), "connect_refused"), (("reset",), "reset"),
                        (("capture:",), "capture"), (("interrupted:",), "interrupted")):
        if any(word in lower for word in words):
            return {"error": kind}
    return {"error": message[:80]}


class EventTail:
    """Reads the events file as the master appends to it, whole lines only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def read(self, results: Results) -> list[dict[str, Any]]:
        """New events, each already folded into ``results``."""
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        out = []
        for line in lines:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                results.bad_lines += 1
                continue
            if isinstance(record, dict):
                results.take(record)
                out.append(record)
        return out
