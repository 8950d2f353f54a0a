"""One process's load: virtual users on one event loop, an executor, and a controller tick.

The engine owns the request path (connections, sending, recording, checks) and the control
loop (ticks, health, timeouts, the graceful stop); the executor
(:mod:`perfgate_aiohttp_api.executors`) decides how VUs start, through
:meth:`Engine.add_looping_vus`, :meth:`Engine.set_vu_target`,
:meth:`Engine.add_counting_vus` and :meth:`Engine.schedule`.

Closed model (``constant-vus``, ``ramping-vus``, ``per-vu-iterations``, ``shared-iterations``):
each VU runs iterations back to back on its own keep-alive connection; a request's duration
runs from writing the request to the end of the response, like k6.

Open model (``constant-arrival-rate``, ``ramping-arrival-rate``): iterations are started on a
schedule by a free VU; when every VU is busy and ``max_vus`` are allocated the start is
dropped (``dropped_iterations``). The first request's duration runs from the *scheduled*
start, so time spent waiting for the loop or for a connection counts (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from time import perf_counter_ns
from typing import Any

from perfgate import MISSING, Feeders, MetricSet
from perfgate import json_capture as capture
from perfgate_aiohttp_api.checks import decode
from perfgate_aiohttp_api.client import Traffic
from perfgate_aiohttp_api.connections import HTTP1, AnyConnection, Opener, Origin
from perfgate_aiohttp_api.executors import ArrivalRate, Running
from perfgate_aiohttp_api.heads import sets_cookie
from perfgate_aiohttp_api.plan import Plan, Prepared, all_prepared
from perfgate_aiohttp_api.recorder import Recorder
from perfgate_aiohttp_api.redirects import REDIRECTS
from perfgate_aiohttp_api.schedule import share
from perfgate_aiohttp_api.session import Final, Session, header_values
from perfgate_aiohttp_api.tracing import Kept, Tracer

TICK = 0.1  # seconds between controller ticks (health, stop checks, ramps, timeouts)
FLUSH = 1.0  # seconds between folds of raw results into metrics
EARLY_NS = 1_000_000  # open model: starts due within this many ns are started together


@dataclass
class Live:
    """Counters the engine publishes for progress (read from another thread or process)."""

    requests: int = 0
    errors: int = 0
    vus: int = 0
    vus_max: int = 0


class VU:
    """A virtual user: its connections by origin and, in the open model, its next start;
    its number (from 1, across worker processes) and how many iterations it began."""

    __slots__ = ("assign", "conns", "index", "iterations", "jar", "number")

    def __init__(self, index: int, number: int) -> None:
        self.index = index
        self.number = number
        self.iterations = 0
        self.conns: dict[Origin, AnyConnection] = {}
        #: Cookies (an aiohttp ``CookieJar``), made when the first one comes.
        self.jar: Any = None
        self.assign: asyncio.Future[int | None] | None = None


class Engine:
    """Runs this process's share (``worker`` of ``workers``) of a plan's load."""

    def __init__(self, plan: Plan, worker: int = 0, workers: int = 1,
                 should_stop: Callable[[], bool] = lambda: False,
                 publish: Callable[[Live], None] | None = None,
                 record_vus: bool = True,
                 deltas: Callable[[MetricSet], None] | None = None) -> None:
        self.plan = plan
        self.worker = worker
        self.workers = workers
        self.should_stop = should_stop
        self.publish = publish
        self.record_vus = record_vus
        #: Called with what was measured since the last call, after each fold (about once
        #: a second) and at the end: the live deltas, which add up to the final metrics.
        self.deltas = deltas
        self.recorder = Recorder(plan.scenario_name, plan.expected, plan.open_model,
                                 deltas=deltas is not None)
        self.tracer = Tracer(*plan.trace) if plan.trace is not None else None
        self.traffic = Traffic()
        self.opener = Opener(self.traffic, self.recorder, plan.timeout, plan.reached_allowed,
                             plan.http_version, plan.tls, plan.insecure,
                             plan.http2_max_streams, plan.address_of)
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self.pick = plan.picker(offset=worker)
        #: The variables of each iteration (``${vu}``, ``${users.name}``...), for the
        #: requests and flows that have templates.
        self.feeders = Feeders(plan.data, worker, workers)
        self.conns: set[AnyConnection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.vus: list[VU] = []
        self.active = 0  # VUs running an iteration or ready to (closed model: not parked)
        self.stop_new = False  # no new iterations
        self.timeout_ns = int(plan.timeout * 1e9)
        self.timeout = plan.timeout
        self.live = Live()
        # closed model
        self.target = 0
        self._wake: asyncio.Future[None] | None = None
        self.remaining = 0
        self._running_vus = 0
        self._all_done: asyncio.Future[None] | None = None
        # open model
        self.idle: list[VU] = []
        self.max_vus = 0
        self._starts: Iterator[float] = iter(())
        self._next_ns: int | None = None
        self._schedule_done: asyncio.Future[None] | None = None
        self.t0_ns = 0
        self.interrupted = False
        self._folding: asyncio.Task[None] | None = None
        self._fold_steps: Iterator[None] | None = None
        #: Cookies, redirects, decoding: None when no request can need them.
        self.session = Session(self) if any(
            p.follow or p.before or p.after or p.scan_cookies
            for p in all_prepared(plan.items)) else None
        self._prepare_cells()

    def _prepare_cells(self) -> None:
        rec = self.recorder
        for req in all_prepared(self.plan.items):
            if req.checks is not None:
                req.check_counts = [rec.check_counts(req.label, name)
                                    for name in req.checks.names]
            req.cells = {}

    # -- one request ----------------------------------------------------------------------
    async def _connection(self, vu: VU, origin: Origin) -> AnyConnection | str:
        conn = vu.conns.get(origin)
        if conn is not None and not conn.closed:
            return conn
        host = origin[1]
        if not self.plan.allowed(host):
            return "not_allowed"
        address, _ = self.plan.address_of(host, origin[2])  # ``hosts:`` may say another one
        if address != host and not self.plan.allowed(address):
            return "not_allowed"
        # TCP, TLS, HTTP/1.1 or a lane on a shared HTTP/2 connection; each step timed
        opened = await self.opener.open(self.loop, origin)
        if isinstance(opened, str):
            return opened
        vu.conns[origin] = opened
        self.conns.add(opened)
        return opened

    async def _send(self, vu: VU, req: Prepared, start_ns: int,
                    values: dict[str, str] | None) -> str | None:
        """Send ``req`` once and record it; the error that ends a flow here, or None.

        A flow ends at a step whose values could not be captured (its request counts as
        failed with ``error: capture`` unless it already failed otherwise) and at a capture
        step that got no response.
        """
        if req.templated:
            try:
                origin, data = req.render(values or {})
            except (KeyError, ValueError):
                self._record(req, "capture", start_ns or perf_counter_ns(), perf_counter_ns(),
                             None)
                return "capture"
        else:
            origin, data = req.origin, req.data  # type: ignore[assignment]
        trace_id = None
        if self.tracer is not None:
            data, trace_id = self.tracer.stamp(data)
        session = self.session
        if req.before or vu.jar is not None:  # cookies to send
            data = session.before(vu, req, data, values)  # type: ignore[union-attr]
        began = start_ns or perf_counter_ns()  # when this request began to wait, for
        try:                                   # one that never finishes
            conn = vu.conns.get(origin)
            if conn is None or conn.closed:
                attempt = perf_counter_ns()
                opened = await self._connection(vu, origin)
                if isinstance(opened, str):  # the connection failed: why
                    self._record(req, opened, start_ns or attempt, perf_counter_ns(), None)
                    return opened if req.capturing else None
                conn = opened
            if not start_ns:
                start_ns = perf_counter_ns()
            reused = conn.responses
            if req.timeout_ns:
                conn.timeout_ns = req.timeout_ns
            result = await conn.send(data, self.loop, req.keep_body, req.head, req.search)
            if result == "reset" and reused and not conn.first_byte_ns and req.idempotent:
                # A keep-alive connection the server had closed: retry once on a fresh one.
                self.conns.discard(conn)
                opened = await self._connection(vu, origin)
                if isinstance(opened, str):
                    self._record(req, opened, start_ns, perf_counter_ns(), None)
                    return opened if req.capturing else None
                conn = opened
                result = await conn.send(data, self.loop, req.keep_body, req.head, req.search)
        except asyncio.CancelledError:
            self._record_cancelled(req, began)
            raise
        end = perf_counter_ns()
        if req.timeout_ns:
            conn.timeout_ns = 0
        if conn.closed:
            self.conns.discard(conn)
        final: Final | None = None
        if session is not None and (req.after or (result.__class__ is int and (
                (300 <= result < 400 and result in REDIRECTS and req.follow)
                or (req.scan_cookies and sets_cookie(conn.head_bytes))))):
            final = await session.finish(vu, req, conn, result, start_ns, end, data, values)
            if final.conn is None:  # a hop could not be sent: recorded, as a failure
                return final.result if req.capturing else None  # type: ignore[return-value]
            conn, result, start_ns, end = final.conn, final.result, final.start_ns, final.end_ns
        duration_us = (end - start_ns) // 1000
        body = conn.body_bytes() if req.keep_body else b""
        if final is not None and final.body is not None:
            body = final.body
        doc = decode(body) if req.reads_json else MISSING
        ended = None
        key: Any = result
        lacked = None
        if req.capturing and values is not None and not self._capture(req, doc, values, final):
            ended = self.recorder.error(result)
            if ended is None:  # the response was fine but lacked the value
                ended = lacked = "capture"
                key = ("capture", result)
        proto = conn.proto
        if proto is not HTTP1:  # HTTP/2's results are counted apart (tag proto)
            key = (proto, key)
        cell = req.cells.get(key)
        if cell is None:
            cell = req.cells[key] = self.recorder.cell(req.label, req.method, result, lacked,
                                                       proto)
        cell.durations.append(duration_us)
        if trace_id is not None:
            self.tracer.observe(req.label, duration_us, trace_id, result)  # type: ignore[union-attr]
        first = conn.first_byte_ns
        if first:
            cell.waiting.append((first - conn.sent_ns) // 1000)
            cell.receiving.append((end - first) // 1000)
        if req.checks is not None:
            found = conn.search.found if not req.decode else bool(
                req.checks.body_contains is not None and req.checks.body_contains in body)
            self._check(req, result, found, doc, duration_us)
        return ended

    def _record_cancelled(self, req: Prepared, began: int) -> None:
        """A request still in flight when the load ended (``graceful_stop`` over, or
        Ctrl-C): a failed request, timed until now (a timeout if it waited that long). No
        check ran on it, as in k6."""
        now = perf_counter_ns()
        kind = "timeout" if now - began >= self.timeout_ns else "interrupted"
        self._record(req, kind, began, now, None, checked=False)

    def _record(self, req: Prepared, result: int | str, start_ns: int, end_ns: int,
                body: bytes | None, checked: bool = True) -> None:
        cell = req.cells.get(result)
        if cell is None:
            cell = req.cells[result] = self.recorder.cell(req.label, req.method, result)
        cell.durations.append((end_ns - start_ns) // 1000)
        if checked and req.checks is not None:
            self._check(req, result, False, MISSING, (end_ns - start_ns) // 1000)

    def _check(self, req: Prepared, result: int | str, contains: bool, doc: Any,
               duration_us: int) -> None:
        req.checks.count(req.check_counts, result, contains, doc,  # type: ignore[union-attr]
                         duration_us)

    @staticmethod
    def _capture(req: Prepared, doc: Any, values: dict[str, str],
                 final: Final | None = None) -> bool:
        """Take the step's captures from ``doc`` (and the head) into ``values``; False if
        one is missing."""
        got = capture(doc, req.captures) if req.captures else {}
        if req.header_captures:
            got.update(header_values(final, req.header_captures) if final is not None
                       else dict.fromkeys(req.header_captures))
        complete = True
        for name, value in got.items():
            if value is None:
                complete = False
            else:
                values[name] = value
        return complete

    # -- one iteration --------------------------------------------------------------------
    async def _iteration(self, vu: VU, scheduled_ns: int) -> None:
        item = self.pick()
        now = perf_counter_ns()
        if scheduled_ns:
            if scheduled_ns > now:  # started early: measure from the real start
                scheduled_ns = now
            self.recorder.schedule_lag.append((now - scheduled_ns) // 1000)
        started = scheduled_ns or now
        ended: str | None = None
        iteration = vu.iterations
        vu.iterations = iteration + 1
        if vu.jar is not None and self.session.per_iteration:  # type: ignore[union-attr]
            vu.jar = None  # k6's way: each iteration starts without cookies
        try:
            if item.__class__ is Prepared:
                await self._send(vu, item, scheduled_ns,
                                 self.feeders.values(vu.number, iteration)
                                 if item.templated else None)
                if item.think:
                    await asyncio.sleep(item.think)
            else:
                values = self.feeders.values(vu.number, iteration) \
                    if item.templated else {}
                first = scheduled_ns
                for step in item.steps:  # type: ignore[union-attr]
                    ended = await self._send(vu, step, first, values)
                    first = 0
                    if ended is not None:
                        break
                    if step.think:
                        await asyncio.sleep(step.think)
        except Exception as exc:  # a bug must not kill the VU: count it, report it, go on
            self.recorder.internal_error(f"{type(exc).__name__}: {exc}")
            for conn in vu.conns.values():
                conn.close()
            vu.conns.clear()
            await asyncio.sleep(0.01)
            return
        duration_us = (perf_counter_ns() - started) // 1000
        if ended is None:
            self.recorder.iteration_durations.append(duration_us)
        else:
            self.recorder.ended_early(ended).append(duration_us)

    # -- closed model ---------------------------------------------------------------------
    def _new_vu(self) -> VU:
        vu = VU(len(self.vus), self.feeders.vu_number(len(self.vus)))
        self.vus.append(vu)
        return vu

    def _spawn(self, coro: Any) -> None:
        task = self.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _vu_loop(self, vu: VU) -> None:
        self.active += 1
        try:
            while not self.stop_new:
                await self._iteration(vu, 0)
        finally:
            self.active -= 1

    async def _vu_ramping(self, vu: VU) -> None:
        self.active += 1
        try:
            while not self.stop_new:
                if vu.index >= self.target:
                    self.active -= 1
                    try:
                        await self._wait_wake()
                    finally:
                        self.active += 1
                    continue
                await self._iteration(vu, 0)
        finally:
            self.active -= 1

    def _wait_wake(self) -> asyncio.Future[None]:
        if self._wake is None or self._wake.done():
            self._wake = self.loop.create_future()
        return self._wake

    def _set_target(self, target: int) -> None:
        if target == self.target:
            return
        grew = target > self.target
        self.target = target
        while len(self.vus) < target:
            self._spawn(self._vu_ramping(self._new_vu()))
        if grew and self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def _vu_iterations(self, vu: VU, count: int | None) -> None:
        self.active += 1
        try:
            if count is None:  # shared-iterations
                while not self.stop_new and self.remaining > 0:
                    self.remaining -= 1
                    await self._iteration(vu, 0)
            else:
                for _ in range(count):
                    if self.stop_new:
                        break
                    await self._iteration(vu, 0)
        finally:
            self.active -= 1
            self._running_vus -= 1
            if self._running_vus == 0 and self._all_done and not self._all_done.done():
                self._all_done.set_result(None)

    # -- open model -----------------------------------------------------------------------
    async def _vu_open(self, vu: VU, first_ns: int) -> None:
        scheduled: int | None = first_ns
        while scheduled is not None:
            self.active += 1
            try:
                await self._iteration(vu, scheduled)
            finally:
                self.active -= 1
            if self.stop_new:
                return
            vu.assign = self.loop.create_future()
            self.idle.append(vu)
            scheduled = await vu.assign

    def _dispatch(self) -> None:
        """Start every iteration due within :data:`EARLY_NS`; then sleep until the next one.

        The loop's timers have millisecond resolution, so starts due in the coming
        millisecond go now instead of spinning; their duration is then measured from the
        actual start (never from a scheduled time still in the future).
        """
        now = perf_counter_ns()
        horizon = now + EARLY_NS
        nxt = self._next_ns
        idle = self.idle
        while nxt is not None and nxt <= horizon and not self.stop_new:
            if idle:
                vu = idle.pop()
                vu.assign.set_result(nxt)  # type: ignore[union-attr]
            elif len(self.vus) < self.max_vus:
                self._spawn(self._vu_open(self._new_vu(), nxt))
            else:
                self.recorder.dropped += 1
            start = next(self._starts, None)
            nxt = None if start is None else self.t0_ns + int(start * 1e9)
        self._next_ns = nxt
        if nxt is None or self.stop_new:
            if self._schedule_done is not None and not self._schedule_done.done():
                self._schedule_done.set_result(None)
            return
        delay = (nxt - perf_counter_ns()) / 1e9 - EARLY_NS / 2e9
        self.loop.call_later(max(delay, 0.001), self._dispatch)

    # -- the run ----------------------------------------------------------------------------
    async def warm_up(self) -> None:
        """Open model: allocate the pre-allocated VUs and open their connections now.

        Pre-allocated VUs are meant to be ready when the schedule starts; connecting them
        first keeps a burst of connection setups out of the first scheduled starts.
        The setups still count in ``http.req_connecting``.
        """
        self.loop = asyncio.get_running_loop()
        executor = self.plan.executor
        ready = executor.ready_vus if isinstance(executor, ArrivalRate) else 0
        vus = [self._new_vu() for _ in range(self.share(ready))]
        origins = [o for o in self.plan.origins if self.plan.allowed(o[1])]
        if not vus or not origins:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(self.timeout, 10.0)):
                await asyncio.gather(*(self._connection(vu, origin)
                                       for vu in vus for origin in origins))

    async def run(self, start_ns: int, start_epoch: float) -> MetricSet:
        """Start at ``start_ns`` (``perf_counter_ns``, shared by workers); return metrics."""
        self.loop = asyncio.get_running_loop()
        delay = (start_ns - perf_counter_ns()) / 1e9
        if delay > 0:
            await asyncio.sleep(delay)
        self.t0_ns = start_ns
        running = self.plan.executor.start(self, self.plan.scale)
        await self._control(start_ns, start_epoch, running)
        end_epoch = start_epoch + (perf_counter_ns() - start_ns) / 1e9
        self._flush(start_ns, start_epoch)
        self._publish()
        metrics = self.recorder.finish(start_epoch, end_epoch)
        self._hand_over()
        return metrics

    # -- what executors start VUs with ----------------------------------------------------
    def share(self, total: int) -> int:
        """This worker's part of ``total`` (VUs, iterations) split over the workers."""
        return share(total, self.worker, self.workers)

    def add_looping_vus(self, count: int) -> None:
        """``count`` VUs that run iterations back to back until the load is over."""
        for _ in range(count):
            self._spawn(self._vu_loop(self._new_vu()))

    def set_vu_target(self, target: int) -> None:
        """Run ``target`` looping VUs: start new ones, or park the extra ones."""
        self._set_target(target)

    def add_counting_vus(self, vus: int, each: int | None,
                         pool: int | None) -> asyncio.Future[None]:
        """``vus`` VUs that run ``each`` iterations apiece, or draw from a ``pool`` of
        iterations shared by all of them; the future is set when every one has stopped."""
        self._running_vus = vus
        self._all_done = done = self.loop.create_future()
        if pool is not None:
            self.remaining = pool
        for _ in range(vus):
            self._spawn(self._vu_iterations(self._new_vu(), each))
        if vus == 0:
            done.set_result(None)
        return done

    def schedule(self, ready: int, most: int, starts: Iterator[float]) -> asyncio.Future[None]:
        """The open model: iterations start at ``starts`` (seconds from the start), each on
        a free VU; ``ready`` VUs exist from the start, at most ``most``. The future is set
        when the schedule is over."""
        self.max_vus = max(most, 1)
        if not self.vus:  # not warmed up
            for _ in range(ready):
                self._new_vu()
        for vu in self.vus:
            vu.assign = self.loop.create_future()
            self.idle.append(vu)
            self._spawn(self._vu_open_idle(vu))
        self._starts = starts
        first = next(self._starts, None)
        self._next_ns = None if first is None else self.t0_ns + int(first * 1e9)
        self._schedule_done = done = self.loop.create_future()
        self._dispatch()
        return done

    async def _vu_open_idle(self, vu: VU) -> None:
        scheduled = await vu.assign  # type: ignore[misc]
        if scheduled is not None:
            await self._vu_open(vu, scheduled)

    async def _control(self, start_ns: int, start_epoch: float, running: Running) -> None:
        """Tick until the load is over, then wind down within ``graceful_stop``."""
        deadline, ramp, end_future = running.deadline, running.ramp, running.done
        last_flush = last_health = perf_counter_ns()
        cpu_then = time.process_time()
        lag_seen = 0
        loop_lag_ns = 0
        while True:
            now = perf_counter_ns()
            elapsed = (now - start_ns) / 1e9
            if self.should_stop():
                self.interrupted = True
                break
            if deadline is not None and elapsed >= deadline:
                break
            if end_future is not None and end_future.done():
                break
            if ramp is not None:
                self._set_target(self.share(ramp.vus(elapsed)))
            wait = TICK if deadline is None else min(TICK, max(deadline - elapsed, 0.0))
            before = perf_counter_ns()
            if end_future is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(end_future), wait)
            else:
                await asyncio.sleep(wait)
            now = perf_counter_ns()
            if end_future is None or not end_future.done():
                # how much later than asked the loop woke us: the event loop's lag
                loop_lag_ns = max(loop_lag_ns, now - before - int(wait * 1e9))
            if now - last_health >= TICK * 0.9e9:
                lag_ms = loop_lag_ns / 1e6
                lags = self.recorder.schedule_lag
                if self.plan.open_model:
                    if len(lags) > lag_seen:
                        lag_ms = max(lag_ms, max(lags[lag_seen:]) / 1000)
                else:
                    lags.append(max(loop_lag_ns, 0) // 1000)
                lag_seen = len(lags)
                cpu_now = time.process_time()
                cpu = 100.0 * (cpu_now - cpu_then) / max((now - last_health) / 1e9, 1e-6)
                cpu_then, last_health, loop_lag_ns = cpu_now, now, 0
                t = start_epoch + (now - start_ns) / 1e9
                vus = (self.active, len(self.vus)) if self.record_vus else None
                self.recorder.health(t, min(cpu, 100.0), max(lag_ms, 0.0), vus)
                self._sweep(now)
                self._publish()
            if now - last_flush >= FLUSH * 1e9:
                self._flush(start_ns, start_epoch, last_flush)
                last_flush = perf_counter_ns()
                lag_seen = 0
        self.stop_new = True
        if self._schedule_done is not None and not self._schedule_done.done():
            self._schedule_done.set_result(None)
        await self._wind_down()

    async def _wind_down(self) -> None:
        """Let iterations in flight finish (up to ``graceful_stop``), then cancel the rest."""
        for vu in self.idle:
            if vu.assign is not None and not vu.assign.done():
                vu.assign.set_result(None)
        self.idle.clear()
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)
        grace_end = perf_counter_ns() + int(self.plan.graceful_stop * 1e9)
        while self.tasks and not self.interrupted:
            if self.should_stop():
                self.interrupted = True
                break
            left = (grace_end - perf_counter_ns()) / 1e9
            if left <= 0:
                break
            await asyncio.wait(set(self.tasks), timeout=min(TICK, left))
            self._sweep(perf_counter_ns())
        # Requests still in flight are recorded as they are cancelled (see _send).
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        for conn in list(self.conns):
            conn.close()
        self.conns.clear()
        self.opener.close()

    def _sweep(self, now: int) -> None:
        """End requests that have waited longer than ``timeout``."""
        limit = now - self.timeout_ns
        for conn in list(self.conns):
            if conn.waiter is not None and conn.sent_ns < (
                    now - conn.timeout_ns if conn.timeout_ns else limit):
                conn.fail("timeout")
                self.conns.discard(conn)
            elif conn.closed and conn.waiter is None:
                self.conns.discard(conn)

    def _flush(self, start_ns: int, start_epoch: float, since_ns: int | None = None) -> None:
        """Take what was recorded; fold it into histograms in slices between loop turns.

        Folding one second of results at a high rate takes milliseconds; done in one go it
        would hold up the scheduled starts behind it. The final flush folds at once.
        """
        now = perf_counter_ns()
        mid = now if since_ns is None else (since_ns + now) // 2
        t = start_epoch + (mid - start_ns) / 1e9
        traffic = self.traffic
        if self._folding is not None and not self._folding.done():
            if since_ns is not None:
                return  # still folding the last second: take this one next time
            self._folding.cancel()
            for _ in self._fold_steps or ():
                pass
        jobs = self.recorder.take(t, traffic.received, traffic.sent)
        traffic.received = traffic.sent = 0
        steps = self.recorder.fold(jobs, t)
        if since_ns is None:
            for _ in steps:
                pass
            return
        self._fold_steps = steps
        self._folding = self.loop.create_task(self._fold_slices(steps))

    async def _fold_slices(self, steps: Iterator[None]) -> None:
        for _ in steps:
            await asyncio.sleep(0)
        self._hand_over()

    def _hand_over(self) -> None:
        """Give :attr:`deltas` what was folded since the last time (nothing if empty)."""
        if self.deltas is None:
            return
        delta = self.recorder.metrics.take_delta()
        if len(delta):
            self.deltas(delta)

    def _publish(self) -> None:
        requests, errors, _ = self.recorder.pending()
        live = self.live
        live.requests, live.errors = requests, errors
        live.vus, live.vus_max = self.active, len(self.vus)
        if self.publish is not None:
            self.publish(live)


def run_engine(plan: Plan, worker: int = 0, workers: int = 1,
               ready: Callable[[], tuple[int, float]] | None = None,
               **kwargs: Any) -> tuple[MetricSet, bool, dict[str, list[Kept]]]:
    """Run an engine on a fresh uvloop event loop.

    Returns the metrics, whether it was interrupted, and the slowest traced requests per
    endpoint (empty without ``trace:``).

    ``ready()``, called after the warm-up, returns the common start (``perf_counter_ns``,
    epoch); without it the load starts right after the warm-up.
    """
    start_ns: int | None = 0 if ready is not None else None
    start_epoch = 0.0
    engine = Engine(plan, worker, workers, **kwargs)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(engine.warm_up())
        if start_ns is None:
            start_ns, start_epoch = perf_counter_ns(), time.time()
        elif ready is not None:
            start_ns, start_epoch = ready()
        metrics = runner.run(engine.run(start_ns, start_epoch))
    return metrics, engine.interrupted, engine.tracer.slowest if engine.tracer else {}


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        return asyncio.new_event_loop
    return uvloop.new_event_loop
