"""``workers: N``: the load split over N processes, their metrics merged exactly.

Each worker rebuilds the plan, takes its share (see :mod:`perfgate_aiohttp_api.schedule`),
waits for a common start time and sends back ``MetricSet.to_list()``; HDR histograms travel
encoded, so the merged percentiles are those of one big histogram. About once a second each
worker also sends what it measured since the last time (a live delta), which the parent hands
on; the deltas add up to what the worker sends at the end. Workers ignore Ctrl-C:
the parent tells them to stop through an event, so what they measured still comes back.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import time
from collections.abc import Callable
from multiprocessing.connection import Connection as Pipe
from multiprocessing.connection import wait
from time import perf_counter_ns
from typing import Any

from perfgate import MetricSet, watchdog
from perfgate_aiohttp_api.engine import Live, run_engine
from perfgate_aiohttp_api.plan import Plan, PlanInput
from perfgate_aiohttp_api.tracing import Kept, merge_slowest

START_MARGIN = 0.1  # seconds between "everyone is ready" and the common start
READY_TIMEOUT = 60.0


class WorkerError(RuntimeError):
    """A worker process failed; the message says which and why."""


def _worker(inp: PlanInput, index: int, count: int, pipe: Pipe, stop: Any,
            live: Any, deltas: bool) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        plan = Plan.build(inp)

        def publish(state: Live) -> None:
            base = index * 4
            live[base], live[base + 1] = state.requests, state.errors
            live[base + 2], live[base + 3] = state.vus, state.vus_max

        def ready() -> tuple[int, float]:
            pipe.send(("ready", None))
            kind, start = pipe.recv()
            if kind != "start":
                raise WorkerError("no start from the parent")
            start_ns, start_epoch = start
            return int(start_ns), float(start_epoch)

        def send_delta(delta: MetricSet) -> None:
            pipe.send(("delta", delta.to_list()))

        metrics, interrupted, slowest = run_engine(plan, index, count, ready=ready,
                                                   should_stop=stop.is_set, publish=publish,
                                                   record_vus=False,
                                                   deltas=send_delta if deltas else None)
        pipe.send(("done", (metrics.to_list(), interrupted, slowest)))
    except BaseException as exc:  # report anything to the parent rather than die silently
        pipe.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        pipe.close()


def run_workers(inp: PlanInput, count: int, should_stop: Callable[[], bool],
                progress: Callable[[int, int, int, int], None] | None = None,
                deltas: Callable[[MetricSet], None] | None = None,
                ) -> tuple[MetricSet, bool, float, float, dict[str, list[Kept]]]:
    """Run ``count`` workers; returns the merged metrics, whether they were interrupted, the
    start and end epochs, and the slowest traced requests per endpoint.

    ``deltas`` gets the workers' live deltas as they come, and at the end the ``vus``
    samples the parent adds: all of them merged are the metrics returned."""
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    live = ctx.Array("q", count * 4, lock=False)
    pipes: list[Pipe] = []
    procs = []
    for i in range(count):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker,
                           args=(inp, i, count, child, stop, live, deltas is not None),
                           name=f"perfgate-http-{i}", daemon=True)
        proc.start()
        assert proc.pid is not None  # started
        watchdog().add_pid(proc.pid, grace=1.0)  # workers die with perfgate, SIGKILL too
        child.close()
        pipes.append(parent)
        procs.append(proc)
    merged = MetricSet()
    slowest: list[dict[str, list[Kept]]] = []
    interrupted = False
    try:
        if not _await_ready(pipes, procs, should_stop):
            now = time.time()
            return merged, True, now, now, {}  # stopped before the load started
        start_epoch = time.time() + START_MARGIN
        start_ns = perf_counter_ns() + int(START_MARGIN * 1e9)
        for pipe in pipes:
            pipe.send(("start", (start_ns, start_epoch)))
        pending = dict(enumerate(pipes))
        errors = []
        vus_samples: list[tuple[float, int, int]] = []
        last_sample = 0.0
        while pending:
            if should_stop() and not stop.is_set():
                stop.set()
            for ready_pipe in wait(list(pending.values()), timeout=0.1):
                index = next(i for i, p in pending.items() if p is ready_pipe)
                pipe = pending[index]
                try:
                    kind, payload = pipe.recv()
                except EOFError:
                    kind, payload = "error", f"exit code {procs[index].exitcode}"
                if kind == "delta":
                    if deltas is not None:
                        deltas(MetricSet.from_list(payload))
                    continue
                del pending[index]
                if kind == "done":
                    docs, was_interrupted, kept = payload
                    merged.merge(MetricSet.from_list(docs))
                    slowest.append(kept)
                    interrupted = interrupted or was_interrupted
                else:
                    errors.append(f"worker {index}: {payload}")
            now = time.time()
            if now - last_sample >= 0.1 and now >= start_epoch:
                last_sample = now
                totals = [sum(live[i * 4 + k] for i in range(count)) for k in range(4)]
                vus_samples.append((now, totals[2], totals[3]))
                if progress is not None:
                    progress(*totals)
        end_epoch = time.time()
        if errors:
            raise WorkerError("; ".join(errors))
        sampled = MetricSet()
        _sample_vus(sampled, inp.scenario_name, vus_samples)
        merged.merge(sampled)
        if deltas is not None and len(sampled):
            deltas(sampled)
        trace = inp.scenario.get("trace") or {}
        return (merged, interrupted, start_epoch, end_epoch,
                merge_slowest(slowest, int(trace.get("slowest", 5))))
    finally:
        stop.set()
        for pipe in pipes:
            pipe.close()
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)
            if proc.pid is not None:
                watchdog().remove_pid(proc.pid)


def _await_ready(pipes: list[Pipe], procs: list[Any], should_stop: Callable[[], bool]) -> bool:
    """Wait until every worker is ready; False if the run was stopped meanwhile."""
    deadline = time.monotonic() + READY_TIMEOUT
    waiting = set(range(len(pipes)))
    while waiting:
        if should_stop():
            return False
        if time.monotonic() > deadline:
            raise WorkerError(f"workers did not start within {READY_TIMEOUT:g}s")
        for i in list(waiting):
            if pipes[i].poll(0.05):
                kind, payload = pipes[i].recv()
                if kind == "error":
                    raise WorkerError(f"worker {i}: {payload}")
                waiting.discard(i)
            elif not procs[i].is_alive():
                raise WorkerError(f"worker {i} exited with code {procs[i].exitcode}")
    return True


def _sample_vus(metrics: MetricSet, scenario: str,
                samples: list[tuple[float, int, int]]) -> None:
    tags = {"scenario": scenario}
    for t, vus, vus_max in samples:
        metrics.gauge("vus", tags).add(vus, t)
        metrics.gauge("vus_max", tags).add(vus_max, t)
