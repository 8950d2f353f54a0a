"""The ``pushgateway`` reporter: each run's verdicts, checks and key metrics, pushed.

::

    reporters:
      pushgateway:
        url: http://127.0.0.1:9091
        grouping: {branch: "${env:CI_BRANCH}"}

The run is pushed to the group ``job=<job>, targets=<targets file>`` plus ``grouping``,
replacing that group's last push (``PUT``), so the Pushgateway holds the last run of each
targets file; Prometheus scrapes it with ``honor_labels: true``. What is pushed is listed in
:mod:`perfgate_prometheus.exposition`.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from pydantic import Field, field_validator

from perfgate import ComponentConfig, Duration, Reporter, ResultDocument, RunError
from perfgate_prometheus.api import HttpURL
from perfgate_prometheus.exposition import gate_families, grouping_path, render

#: The key metrics pushed by default, per scenario.
KEY_METRICS = ["http.req_duration", "http.reqs", "http.req_failed"]


class PushgatewayConfig(ComponentConfig):
    """Options of the ``pushgateway`` reporter."""

    #: The Pushgateway's base URL: ``http://127.0.0.1:9091``.
    url: HttpURL
    #: The ``job`` label of the group.
    job: str = Field(default="perfgate", min_length=1)
    #: The ``targets`` label of the group; default: the targets file's path from the current
    #: directory (``examples/demo/targets.yml``).
    targets: str | None = None
    #: More labels of the group (a branch, an environment).
    grouping: dict[str, str] = Field(default_factory=dict)
    #: perfgate metrics pushed per scenario besides the checks.
    metrics: list[str] = Field(default_factory=lambda: list(KEY_METRICS))
    #: ``true``: replace the group's last push (PUT); ``false``: add to it (POST).
    replace: bool = True
    timeout: Duration = Field(default=10.0, gt=0)

    @field_validator("grouping")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if name in {"job", "targets"} or not name.isidentifier() or name.startswith("__"):
                raise ValueError(f"{name!r} cannot be a grouping label")
        return value


def targets_label(path: str) -> str:
    """A targets file's path as the ``targets`` label: relative to here when it is below."""
    if not path:
        return "unnamed"
    try:
        return Path(path).resolve().relative_to(Path(os.getcwd()).resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


class PushgatewayReporter(Reporter[PushgatewayConfig]):
    """Pushes the run to a Pushgateway; a push that fails is a reporter error (exit 3)."""

    name = "pushgateway"
    summary = "pushes verdicts, checks and key metrics to a Prometheus Pushgateway"

    def group(self, result: ResultDocument) -> dict[str, str]:
        """The grouping labels after ``job``."""
        targets = self.config.targets or targets_label(str(result.run.get("targets_file", "")))
        return {"targets": targets, **self.config.grouping}

    def report(self, result: ResultDocument) -> None:
        body = render(gate_families(result, self.config.metrics))
        url = self.config.url + grouping_path(self.config.job, self.group(result))
        try:
            with httpx.Client(timeout=self.config.timeout, follow_redirects=False,
                              trust_env=False) as client:
                response = client.request("PUT" if self.config.replace else "POST", url,
                                          content=body.encode(),
                                          headers={"Content-Type": "text/plain; version=0.0.4"})
        except httpx.HTTPError as exc:
            raise RunError(f"cannot push to {self.config.url}: "
                           f"{type(exc).__name__}: {exc}") from None
        if response.status_code // 100 != 2:
            raise RunError(f"the Pushgateway at {self.config.url} refused the push: HTTP "
                           f"{response.status_code} {response.text.strip()[:300]}")
