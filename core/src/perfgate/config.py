"""The targets file as typed models. :mod:`perfgate.loader` reads YAML into them.

Every section is a mapping from a name the user picks to that thing's settings::

    version: 1
    services:   {api: {url: ..., health: /health, start: ..., start_timeout: 30s}}
    scenarios:  {load: {driver: http, service: api, ...}}   # keys beyond the common ones
                                                             # belong to the driver
    collectors: {system: {interval: 1s}}                     # options belong to the collector
    targets:    {api-latency: {metric: ..., target: ..., critical: ...}}
    reporters:  {console: {}, json: {path: reports/result.json}}
    validators: {thresholds: {}}                             # optional; thresholds is default
    allow_hosts: [staging.example.com]                       # load beyond loopback
    history: {url: runs.db, keep_runs: 500}                  # where runs are kept

A collector, reporter or validator key names the component; to use one twice, give each its
own key and name the component with ``type:`` (``primary: {type: postgres, dsn: ...}``).
Scenarios run together, each from its ``start_time`` (or ``after`` another one ends), as in
k6; a collector with ``during: <scenario>`` samples only while that scenario runs.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from perfgate.units import bare_number, parse_duration

#: Validation context key: set while a targets file is checked, where a duration needs a unit.
UNITS_REQUIRED = "durations_need_units"


def _duration(value: object, info: ValidationInfo) -> float:
    """A duration; in a targets file a bare number other than 0 says which unit to add."""
    seconds = parse_duration(value)  # negative, infinite or unreadable: said first
    if (info.context or {}).get(UNITS_REQUIRED):
        number = bare_number(value)
        if number:
            raise ValueError(f"{value!r} has no unit: write {number:g}s for seconds or "
                             f"{number:g}ms for milliseconds (k6 reads a bare number as "
                             "milliseconds, so perfgate asks)")
    return seconds


#: Seconds, written in the file as ``30s``, ``500ms``, ``1m30s`` (``0`` alone is fine).
#: Outside a targets file (a model built in code) a number is seconds.
Duration = Annotated[float, BeforeValidator(_duration)]


def _numbers_as_text(value: Any) -> Any:
    """``{PORT: 8000}``: YAML reads 8000 as a number; an environment or a tag wants text."""
    if not isinstance(value, dict):
        return value
    return {k: str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
            for k, v in value.items()}


#: Names to text values (``env:``, ``tags:``); numbers are taken as written.
TextMap = Annotated[dict[str, str], BeforeValidator(_numbers_as_text)]


class ComponentConfig(BaseModel):
    """The one base of every options model: the targets file's sections and each component's.

    Unknown keys are errors (with a did-you-mean), instances are frozen, and a field with an
    alias (``json_body`` written ``json``) is also accepted under its own name.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ComposeConfig(ComponentConfig):
    """A compose stack perfgate brings up before the run and always takes down."""

    #: The compose file, or files in order (later ones override earlier ones), relative to
    #: the targets file's folder.
    file: str | list[str]
    #: The compose project name (default ``perfgate-<service>``).
    project: str | None = None
    #: The compose services to bring up (default: all of the files').
    services: list[str] = Field(default_factory=list)
    #: Where the files' relative paths start, relative to the targets file's folder
    #: (default: the first file's folder, as compose has it).
    project_directory: str | None = None

    @field_validator("file")
    @classmethod
    def _files(cls, value: str | list[str]) -> str | list[str]:
        files = [value] if isinstance(value, str) else value
        if not files or any(not f.strip() for f in files):
            raise ValueError("expected a compose file, or a list of them")
        return value

    @field_validator("project")
    @classmethod
    def _project(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", value):
            raise ValueError("a compose project name has lowercase letters, digits, '_' and "
                             "'-', and starts with a letter or digit")
        return value

    @property
    def files(self) -> list[str]:
        return [self.file] if isinstance(self.file, str) else list(self.file)


class ServiceConfig(ComponentConfig):
    """A service under test; with ``start`` perfgate starts it and always stops it, with
    ``compose`` it brings a compose stack up and always takes it down."""

    url: str
    health: str | None = None
    start: str | list[str] | None = None
    start_timeout: Duration = Field(default=30.0, gt=0)
    stop_timeout: Duration = 10.0
    cwd: str | None = None
    env: TextMap = Field(default_factory=dict)
    #: Status codes that count as healthy (default: any 2xx).
    health_status: list[int] | None = None
    #: Where a started service's output (a compose stack's containers' logs) goes, relative
    #: to ``--output`` (default ``services/<name>.log``).
    log: str | None = None
    compose: ComposeConfig | None = None

    @model_validator(mode="after")
    def _start_or_compose(self) -> ServiceConfig:
        if self.start is not None and self.compose is not None:
            raise ValueError("a service has start: or compose:, not both")
        return self

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        parts = urlsplit(value)
        if not parts.hostname:
            raise ValueError("the URL has no host; expected e.g. http://127.0.0.1:8000")
        try:
            _ = parts.port  # urlsplit checks the port only when asked for it
        except ValueError:
            raise ValueError("the URL's port is not a number from 1 to 65535") from None
        return value.rstrip("/")


class TargetConfig(ComponentConfig):
    """One target: a metric selector plus a ``target`` and/or ``critical`` expression."""

    metric: str
    target: str | None = None
    critical: str | None = None
    #: Relative to the baseline result (``--baseline``): ``p(95) <= +10%``.
    baseline: str | None = None
    on_missing: Literal["fail", "warn", "skip"] = "fail"
    description: str = ""
    #: Stop the load as soon as the ``critical`` threshold is crossed while the run goes on
    #: (k6's ``abortOnFail``); the run is then judged with what was measured.
    abort_on_fail: bool = False
    #: How long after its scenario started (or the load started) before ``abort_on_fail``
    #: looks at the metric (k6's ``delayAbortEval``): early numbers are few and noisy.
    delay_abort_eval: Duration = 0.0


class ScenarioConfig(ComponentConfig):
    """The keys every scenario has; a load driver subclasses this with its own keys.

    The base allows extra keys so the loader can read ``driver`` first; a driver's subclass
    sets ``extra="forbid"`` (inherit from :class:`DriverScenario` to get that).
    """

    model_config = ConfigDict(extra="allow")

    driver: str
    service: str | None = None
    targets: dict[str, TargetConfig] = Field(default_factory=dict)
    tags: TextMap = Field(default_factory=dict)
    description: str = ""
    #: When the scenario starts, after the load began (k6's ``startTime``); scaled by
    #: ``--time-scale``. With ``after``, counted from the end of that scenario.
    start_time: Duration = 0.0
    #: Start when this scenario ends instead of with the others (a plain chain, no cycles).
    after: str | None = None


class Stage(ComponentConfig):
    """One stage of a ramp (k6's ``stages``): move linearly to ``target`` over ``duration``.

    ``target`` is VUs (``ramping-vus``, k6's ``--stage duration:target``, Locust users) or
    iterations per ``time_unit`` (``ramping-arrival-rate``); every driver reads it the same.
    """

    duration: Duration
    target: int = Field(ge=0)


class DriverScenario(ScenarioConfig):
    """Base for a load driver's scenario model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


def _history_url(value: Any) -> Any:
    """``history: runs.db`` is short for ``history: {url: runs.db}``."""
    return {"url": value} if isinstance(value, str) else value


class HistoryConfig(ComponentConfig):
    """The run history: where each run is kept, for baselines and trends (perfgate-history)."""

    #: A SQLite file (a path, relative to the targets file's folder, or ``sqlite:///path``)
    #: or a PostgreSQL URL (``postgresql://host/db``) for a history a team shares.
    url: str
    #: The name this targets file's runs are kept under (default: its path in its git
    #: repository, or its absolute path outside one).
    name: str | None = None
    #: Keep at most this many runs of this targets file (the oldest go first).
    keep_runs: int | None = Field(default=None, ge=1)
    #: Keep runs for this long (``90d``, ``12h``); older ones are deleted.
    keep_for: Duration | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("expected a SQLite file or a postgresql:// URL")
        return value


class TargetsFileModel(ComponentConfig):
    """The top level of the file, before components are resolved."""

    version: Literal[1, "1"]
    services: dict[str, ServiceConfig] = Field(default_factory=dict)
    scenarios: dict[str, dict[str, Any]] = Field(default_factory=dict)
    collectors: dict[str, dict[str, Any] | None] = Field(default_factory=dict)
    validators: dict[str, dict[str, Any] | None] = Field(default_factory=dict)
    targets: dict[str, TargetConfig] = Field(default_factory=dict)
    reporters: dict[str, dict[str, Any] | None] = Field(default_factory=dict)
    allow_hosts: list[str] = Field(default_factory=list)
    description: str = ""
    #: Where runs are kept (``--history URL`` takes precedence over its ``url``).
    history: Annotated[HistoryConfig | None, BeforeValidator(_history_url)] = None
