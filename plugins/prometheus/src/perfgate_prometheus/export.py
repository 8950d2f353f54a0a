"""What the two exporting reporters share: their options and the labels of a run."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator

from perfgate import BaseUrl, ComponentConfig, Duration, ResultDocument

#: The key metrics exported by default, per scenario.
KEY_METRICS = ["http.req_duration", "http.reqs", "http.req_failed"]


class ExportConfig(ComponentConfig):
    """Where a run goes and how it is labelled."""

    url: BaseUrl
    #: The ``job`` label.
    job: str = Field(default="perfgate", min_length=1)
    #: The ``targets`` label; default: the targets file's path from the current directory
    #: (``examples/demo/targets.yml``).
    targets: str | None = None
    #: More labels (a branch, an environment).
    grouping: dict[str, str] = Field(default_factory=dict)
    #: perfgate metrics exported per scenario besides the checks.
    metrics: list[str] = Field(default_factory=lambda: list(KEY_METRICS))
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


def run_labels(config: ExportConfig, result: ResultDocument) -> dict[str, str]:
    """``job``, ``targets`` and the grouping labels of a run, in that order."""
    targets = config.targets or targets_label(str(result.run.get("targets_file", "")))
    return {"job": config.job, "targets": targets, **config.grouping}
