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

import re
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from perfgate import ComponentConfig, DriverScenario, Duration, load_allowed

Executor = Literal["constant-vus", "ramping-vus", "constant-arrival-rate",
                   "ramping-arrival-rate", "per-vu-iterations", "shared-iterations"]
OPEN_EXECUTORS = frozenset({"constant-arrival-rate", "ramping-arrival-rate"})
Preset = Literal["smoke", "load", "stress", "spike", "endurance"]

#: ``${name}`` in a path, URL, header or body is replaced by a value captured earlier in a flow.
TEMPLATE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


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


class RequestChecks(ComponentConfig):
    """Assertions on one response, each counted in the ``checks`` rate (k6's ``check()``).

    ``json`` maps a path (``data.items[0].id`` or ``$.data.id``) to the value it must equal.
    """

    status: int | list[int] | None = None
    body_contains: str | None = None
    json_equals: dict[str, Any] | None = Field(default=None, alias="json")
    max_duration: Duration | None = None

    def names(self) -> list[str]:
        """The check names, as the ``check`` tag shows them."""
        out = []
        if self.status is not None:
            out.append(f"status is {self.status}" if isinstance(self.status, int)
                       else f"status in {self.status}")
        if self.body_contains is not None:
            out.append(f"body contains {self.body_contains!r}")
        for path, value in (self.json_equals or {}).items():
            out.append(f"json {path} == {value!r}")
        if self.max_duration is not None:
            out.append(f"duration <= {self.max_duration * 1000:g}ms")
        return out


class RequestSpec(ComponentConfig):
    """One HTTP request: where, what to send, how often, what to check and capture."""

    name: str | None = None
    method: str = "GET"
    path: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str | int | float | bool | list[str | int | float]] = Field(
        default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    body: str | None = None
    weight: float = Field(default=1.0, gt=0)
    think_time: Duration = 0.0
    checks: RequestChecks | None = None
    #: Flow steps: ``{variable: json.path}`` taken from this response for later steps.
    capture: dict[str, str] = Field(default_factory=dict)

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        value = value.upper()
        if not re.fullmatch(r"[A-Z]+", value):
            raise ValueError("expected an HTTP method such as GET or POST")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://", "${")):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> RequestSpec:
        if (self.path is None) == (self.url is None):
            raise ValueError("give either path (on the scenario's service or url) or url")
        if self.json_body is not None and self.body is not None:
            raise ValueError("give either json or body, not both")
        return self

    @property
    def label(self) -> str:
        """The ``name`` tag: the request's name, else its path or URL without templates."""
        return self.name or f"{self.method} {self.path or self.url}"


class FlowSpec(ComponentConfig):
    """A user flow: steps run in order in one iteration; captures feed later steps."""

    name: str
    weight: float = Field(default=1.0, gt=0)
    steps: list[RequestSpec] = Field(min_length=1)


class HttpScenario(DriverScenario):
    """A scenario for the ``http`` driver (see the module docstring and the README)."""

    preset: Preset | None = None
    executor: Executor | None = None
    url: str | None = None
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

    @field_validator("url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/") if value else value

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
        if not self.requests and not self.flows:
            raise ValueError("give at least one entry under requests: or flows:")
        if self.service is not None and self.url is not None:
            raise ValueError("give either service or url, not both")
        for spec in self.all_requests():
            if spec.path is not None and self.service is None and self.url is None:
                raise ValueError(f"request {spec.label!r} has a path but the scenario has "
                                 "neither service nor url")
        for spec in self.requests:
            _check_variables(spec, set(), f"request {spec.label!r}")
        for flow in self.flows:
            captured: set[str] = set()
            for step in flow.steps:
                _check_variables(step, captured, f"flow {flow.name!r}, step {step.label!r}")
                captured.update(step.capture)
        self._check_executor()
        return self

    def all_requests(self) -> list[RequestSpec]:
        return [*self.requests, *(step for flow in self.flows for step in flow.steps)]

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
        urls = [self.url, *(spec.url for spec in self.all_requests())]
        for url in urls:
            if url and "${" not in url and not load_allowed(url, allow):
                raise ValueError(f"refusing to send load to {url}: its host is neither "
                                 "loopback nor listed under allow_hosts:")
        return self

    def effective(self) -> dict[str, Any]:
        """Executor options after the preset: ``executor``, ``vus``, ``stages`` (dicts)..."""
        extra = {"time_unit": self.time_unit, "pre_allocated_vus": self.pre_allocated_vus,
                 "max_vus": self.max_vus}
        if self.preset is not None:
            out = {k: None for k in _PRESET_KEYS}
            out.update(PRESETS[self.preset])
            return {**out, **extra}
        out = {k: getattr(self, k) for k in _PRESET_KEYS}
        if self.stages is not None:
            out["stages"] = [s.model_dump() for s in self.stages]
        return {**out, **extra}

    @property
    def open_model(self) -> bool:
        return self.effective()["executor"] in OPEN_EXECUTORS


def _check_variables(spec: RequestSpec, captured: set[str], where: str) -> None:
    """Every ``${name}`` must be captured by an earlier step of the same flow."""
    texts = [spec.path or "", spec.url or "", spec.body or "", repr(spec.json_body),
             *spec.headers.keys(), *spec.headers.values()]
    used = {m.group(1) for text in texts for m in TEMPLATE.finditer(text)}
    unknown = sorted(used - captured)
    if unknown:
        names = ", ".join("${" + name + "}" for name in unknown)
        raise ValueError(f"{where} uses {names}, which no earlier step of its flow captures "
                         "(capture: {name: json.path})")
