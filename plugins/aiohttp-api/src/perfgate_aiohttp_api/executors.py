"""k6's executors, one class each: its keys, its planned duration, how it starts its VUs.

An executor's keys stand in the scenario itself, as in k6 (``executor: constant-vus``,
``vus: 50``, ``duration: 30s``); :func:`executor_of` picks the class and validates them,
so each problem points at its own key: a key another executor takes (``rate`` under
``constant-vus``), a missing one (``constant-vus needs duration``, at ``executor:``), a bad
value. The engine (:mod:`perfgate_aiohttp_api.engine`) keeps the request path and the
control loop; :meth:`Executor.start` tells it how many VUs to run and when iterations
start, and the :class:`Running` it returns tells the control loop when the load is over.

Without ``executor`` (and without ``preset``), ``vus`` and ``duration`` mean
``constant-vus``, k6's shortcut.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from perfgate import ComponentConfig, Duration, Stage
from perfgate_aiohttp_api.schedule import Ramp, constant_starts, ramp_from_stages

if TYPE_CHECKING:
    import asyncio

    from perfgate_aiohttp_api.engine import Engine


@dataclass
class Running:
    """What the control loop follows once an executor has started its VUs."""

    #: Seconds from the start after which no iteration starts (None: until ``done``).
    deadline: float | None
    #: The VU level over time, for ``ramping-vus``.
    ramp: Ramp | None = None
    #: Set when the executor's work is done (its iterations, its schedule).
    done: asyncio.Future[None] | None = None


class Executor(ComponentConfig):
    """One executor's keys; subclasses add theirs and say how they run."""

    #: k6's name for it, the value of ``executor:``.
    executor: str
    #: Arrival-rate executors start iterations on a schedule (the open model).
    open_model: ClassVar[bool] = False
    #: What each required key is, for the message when it is missing.
    needs: ClassVar[dict[str, str]] = {}

    def planned_duration(self, scale: float) -> float | None:
        """Seconds of load planned (``scale`` is ``--time-scale``); None when it depends on
        how fast iterations go."""
        return None

    def start(self, engine: Engine, scale: float) -> Running:
        """Start this worker's share of the VUs on ``engine``'s loop."""
        raise NotImplementedError


class ConstantVus(Executor):
    """A fixed number of VUs looping over iterations for ``duration``."""

    executor: Literal["constant-vus"] = "constant-vus"
    vus: int = Field(default=1, ge=1, le=100_000)
    duration: Duration = Field(gt=0)
    needs = {"duration": "how long the VUs run, e.g. duration: 30s"}

    def planned_duration(self, scale: float) -> float | None:
        return self.duration * scale

    def start(self, engine: Engine, scale: float) -> Running:
        engine.add_looping_vus(engine.share(self.vus))
        return Running(deadline=self.duration * scale)


class RampingVus(Executor):
    """VUs that follow ``stages`` from ``start_vus`` (k6 rounds down between targets)."""

    executor: Literal["ramping-vus"] = "ramping-vus"
    start_vus: int = Field(default=1, ge=0)
    stages: list[Stage]
    needs = {"stages": "the VU targets over time, e.g. stages: [{duration: 30s, target: 50}]"}

    def ramp(self, scale: float) -> Ramp:
        return ramp_from_stages(self.start_vus, [s.model_dump() for s in self.stages], scale)

    def planned_duration(self, scale: float) -> float | None:
        return self.ramp(scale).duration

    def start(self, engine: Engine, scale: float) -> Running:
        ramp = self.ramp(scale)
        engine.set_vu_target(engine.share(ramp.vus(0.0)))
        return Running(deadline=ramp.duration, ramp=ramp)


class Iterations(Executor):
    """A number of iterations, then the scenario ends (after ``max_duration`` at most)."""

    vus: int = Field(default=1, ge=1, le=100_000)
    iterations: int = Field(ge=1)
    max_duration: Duration = Field(default=600.0, gt=0)
    needs = {"iterations": "how many iterations to run, e.g. iterations: 1000"}
    #: Iterations are a pool all VUs draw from (else: each VU runs all of them).
    shared: ClassVar[bool] = False

    def start(self, engine: Engine, scale: float) -> Running:
        vus = engine.share(self.vus)
        pool = engine.share(self.iterations) if self.shared else None
        done = engine.add_counting_vus(vus, None if self.shared else self.iterations, pool)
        return Running(deadline=self.max_duration, done=done)


class PerVuIterations(Iterations):
    """Each VU runs ``iterations`` iterations."""

    executor: Literal["per-vu-iterations"] = "per-vu-iterations"


class SharedIterations(Iterations):
    """``iterations`` iterations shared by ``vus`` VUs, each taking the next one."""

    executor: Literal["shared-iterations"] = "shared-iterations"
    shared = True

    @field_validator("iterations")
    @classmethod
    def _enough_iterations(cls, value: int, info: ValidationInfo) -> int:
        vus = info.data.get("vus")
        if vus is not None and vus > value:
            raise ValueError(f"shared-iterations needs iterations >= vus ({vus})")
        return value


class ArrivalRate(Executor):
    """Iterations started on a schedule, each by a free VU (the open model)."""

    open_model = True
    time_unit: Duration = 1.0
    pre_allocated_vus: int | None = Field(default=None, ge=1, le=100_000)
    max_vus: int | None = Field(default=None, ge=1, le=100_000)

    @field_validator("time_unit")
    @classmethod
    def _time_unit(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("time_unit must be longer than zero")
        return value

    @field_validator("max_vus")
    @classmethod
    def _max_vus(cls, value: int | None, info: ValidationInfo) -> int | None:
        pre = info.data.get("pre_allocated_vus")
        if value is not None and pre is not None and pre > value:
            raise ValueError(f"pre_allocated_vus ({pre}) cannot exceed max_vus ({value})")
        return value

    @property
    def ready_vus(self) -> int:
        """VUs allocated before the schedule starts (k6's ``preAllocatedVUs``)."""
        if self.pre_allocated_vus is not None:
            return self.pre_allocated_vus
        return min(self.max_vus or 10, 10)

    @property
    def most_vus(self) -> int:
        """VUs there may be at most, the ready ones included."""
        ready = self.ready_vus
        return max(self.max_vus if self.max_vus is not None else max(ready, 1000), ready)

    def starts(self, worker: int, workers: int, scale: float) -> Iterator[float]:
        """Scheduled start times (seconds from the start) of this worker's iterations."""
        raise NotImplementedError

    def start(self, engine: Engine, scale: float) -> Running:
        done = engine.schedule(engine.share(self.ready_vus), engine.share(self.most_vus),
                               self.starts(engine.worker, engine.workers, scale))
        return Running(deadline=None, done=done)


class ConstantArrivalRate(ArrivalRate):
    """``rate`` iterations per ``time_unit`` for ``duration``."""

    executor: Literal["constant-arrival-rate"] = "constant-arrival-rate"
    rate: float = Field(gt=0, le=1_000_000)
    duration: Duration = Field(gt=0)
    needs = {"rate": "iterations per time_unit, e.g. rate: 200",
             "duration": "how long iterations start, e.g. duration: 30s"}

    def planned_duration(self, scale: float) -> float | None:
        return self.duration * scale

    def starts(self, worker: int, workers: int, scale: float) -> Iterator[float]:
        return constant_starts(self.rate / self.time_unit, self.duration * scale, worker,
                               workers)


class RampingArrivalRate(ArrivalRate):
    """A rate of iterations that follows ``stages`` from ``start_rate``."""

    executor: Literal["ramping-arrival-rate"] = "ramping-arrival-rate"
    start_rate: float = Field(default=0.0, ge=0)
    stages: list[Stage]
    needs = {"stages": "the rate targets over time, e.g. stages: [{duration: 30s, "
                       "target: 200}]"}

    def ramp(self, scale: float) -> Ramp:
        return ramp_from_stages(self.start_rate, [s.model_dump() for s in self.stages],
                                scale, 1.0 / self.time_unit)

    def planned_duration(self, scale: float) -> float | None:
        return self.ramp(scale).duration

    def starts(self, worker: int, workers: int, scale: float) -> Iterator[float]:
        return self.ramp(scale).starts(worker, workers)


#: Every executor by k6's name.
EXECUTORS: dict[str, type[Executor]] = {cls.model_fields["executor"].default: cls for cls in (
    ConstantVus, RampingVus, ConstantArrivalRate, RampingArrivalRate, PerVuIterations,
    SharedIterations)}
#: Every key an executor takes (beside ``executor``), in the order k6's docs list them.
EXECUTOR_KEYS: tuple[str, ...] = tuple(dict.fromkeys(
    key for cls in EXECUTORS.values() for key in cls.model_fields if key != "executor"))

AnyExecutor = Annotated[ConstantVus | RampingVus | ConstantArrivalRate | RampingArrivalRate
                        | PerVuIterations | SharedIterations, Field(discriminator="executor")]
