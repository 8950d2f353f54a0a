"""The options of a ``driver: k6`` scenario.

::

    scenarios:
      load:
        driver: k6
        service: api                    # BASE_URL for the script
        script: ../../k6/enhanced-load-tests.js   # relative to the targets file's folder
        vus: 20
        duration: 30s                   # or stages: [{duration: 10s, target: 20}, ...]
        env: {K6_SCENARIO: load}
        tags: {team: payments}
        k6_args: [--summary-trend-stats, "avg,min,med,max,p(90),p(95),p(99)"]

``vus``, ``duration``, ``iterations`` and ``stages`` become k6's command-line options, which
override the script's own ``options`` (k6's rule); ``--time-scale`` shortens ``duration`` and
``stages``. Without them the script's own options apply, and the script can read
``PERFGATE_TIME_SCALE`` to scale itself.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from perfgate import DriverScenario, Duration, Stage
from perfgate_k6_driver.names import DROPPED_TAGS
from perfgate_k6_driver.script import resolve

#: k6 flags the driver sets itself: a scenario cannot pass them in ``k6_args``.
RESERVED_FLAGS = ("--summary-export", "--no-summary", "--log-format", "--address", "-a",
                  "--log-output", "--quiet", "-q", "--no-color")


class K6Scenario(DriverScenario):
    """A scenario run by k6 from a script."""

    #: The k6 script (JavaScript or TypeScript), relative to the targets file's folder.
    script: str = Field(min_length=1)
    vus: int | None = Field(default=None, ge=0, le=100_000)
    duration: Duration | None = Field(default=None, gt=0)
    iterations: int | None = Field(default=None, ge=1)
    stages: list[Stage] | None = Field(default=None, min_length=1)
    #: Environment variables for the script (``__ENV``); ``BASE_URL`` comes from ``service``.
    env: dict[str, str] = Field(default_factory=dict)
    #: More ``k6 run`` arguments, passed as they are (before the script).
    k6_args: list[str] = Field(default_factory=list)
    #: A k6 executable to use instead of the one from the ``k6`` package.
    k6_path: str | None = None
    #: After Ctrl-C, how long k6 may take to stop and write its summary before SIGKILL.
    stop_timeout: Duration = 30.0
    #: k6 sample tags left out of perfgate's series.
    drop_tags: list[str] = Field(default_factory=lambda: list(DROPPED_TAGS))
    #: Series per metric before further tag sets are merged under ``name: (other)``.
    max_series: int = Field(default=200, ge=1)
    #: Block every address except loopback and ``allow_hosts`` inside k6 too.
    restrict_hosts: bool = True
    #: Record requests k6 was still waiting on when the test ended as failed requests
    #: (through an entry module that marks each request's start; see the README).
    record_unfinished: bool = True

    #: The targets file's folder, when the loader passes it as validation context
    #: (``{"targets_folder": path}``): relative script paths start there.
    _targets_folder: Path | None = PrivateAttr(default=None)

    @property
    def targets_folder(self) -> Path | None:
        return self._targets_folder

    @field_validator("script")
    @classmethod
    def _script_exists(cls, value: str, info: ValidationInfo) -> str:
        """With the targets file's folder known, a script that is not there is a config error."""
        folder = (info.context or {}).get("targets_folder")
        if folder is None:
            return value
        path = resolve(value, Path(folder))
        if not path.is_file():
            what = "is not a file" if path.exists() else "does not exist"
            raise ValueError(f"k6 script {path} {what} (a relative script path starts at the "
                             "targets file's folder)")
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _env_strings(cls, value: object) -> object:
        """``K6_VUS: 20`` is fine: numbers and booleans become the strings k6 would see."""
        if not isinstance(value, dict):
            return value
        out = {}
        for key, item in value.items():
            if isinstance(item, bool):
                item = "true" if item else "false"
            elif isinstance(item, int | float):
                item = f"{item:g}" if isinstance(item, float) else str(item)
            out[key] = item
        return out

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> K6Scenario:
        folder = (info.context or {}).get("targets_folder") if info is not None else None
        if folder is not None:
            self._targets_folder = Path(folder)
        if self.stages is not None and (self.duration is not None or self.iterations is not None):
            raise ValueError("stages ramp VUs over time: use either stages or duration/"
                             "iterations, not both")
        for arg in self.k6_args:
            flag = arg.split("=", 1)[0]
            if flag in RESERVED_FLAGS:
                raise ValueError(f"k6_args cannot contain {flag}: the k6 driver sets it "
                                 "itself to read k6's results")
        return self
