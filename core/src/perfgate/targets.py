"""A targets file after every check, and the parts of it a run and its validators use.

:class:`TargetsFile` is what :func:`perfgate.loader.load_targets` returns: the file's model,
where each key stands, the components it uses with their validated options
(:class:`ComponentUse`, :class:`ScenarioUse`), the targets ready to judge
(:class:`TargetUse`), which component produces which metric, and the secret values to mask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

from perfgate.components import Collector, Component, LoadDriver, MetricInfo, Reporter, Validator
from perfgate.config import ScenarioConfig, ServiceConfig, TargetConfig, TargetsFileModel
from perfgate.errors import Location
from perfgate.thresholds import BaselineThreshold, Threshold
from perfgate.yamlmap import LineMap

_SELECTOR = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(?:\{(.*)\})?\s*$")


class Owner(NamedTuple):
    """A component of the run as the file names it: its role and its name there.

    Scenarios (``load_driver``) and collectors have names of their own in the file, so a
    metric's producer and a recorded problem are known by both: a collector named like a
    scenario is never taken for it.
    """

    role: str
    name: str

    def __str__(self) -> str:
        return self.name


C = TypeVar("C", bound=Component[Any])


@dataclass
class ComponentUse(Generic[C]):
    """One component as the file uses it: its key, class and validated config."""

    instance: str
    cls: type[C]
    config: Any
    #: Tags the run adds to everything this component measures: ``instance:<key>`` when the
    #: file uses its type under a key of its own or more than once (two postgres servers).
    tags: dict[str, str] = field(default_factory=dict)
    #: A collector's ``during:``: it samples only while this scenario runs.
    during: str | None = None


@dataclass
class ScenarioUse:
    """One scenario as the file defines it: its name, driver class and validated scenario."""

    name: str
    driver: type[LoadDriver[Any]]
    config: ScenarioConfig


@dataclass
class TargetUse:
    """A target ready to judge: the parsed selector and thresholds, and where it was written."""

    name: str
    metric: str
    tags: dict[str, str]
    config: TargetConfig
    target: Threshold | None
    critical: Threshold | None
    group: str = "targets"
    #: Relative to an earlier result; judged by the ``baseline`` validator.
    baseline: BaselineThreshold | None = None
    scenario: str | None = None
    location: Location | None = None
    info: MetricInfo | None = None
    source: str = "thresholds"

    @property
    def selector(self) -> str:
        return self.config.metric


@dataclass
class TargetsFile:
    """A targets file after every check: what a run needs and nothing to re-parse."""

    path: Path
    sha256: str
    model: TargetsFileModel
    lines: LineMap
    scenarios: dict[str, ScenarioUse] = field(default_factory=dict)
    collectors: dict[str, ComponentUse[Collector[Any]]] = field(default_factory=dict)
    validators: dict[str, ComponentUse[Validator[Any]]] = field(default_factory=dict)
    reporters: dict[str, ComponentUse[Reporter[Any]]] = field(default_factory=dict)
    targets: list[TargetUse] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)
    #: Which component produces what: (metric info, the scenario or collector).
    producers: list[tuple[MetricInfo, Owner]] = field(default_factory=list)

    def producers_of(self, metric: str, scenario: str | None = None,
                     instance: str | None = None) -> list[Owner]:
        """The scenarios and collectors that produce ``metric``.

        ``scenario`` and ``instance`` narrow the answer to what a tag filter selects.
        """
        out = []
        for info, owner in self.producers:
            if not info.matches(metric):
                continue
            if scenario is not None and owner.role == "load_driver" and owner.name != scenario:
                continue
            if instance is not None and owner.role == "collector" and owner.name != instance:
                continue
            out.append(owner)
        return sorted(set(out))

    def window_cuts(self) -> dict[str, set[str]]:
        """Scenario → names of collector metrics that targets judge over its window.

        ``system.cpu{scenario:spike}``: no scenario measures ``system.cpu``, so the core cuts
        the samples collectors took while ``spike`` ran.
        """
        cuts: dict[str, set[str]] = {}
        for target in self.targets:
            scenario = target.tags.get("scenario")
            if scenario is None:
                continue
            owners = self.producers_of(target.metric, scenario, target.tags.get("instance"))
            if any(owner.role == "collector" for owner in owners):
                cuts.setdefault(scenario, set()).add(target.metric)
        return cuts

    @property
    def services(self) -> dict[str, ServiceConfig]:
        return self.model.services

    @property
    def folder(self) -> Path:
        return self.path.parent


def parse_selector(text: str) -> tuple[str, dict[str, str]]:
    """``http.req_duration{scenario:load,status:200}`` → name and tag filter."""
    m = _SELECTOR.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a metric selector; expected name or "
                         "name{tag:value,...}")
    tags: dict[str, str] = {}
    if m.group(2) is not None:
        for part in m.group(2).split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition(":")
            if not sep or not key.strip() or not value.strip():
                raise ValueError(f"bad tag filter {part.strip()!r} in {text!r}; "
                                 "expected tag:value")
            tags[key.strip()] = value.strip()
    return m.group(1), tags
