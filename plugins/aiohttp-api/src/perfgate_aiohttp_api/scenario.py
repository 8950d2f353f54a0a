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
``pre_allocated_vus``, ``timeUnit`` is ``time_unit``); each executor is a class of
:mod:`perfgate_aiohttp_api.executors` with its own keys. Without ``executor``, ``vus`` and
``duration`` mean ``constant-vus`` (k6's shortcut).
"""

from __future__ import annotations

import difflib
import ipaddress
from typing import Any, Literal

from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from perfgate import (
    BaseUrl,
    ComponentConfig,
    DataSource,
    DriverScenario,
    Duration,
    FlowSpec,
    RequestSpec,
    all_requests,
    check_request_hosts,
    check_requests,
    host_allowed,
)
from perfgate_aiohttp_api.connections import HttpVersion
from perfgate_aiohttp_api.executors import (
    EXECUTOR_KEYS,
    EXECUTORS,
    AnyExecutor,
    Executor,
)
from perfgate_aiohttp_api.tls import TlsOptions

Preset = Literal["smoke", "load", "stress", "spike", "endurance"]

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


class TraceOptions(ComponentConfig):
    """``trace:``: a W3C ``traceparent`` on every request; the slowest traced ones kept."""

    #: Share of requests whose ``traceparent`` carries the sampled flag, 0..1.
    sample: float = Field(default=1.0, ge=0, le=1)
    #: How many of the slowest sampled requests to keep per endpoint.
    slowest: int = Field(default=5, ge=1, le=1000)


class HttpScenario(DriverScenario):
    """A scenario for the ``http`` driver (see the module docstring and the README).

    The executor's keys stand in the scenario, as in k6; validated, they are
    :attr:`executor`, one of :mod:`perfgate_aiohttp_api.executors`.
    """

    preset: Preset | None = None
    executor: AnyExecutor
    url: BaseUrl | None = None
    graceful_stop: Duration = 30.0
    requests: list[RequestSpec] = Field(default_factory=list)
    flows: list[FlowSpec] = Field(default_factory=list)
    #: Test data: CSV or JSON files whose rows fill ``${NAME.COLUMN}`` in requests and flows.
    data: dict[str, DataSource] = Field(default_factory=dict)
    workers: int | Literal["auto"] = 1
    timeout: Duration = Field(default=60.0, gt=0)
    insecure_skip_tls_verify: bool = False
    #: TLS: the CA bundle, a client certificate, SNI, the oldest version (:mod:`.tls`).
    tls: TlsOptions | None = None
    #: ``auto`` (HTTP/2 when the server chooses it by ALPN), ``"2"`` or ``"1.1"``.
    http_version: HttpVersion = "1.1"
    #: HTTP/2: requests in flight on one connection at most (capped by the server's
    #: ``SETTINGS_MAX_CONCURRENT_STREAMS``); more virtual users open more connections.
    http2_max_streams: int = Field(default=100, ge=1, le=10_000)
    #: Statuses that are not failures (default: 100-399, as k6's expected responses).
    expected_statuses: list[int] | None = None
    #: Send a ``traceparent`` with every request and keep the slowest traced ones.
    trace: TraceOptions | None = None
    #: Redirects followed per request, as k6's ``maxRedirects`` (0: none followed).
    max_redirects: int = Field(default=10, ge=0)
    #: Each VU's cookie jar: emptied at each iteration (k6's way), kept for the whole run,
    #: or none at all (``Set-Cookie`` ignored).
    cookie_jar: Literal["per-iteration", "keep", "off"] = "per-iteration"
    #: The ``Accept-Encoding`` of every request (``gzip, br``); compressed bodies are
    #: decoded for checks and captures. None: no ``Accept-Encoding``, nothing compressed.
    accept_encoding: str | None = None
    #: False: a new connection for every request (k6's ``noConnectionReuse``).
    connection_reuse: bool = True
    #: Names connected to at another address (k6's ``hosts``): ``{api.test: 127.0.0.1}``
    #: or ``ADDRESS:PORT``; the name and the address must both be allowed.
    hosts: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _executor_keys(cls, data: Any,
                       handler: ModelWrapValidatorHandler[HttpScenario]) -> HttpScenario:
        """Gather the executor's keys from the scenario, validate them with the executor's
        model, and say each problem at its own key, all of them together."""
        if not isinstance(data, dict) or isinstance(data.get("executor"), dict | Executor):
            return handler(data)  # already gathered (a plan rebuilt in a worker)
        gathered = _Gathered(data, cls)
        try:
            scenario = handler(gathered.data)
        except ValidationError as exc:
            raise gathered.relocated(exc) from None
        if gathered.problems:
            raise ValidationError.from_exception_data(cls.__name__, gathered.problems)
        return scenario

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, value: dict[str, str]) -> dict[str, str]:
        for name, address in value.items():
            host_address(address, name)
        return value

    @field_validator("http_version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        """``http_version: 2`` or ``1.1`` are numbers in YAML: read them as text."""
        if isinstance(value, float | int) and not isinstance(value, bool):
            return "2" if value == 2 else f"{float(value):.1f}"
        return value

    @field_validator("workers")
    @classmethod
    def _workers(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("expected a number of processes >= 1, or auto")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> HttpScenario:
        if self.service is not None and self.url is not None:
            raise ValueError("give either service or url, not both")
        check_requests(self.requests, self.flows,
                       has_base=self.service is not None or self.url is not None,
                       data=self.data)
        return self

    def all_requests(self) -> list[RequestSpec]:
        return all_requests(self.requests, self.flows)

    @model_validator(mode="after")
    def _hosts_allowed(self, info: ValidationInfo) -> HttpScenario:
        """Refuse, when the file is checked, a URL whose host load may not go to."""
        allow = (info.context or {}).get("allow_hosts")
        if allow is None:  # validated outside a targets file: the driver checks at run time
            return self
        check_request_hosts(self.url, self.requests, self.flows, allow)
        for name, address in self.hosts.items():
            ip, _ = host_address(address, name)
            if not host_allowed(ip, allow):
                raise ValueError(f"hosts: {name} -> {address}: load may not go to {ip} "
                                 "(neither loopback nor listed under allow_hosts:)")
            if not host_allowed(name, allow):
                raise ValueError(f"hosts: {name}: the name is neither loopback nor listed "
                                 "under allow_hosts:")
        return self

    @property
    def open_model(self) -> bool:
        return self.executor.open_model


def host_address(address: str, name: str = "") -> tuple[str, int | None]:
    """``(ip, port or None)`` of a ``hosts:`` address (``1.2.3.4``, ``1.2.3.4:8080``,
    ``[::1]:8080``, ``::1``); ``ValueError`` when it is not an IP address."""
    host, port = address, None
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ValueError(f"hosts: {name}: {address!r} is not ADDRESS or ADDRESS:PORT")
            port = int(rest[1:])
    elif address.count(":") == 1:
        host, _, text = address.partition(":")
        if not text.isdigit():
            raise ValueError(f"hosts: {name}: {address!r} is not ADDRESS or ADDRESS:PORT")
        port = int(text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"hosts: {name}: {address!r}: expected an IP address (and a port), "
                         "as k6's hosts") from None
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"hosts: {name}: port {port} is not between 1 and 65535")
    return host, port


def _problem(loc: tuple[str | int, ...], message: str, given: Any) -> InitErrorDetails:
    return {"type": PydanticCustomError("value_error", "{message}", {"message": message}),
            "loc": loc, "input": given}


class _Gathered:
    """A scenario mapping with its executor's keys moved under ``executor``, and the
    problems found on the way (a preset with executor keys, no executor at all)."""

    def __init__(self, raw: dict[str, Any], model: type[HttpScenario]) -> None:
        own = {f.alias or name for name, f in model.model_fields.items()} | set(
            model.model_fields)
        self.scenario_keys = sorted(own - {"executor"})
        self.problems: list[InitErrorDetails] = []
        rest = {k: v for k, v in raw.items() if k not in own}
        self.data = {k: v for k, v in raw.items() if k in own and k != "executor"}
        self.raw = raw
        name = raw.get("executor")
        #: Where a missing key is said: at ``executor:`` when the file has it.
        self.at: tuple[str, ...] = ("executor",) if name is not None else ()
        preset = raw.get("preset")
        if preset is not None and isinstance(preset, str) and preset in PRESETS:
            for key in [*rest, *(["executor"] if name is not None else [])]:
                if key == "executor" or key in EXECUTOR_KEYS:
                    self.problems.append(_problem(
                        (key,), f"preset {preset!r} sets the executor and its stages; "
                                f"remove {key} or the preset", raw))
                    rest.pop(key, None)
            self.data["executor"] = {**PRESETS[preset], **rest}
            self.name: str | None = PRESETS[preset]["executor"]
            self.at = ("preset",)
            return
        if name is None and preset is None and ("vus" in rest or "duration" in rest):
            name = "constant-vus"  # k6's shortcut
        self.name = name if isinstance(name, str) else None
        if name is None:
            if preset is None:
                self.problems.append(_problem(
                    (), "give an executor (constant-vus, ramping-vus, constant-arrival-rate, "
                        "...) or a preset (smoke, load, ...)", raw))
            return
        self.data["executor"] = {"executor": name, **rest}

    def relocated(self, exc: ValidationError) -> ValidationError:
        """``exc`` with the executor's errors at the scenario's own keys."""
        errors = list(self.problems)
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            if loc[:1] != ("executor",):
                errors.append(_again(err, loc))
                continue
            if self.name is None:
                continue  # no executor: said once, in self.problems
            if len(loc) == 1:
                errors.append(_problem(("executor",), self._unknown_executor(), self.raw))
            else:
                errors.append(self._executor_error(err, loc[2:]))
        return ValidationError.from_exception_data(exc.title, errors)

    def _unknown_executor(self) -> str:
        known = list(EXECUTORS)
        close = difflib.get_close_matches(str(self.name), known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown executor {self.name!r}{hint} Executors: {', '.join(known)}."

    def _executor_error(self, err: Any, loc: tuple[str | int, ...]) -> InitErrorDetails:
        cls = EXECUTORS[str(self.name)]
        key = str(loc[0]) if loc else ""
        if err["type"] == "missing" and len(loc) == 1:
            what = cls.needs.get(key)
            return _problem(self.at, f"{self.name} needs {key}" + (f" ({what})" if what
                                                                  else ""), self.raw)
        if err["type"] == "extra_forbidden" and len(loc) == 1:
            takes = [k for k in cls.model_fields if k != "executor"]
            if key in EXECUTOR_KEYS:
                return _problem(loc, f"executor {self.name} does not take {key} (it takes "
                                     f"{', '.join(takes)})", self.raw)
            known = [*self.scenario_keys, *takes]
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = (f"; did you mean {close[0]!r}?" if close
                    else f"; expected one of: {', '.join(sorted(known))}")
            return _problem(loc, f"unknown key {key!r}{hint}", self.raw)
        return _again(err, loc)


def _again(err: Any, loc: tuple[str | int, ...]) -> InitErrorDetails:
    """A pydantic error raised anew at ``loc``."""
    again: InitErrorDetails = {"type": err["type"], "loc": loc, "input": err.get("input")}
    if "ctx" in err:
        again["ctx"] = err["ctx"]
    return again
