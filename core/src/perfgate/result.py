"""Checks, verdicts and the result document: the canonical output of a run.

The result document is JSON, versioned (``"schema": "perfgate-result/1"``) and described by
``perfgate/schema/result-1.json``. Every report is rendered from it; a baseline is an earlier
result document.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from perfgate.errors import BaselineError
from perfgate.metrics import Kind, Metric, MetricSet, aggregation_unit
from perfgate.targets import parse_selector

SCHEMA_ID = "perfgate-result/1"


class Verdict(StrEnum):
    """A check's outcome, best first."""

    PASS = "pass"   # target met
    WARN = "warn"   # target missed, critical threshold met
    FAIL = "fail"   # critical threshold missed (or metric missing with on_missing: fail)
    ERROR = "error"  # could not be evaluated: the component that measures it broke
    SKIP = "skip"   # not evaluated on purpose (on_missing: skip, scenario not run)


@dataclass
class ThresholdOutcome:
    """One expression and whether the measured value met it."""

    expression: str
    limit: float | None = None  # in the measured value's unit
    passed: bool | None = None


@dataclass
class Check:
    """One target judged: what was measured, against what, and the verdict."""

    name: str
    metric: str  # the selector as written: http.req_duration{scenario:load}
    verdict: Verdict
    aggregation: str | None = None  # p(95), rate, max...
    measured: float | None = None
    unit: str = ""
    target: ThresholdOutcome | None = None
    critical: ThresholdOutcome | None = None
    message: str = ""
    group: str = "targets"  # targets, a scenario name, or a component's built-in checks
    scenario: str | None = None
    description: str = ""
    source: str = "thresholds"  # the validator that made the check

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["verdict"] = self.verdict.value
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Check:
        doc = dict(doc)
        doc["verdict"] = Verdict(doc["verdict"])
        for key in ("target", "critical"):
            if doc.get(key) is not None:
                doc[key] = ThresholdOutcome(**doc[key])
        return cls(**doc)


class RunInfo(TypedDict, total=False):
    """``run``: the facts of the run (docs/result-schema.md); empty until it is judged."""

    id: str
    started: float
    finished: float
    duration: float
    targets_file: str
    targets_sha256: str
    time_scale: float
    fail_on: str
    only: list[str]
    #: ``completed``, ``broken``, ``interrupted`` or ``aborted``.
    status: str
    #: the check whose ``abort_on_fail`` stopped the load, and when; None if none did.
    aborted: dict[str, Any] | None


#: ``summary``: how many checks there are, and how many have each verdict.
Summary = TypedDict("Summary", {"checks": int, "pass": int, "warn": int, "fail": int,
                                "error": int, "skip": int}, total=False)


class ScenarioRecord(TypedDict):
    """One entry of ``scenarios``: what happened to a scenario."""

    name: str
    driver: str
    started: float | None
    finished: float | None
    #: ``completed``, ``failed``, ``interrupted`` or ``skipped``.
    status: str
    error: str | None
    start_time: float
    after: str | None
    #: why requests failed, per endpoint and reason (:class:`perfgate.RequestFailure`).
    failures: NotRequired[list[dict[str, Any]]]
    #: how each response check went (:class:`perfgate.CheckResult`).
    response_checks: NotRequired[list[dict[str, Any]]]


class ErrorRecord(TypedDict):
    """One entry of ``errors``: a problem a component (by role and name) met."""

    component: str
    #: ``load_driver``, ``collector``, ``validator``, ``reporter`` or ``plugin``.
    role: str
    phase: str
    message: str


@dataclass
class ResultDocument:
    """Everything a run produced, typed. ``to_dict()`` is the JSON document; see the schema.

    ``verdict`` is a :class:`Verdict` like every check's; ``run``, ``summary``,
    ``scenarios`` and ``errors`` are typed dictionaries (:class:`RunInfo`,
    :class:`Summary`, :class:`ScenarioRecord`, :class:`ErrorRecord`), the JSON as it is.
    """

    run: RunInfo = field(default_factory=lambda: RunInfo())
    verdict: Verdict = Verdict.PASS
    exit_code: int = 0
    summary: Summary = field(default_factory=lambda: Summary())
    checks: list[Check] = field(default_factory=list)
    scenarios: list[ScenarioRecord] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.verdict = Verdict(self.verdict)  # ResultDocument(verdict="fail") still works

    def summarise(self) -> None:
        """Count the checks by verdict, and make the worst one the document's verdict."""
        counts = dict.fromkeys(Verdict, 0)
        for check in self.checks:
            counts[check.verdict] += 1
        self.summary = {"checks": len(self.checks), "pass": counts[Verdict.PASS],
                        "warn": counts[Verdict.WARN], "fail": counts[Verdict.FAIL],
                        "error": counts[Verdict.ERROR], "skip": counts[Verdict.SKIP]}
        worst = Verdict.PASS
        for level in (Verdict.WARN, Verdict.FAIL, Verdict.ERROR):
            if counts[level]:
                worst = level
        self.verdict = worst

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_ID,
            "run": self.run,
            "verdict": self.verdict.value,
            "exit_code": int(self.exit_code),
            "summary": self.summary,
            "checks": [c.to_dict() for c in self.checks],
            "scenarios": self.scenarios,
            "metrics": self.metrics,
            "errors": self.errors,
            "notes": self.notes,
            "details": self.details,
            "environment": self.environment,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ResultDocument:
        return cls(
            run=doc.get("run", {}), verdict=Verdict(doc.get("verdict", "pass")),
            exit_code=doc.get("exit_code", 0), summary=doc.get("summary", {}),
            checks=[Check.from_dict(c) for c in doc.get("checks", [])],
            scenarios=doc.get("scenarios", []), metrics=doc.get("metrics", []),
            errors=doc.get("errors", []), notes=doc.get("notes", []),
            details=doc.get("details", {}), environment=doc.get("environment", {}),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ResultDocument:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def metric_set(self, *names: str) -> MetricSet:
        """The document's metrics (only those called ``names``, if given) rebuilt, so series
        merge and aggregate exactly, histograms included."""
        return MetricSet.from_list(m for m in self.metrics if not names or m["name"] in names)

    def metric(self, name: str, **tags: str) -> dict[str, Any] | None:
        """The first metric document with this name and exactly these tags."""
        for doc in self.metrics:
            if doc["name"] == name and doc.get("tags", {}) == tags:
                return doc
        return None


@dataclass
class Baseline:
    """An earlier result document to compare with (``--baseline FILE``), and where it was.

    A metric whose data cannot be rebuilt, or disagrees with the values the document shows
    for it (a count of 120 over an empty histogram), is left out of :attr:`metrics` and
    listed in :attr:`corrupt`: a check on it is an error, never a skip.
    """

    path: Path
    result: ResultDocument
    #: Metric name -> why its data in the baseline cannot be trusted.
    corrupt: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Baseline:
        """Read a result document; a :class:`~perfgate.BaselineError` says why it is unusable."""
        where = Path(path)
        prefix = f"cannot read the baseline {where}"
        try:
            doc = json.loads(where.read_text(encoding="utf-8"))
        except OSError as exc:
            raise BaselineError(f"{prefix}: {exc.strerror or exc}") from None
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise BaselineError(f"{prefix}: it is not JSON ({exc})") from None
        schema = doc.get("schema") if isinstance(doc, dict) else None
        if not isinstance(schema, str) or not schema.startswith("perfgate-result/"):
            raise BaselineError(f"{prefix}: it is not a perfgate result document")
        if schema != SCHEMA_ID:
            raise BaselineError(f"{prefix}: it is a {schema} document, and this perfgate "
                                f"reads {SCHEMA_ID}")
        try:
            result = ResultDocument.from_dict(doc)
            if not isinstance(result.run, dict):
                raise TypeError("run is not a mapping")
            if not isinstance(result.metrics, list) or not all(
                    isinstance(m, dict) and isinstance(m.get("name"), str)
                    for m in result.metrics):
                raise TypeError("metrics is not a list of metric documents")
            corrupt = _corrupt_metrics(result.metrics)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise BaselineError(f"{prefix}: it is not a valid result document "
                                f"({type(exc).__name__}: {exc})") from None
        return cls(where, result, corrupt)

    @cached_property
    def metrics(self) -> MetricSet:
        """The baseline's sound metrics, rebuilt to be merged and aggregated like this run's."""
        return MetricSet.from_list(m for m in self.result.metrics
                                   if m["name"] not in self.corrupt)

    def check(self, current: Check) -> Check | None:
        """The baseline's check with the same group, name, metric and aggregation as
        ``current``, if it has one (two scenarios' ``latency`` targets are two checks)."""
        for check in self.result.checks:
            if (check.group, check.name, check.metric, check.aggregation) == (
                    current.group, current.name, current.metric, current.aggregation):
                return check
        return None

    def value(self, current: Check) -> tuple[float, str] | None:
        """What the baseline measured of what ``current`` measures, and its unit.

        The measured value of the baseline's matching :meth:`check`; when it has none (a
        ``vs baseline`` check the baseline skipped, a target added since), the same metric
        with the same tags (its scenario's included), aggregated the same way, in the
        baseline's metrics. None when the baseline did not measure it.
        """
        before = self.check(current)
        if before is not None and before.measured is not None:
            return before.measured, before.unit
        if not current.aggregation:
            return None
        name, tags = parse_selector(current.metric)
        if current.scenario:
            tags.setdefault("scenario", current.scenario)
        metric = self.metrics.combined(name, tags)
        if metric is None or metric.count == 0:
            return None
        aggregation, percentile = _aggregation(current.aggregation)
        value = metric.aggregate(aggregation, percentile)
        if value is None:
            return None
        return value, aggregation_unit(metric.kind, metric.unit, aggregation)


def _aggregation(label: str) -> tuple[str, float | None]:
    """``p(95)`` → ``("p", 95.0)``; ``max`` → ``("max", None)``: a check's aggregation."""
    if label.startswith("p(") and label.endswith(")"):
        return "p", float(label[2:-1])
    return label, None


def _corrupt_metrics(docs: list[dict[str, Any]]) -> dict[str, str]:
    """Metric name -> why, for each metric document whose data cannot be rebuilt or does
    not hold what its values say.

    :raises TypeError: a metric document is malformed (no kind, data that is no mapping).
    """
    corrupt: dict[str, str] = {}
    for doc in docs:
        name = doc["name"]
        if doc.get("kind") not in {k.value for k in Kind}:
            raise TypeError(f"metric {name!r} has no valid kind")
        if not all(isinstance(doc.get(key, {}), dict) for key in ("data", "values", "tags")):
            raise TypeError(f"metric {name!r}: data, values and tags are mappings")
        try:
            metric = Metric.from_dict(doc)
        except Exception as exc:  # a histogram that does not decode, a number that is not
            corrupt.setdefault(name, f"its data does not load ({type(exc).__name__})")
            continue
        said = doc.get("values", {}).get("count")
        if isinstance(said, int | float) and metric.count != said:
            corrupt.setdefault(name, f"its values say count {said:g} but its data holds "
                                     f"{metric.count}")
    return corrupt


def result_schema() -> dict[str, Any]:
    """The JSON Schema of the result document."""
    text = resources.files("perfgate").joinpath("schema/result-1.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_result(doc: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` if ``doc`` is not a valid result document."""
    import jsonschema

    jsonschema.validate(doc, result_schema())


def write_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename: never half a report."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    # mkstemp makes the file private (0600); a report is an ordinary file: 0666 less umask.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
