"""The options of a ``driver: locust`` scenario.

::

    scenarios:
      load:
        driver: locust
        service: api                    # Locust's --host
        locustfile: locustfile.py       # relative to the targets file; or requests:/flows:
        users: 100                      # or vus:
        spawn_rate: 20                  # users started per second (default: all in 1 s)
        duration: 30s                   # --time-scale shortens it and speeds the ramp up
        workers: 2                      # local worker processes
        expect_workers: 0               # remote workers the master waits for
        task_tags: [checkout]           # Locust's --tags / --exclude-tags

or a ramp, as the ``http`` driver's ``ramping-vus`` (a ``LoadTestShape`` made for it)::

        executor: ramping-vus
        start_vus: 0
        stages:
          - {duration: 30s, target: 100}
          - {duration: 2m, target: 100}
          - {duration: 30s, target: 0}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from perfgate import (
    BaseUrl,
    DriverScenario,
    Duration,
    FlowSpec,
    RequestSpec,
    Stage,
    check_request_hosts,
    check_requests,
    unsupported_keys,
)

#: The request keys beyond the first ones that the generated locustfile does; the others
#: (``multipart``, ``body_file``, ``auth``, ``timeout``, ``max_redirects``, captures from
#: headers and cookies) are refused when the file is checked.
SUPPORTED_KEYS = frozenset({"form", "cookies"})

#: Locust flags the driver sets itself: a scenario cannot pass them in ``locust_args``.
RESERVED_FLAGS = (
    "-f", "--locustfile", "--master", "--worker", "--headless", "--processes",
    "--expect-workers", "--expect-workers-max-wait", "--master-bind-host",
    "--master-bind-port", "--master-host", "--master-port", "-u", "--users", "-r",
    "--spawn-rate", "-t", "--run-time", "-H", "--host", "--stop-timeout", "-T", "--tags",
    "-E", "--exclude-tags", "--autostart", "--autoquit", "--web-ui",
)


class LocustScenario(DriverScenario):
    """A scenario run by Locust: a locustfile, or perfgate's own requests and flows."""

    #: The locustfile, relative to the targets file's folder; or ``requests:`` / ``flows:``.
    locustfile: str | None = None
    #: ``constant-vus`` (``users`` for ``duration``) or ``ramping-vus`` (``stages``), as the
    #: ``http`` driver writes them, so a scenario switches drivers by its ``driver:`` key.
    executor: Literal["constant-vus", "ramping-vus"] | None = None
    url: BaseUrl | None = None
    requests: list[RequestSpec] = Field(default_factory=list)
    flows: list[FlowSpec] = Field(default_factory=list)
    #: Concurrent users (Locust's ``--users``; ``vus`` is accepted too).
    users: int = Field(default=1, ge=1, le=100_000, validation_alias=AliasChoices("users", "vus"))
    #: Users started per second (default: all of them within the first second).
    spawn_rate: float | None = Field(default=None, gt=0)
    #: How long the load runs (with ``stages``: their sum, not given).
    duration: Duration | None = Field(default=None, gt=0)
    #: ``ramping-vus``: users at the start, then each stage moves linearly to its target.
    start_vus: int = Field(default=0, ge=0)
    stages: list[Stage] | None = Field(default=None, min_length=1)
    #: Locust's ``--tags`` and ``--exclude-tags``: which ``@tag``-ged tasks run.
    task_tags: list[str] = Field(default_factory=list)
    exclude_task_tags: list[str] = Field(default_factory=list)
    #: User classes of the locustfile to run (default: all of them).
    user_classes: list[str] = Field(default_factory=list)
    #: Local worker processes perfgate starts (each a real ``locust --worker``); ``auto``:
    #: one per CPU core perfgate may use.
    workers: int | Literal["auto"] = 1
    #: Remote workers the master waits for, on top of ``workers``.
    expect_workers: int = Field(default=0, ge=0)
    #: Where the master listens for workers; remote workers need a reachable address.
    master_bind_host: str = "127.0.0.1"
    #: The master's port (default: a free port, or Locust's 5557 with remote workers).
    master_bind_port: int | None = Field(default=None, ge=1, le=65535)
    #: How long the master waits for all workers to join before the run fails.
    join_timeout: Duration = Field(default=60.0, gt=0)
    #: Locust's ``--stop-timeout``: at the end, users finish the task they are in, up to this.
    graceful_stop: Duration = 30.0
    #: Generated locustfile: the timeout of one request, and TLS verification.
    timeout: Duration = Field(default=60.0, gt=0)
    insecure_skip_tls_verify: bool = False
    #: Generated locustfile: statuses that are not failures (default 100-399, as ``http``).
    expected_statuses: list[int] | None = None
    #: Environment variables for Locust's processes (the locustfile reads them).
    env: dict[str, str] = Field(default_factory=dict)
    #: More ``locust`` arguments, passed as they are.
    locust_args: list[str] = Field(default_factory=list)
    #: A ``locust`` executable to use instead of the one installed beside perfgate.
    locust_path: str | None = None
    #: Remote workers only: "fine" replaces Locust's response-time buckets by 3 significant
    #: digits in the agent (exact to 0.1%, as HDR); "locust" keeps Locust's own.
    buckets: Literal["locust", "fine"] = "locust"

    _targets_folder: Path | None = PrivateAttr(default=None)

    @property
    def targets_folder(self) -> Path | None:
        return self._targets_folder

    @field_validator("locustfile")
    @classmethod
    def _locustfile_exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        folder = (info.context or {}).get("targets_folder")
        if value is None or folder is None:
            return value
        path = locustfile_path(value, Path(folder))
        if not path.is_file():
            what = "is not a file" if path.exists() else "does not exist"
            raise ValueError(f"locustfile {path} {what} (a relative path starts at the targets "
                             "file's folder)")
        return value

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> LocustScenario:
        context = (info.context or {}) if info is not None else {}
        if context.get("targets_folder") is not None:
            self._targets_folder = Path(context["targets_folder"])
        if self.service is not None and self.url is not None:
            raise ValueError("give either service or url, not both")
        generated = bool(self.requests or self.flows)
        if self.locustfile is not None and generated:
            raise ValueError("give either a locustfile or requests:/flows:, not both")
        if self.locustfile is None:
            # Locust users have no VU or iteration numbers: ${uuid} and ${random_int} only.
            check_requests(self.requests, self.flows,
                           has_base=self.service is not None or self.url is not None,
                           variables=())
            unsupported_keys(self.requests, self.flows, "locust", SUPPORTED_KEYS)
        if isinstance(self.workers, int) and self.workers < 0:
            raise ValueError("workers: expected a number of processes >= 0, or auto")
        if self.total_workers < 1:
            raise ValueError("give workers: (local processes) or expect_workers: (remote "
                             "ones): Locust needs at least one worker")
        self._check_load()
        for arg in self.locust_args:
            flag = arg.split("=", 1)[0]
            if flag in RESERVED_FLAGS:
                raise ValueError(f"locust_args cannot contain {flag}: the locust driver sets "
                                 "it from the scenario's own keys")
        allow = context.get("allow_hosts")
        if allow is not None:
            check_request_hosts(self.url, self.requests, self.flows, allow)
        return self

    def _check_load(self) -> None:
        """``users`` for ``duration``, or ``start_vus`` and ``stages`` (``ramping-vus``)."""
        if self.executor == "ramping-vus" or self.stages is not None:
            if self.stages is None:
                raise ValueError("executor ramping-vus needs stages: [{duration, target}, ...]")
            given = {"duration", "users", "spawn_rate"} & self.model_fields_set
            if given:
                raise ValueError(f"{', '.join(sorted(given))}: not with stages (the stages set "
                                 "the users and how long the load runs)")
            if self.run_duration <= 0:
                raise ValueError("the stages must last longer than zero")
            return
        if "start_vus" in self.model_fields_set:
            raise ValueError("start_vus is for executor ramping-vus, with stages")
        if self.duration is None:
            raise ValueError("duration is required (or executor: ramping-vus with stages)")
        if self.duration <= 0:
            raise ValueError("duration must be longer than zero")

    @property
    def run_duration(self) -> float:
        """Seconds of load: ``duration``, or the sum of the stages."""
        if self.stages is not None:
            return sum(stage.duration for stage in self.stages)
        return self.duration or 0.0

    @property
    def local_workers(self) -> int:
        if self.workers == "auto":
            return max(len(os.sched_getaffinity(0)), 1)
        return self.workers

    @property
    def total_workers(self) -> int:
        return self.local_workers + self.expect_workers


def locustfile_path(locustfile: str, base: Path | None) -> Path:
    """The locustfile's path: absolute as written, else under ``base`` (or the cwd)."""
    path = Path(locustfile).expanduser()
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return path
