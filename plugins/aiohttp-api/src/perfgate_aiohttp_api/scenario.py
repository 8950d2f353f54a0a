"""The ``http`` scenario as a typed model: executors with k6's names, presets, requests, flows.

The smallest scenario::

    driver: http
    service: api
    executor: constant-vus
    vus: 100
    duration: 30s
    requests:
      - {name: health, path: /health}
      - {name: records, path: /api/records, weight: 3}

Option names follow k6's executors, written in snake case (``preAllocatedVUs`` is
``pre_allocated_vus``, ``timeUnit`` is ``time_unit``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from perfgate import (
    BaseUrl,
    ComponentConfig,
    DriverScenario,
    Duration,
    FlowSpec,
    RequestSpec,
    all_requests,
    check_request_hosts,
    check_requests,
)

Executor = Literal["constant-vus", "ramping-vus", "constant-arrival-rate",
                   "ramping-arrival-rate", "per-vu-iterations", "shared-iterations"]
OPEN_EXECUTORS = frozenset({"constant-arrival-rate", "ramping-arrival-rate"})
Preset = Literal["smoke", "load", "stress", "spike", "endurance"]


class Stage(ComponentConfig):
    """Move linearly to ``target`` (VUs, or iterations per ``time_unit``) over ``duration``."""

    duration: Duration
    target: int = Field(ge=0)


#: The plan's scenarios (``shared/origin``): the same shape of load, ramps included.
PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"executor": "constant-vus", "vus": 1, "duration": 60.0},
    "load": {"executor": "ramping-vus", "start_vus": 0, "stages": [
        {"duration": 60.0, "target": 100}, {"duration": 480.0, "target": 100},
        {"duration": 60.0, "target": 0}]},
    "stress": {"executor": "ramping-vus", "start_vus": 0, "stages": [
        {"duration": 120.0, "target": 500}, {"duration": 660.0, "target": 500},
        {"duration": 120.0, "target": 0}]},
    "spike": {"executor": "ramping-vus", "start_vus": 0, "stages": [
        {"duration": 60.0, "target": 100}, {"duration": 30.0, "target": 1000},
        {"duration": 120.0, "target": 1000}, {"duration": 30.0, "target": 100},
        {"duration": 60.0, "target": 0}]},
    "endurance": {"executor": "ramping-vus", "start_vus": 0, "stages": [
        {"duration": 300.0, "target": 200}, {"duration": 3000.0, "target": 200},
        {"duration": 300.0, "target": 0}]},
}

#: Keys a preset sets; giving one of them beside ``preset`` is an error.
_PRESET_KEYS = ("executor", "vus", "duration", "stages", "start_vus", "rate", "start_rate",
                "iterations")


class TraceOptions(ComponentConfig):
    """``trace:``: a W3C ``traceparent`` on every request; the slowest traced ones kept."""

    #: Share of requests whose ``traceparent`` carries the sampled flag, 0..1.
    sample: float = Field(default=1.0, ge=0, le=1)
    #: How many of the slowest sampled requests to keep per endpoint.
    slowest: int = Field(default=5, ge=1, le=1000)


class HttpScenario(DriverScenario):
    """A scenario for the ``http`` driver (see the module docstring and the README)."""

    preset: Preset | None = None
    executor: Executor | None = None
    url: BaseUrl | None = None
    # closed model
    vus: int | None = Field(default=None, ge=1)
    duration: Duration | None = None
    start_vus: int | None = Field(default=None, ge=0)
    stages: list[Stage] | None = None
    iterations: int | None = Field(default=None, ge=1)
    max_duration: Duration = 600.0
    # open model
    rate: float | None = Field(default=None, gt=0)
    start_rate: float | None = Field(default=None, ge=0)
    time_unit: Duration = 1.0
    pre_allocated_vus: int | None = Field(default=None, ge=1)
    max_vus: int | None = Field(default=None, ge=1)
    # both
    graceful_stop: Duration = 30.0
    requests: list[RequestSpec] = Field(default_factory=list)
    flows: list[FlowSpec] = Field(default_factory=list)
    workers: int | Literal["auto"] = 1
    timeout: Duration = 60.0
    insecure_skip_tls_verify: bool = False
    #: Statuses that are not failures (default: 100-399, as k6's expected responses).
    expected_statuses: list[int] | None = None
    #: Send a ``traceparent`` with every request and keep the slowest traced ones.
    trace: TraceOptions | None = None

    @field_validator("workers")
    @classmethod
    def _workers(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("expected a number of processes >= 1, or auto")
        return value

    @field_validator("time_unit")
    @classmethod
    def _time_unit(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("time_unit must be longer than zero")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> HttpScenario:
        if self.preset is not None:
            given = [k for k in _PRESET_KEYS if getattr(self, k) is not None]
            if given:
                raise ValueError(f"preset {self.preset!r} sets the executor and its stages; "
                                 f"remove {', '.join(given)} or the preset")
        elif self.executor is None:
            raise ValueError("give an executor (constant-vus, ramping-vus, "
                             "constant-arrival-rate, ...) or a preset (smoke, load, ...)")
        if self.service is not None and self.url is not None:
            raise ValueError("give either service or url, not both")
        check_requests(self.requests, self.flows,
                       has_base=self.service is not None or self.url is not None)
        self._check_executor()
        return self

    def all_requests(self) -> list[RequestSpec]:
        return all_requests(self.requests, self.flows)

    def _check_executor(self) -> None:
        ex = self.effective()
        kind = ex["executor"]
        need: dict[str, tuple[str, ...]] = {
            "constant-vus": ("duration",),
            "ramping-vus": ("stages",),
            "constant-arrival-rate": ("rate", "duration"),
            "ramping-arrival-rate": ("stages",),
            "per-vu-iterations": ("iterations",),
            "shared-iterations": ("iterations",),
        }
        missing = [k for k in need[kind] if ex.get(k) is None]
        if missing:
            raise ValueError(f"executor {kind} needs {' and '.join(missing)}")
        allowed: dict[str, set[str]] = {
            "constant-vus": {"vus", "duration"},
            "ramping-vus": {"start_vus", "stages"},
            "constant-arrival-rate": {"rate", "duration", "pre_allocated_vus", "max_vus"},
            "ramping-arrival-rate": {"start_rate", "stages", "pre_allocated_vus", "max_vus"},
            "per-vu-iterations": {"vus", "iterations"},
            "shared-iterations": {"vus", "iterations"},
        }
        stray = [k for k in ("vus", "duration", "start_vus", "stages", "iterations", "rate",
                             "start_rate", "pre_allocated_vus", "max_vus")
                 if self.preset is None and getattr(self, k) is not None
                 and k not in allowed[kind]]
        if stray:
            raise ValueError(f"executor {kind} does not take {', '.join(stray)}")
        if kind == "shared-iterations" and (ex.get("vus") or 1) > ex["iterations"]:
            raise ValueError("shared-iterations needs iterations >= vus")
        pre, most = ex.get("pre_allocated_vus"), ex.get("max_vus")
        if pre is not None and most is not None and pre > most:
            raise ValueError(f"pre_allocated_vus ({pre}) cannot exceed max_vus ({most})")

    @model_validator(mode="after")
    def _hosts_allowed(self, info: ValidationInfo) -> HttpScenario:
        """Refuse, when the file is checked, a URL whose host load may not go to."""
        allow = (info.context or {}).get("allow_hosts")
        if allow is None:  # validated outside a targets file: the driver checks at run time
            return self
        check_request_hosts(self.url, self.requests, self.flows, allow)
        return self

    def effective(self) -> dict[str, Any]:
        """Executor options after the preset: ``executor``, ``vus``, ``stages`` (dicts)..."""
        extra = {"time_unit": self.time_unit, "pre_allocated_vus": self.pre_allocated_vus,
                 "max_vus": self.max_vus}
        if self.preset is not None:
            out: dict[str, Any] = {k: None for k in _PRESET_KEYS}
            out.update(PRESETS[self.preset])
            return {**out, **extra}
        out = {k: getattr(self, k) for k in _PRESET_KEYS}
        if self.stages is not None:
            out["stages"] = [s.model_dump() for s in self.stages]
        return {**out, **extra}

    @property
    def open_model(self) -> bool:
        return self.effective()["executor"] in OPEN_EXECUTORS
